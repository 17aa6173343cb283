"""Decode a live stream's packed frames to gray images for the core."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vfer.errors import CorruptVideoError
from vfer.jobs.framepack import PackedFrame

GrayImage = npt.NDArray[np.uint8]


def to_gray(frame: PackedFrame, index: int) -> GrayImage:
    """The frame as a uint8 gray image; a frame that does not decode is the client's error."""
    if frame.format in ("jpeg", "png"):
        image = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise CorruptVideoError(f"frame {index}: the {frame.format.upper()} image does not decode")
        return np.ascontiguousarray(image, dtype=np.uint8)
    channels = 3 if frame.format == "bgr" else 1
    pixels = np.frombuffer(frame.data, np.uint8)
    if pixels.size != frame.width * frame.height * channels:
        raise CorruptVideoError(f"frame {index}: {pixels.size} bytes do not make a {frame.width}x{frame.height} image")
    image = pixels.reshape(frame.height, frame.width, channels)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if channels == 3 else image[:, :, 0])
