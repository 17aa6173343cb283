"""A copy of a video that every browser plays: WebM (VP8), small, on the results' clock.

Browsers play few containers and codecs: an MPEG program stream (the GRID corpus), HEVC or some
QuickTime files show nothing, so a result's boxes had no picture to go over. The decoder reads
all of those; this re-encodes what it decodes, upright, at most PREVIEW_WIDTH wide and
PREVIEW_FPS frames a second, each frame stamped with the time the results use (`DecodedFrame.time_s`,
from 0), so a box drawn at a window's time lands on the right picture. VP8 in WebM: royalty-free
(libvpx, BSD), bundled with PyAV's wheels, played by Chromium, Firefox and Safari.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av

from vfer.config import DecodeLimits
from vfer.deadline import Deadline
from vfer.video.decode import DecodedFrame, VideoReader, VideoSource

PREVIEW_WIDTH = 480
PREVIEW_FPS = 15.0
PREVIEW_BITRATE = 500_000  # bits/s: 10 min of video is at most about 40 MB
_TIME_BASE = Fraction(1, 1000)


def preview_size(width: int, height: int, max_width: int = PREVIEW_WIDTH) -> tuple[int, int]:
    """The preview's frame size: the video's shape, at most `max_width` wide, even (for 4:2:0)."""
    scale = min(1.0, max_width / width)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def webm_preview(source: VideoSource, limits: DecodeLimits | None = None, deadline: Deadline | None = None) -> bytes:
    """The preview's bytes; the decoder's errors and limits apply, and `deadline` between frames."""
    deadline = deadline or Deadline()
    reader = VideoReader(source, limits)
    width, height = preview_size(reader.info.width, reader.info.height)
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=round(PREVIEW_FPS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = _TIME_BASE  # the encoder keeps each frame's time
        stream.bit_rate = PREVIEW_BITRATE
        stream.options = {"deadline": "realtime", "cpu-used": "8"}  # libvpx's fastest: a preview, not an archive
        due = 0.0
        for decoded in reader.frames():
            deadline.check()
            if decoded.time_s + 1e-6 < due:
                continue
            due = decoded.time_s + 1.0 / PREVIEW_FPS
            frame = _scaled(decoded, width, height)
            frame.pts, frame.time_base = round(decoded.time_s / _TIME_BASE), _TIME_BASE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _scaled(decoded: DecodedFrame, width: int, height: int) -> av.VideoFrame:
    """The frame upright at the preview's size (libswscale; numpy only to turn a rotated one)."""
    if not decoded.rotation:
        return decoded.frame.reformat(width=width, height=height, format="yuv420p")
    upright = av.VideoFrame.from_ndarray(decoded.bgr(), format="bgr24")
    return upright.reformat(width=width, height=height, format="yuv420p")
