from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.layouts import make_afew, make_ckplus, make_generic, make_savee
from vfer.data.augment import augment, transform, variants
from vfer.data.layouts import read_layout
from vfer.data.protocols import named_split, random_splits, subject_folds


@pytest.fixture(scope="module")
def ckplus(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    return make_ckplus(tmp_path_factory.mktemp("ckplus"))


def test_ckplus_reads_labelled_sequences_and_leaves_contempt_out(ckplus: Path) -> None:
    samples = read_layout("ck+", ckplus)
    assert Counter(s.label for s in samples) == {"happy": 4, "neutral": 4, "surprise": 1}
    assert {s.subject for s in samples} == {"S001", "S002", "S003", "S004"}
    assert all(s.is_sequence for s in samples)
    assert Counter(s.label for s in read_layout("ck+", ckplus, keep_contempt=True))["contempt"] == 1


def test_savee_reads_codes_and_actors(tmp_path: Path, data: Path) -> None:
    samples = read_layout("savee", make_savee(tmp_path))
    assert len(samples) == 8 and {s.subject for s in samples} == {"DC", "JE", "JK", "KL"}
    assert Counter(s.label for s in samples) == {"happy": 4, "neutral": 4}


def test_afew_keeps_its_train_and_val_split(tmp_path: Path, data: Path) -> None:
    samples = read_layout("afew", make_afew(tmp_path))
    assert Counter(s.split for s in samples) == {"Train": 6, "Val": 2}
    train, test = named_split([s.split for s in samples], "Train", "Val")
    assert len(train) == 6 and len(test) == 2


def test_generic_layout_takes_subjects_from_the_csv(tmp_path: Path, data: Path) -> None:
    samples = read_layout("generic", make_generic(tmp_path))
    assert len(samples) == 6 and len({s.subject for s in samples}) == 3


def test_subject_folds_never_share_a_subject() -> None:
    subjects = [f"S{i % 23:03d}" for i in range(200)]
    folds = subject_folds(subjects, folds=10)
    tested = [subjects[i] for _, test in folds for i in test]
    assert sorted(tested) == sorted(subjects), "every clip is tested exactly once"
    for train, test in folds:
        assert not {subjects[i] for i in train} & {subjects[i] for i in test}


def test_random_splits_are_80_20_and_stratified() -> None:
    labels = [0] * 50 + [1] * 30
    for train, test in random_splits(labels, runs=5):
        assert len(train) == 64 and len(test) == 16
        assert sum(labels[i] for i in test) == 6


@pytest.mark.parametrize(("scheme", "times"), [("ck+", 14), ("savee", 8), ("afew", 8)])
def test_augmentation_multiplies_the_data_as_the_paper_says(scheme: str, times: int) -> None:
    crops = np.random.default_rng(0).integers(0, 256, (3, 8, 64, 64), dtype=np.uint8)
    out, labels = augment(crops, np.array([0, 1, 2]), scheme)
    assert len(variants(scheme)) == times and out.shape == (3 * times, 8, 64, 64)
    assert labels.tolist() == [0] * times + [1] * times + [2] * times


def test_a_flip_mirrors_every_frame_and_a_rotation_moves_it() -> None:
    clip = np.zeros((8, 64, 64), np.uint8)
    clip[:, 10:20, 5:15] = 255
    assert np.array_equal(transform(clip, 0.0, True), clip[:, :, ::-1])
    rotated = transform(clip, 15.0, False)
    assert not np.array_equal(rotated, clip) and np.array_equal(rotated[0], rotated[7])


def test_a_new_layout_is_one_registration(tmp_path: Path) -> None:
    from vfer.data.layouts import Sample
    from vfer.data.registry import list_protocols, protocol, register_dataset

    @register_dataset(
        "one-folder-test",
        summary="every clip in one folder is neutral",
        augmentation=((0.0, False), (0.0, True)),
        protocols={"all-but-one": lambda clips, seed: [(np.arange(1, len(clips)), np.arange(1))]},
    )
    def read(root: Path, options: object) -> Iterator[Sample]:
        for clip in sorted(root.glob("*.mp4")):
            yield Sample(clip, "neutral", clip.stem)

    (tmp_path / "a.mp4").write_bytes(b"")
    assert read_layout("one-folder-test", tmp_path) == [Sample(tmp_path / "a.mp4", "neutral", "a")]
    assert "all-but-one" in list_protocols() and protocol("all-but-one")[1].name == "one-folder-test"
    assert len(variants("one-folder-test")) == 2
