"""The preparation cache: the face pipeline run once per clip, its 8 aligned crops stored.

Each clip becomes `<cache>/<key>.npz` (crops (8, 64, 64) uint8, label, subject, source, split);
a clip already in the cache is skipped, so an interrupted run resumes. A clip without a face is
listed in `<cache>/report.json`, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vfer.config import ALIGNED_GRAY, CLIP_FRAMES, PipelineConfig
from vfer.data.layouts import IMAGE_SUFFIXES, Sample, frames_in
from vfer.data.photos import detected_window
from vfer.errors import VferError
from vfer.face.tracking import FaceModels
from vfer.pipeline import extract_faces, faces_in_window
from vfer.video.sampling import clip_indices

# A whole clip is one paper clip: windows longer than any dataset clip.
WHOLE_CLIP = PipelineConfig(window_s=60.0, stride_s=60.0)
_models: FaceModels | None = None


@dataclass(frozen=True)
class Prepared:
    key: str
    status: str  # "ok", "cached", "no_face" or "error"
    message: str = ""


def cache_key(sample: Sample) -> str:
    return hashlib.sha1(str(sample.source.resolve()).encode()).hexdigest()[:16]


def _face_models() -> FaceModels:
    global _models
    if _models is None:
        _models = FaceModels.load()
    return _models


def clip_crops(sample: Sample, models: FaceModels) -> npt.NDArray[np.uint8] | None:
    """The main face's 8 aligned crops over the whole clip (a photo: a still clip of its face,
    padded so the detector sees a head), or None without a face."""
    if sample.source.suffix.lower() in IMAGE_SUFFIXES:
        window = detected_window(sample.source, models, (ALIGNED_GRAY,))
        return None if window is None else window.frames
    if sample.is_sequence:
        paths = frames_in(sample.source)
        chosen = [paths[i] for i in clip_indices(0, len(paths) - 1, CLIP_FRAMES)]
        images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in chosen]
        if any(image is None for image in images):
            raise VferError(f"{sample.source}: an image does not decode")
        frames = [(float(i), np.asarray(image, dtype=np.uint8)) for i, image in enumerate(images)]
        faces = faces_in_window(frames, models, WHOLE_CLIP)[0]
    else:
        faces = extract_faces(sample.source, models, WHOLE_CLIP).faces
    faces = [f for f in faces if f.windows]
    if not faces:
        return None
    main = max(faces, key=lambda f: (f.samples, f.box.area))
    return main.windows[0].frames


def prepare_one(sample: Sample, cache: Path) -> Prepared:
    key = cache_key(sample)
    target = cache / f"{key}.npz"
    if target.is_file():
        return Prepared(key, "cached")
    try:
        crops = clip_crops(sample, _face_models())
    except VferError as exc:  # InvalidOptionError too: a photo that does not decode
        return Prepared(key, "error", str(exc))
    if crops is None:
        return Prepared(key, "no_face", str(sample.source))
    partial = cache / f".{key}.{os.getpid()}.npz"
    np.savez_compressed(
        partial, crops=crops, label=sample.label, subject=sample.subject, source=str(sample.source), split=sample.split
    )
    partial.replace(target)
    return Prepared(key, "ok")


def prepare(
    samples: Sequence[Sample],
    cache: Path,
    *,
    workers: int = 1,
    progress: Callable[[Prepared], None] | None = None,
) -> dict[str, list[str]]:
    """Prepare every sample into `cache` with `workers` processes; returns and writes the report."""
    cache.mkdir(parents=True, exist_ok=True)
    outcomes: list[tuple[Sample, Prepared]] = []
    if workers <= 1:
        for sample in samples:
            outcomes.append((sample, done := prepare_one(sample, cache)))
            if progress:
                progress(done)
    else:
        with ProcessPoolExecutor(workers) as pool:
            for sample, done in zip(samples, pool.map(prepare_one, samples, [cache] * len(samples)), strict=True):
                outcomes.append((sample, done))
                if progress:
                    progress(done)
    report: dict[str, list[str]] = {"ok": [], "cached": [], "no_face": [], "error": []}
    for sample, done in outcomes:
        report[done.status].append(str(sample.source) + (f": {done.message}" if done.status == "error" else ""))
    (cache / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
