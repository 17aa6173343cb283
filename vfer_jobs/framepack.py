"""A window of live-stream frames as one blob: the encoded frames and their metadata in a zip.

The gRPC server writes one per window into the blob store; a worker reads it. Frames stay as the
client sent them (JPEG, PNG or raw), so the gateway never decodes images.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass

from vfer_jobs.options import FrameFormat


@dataclass(frozen=True)
class PackedFrame:
    time_s: float
    format: FrameFormat
    width: int  # raw formats only (0 otherwise)
    height: int
    data: bytes


def pack(frames: list[PackedFrame]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        meta = [{k: v for k, v in asdict(f).items() if k != "data"} for f in frames]
        archive.writestr("frames.json", json.dumps(meta))
        for i, frame in enumerate(frames):
            archive.writestr(f"{i}.bin", frame.data)
    return buffer.getvalue()


def unpack(blob: bytes) -> list[PackedFrame]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        meta = json.loads(archive.read("frames.json"))
        return [PackedFrame(data=archive.read(f"{i}.bin"), **m) for i, m in enumerate(meta)]
