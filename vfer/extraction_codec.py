"""A job's faces and windows as plain data, apart from their crops: how the split topology's
faces worker hands a job to the inference workers.

The faces worker stores each window's crops as bytes (`pack_window`: 8x64x64 for the paper's
gray crops) under the window's number, and the rest of what it found as JSON
(`extraction_to_dict`); whichever inference worker classifies the job's last window rebuilds the
extraction (`extraction_from_dict`) and assembles the same result a single worker would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from vfer.config import CLIP_FRAMES, CropSpec
from vfer.errors import WindowDataError
from vfer.face.geometry import Box
from vfer.pipeline import Clip, Extraction, FaceClips, FaceWindow
from vfer.video.decode import VideoInfo

WindowNumbers = dict[int, int]  # id(window) -> its number in the job (the order it was cut)


def _shape(crop: CropSpec) -> tuple[int, ...]:
    return (CLIP_FRAMES, crop.size, crop.size, 3) if crop.color else (CLIP_FRAMES, crop.size, crop.size)


def pack_window(clips: Mapping[CropSpec, Clip], crops: Sequence[CropSpec]) -> bytes:
    """The window's clips of `crops`, in that order, as raw uint8 bytes."""
    return b"".join(np.ascontiguousarray(clips[crop], dtype=np.uint8).tobytes() for crop in crops)


def unpack_window(data: bytes, crops: Sequence[CropSpec]) -> dict[CropSpec, Clip]:
    """What `pack_window` packed for the same `crops`; refuses bytes of another size."""
    shapes = [_shape(crop) for crop in crops]
    expected = sum(int(np.prod(shape)) for shape in shapes)
    if len(data) != expected:
        raise WindowDataError(f"window data of {len(data)} bytes, expected {expected} for crops {list(crops)}")
    clips, offset = {}, 0
    for crop, shape in zip(crops, shapes, strict=True):
        size = int(np.prod(shape))
        clips[crop] = np.frombuffer(data, np.uint8, size, offset).reshape(shape)
        offset += size
    return clips


def _box(values: Sequence[float]) -> Box:
    return Box(*(float(v) for v in values))


def faces_to_dict(faces: Sequence[FaceClips], numbers: Mapping[int, int]) -> list[dict[str, Any]]:
    """Tracks and their windows (times, boxes, numbers), without crops."""
    return [
        {
            "track_id": face.track_id,
            "start_s": face.start_s,
            "end_s": face.end_s,
            "box": [face.box.x0, face.box.y0, face.box.x1, face.box.y1],
            "samples": face.samples,
            "windows": [
                {
                    "number": numbers[id(w)],
                    "start_s": w.start_s,
                    "end_s": w.end_s,
                    "box": [w.box.x0, w.box.y0, w.box.x1, w.box.y1],
                }
                for w in face.windows
            ],
        }
        for face in faces
    ]


def faces_from_dict(data: Sequence[Mapping[str, Any]]) -> tuple[list[FaceClips], WindowNumbers]:
    """The tracks `faces_to_dict` wrote (windows without crops), and each window's number."""
    faces, numbers = [], {}
    for face in data:
        windows = []
        for entry in face["windows"]:
            window = FaceWindow(entry["start_s"], entry["end_s"], _box(entry["box"]), clips={})
            numbers[id(window)] = int(entry["number"])
            windows.append(window)
        faces.append(
            FaceClips(face["track_id"], face["start_s"], face["end_s"], _box(face["box"]), face["samples"], windows)
        )
    return faces, numbers


def extraction_to_dict(extraction: Extraction, numbers: Mapping[int, int]) -> dict[str, Any]:
    return {
        "info": asdict(extraction.info),
        "faces": faces_to_dict(extraction.faces, numbers),
        "partial": extraction.partial,
        "timings_ms": extraction.timings_ms,
    }


def extraction_from_dict(data: Mapping[str, Any]) -> tuple[Extraction, WindowNumbers]:
    faces, numbers = faces_from_dict(data["faces"])
    extraction = Extraction(VideoInfo(**data["info"]), faces, bool(data["partial"]), dict(data["timings_ms"]))
    return extraction, numbers
