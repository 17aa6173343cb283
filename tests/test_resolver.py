"""One place says what a model name means (`vfer.models.resolver`), without torch: the gateway's
check, the workers, the command line and the split topology all read it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vfer.errors import ModelNotFoundError
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.resolver import resolve_model, shipped_names


def test_a_shipped_name_a_checkpoint_an_ensemble_and_an_export_each_resolve_to_their_file(tmp_path: Path) -> None:
    registered = resolve_model("c3d_convlstm_fer")
    assert (registered.kind, registered.path) == ("registered", WEIGHTS_DIR / "c3d_convlstm_fer.pt")
    ensemble = resolve_model("fer_ensemble")
    assert ensemble.kind == "ensemble" and ensemble.members == ("mini_xception_fer2013", "faceapi_expression")
    (tmp_path / "mine.pt").write_bytes(b"weights")
    (tmp_path / "mine.json").write_text("{}")
    assert resolve_model("mine", model_dir=tmp_path).path == tmp_path / "mine.pt"
    assert resolve_model(str(tmp_path / "mine.pt"), paths=True).kind == "checkpoint"
    (tmp_path / "exported.onnx").write_bytes(b"graph")
    assert resolve_model(str(tmp_path / "exported.onnx"), paths=True).kind == "onnx"


def test_an_unknown_name_lists_every_model_a_request_may_name() -> None:
    """The command line's message listed four models and forgot fer_ensemble, which works."""
    with pytest.raises(ModelNotFoundError) as unknown:
        resolve_model("nope")
    assert str(unknown.value) == f"unknown model 'nope'; known models: {', '.join(shipped_names())}"
    assert "fer_ensemble" in shipped_names()


def test_a_name_from_the_network_never_reaches_a_path(tmp_path: Path) -> None:
    (tmp_path / "mine.pt").write_bytes(b"weights")
    (tmp_path / "mine.json").write_text("{}")
    for name in (str(tmp_path / "mine.pt"), "../mine", "mine.pt"):
        with pytest.raises(ModelNotFoundError):
            resolve_model(name, model_dir=tmp_path)  # paths only when the command line asks


def test_the_resolver_needs_no_torch() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['torch'] = None; from vfer.models.resolver import resolve_model; "
         "print(resolve_model('fer_ensemble').kind)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip() == "ensemble", run.stderr
