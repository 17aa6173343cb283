"""scripts/train_default.py stamps what it ships with the release the run names, never an old one."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from vfer.data.photos import person_bucket
from vfer.models import CheckpointMeta, create_model

ROOT = Path(__file__).resolve().parents[1]


def tune_people(bucket: int, n: int) -> list[str]:
    """`n` person ids whose person bucket is `bucket`."""
    ids = (f"person-{i}" for i in range(10_000))
    return [s for s in ids if person_bucket(s) == bucket][:n]


@pytest.fixture
def train_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    module = importlib.import_module("train_default")
    yield module
    sys.modules.pop("train_default", None)


def shipped_meta(train_default: ModuleType, monkeypatch: pytest.MonkeyPatch, **release: str) -> CheckpointMeta:
    """The metadata `ship_student` hands to `ship` for a small fit on 24 tune photos of two buckets."""
    shipped: list[CheckpointMeta] = []
    monkeypatch.setattr(train_default, "ship", lambda model, name, meta: shipped.append(meta))
    subjects = np.array(tune_people(2, 12) + tune_people(3, 12))
    labels = np.arange(24) % 2  # neutral and surprise, 12 each
    src = SimpleNamespace(
        student_photos=lambda split: np.arange(24),
        photo_labels=labels,
        photo_subjects=subjects,
        student_tune=(2, 3),
    )
    rng = np.random.default_rng(0)
    epoch_probs = rng.dirichlet(np.ones(7), size=(3, 24)).astype(np.float32)  # (E, K, 7)
    report: dict[str, Any] = {"min_class_support": 5, "best_epoch": 2}
    model = create_model("c3d_convlstm")
    train_default.ship_student("c3d_convlstm", model, report, epoch_probs, src, by_person=True, **release)
    (meta,) = shipped
    return meta


def test_a_fit_ships_as_the_release_the_run_names(train_default: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = shipped_meta(train_default, monkeypatch, release="12")
    assert meta.version == "12"
    assert meta.provenance["train"]["tune_buckets"] == [2, 3]


def test_a_fit_named_no_release_says_so(train_default: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before `--release`, every fit shipped as "7.0", the version of release 7, whatever it was."""
    meta = shipped_meta(train_default, monkeypatch, release=train_default.UNRELEASED)
    assert meta.version == "unreleased"


def test_a_deeper_branch_fitted_elsewhere_is_rebuilt_as_fitted(train_default: ModuleType, tmp_path: Path) -> None:
    """A GPU run of `--fer-blocks 4` (train_students.py) ships with the branch it was fitted with."""
    fitted = create_model("c3d_convlstm_fer", fer_blocks=4, pretrained_fer=False)
    torch.save(fitted.state_dict(), tmp_path / "c3d_convlstm_fer-scratch.pt")
    report = {"tune_macro_recall": 0.8, "model_kwargs": {"fer_blocks": 4}}
    (tmp_path / "c3d_convlstm_fer-scratch.json").write_text(json.dumps(report))
    np.save(tmp_path / "c3d_convlstm_fer-scratch-tune.npy", np.zeros((2, 3, 7), np.float32))
    model, kept, _ = train_default.fitted_elsewhere("c3d_convlstm_fer", tmp_path)
    assert len(model.fer_blocks) == 4 and kept["model_kwargs"] == {"fer_blocks": 4}
    for name, tensor in fitted.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
