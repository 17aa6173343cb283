"""Labelled photos as clips, with the crops any set of models asks for: the real labels that every
model, frame or video, is trained and measured on alike.

- A photo folder is `labels.csv` (file, label; optional person, annotator) beside the images.
- People are split by a rule, never by luck: `person_split` hashes the person's id.
- A tight face crop is padded so the detector sees a head (`detected_window`), or taken as the
  face itself (`crop_window`, FER2013's 48x48 crops).
- A still becomes an 8-frame still clip (`still_clips`); training moves it the way the paper
  treats CK+ peak frames, on the training device (`vfer.training.motion.move_clips`).
"""

from __future__ import annotations

import csv
import multiprocessing
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from vfer.config import CLIP_FRAMES, CropSpec, PipelineConfig
from vfer.data.ferplus import vote_columns, voted_faces
from vfer.errors import InputError, InvalidOptionError
from vfer.face.align import brighten_if_dark
from vfer.face.crops import box_crop
from vfer.face.geometry import Box
from vfer.face.tracking import ColorImage, FaceModels
from vfer.labels import LABELS
from vfer.pipeline import FaceWindow, faces_in_window

Split = Literal["dev", "tune", "train"]
FaceMode = Literal["detect", "pad", "crop"]  # found as is, found in a framed tight crop, or the photo is the face
Clips = dict[CropSpec, npt.NDArray[np.uint8]]  # by crop: (T, S, S) gray or (T, S, S, 3) RGB
SYNONYMS = {"angry": "anger", "smiling": "happy", "happiness": "happy", "sadness": "sad", "surprised": "surprise"}
SYNONYMS |= {"disgusted": "disgust", "fearful": "fear", "afraid": "fear"}
MIN_FACE_SIDE = 160  # photos are upscaled to this before padding: HOG finds faces from about 80 px
HEAD_PADDING = 0.5  # of the photo's side, on each side: a tight crop becomes a head in a frame


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    label: str  # one of LABELS
    subject: str  # "<set>/<id>": the person, for subject-disjoint splits
    votes: tuple[float, ...] | None = None  # annotators' distribution over LABELS, where the folder has votes


def person_bucket(subject: str) -> int:
    """CRC-32 of the person's (or video's) id modulo 10: the bucket every split is made of."""
    return zlib.crc32(subject.encode()) % 10


def person_split(subject: str) -> Split:
    """The rule that splits people (and videos) for every shipped model, fixed before any figure:
    bucket 0-1 development (measured, never trained, tuned or calibrated on), 2 tune (epoch
    selection and calibration), 3-9 train. A person's photos stay together."""
    bucket = person_bucket(subject)
    return "dev" if bucket < 2 else "tune" if bucket == 2 else "train"


def normalise_label(label: str) -> str:
    name = label.strip().lower()
    name = SYNONYMS.get(name, name)
    if name not in LABELS:
        raise InvalidOptionError(f"unknown label {label!r}: labels are {', '.join(LABELS)}")
    return name


def photo_folder(folder: Path, *, prefix: str = "") -> list[LabelledPhoto]:
    """A folder's `labels.csv` (file, label; optional person): one entry per photo. Without a
    person column each photo is its own person. Where the columns hold votes for each of the seven
    (FER+, `vfer.data.ferplus`), each photo carries its vote distribution, and faces without a
    majority label or without enough votes for the seven are left out."""
    table = folder / "labels.csv"
    if not folder.is_dir():
        raise InvalidOptionError(f"{folder}: no such folder")
    if not table.is_file():
        raise InvalidOptionError(f"{folder} has no labels.csv (columns: file, label; optional person)")
    with table.open(newline="") as listing:
        rows = list(csv.DictReader(listing))
    if rows and not {"file", "label"} <= rows[0].keys():
        raise InvalidOptionError(f"{table}: the columns must include file and label")
    if rows and vote_columns(list(rows[0])) is not None:
        voted = voted_faces(folder, prefix=prefix)
        return [
            LabelledPhoto(voted.paths[i], LABELS[voted.labels[i]], voted.subjects[i], tuple(map(float, voted.votes[i])))
            for i in voted.labelled()
        ]
    return [
        LabelledPhoto(folder / row["file"], normalise_label(row["label"]), prefix + (row.get("person") or row["file"]))
        for row in rows
    ]


