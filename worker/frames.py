"""Decode a live stream's packed frames to gray images for the core (and BGR ones, when the
model takes colour crops and the stream has colour)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vfer.errors import CorruptVideoError
from vfer_jobs.framepack import PackedFrame

GrayImage = npt.NDArray[np.uint8]
ColorImage = npt.NDArray[np.uint8]  # (H, W, 3) BGR


def decode_frame(frame: PackedFrame, index: int, *, color: bool) -> tuple[GrayImage, ColorImage | None]:
    """The frame as a uint8 gray image, and as BGR when `color` and the frame has colour; a
    frame that does not decode is the client's error."""
    if frame.format in ("jpeg", "png"):
        flag = cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE
        image = cv2.imdecode(np.frombuffer(frame.data, np.uint8), flag)
        if image is None:
            raise CorruptVideoError(f"frame {index}: the {frame.format.upper()} image does not decode")
        decoded: ColorImage = np.ascontiguousarray(image, dtype=np.uint8)
        if not color:
            return decoded, None
        return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY), dtype=np.uint8), decoded
    channels = 3 if frame.format == "bgr" else 1
    pixels = np.frombuffer(frame.data, np.uint8)
    if pixels.size != frame.width * frame.height * channels:
        raise CorruptVideoError(f"frame {index}: {pixels.size} bytes do not make a {frame.width}x{frame.height} image")
    image = pixels.reshape(frame.height, frame.width, channels)
    if channels == 1:
        return np.ascontiguousarray(image[:, :, 0]), None
    gray = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    return gray, (np.ascontiguousarray(image) if color else None)
