"""Video decoding with PyAV: probing, limits, timestamps and rotation."""

from vfer.video.decode import DecodedFrame, VideoInfo, VideoReader, VideoSource

__all__ = ["DecodedFrame", "VideoInfo", "VideoReader", "VideoSource"]
