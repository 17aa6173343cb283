"""Eye-levelled face crops: the eyes land on fixed points of a small gray square.

Where the eyes go matters: FER2013 faces are loosely registered and show the whole mouth and chin.
The geometry below was chosen on the London set (77 people, neutral and smiling) with the
FER2013 mini-Xception: eyes at 25 % of the height and 36 % of the width apart gave the best
balance of smiles called happy and neutral faces called neutral (see README, Alignment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vfer.face.landmarks import Landmarks, eye_centres

GrayImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class AlignSpec:
    """Crop geometry as fractions of the output side."""

    size: int = 64
    eye_y: float = 0.25  # both eye centres on this row
    eye_distance: float = 0.36  # distance between eye centres; they are centred horizontally


def alignment_matrix(landmarks: Landmarks, spec: AlignSpec) -> npt.NDArray[np.float64]:
    """The 2x3 similarity that levels the eyes and puts them at the spec's positions."""
    left, right = eye_centres(landmarks)
    dx, dy = float(right[0] - left[0]), float(right[1] - left[1])
    distance = max(math.hypot(dx, dy), 1e-3)
    scale = spec.eye_distance * spec.size / distance
    angle = math.degrees(math.atan2(dy, dx))
    centre = ((left[0] + right[0]) / 2.0, (left[1] + right[1]) / 2.0)
    matrix = np.asarray(cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale), dtype=np.float64)
    matrix[0, 2] += spec.size * 0.5 - centre[0]
    matrix[1, 2] += spec.size * spec.eye_y - centre[1]
    return matrix


def align_face(gray: GrayImage, landmarks: Landmarks, spec: AlignSpec | None = None) -> GrayImage:
    """Warp the face to `spec.size` square; large faces are area-downscaled first (no aliasing)."""
    spec = spec or AlignSpec()
    left, right = eye_centres(landmarks)
    distance = float(np.hypot(*(right - left)))
    shrink = spec.eye_distance * spec.size / max(distance, 1e-3)
    if shrink < 0.5:
        # Cut a generous region around the face, area-resize it to about twice the output scale.
        half = distance * 2.5
        cx, cy = (left + right) / 2.0
        height, width = gray.shape
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(width, int(cx + half)), min(height, int(cy + half))
        factor = min(1.0, 2.0 * shrink)
        region = cv2.resize(gray[y0:y1, x0:x1], None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        landmarks = ((landmarks - np.array([x0, y0], dtype=np.float32)) * factor).astype(np.float32)
        gray = np.asarray(region, dtype=np.uint8)
    matrix = alignment_matrix(landmarks, spec)
    aligned = cv2.warpAffine(
        gray, matrix, (spec.size, spec.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(aligned, dtype=np.uint8)


def _gamma_table(gamma: float) -> GrayImage:
    levels = np.arange(256, dtype=np.float64) / 255.0
    return np.clip(np.rint(255.0 * levels ** (1.0 / gamma)), 0, 255).astype(np.uint8)


def brighten_if_dark(crop: GrayImage, gamma: float, dark_threshold: float) -> GrayImage:
    """Gamma-correct (out = in^(1/gamma)) a crop whose mean gray level is below the threshold."""
    if float(crop.mean()) >= dark_threshold:
        return crop
    return np.asarray(cv2.LUT(crop, _gamma_table(gamma)), dtype=np.uint8)
