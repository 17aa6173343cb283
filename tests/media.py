"""Test inputs made from the real files in ../shared/data: photo clips, damaged and rotated videos."""

from __future__ import annotations

import io
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEO = DATA / "video"
LONDON = DATA / "faces" / "london"


def require_data() -> Path:
    """The shared data directory, or a failure that says where it is expected."""
    if not (VIDEO / "single_face.mp4").is_file():
        raise RuntimeError(f"real test data missing: expected {DATA} (the project's ../shared/data)")
    return DATA


def encode(frames: list[npt.NDArray[np.uint8]], fps: int = 10, rotation: int = 0) -> bytes:
    """H.264 MP4 bytes from BGR or gray frames (even sizes); `rotation` sets the display matrix."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for image in frames:
            fmt = "gray" if image.ndim == 2 else "bgr24"
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def photo_clip(photo: Path, *, frames: int = 12, max_angle: float = 0.0, fps: int = 10) -> bytes:
    """A short clip of a still photo, gently rotating towards `max_angle` degrees and drifting."""
    image = cv2.imread(str(photo))
    height, width = image.shape[:2]
    height, width = height - height % 2, width - width % 2
    image = image[:height, :width]
    out = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), max_angle * t, 1.0 + 0.04 * t)
        matrix[0, 2] += 6 * t
        out.append(cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE))
    return encode(out, fps=fps)


def faststart_copy(source: Path, out: Path) -> Path:
    """Remux with the index first, so that a truncated copy still opens."""
    with av.open(str(source)) as src, av.open(str(out), "w", options={"movflags": "faststart"}) as dst:
        stream = src.streams.video[0]
        target = dst.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = target
            dst.mux(packet)
    return out


def band_share(png: Path, color: str) -> float:
    """The share of a timeline PNG's lanes (their grey plus every band) that `color` covers, in
    columns of the rows that are mostly lane (not the legend's or the labels')."""
    from vfer.plots import COLORS, LANE

    image = cv2.imread(str(png))[:, :, ::-1].astype(np.int16)

    def pixels(hex_color: str) -> npt.NDArray[np.bool_]:
        rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
        return np.abs(image - rgb).max(axis=2) <= 6

    lanes = pixels(LANE)
    for band_color in COLORS.values():
        lanes |= pixels(band_color)
    rows = lanes.sum(axis=1) > 0.5 * image.shape[1]
    band = pixels(color)[rows].any(axis=0)
    return float(band.sum() / lanes[rows].any(axis=0).sum())


def y4m_copy(source: Path, out: Path, *, seconds: float) -> Path:
    """The first `seconds` of a video as raw YUV4MPEG2 (4:2:0), what Chromium's fake camera plays."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        fps = round(float(stream.average_rate or 25))
        with out.open("wb") as y4m:
            for frame in container.decode(stream):
                if frame.time is not None and frame.time >= seconds:
                    break
                bgr = frame.to_ndarray(format="bgr24")
                if y4m.tell() == 0:
                    height, width = bgr.shape[:2]
                    y4m.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
                y4m.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out
