from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import LONDON, photo_clip
from vfer.config import PipelineConfig
from vfer.face.align import brighten_if_dark
from vfer.face.landmarks import eye_centres
from vfer.face.tracking import FaceModels
from vfer.pipeline import extract_faces
from vfer.predict import Predictor


def london_photos(label: str) -> list[Path]:
    with (LONDON / "labels.csv").open() as f:
        return [LONDON / row["file"] for row in csv.DictReader(f) if row["label"] == label]


def eye_line_angle(crop: np.ndarray, face_models: FaceModels) -> float:
    """Degrees between the eye line and the horizontal, measured afresh on an upscaled crop."""
    big = cv2.resize(crop, (256, 256), interpolation=cv2.INTER_CUBIC)
    boxes = face_models.detector.detect(big)
    assert boxes, "no face found again in the aligned crop"
    left, right = eye_centres(face_models.landmarks(big, boxes[0]))
    return math.degrees(math.atan2(float(right[1] - left[1]), float(right[0] - left[0])))


@pytest.mark.parametrize("angle", [-12.0, 12.0])
def test_aligned_crops_have_level_eyes_on_tilted_faces(face_models: FaceModels, data: Path, angle: float) -> None:
    angles = []
    for photo in london_photos("neutral")[::8]:
        found = extract_faces(photo_clip(photo, max_angle=angle), face_models)
        assert len(found.faces) == 1, photo
        last = found.faces[0].windows[-1].frames[-1]  # the most tilted frame
        angles.append(eye_line_angle(last, face_models))
    assert np.abs(angles).max() < 4.0, angles


def london_rate(predictor: Predictor, label: str, expected: str) -> float:
    hits = []
    for photo in london_photos(label):
        result = predictor.predict(photo_clip(photo, max_angle=5.0))
        assert result.main_face is not None, photo
        hits.append(result.main_face.label == expected)
    return float(np.mean(hits))


def test_mini_xception_calls_most_neutral_faces_neutral(teacher: Predictor, data: Path) -> None:
    assert london_rate(teacher, "neutral", "neutral") >= 0.85  # measured 0.97 (README)


def test_mini_xception_calls_smiling_faces_happy_far_above_chance(teacher: Predictor, data: Path) -> None:
    # Many London smiles are closed-mouthed, the FER2013 model's known weak spot: measured 0.52.
    assert london_rate(teacher, "happy", "happy") >= 0.45


def test_gamma_brightens_dark_crops_only() -> None:
    dark = np.full((64, 64), 40, np.uint8)
    bright = np.full((64, 64), 150, np.uint8)
    assert brighten_if_dark(dark, 1.5, 80).mean() == pytest.approx(255 * (40 / 255) ** (1 / 1.5), abs=1)
    assert np.array_equal(brighten_if_dark(bright, 1.5, 80), bright)


def test_the_five_point_aligner_puts_the_eyes_where_the_68_point_one_does(face_models: FaceModels, data: Path) -> None:
    """dlib's 5-point model (no iBUG 300-W terms) finds the eye centres within 5 % of the
    inter-ocular distance of the 68-point ones on London photos, and its crops level the eyes."""
    five = FaceModels.load(landmarks=5)
    worst = 0.0
    for photo in london_photos("neutral")[:12] + london_photos("happy")[:12]:
        gray = cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE)
        box = face_models.detector.detect(gray)[0]
        reference, other = eye_centres(face_models.landmarks(gray, box)), eye_centres(five.landmarks(gray, box))
        distance = float(np.linalg.norm(reference[1] - reference[0]))
        worst = max(worst, *(float(np.linalg.norm(a - b)) / distance for a, b in zip(reference, other, strict=True)))
    assert worst < 0.05
    tilted = extract_faces(photo_clip(london_photos("neutral")[0], max_angle=12), five, PipelineConfig(landmarks=5))
    assert abs(eye_line_angle(tilted.faces[0].windows[-1].frames[-1], face_models)) < 4
