"""The paper's augmentation: every clip rotated by a few angles, each also flipped horizontally.

Each dataset declares its variants in the registry (CK+ 14x, SAVEE and AFEW 8x); "none" keeps the
clips as they are. Every frame of a clip moves the same.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vfer.data.registry import Variant, dataset_entry, list_datasets

NO_AUGMENTATION = "none"


def schemes() -> list[str]:
    return [*list_datasets(), NO_AUGMENTATION]


def variants(scheme: str) -> tuple[Variant, ...]:
    """The (angle, flip) variants of a dataset's augmentation, or the clip itself for "none"."""
    return ((0.0, False),) if scheme == NO_AUGMENTATION else dataset_entry(scheme).augmentation


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
    """Every clip in every variant of the scheme: len(variants(scheme)) times the data."""
    chosen = variants(scheme)
    out = np.stack([transform(clip, a, f) for clip in crops for a, f in chosen])
    return out, np.repeat(labels, len(chosen))