def expression_photos(data: Path) -> list[LabelledPhoto]:
    """`faces/expressions`: 2,921 photos of 1,571 people, real labels for all seven (Apache-2.0 list)."""
    return photo_folder(data / "faces" / "expressions", prefix="expressions/")


def london_and_canada(data: Path) -> Iterator[LabelledPhoto]:
    """The Face Research Lab London set (neutral and smiling, CC BY 4.0) and Canada set (neutral, CC BY)."""
    london = data / "faces" / "london"
    with (london / "labels.csv").open() as listing:
        for row in csv.DictReader(listing):
            yield LabelledPhoto(london / row["file"], normalise_label(row["label"]), f"london/{row['subject_id']}")
    for photo in sorted((data / "faces" / "canada").glob("*.jpg")):
        yield LabelledPhoto(photo, "neutral", f"canada/{photo.stem}")


def grid_videos(data: Path) -> list[Path]:
    """GRID talking-face clips (CC BY 4.0): neutral speech, no expression labels."""
    return sorted((data / "video" / "grid").glob("*.mpg"))


def read_photo(path: Path) -> ColorImage:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: not an image that decodes")
    return np.asarray(image, dtype=np.uint8)


def pad_to_head(image: ColorImage) -> ColorImage:
    """A tight face crop upscaled to at least MIN_FACE_SIDE and framed in black, so the detector
    and the landmarks see a whole head (a detector trained on whole frames misses a face that
    fills its picture)."""
    scale = max(1.0, MIN_FACE_SIDE / min(image.shape[:2]))
    if scale > 1:
        image = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), np.uint8)
    pad = int(HEAD_PADDING * max(image.shape[:2]))
    return np.asarray(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)), np.uint8)


def clip_window(frames: Sequence[ColorImage], models: FaceModels, config: PipelineConfig) -> FaceWindow | None:
    """The main face (most samples, then the larger box) of 8 BGR frames as one window with each
    crop of `config`; None without a face."""
    grays = [(i / 10, np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), dtype=np.uint8)) for i, f in enumerate(frames)]
    faces = [f for f in faces_in_window(grays, models, config, colors=frames)[0] if f.windows]
    if not faces:
        return None
    return max(faces, key=lambda f: (f.samples, f.box.area)).windows[0]


def detected_window(
    path: Path, models: FaceModels, crops: Sequence[CropSpec], *, landmarks: int = 68, pad: bool = True
) -> FaceWindow | None:
    """A photo as one still 8-frame window, its face found by the service's own pipeline (padded
    first when `pad`); None without a face. `landmarks` must be what `models` were loaded with."""
    image = read_photo(path)
    framed = pad_to_head(image) if pad else image
    return clip_window([framed] * CLIP_FRAMES, models, PipelineConfig(crops=tuple(crops), landmarks=landmarks))


def photo_window(
    path: Path, models: FaceModels, crops: Sequence[CropSpec], *, landmarks: int = 68
) -> FaceWindow | None:
    """A photo of a whole head (London, Canada) as a still window, unpadded."""
    return detected_window(path, models, crops, landmarks=landmarks, pad=False)


def crop_stills(path: Path, crops: Sequence[CropSpec], config: PipelineConfig | None = None) -> Clips:
    """A photo that is already the face (FER2013), one frame by crop: no detection; the aligned
    crop is the photo resized (and gamma-corrected when dark, as the pipeline does), the box crop
    the whole photo."""
    config = config or PipelineConfig()
    image = read_photo(path)
    gray = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    height, width = gray.shape
    frames: Clips = {}
    for spec in crops:
        if spec.kind == "aligned":
            shrink = spec.size < min(height, width)  # area-average down; bilinear up (area is blocky there)
            method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            face = np.asarray(cv2.resize(gray, (spec.size, spec.size), interpolation=method), np.uint8)
            frames[spec] = brighten_if_dark(face, config.gamma, config.dark_threshold)
        else:
            source = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), np.uint8) if spec.color else gray
            frames[spec] = box_crop(source, Box(0.0, 0.0, float(width), float(height)), spec.size)
    return frames


