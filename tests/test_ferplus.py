"""FER+ read from its own files: each face's ten votes become a distribution over the seven, and
faces the annotators could not place are left out, never silently labelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vfer.data.ferplus import VotedFaces, voted_faces
from vfer.data.photos import photo_folder
from vfer.labels import LABELS


@pytest.fixture(scope="module")
def train(data: Path) -> VotedFaces:
    return voted_faces(data / "faces" / "ferplus" / "train")


def votes_of(faces: VotedFaces, file: str) -> dict[str, float]:
    row = faces.votes[[p.name for p in faces.paths].index(file)]
    return {label: round(float(row[k]), 3) for k, label in enumerate(LABELS) if row[k]}


def label_of(faces: VotedFaces, file: str) -> int:
    return int(faces.labels[[p.name for p in faces.paths].index(file)])


def test_a_faces_votes_become_its_distribution_over_the_seven(train: VotedFaces) -> None:
    # fer0000000.png: neutral 4, sadness 1, anger 3, disgust 2 of ten: no majority, still a soft target.
    assert votes_of(train, "fer0000000.png") == {"neutral": 0.4, "sad": 0.1, "anger": 0.3, "disgust": 0.2}
    assert label_of(train, "fer0000000.png") == -1
    # fer0000001.png: neutral 6, surprise 1, sadness 1, unknown 2: "unknown" is dropped, not a class.
    assert votes_of(train, "fer0000001.png") == {"neutral": 0.75, "surprise": 0.125, "sad": 0.125}
    assert LABELS[label_of(train, "fer0000001.png")] == "neutral"
    assert np.allclose(train.votes.sum(1), 1.0)


def test_a_face_most_annotators_could_not_place_is_left_out(train: VotedFaces) -> None:
    # fer0000422.png: neutral 4, sadness 1, contempt 3, unknown 2: the seven hold half, not more.
    assert "fer0000422.png" not in {p.name for p in train.paths}
    faces = train
    assert faces.unusable == 291 and len(faces.paths) == 28_267
    assert np.bincount(faces.labels[faces.labels >= 0], minlength=7).tolist() == [
        8733,
        3136,
        7284,
        116,
        3022,
        536,
        2098,
    ]


def test_a_folder_with_vote_columns_gives_majority_labelled_photos_with_their_votes(data: Path) -> None:
    photos = photo_folder(data / "faces" / "ferplus" / "valid")
    assert len(photos) == 3175  # of 3,579: the faces with a majority label
    first = photos[0]
    assert first.path.name == "fer0028640.png" and first.label == "neutral"
    assert first.votes is not None and first.votes[LABELS.index("neutral")] == pytest.approx(7 / 9)


def test_a_vote_table_without_all_seven_is_refused(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("file,label,neutral,happiness\na.png,neutral,9,1\n")
    with pytest.raises(ValueError, match="no vote column for each of"):
        voted_faces(tmp_path)
