"""The crops a model asks for, declared in its checkpoint metadata (`vfer.config.CropSpec`):

- "aligned": eye-levelled gray squares (the paper's input, vfer.face.align), gamma-corrected
  when dark;
- "box": the detector's face box cut from the frame (clipped to it), zero-padded to a centred
  square and resized the way TensorFlow.js does (bilinear, corners not aligned, no half-pixel
  centres), in RGB or gray, as face-api.js feeds its FaceExpressionNet.

The pipeline makes every crop its models ask for once per frame; windows carry them by spec.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vfer.face.geometry import Box

Image = npt.NDArray[np.uint8]  # (H, W) gray or (H, W, C)
FloatImage = npt.NDArray[np.float32]


def pad_to_square(image: Image) -> Image:
    """Zero rows or columns on both sides (the odd one after), as face-api's padToSquare."""
    height, width = image.shape[:2]
    missing = abs(height - width)
    after = int(np.floor(missing * 0.5 + 0.5))  # JavaScript's Math.round: halves round up
    before = missing - after
    pad = ((before, after), (0, 0)) if height < width else ((0, 0), (before, after))
    return np.pad(image, (*pad, (0, 0)))


def _taps(length: int, size: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """For each of `size` outputs: the two source indices it blends and the second one's weight."""
    source = np.arange(size, dtype=np.float64) * (length / size)
    first = source.astype(np.intp)  # floor: the positions are not negative
    return first, np.minimum(first + 1, length - 1), source - first


def tf_resize_bilinear(image: Image, size: int) -> FloatImage:
    """tf.image.resizeBilinear(image (H, W, C), [size, size], alignCorners=false,
    halfPixelCenters=false). Rows first, then columns (bilinear is separable), on gathered
    uint8 rows: a quarter of the time of blending the four corners of every output pixel."""
    height, width = image.shape[:2]
    y0, y1, fy = _taps(height, size)
    x0, x1, fx = _taps(width, size)
    rows = np.take(image, y0, axis=0).astype(np.float64)  # (size, W, C)
    below = np.take(image, y1, axis=0).astype(np.float64)
    below -= rows
    below *= fy[:, None, None]
    rows += below
    out = np.take(rows, x0, axis=1)  # (size, size, C)
    right = np.take(rows, x1, axis=1)
    right -= out
    right *= fx[None, :, None]
    out += right
    return out.astype(np.float32)


def box_crop(frame: Image, box: Box, size: int) -> Image:
    """The face box of `frame` (gray or RGB) as a (size, size[, C]) uint8 crop."""
    height, width = frame.shape[:2]
    x0, y0 = max(0, round(box.x0)), max(0, round(box.y0))
    x1, y1 = min(width, round(box.x1)), min(height, round(box.y1))
    region = frame[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    image = region if region.ndim == 3 else region[:, :, None]
    crop = np.clip(np.rint(tf_resize_bilinear(pad_to_square(image), size)), 0, 255).astype(np.uint8)
    return crop if region.ndim == 3 else crop[:, :, 0]
