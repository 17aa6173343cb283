"""Benchmark inputs made from the real clips in ../shared/data (written to a temp dir, never committed)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SINGLE_FACE = DATA / "video" / "single_face.mp4"


def make_long_clip(source: Path, seconds: float, out: Path) -> Path:
    """Re-encode `source` (H.264, same size and rate) played forth and back until `seconds` long."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or 30
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    cycle = frames + frames[-2:0:-1]
    total = round(seconds * float(rate))
    with av.open(str(out), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        for i in range(total):
            image = np.ascontiguousarray(cycle[i % len(cycle)])
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return out
