"""dlib's landmark predictors, found in the `face-recognition-models` distribution.

- 68 points (default): trained on iBUG 300-W, whose terms exclude commercial use;
- 5 points (the corners of each eye and the base of the nose): trained on dlib's own annotated
  faces and released without that restriction. Alignment needs only the eye centres, which both
  give (README, Alignment: measured side by side).

That package's own import needs `pkg_resources` (gone from setuptools 82+), so the model file is
located through the installed distribution's metadata instead of importing it.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import dlib
import numpy as np
import numpy.typing as npt

from vfer.errors import ResourceError
from vfer.face.geometry import Box

LANDMARK_FILES = {68: "shape_predictor_68_face_landmarks.dat", 5: "shape_predictor_5_face_landmarks.dat"}
Landmarks = npt.NDArray[np.float32]  # (68, 2) or (5, 2): x, y in frame pixels
GrayImage = npt.NDArray[np.uint8]


def landmark_model_path(points: int = 68) -> Path:
    """`VFER_LANDMARKS_PATH` if set (68 points), else the file shipped by face-recognition-models."""
    override = os.environ.get("VFER_LANDMARKS_PATH") if points == 68 else None
    if override:
        path = Path(override)
        if not path.is_file():
            raise ResourceError(f"VFER_LANDMARKS_PATH={override} is not a file")
        return path
    try:
        dist = metadata.distribution("face-recognition-models")
    except metadata.PackageNotFoundError as exc:
        raise ResourceError("the landmark models are missing: pip install face-recognition-models") from exc
    for file in dist.files or ():
        if file.name == LANDMARK_FILES[points]:
            return Path(str(dist.locate_file(file)))
    raise ResourceError(f"face-recognition-models is installed but has no {LANDMARK_FILES[points]}")


class LandmarkPredictor:
    """Facial landmarks inside a face box: 68 (iBUG 300-W numbering) or 5 (dlib's)."""

    def __init__(self, path: Path | None = None, *, points: int = 68) -> None:
        self._predict = dlib.shape_predictor(str(path or landmark_model_path(points)))

    def __call__(self, gray: GrayImage, box: Box) -> Landmarks:
        shape = self._predict(gray, box.to_dlib())
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def eye_centres(landmarks: Landmarks) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Centres of the eye in the image's left and right: points 36-41 and 42-47 of 68; of 5,
    the midpoints of the two corner pairs (0-1, 2-3), ordered by x."""
    if len(landmarks) == 68:
        return landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    first, second = landmarks[0:2].mean(axis=0), landmarks[2:4].mean(axis=0)
    return (first, second) if first[0] <= second[0] else (second, first)
