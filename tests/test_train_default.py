"""scripts/train_default.py: FER+ tune faces are never trained on, each target kind is what it says,
and what a fit ships is stamped with the release the run names."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from vfer.data.photos import person_bucket
from vfer.models import CheckpointMeta
from vfer.training.students import StudentPack, StudentRecipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def train_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    module = importlib.import_module("train_default")
    monkeypatch.setattr(module, "BUILD", tmp_path)
    yield module
    sys.modules.pop("train_default", None)


def cached_data(faces: int = 200) -> dict[str, np.ndarray]:
    """What stage 1 caches, small: FER+ train faces (every fifth without a majority) and photos."""
    rng = np.random.default_rng(0)
    labels = np.where(np.arange(faces) % 5 == 0, -1, np.arange(faces) % 7)
    photo = {"aligned": np.zeros((4, 64, 64), np.uint8), "box": np.zeros((4, 112, 112, 3), np.uint8)}
    data = {
        "ferplus_train_files": np.array([f"fer{i:07d}.png" for i in range(faces)]),
        "ferplus_train_labels": labels,
        "ferplus_train_votes": rng.dirichlet(np.ones(7), faces).astype(np.float32),
        "ferplus_train_aligned": rng.integers(0, 255, (faces, 64, 64), dtype=np.uint8),
        "grid_subjects": np.array(["video/a"]),
    }
    for source in ("expressions", "london_canada"):
        data |= {f"{source}_{k}": v for k, v in photo.items()}
        data |= {
            f"{source}_labels": np.arange(4) % 7,
            f"{source}_subjects": np.array([f"{source}/p{i}" for i in range(4)]),
        }
    return data


def test_fer_tune_faces_are_never_trained_on_and_each_target_kind_is_what_it_says(train_default: ModuleType) -> None:
    data = cached_data()
    src = train_default.Sources(data)
    tune = {i for i, f in enumerate(data["ferplus_train_files"]) if person_bucket(f"ferplus-train/{f}") == 2}
    assert tune and set(src.fer_tune_faces()) == {i for i in tune if data["ferplus_train_labels"][i] >= 0}
    votes_idx, votes, _ = src.fer_train("votes")
    majority_idx, one_hot, classes = src.fer_train("majority")
    assert not tune & set(votes_idx) and not tune & set(majority_idx)
    assert (data["ferplus_train_labels"][votes_idx] == -1).any()  # no majority: still a soft target
    np.testing.assert_array_equal(votes, data["ferplus_train_votes"][votes_idx])
    assert (data["ferplus_train_labels"][majority_idx] >= 0).all()
    np.testing.assert_array_equal(one_hot.argmax(1), classes)


def small_pack() -> StudentPack:
    rng = np.random.default_rng(1)
    one_hot = np.eye(7, dtype=np.float32)[np.arange(8) % 7]
    return StudentPack(
        stills=rng.integers(0, 255, (8, 64, 64), dtype=np.uint8),
        still_targets=one_hot,
        windows=rng.integers(0, 255, (2, 8, 64, 64), dtype=np.uint8),
        window_targets=one_hot[:2],
        weights=np.full(10, 0.1),
        tune_stills=rng.integers(0, 255, (8, 64, 64), dtype=np.uint8),
        tune_still_labels=np.arange(8) % 7,
        tune_windows=rng.integers(0, 255, (1, 8, 64, 64), dtype=np.uint8),
        tune_window_targets=one_hot[:1],
    )


@pytest.mark.parametrize("release", ["13", "unreleased"])
def test_a_video_fit_ships_calibrated_as_the_release_the_run_names(
    train_default: ModuleType, monkeypatch: pytest.MonkeyPatch, release: str
) -> None:
    shipped: list[CheckpointMeta] = []
    monkeypatch.setattr(train_default, "ship", lambda model, name, meta: shipped.append(meta))
    recipe = StudentRecipe(epochs=2, epoch_size=8, batch_size=4, min_class_support=1)
    report = train_default.fit_video("c3d_convlstm", small_pack(), recipe, release, "votes")
    (meta,) = shipped
    assert meta.version == release and meta.provenance["train"] == report
    assert report["ferplus_targets"] == "votes" and report["temperature"] > 0
    assert np.load(train_default.BUILD / "c3d_convlstm-tune.npy").shape == (2, 8, 7)  # every epoch's tune stills


def test_the_video_stages_read_the_frame_models_targets_without_their_build(train_default: ModuleType) -> None:
    """A fresh checkout has no build/train_default/frames.json: the video stages take the targets
    the shipped mini-Xception records (they stopped there before, asking for the frame stage's
    21 minutes again); a build's own record wins where there is one."""
    shipped = json.loads((ROOT / "vfer" / "models" / "weights" / "mini_xception_fer2013.json").read_text())
    assert train_default.frame_targets() == shipped["provenance"]["fit"]["targets"]
    (train_default.BUILD / "frames.json").write_text(json.dumps({"targets": "votes"}))
    assert train_default.frame_targets() == "votes"
