"""Video decoding with PyAV (probing, limits, timestamps, rotation) and the sampling grid.

Lazy: `vfer.video.sampling` needs neither PyAV nor numpy, so the gateway can cut live streams on
the core's grid; the decoder loads on first use of its names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_DECODER_NAMES = ("DecodedFrame", "VideoInfo", "VideoReader", "VideoSource")

if TYPE_CHECKING:
    from vfer.video.decode import DecodedFrame, VideoInfo, VideoReader, VideoSource


def __getattr__(name: str) -> Any:
    if name not in _DECODER_NAMES:
        raise AttributeError(f"module 'vfer.video' has no attribute {name!r}")
    return getattr(importlib.import_module("vfer.video.decode"), name)


__all__ = ["DecodedFrame", "VideoInfo", "VideoReader", "VideoSource"]
