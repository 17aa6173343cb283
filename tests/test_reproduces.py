"""scripts/reproduces.py says whether a fit gives back the shipped weights (model card, release 11):
a temperature alone does not tell them apart; one weight or one figure does."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from vfer.models import load_checkpoint, save_checkpoint
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.training.calibrate import fold_temperature, last_layer

ROOT = Path(__file__).resolve().parents[1]
MODEL = "c3d_convlstm_fer"


def checkout_with(tmp_path: Path, temperature: float, nudge: float = 0.0, **train: Any) -> Path:
    """A checkout whose fit is the shipped default recalibrated at `temperature`, its last layer's
    first weight moved by `nudge` before calibration, and its training figures changed by `train`."""
    model, meta = load_checkpoint(WEIGHTS_DIR / f"{MODEL}.pt")
    shipped = meta.provenance["train"]["temperature"]
    fold_temperature(model, 1 / shipped)
    with torch.no_grad():
        last_layer(model).weight.view(-1)[0] += nudge
    fold_temperature(model, temperature)
    provenance = meta.provenance | {"train": meta.provenance["train"] | {"temperature": temperature} | train}
    checkout = tmp_path / "checkout"
    save_checkpoint(model, checkout / "vfer" / "models" / "weights" / MODEL, replace(meta, provenance=provenance))
    return checkout


def reproduces(checkout: Path) -> tuple[int, dict[str, Any]]:
    run = subprocess.run(
        [sys.executable, ROOT / "scripts" / "reproduces.py", checkout, "--model", MODEL],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.stdout, run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    return run.returncode, report


def test_the_shipped_weights_at_another_temperature_reproduce(tmp_path: Path) -> None:
    code, report = reproduces(checkout_with(tmp_path, temperature=0.944))
    assert code == 0 and report["reproduced"], report
    assert report["largest_weight_difference"] <= 1e-6
    shipped = json.loads((WEIGHTS_DIR / f"{MODEL}.json").read_text())["provenance"]["train"]["temperature"]
    assert report["temperatures"] == {"fit": 0.944, "shipped": shipped}


@pytest.mark.parametrize(
    ("nudge", "train"),
    [(1e-4, {}), (0.0, {"best_epoch": 24}), (0.0, {"tune_loss": 0.6488849})],
    ids=["one weight", "another epoch", "the loss's sixth digit"],
)
def test_a_fit_that_differs_does_not(tmp_path: Path, nudge: float, train: dict[str, Any]) -> None:
    code, report = reproduces(checkout_with(tmp_path, temperature=0.944, nudge=nudge, **train))
    assert code == 1 and not report["reproduced"], report


def test_a_checkout_without_the_fit_is_refused(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, ROOT / "scripts" / "reproduces.py", tmp_path],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.returncode == 2 and f"{tmp_path}" in run.stderr and "--stage students" in run.stderr
