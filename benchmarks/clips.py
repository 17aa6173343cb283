"""Benchmark inputs made from the real clips in ../shared/data (written to a temp dir, never committed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SINGLE_FACE = DATA / "video" / "single_face.mp4"


def request_clips(count: int) -> list[bytes]:
    """`count` uploads cycling through four short real clips (one face; three GRID speakers)."""
    sources = [SINGLE_FACE, *sorted((DATA / "video" / "grid").glob("*.mpg"))[:3]]
    return [sources[i % len(sources)].read_bytes() for i in range(count)]


def _frames(source: Path) -> tuple[list[np.ndarray], float]:
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 30)
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], rate


def _write(frames: Iterator[np.ndarray], rate: float, out: Path, codec: str) -> Path:
    with av.open(str(out), "w") as container:
        video = container.add_stream(codec, rate=round(rate))
        assert isinstance(video, av.VideoStream), codec  # a video codec's stream
        first = next(frames)
        video.height, video.width = first.shape[:2]
        video.pix_fmt = "yuv420p"
        if codec == "libx265":
            video.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        for image in itertools.chain([first], frames):
            for packet in video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return out


def make_long_clip(
    source: Path, seconds: float, out: Path, *, size: tuple[int, int] | None = None, codec: str = "libx264"
) -> Path:
    """Re-encode `source` played forth and back until `seconds` long (same rate; `size` (w, h)
    scales it; `codec` libx264 or libx265)."""
    frames, rate = _frames(source)
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    cycle = frames + frames[-2:0:-1]
    return _write((cycle[i % len(cycle)] for i in range(round(seconds * rate))), rate, out, codec)


def make_two_face_clip(seconds: float, out: Path) -> Path:
    """Two people side by side for `seconds`: single_face.mp4 (640x360, left) and a GRID speaker
    (360x288, right, looped), at 30 fps."""
    left, _ = _frames(SINGLE_FACE)
    right, _ = _frames(DATA / "video" / "grid" / "bbaf2n.mpg")
    left_cycle, right_cycle = left + left[-2:0:-1], right + right[-2:0:-1]

    def frames() -> Iterator[np.ndarray]:
        for i in range(round(seconds * 30)):
            canvas = np.full((360, 1000, 3), 90, np.uint8)
            canvas[:, :640] = left_cycle[i % len(left_cycle)]
            canvas[36:324, 640:1000] = right_cycle[i * 25 // 30 % len(right_cycle)]
            yield canvas

    return _write(frames(), 30.0, out, "libx264")
