"""The paper's evaluation protocols as index splits: subject-independent folds, random splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vfer.errors import InvalidOptionError

Split = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]  # (train, test) indices


def subject_folds(subjects: Sequence[str], folds: int = 10, seed: int = 0) -> list[Split]:
    """k folds with no subject in two of them (CK+ 10-fold subject-independent)."""
    unique = sorted(set(subjects))
    if len(unique) < folds:
        raise InvalidOptionError(f"{len(unique)} subjects cannot make {folds} subject-independent folds")
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[i]: rank % folds for rank, i in enumerate(order)}
    index = range(len(subjects))
    splits = []
    for fold in range(folds):
        test = np.array([i for i in index if fold_of[subjects[i]] == fold], dtype=np.int64)
        train = np.array([i for i in index if fold_of[subjects[i]] != fold], dtype=np.int64)
        assert not {subjects[i] for i in test} & {subjects[i] for i in train}, "a subject is in two folds"
        splits.append((train, test))
    return splits


def random_splits(labels: Sequence[int], runs: int = 5, train: float = 0.8, seed: int = 0) -> list[Split]:
    """`runs` stratified random train/test splits (SAVEE and AFEW 80/20 over 5 runs)."""
    labels_array = np.asarray(labels)
    splits = []
    for run in range(runs):
        rng = np.random.default_rng(seed + run)
        train_idx, test_idx = [], []
        for label in np.unique(labels_array):
            members = rng.permutation(np.flatnonzero(labels_array == label))
            cut = max(1, round(train * len(members))) if len(members) > 1 else len(members)
            train_idx += members[:cut].tolist()
            test_idx += members[cut:].tolist()
        splits.append((np.array(sorted(train_idx), dtype=np.int64), np.array(sorted(test_idx), dtype=np.int64)))
    return splits


def named_split(splits: Sequence[str], train: str, test: str) -> Split:
    """The dataset's own split (AFEW: train on Train, test on Val)."""
    index = range(len(splits))
    return (
        np.array([i for i in index if splits[i] == train], dtype=np.int64),
        np.array([i for i in index if splits[i] == test], dtype=np.int64),
    )
