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


def tf_resize_bilinear(image: Image | FloatImage, size: int) -> FloatImage:
    """tf.image.resizeBilinear(image, [size, size], alignCorners=false, halfPixelCenters=false)."""
    height, width = image.shape[:2]
    ys = np.arange(size, dtype=np.float64) * (height / size)
    xs = np.arange(size, dtype=np.float64) * (width / size)
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    src = image.astype(np.float64)
    top = src[y0][:, x0] * (1 - fx) + src[y0][:, x1] * fx
    bottom = src[y1][:, x0] * (1 - fx) + src[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def box_crop(frame: Image, box: Box, size: int) -> Image:
    """The face box of `frame` (gray or RGB) as a (size, size[, C]) uint8 crop."""
    height, width = frame.shape[:2]
    x0, y0 = max(0, round(box.x0)), max(0, round(box.y0))
    x1, y1 = min(width, round(box.x1)), min(height, round(box.y1))
    region = frame[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    image = region if region.ndim == 3 else region[:, :, None]
    crop = np.clip(np.rint(tf_resize_bilinear(pad_to_square(image), size)), 0, 255).astype(np.uint8)
    return crop if region.ndim == 3 else crop[:, :, 0]
