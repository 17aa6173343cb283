"""Training clips' drawing weights: sources, classes and people each get their share."""

from __future__ import annotations

import numpy as np
import pytest

from vfer.training.drawing import Source, balanced_weights


def test_classes_are_drawn_alike_and_a_rare_class_as_if_it_had_the_floor() -> None:
    labels = np.array([0, 0, 0, 1, 1, 6])
    weights = balanced_weights([Source(labels, 1.0)], floor=2)
    assert weights.sum() == pytest.approx(1.0)
    per_class = np.bincount(labels, weights, minlength=7)
    assert per_class[0] == pytest.approx(per_class[1]) == pytest.approx(2 * per_class[6])
    assert weights[:3] == pytest.approx([per_class[0] / 3] * 3)


def test_people_within_a_class_are_drawn_alike_however_many_photos_each_has() -> None:
    # Person "a" has 9 sad photos, "b" and "c" one each: each person gets a third of sad.
    labels = np.array([4] * 11 + [0, 0])
    people = np.array(["a"] * 9 + ["b", "c", "a", "d"])
    weights = balanced_weights([Source(labels, 1.0, people)], floor=1)
    sad = weights[:11].sum()
    assert weights[:9].sum() == pytest.approx(sad / 3)
    assert weights[9] == pytest.approx(weights[10]) == pytest.approx(sad / 3)
    assert weights[11] == pytest.approx(weights[12]) == pytest.approx(sad / 2)  # "a" neutral is one of two people
    by_photo = balanced_weights([Source(labels, 1.0)], floor=1)
    assert by_photo[0] == pytest.approx(by_photo[9])  # without people, every sad photo alike


def test_each_source_gets_its_share() -> None:
    first, second = np.array([0, 1, 1]), np.array([2, 2, 3, 3, 3, 3])
    weights = balanced_weights([Source(first, 0.75), Source(second, 0.25, np.arange(6))])
    assert weights[:3].sum() == pytest.approx(0.75) and weights[3:].sum() == pytest.approx(0.25)


def test_a_power_leans_toward_the_common_classes_by_the_root_of_their_counts() -> None:
    labels = np.array([0] * 400 + [1] * 100 + [6] * 50)
    weights = balanced_weights([Source(labels, 1.0, power=0.5)], floor=100)
    per_class = np.bincount(labels, weights, minlength=7)
    assert per_class[0] == pytest.approx(2 * per_class[1])  # four times the photos, twice the share
    assert per_class[6] == pytest.approx(per_class[1] / 2)  # under the floor: as before
