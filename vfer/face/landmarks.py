"""dlib's 68-point landmark predictor, found in the `face-recognition-models` distribution.

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

LANDMARKS_FILE = "shape_predictor_68_face_landmarks.dat"
Landmarks = npt.NDArray[np.float32]  # (68, 2) x, y in frame pixels
GrayImage = npt.NDArray[np.uint8]


def landmark_model_path() -> Path:
    """`VFER_LANDMARKS_PATH` if set, else the file shipped by face-recognition-models."""
    override = os.environ.get("VFER_LANDMARKS_PATH")
    if override:
        path = Path(override)
        if not path.is_file():
            raise ResourceError(f"VFER_LANDMARKS_PATH={override} is not a file")
        return path
    try:
        dist = metadata.distribution("face-recognition-models")
    except metadata.PackageNotFoundError as exc:
        raise ResourceError("the 68-point landmark model is missing: pip install face-recognition-models") from exc
    for file in dist.files or ():
        if file.name == LANDMARKS_FILE:
            return Path(str(dist.locate_file(file)))
    raise ResourceError(f"face-recognition-models is installed but has no {LANDMARKS_FILE}")


class LandmarkPredictor:
    """68 facial landmarks inside a face box (iBUG 300-W numbering)."""

    def __init__(self, path: Path | None = None) -> None:
        self._predict = dlib.shape_predictor(str(path or landmark_model_path()))

    def __call__(self, gray: GrayImage, box: Box) -> Landmarks:
        shape = self._predict(gray, box.to_dlib())
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def eye_centres(landmarks: Landmarks) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Centres of the eye in the image's left (points 36-41) and right (42-47)."""
    return landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