def crop_window(path: Path, crops: Sequence[CropSpec], config: PipelineConfig | None = None) -> Clips:
    """`crop_stills` as still 8-frame clips."""
    return {
        spec: np.repeat(frame[None], CLIP_FRAMES, axis=0) for spec, frame in crop_stills(path, crops, config).items()
    }


def still_clips(stills: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(N, S, S[, 3]) stills as (N, 8, S, S[, 3]) still clips: a view, no copy."""
    return np.broadcast_to(stills[:, None], (len(stills), CLIP_FRAMES, *stills.shape[1:]))


@dataclass
class PhotoStills:
    """The still frame of each photo where a face was found, stacked by crop."""

    stills: Clips  # by crop: (N, S, S) gray or (N, S, S, 3) RGB
    labels: npt.NDArray[np.int64]  # (N,) indices into LABELS
    subjects: list[str]
    found: npt.NDArray[np.bool_]  # (len(photos),): which photos gave a face
    votes: npt.NDArray[np.float32] | None = None  # (N, 7): the annotators' distributions, where every photo has them

    def clips(self) -> Clips:
        """Still 8-frame clips of every photo (views, no copy)."""
        return {spec: still_clips(stills) for spec, stills in self.stills.items()}


_worker_models: FaceModels | None = None


def _load_worker_models(landmarks: int) -> None:
    global _worker_models
    _worker_models = FaceModels.load(landmarks=landmarks)


def _one_photo(photo: LabelledPhoto, crops: tuple[CropSpec, ...], pad: bool, landmarks: int) -> Clips | None:
    assert _worker_models is not None, "the face models load first"
    window = detected_window(photo.path, _worker_models, crops, landmarks=landmarks, pad=pad)
    return None if window is None else {spec: window.clips[spec][0] for spec in crops}


def photo_stills(
    photos: Sequence[LabelledPhoto],
    crops: Sequence[CropSpec],
    *,
    mode: FaceMode = "pad",
    landmarks: int = 68,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> PhotoStills:
    """Every photo's face as a still frame of each crop: found by the service's pipeline
    ("detect"; "pad" frames a tight crop first, in `workers` processes) or the photo taken as
    the face ("crop"). Photos without a face are counted in `found`, never silently dropped."""
    specs = tuple(dict.fromkeys(crops))
    results: list[Clips | None] = []
    if mode == "crop":
        for photo in photos:
            results.append(crop_stills(photo.path, specs))
            if progress:
                progress(1)
    else:
        # Spawned, not forked: a fork of a process with threads (a server, a test runner) can
        # inherit a held lock and hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max(1, workers), mp_context=context, initializer=_load_worker_models, initargs=(landmarks,)
        ) as pool:
            n = len(photos)
            chunk = max(1, min(32, n // (4 * max(1, workers))))
            for result in pool.map(
                _one_photo, photos, [specs] * n, [mode == "pad"] * n, [landmarks] * n, chunksize=chunk
            ):
                results.append(result)
                if progress:
                    progress(1)
    kept = [(photo, result) for photo, result in zip(photos, results, strict=True) if result is not None]
    shapes = {spec: (spec.size, spec.size, *((3,) if spec.color else ())) for spec in specs}
    return PhotoStills(
        stills={
            spec: np.stack([r[spec] for _, r in kept]) if kept else np.zeros((0, *shapes[spec]), np.uint8)
            for spec in specs
        },
        labels=np.array([LABELS.index(p.label) for p, _ in kept], np.int64),
        subjects=[p.subject for p, _ in kept],
        found=np.array([r is not None for r in results], dtype=bool),
        votes=np.array([p.votes for p, _ in kept], np.float32).reshape(-1, len(LABELS))
        if all(p.votes is not None for p in photos)
        else None,
    )
