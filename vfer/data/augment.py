"""The paper's augmentation: every clip rotated by a few angles, each also flipped horizontally.

CK+: 0, +-5, +-10, +-15 degrees, each with and without a flip (14x the data). SAVEE and AFEW:
+-5 and +-10 degrees, each with and without a flip (8x). Every frame of a clip moves the same.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Variant = tuple[float, bool]  # (degrees, flipped)
AUGMENTATIONS: dict[str, tuple[Variant, ...]] = {
    "ck+": tuple((a, f) for a in (0.0, 5.0, -5.0, 10.0, -10.0, 15.0, -15.0) for f in (False, True)),
    "savee": tuple((a, f) for a in (5.0, -5.0, 10.0, -10.0) for f in (False, True)),
    "afew": tuple((a, f) for a in (5.0, -5.0, 10.0, -10.0) for f in (False, True)),
    "generic": tuple((a, f) for a in (0.0, 5.0, -5.0, 10.0, -10.0) for f in (False, True)),
    "none": ((0.0, False),),
}


def transform(clip: npt.NDArray[np.uint8], angle: float, flip: bool) -> npt.NDArray[np.uint8]:
    """One variant of a (T, H, W) clip."""
    height, width = clip.shape[1:]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    out = np.empty_like(clip)
    for t, frame in enumerate(clip):
        moved = cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE) if angle else frame
        out[t] = moved[:, ::-1] if flip else moved
    return out


def augment(
    crops: npt.NDArray[np.uint8], labels: npt.NDArray[np.int64], scheme: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Every clip in every variant of the scheme: len(AUGMENTATIONS[scheme]) times the data."""
    variants = AUGMENTATIONS[scheme]
    out = np.stack([transform(clip, a, f) for clip in crops for a, f in variants])
    return out, np.repeat(labels, len(variants))
