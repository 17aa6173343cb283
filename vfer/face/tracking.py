"""Face tracks over the sampling grid, by two strategies with one output.

- `SampledTracker` (default, "fast"): looks only at grid frames. A track is followed by
  re-detecting in a small scaled region around its last box; the whole frame is searched at every
  grid frame while no face is tracked, and otherwise on the first frame of every
  `detect_interval_s` slot of video time.
- `PaperTracker` ("paper", section III-A): dlib's correlation tracker updated on every frame,
  the detector run until a face is found and then once per `detect_interval_s` slot to correct
  drift, end lost tracks and pick up new faces.

A search on the first frame of a slot is due whatever the tracker saw before, so the pipeline
can run it ahead, on its decoding thread, and hand the tracker the faces found (`found`).

Both crop an aligned face at each grid frame a track is on; tracks get ids in order of appearance.
A live stream is tracked window by window, wherever each window runs: `TrackerState` carries the
stream's faces (id and last box) and the last full-frame search from one window to the next, so
a face keeps its id and a window searches only near known faces until a full search is due.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import dlib
import numpy as np
import numpy.typing as npt

from vfer.config import CropSpec, PipelineConfig
from vfer.face.align import AlignSpec, align_face, brighten_if_dark
from vfer.face.crops import box_crop
from vfer.face.detector import FaceDetector
from vfer.face.geometry import Box
from vfer.face.landmarks import LandmarkPredictor

GrayImage = npt.NDArray[np.uint8]
ColorImage = npt.NDArray[np.uint8]  # (H, W, 3) BGR, as decoded
Crop = npt.NDArray[np.uint8]  # (S, S) gray or (S, S, 3) RGB

_SAME_FACE_IOU = 0.3  # a detection this close to a track's box is that track's face
_DUPLICATE_IOU = 0.5  # two tracks this close at one frame follow the same face
_MIN_PSR = 7.0  # correlation-tracker peak-to-sidelobe ratio below which it has lost the face


@dataclass
class Observation:
    """A face at one grid position."""

    frame_index: int
    time_s: float
    box: Box
    crops: dict[CropSpec, Crop]  # every crop the models asked for


@dataclass
class Track:
    """One face over time; `observations` maps grid position to what was seen there."""

    key: int
    observations: dict[int, Observation] = field(default_factory=dict)
    last_box: Box | None = None
    last_position: int = -1
    seen_until_s: float | None = None  # a carried face: when the previous window last saw it

    @property
    def positions(self) -> list[int]:
        return sorted(self.observations)


@dataclass(frozen=True)
class TrackerState:
    """What a stream's next window needs of this one: its faces and when the frame was last searched.

    JSON-serialisable (`to_dict`/`from_dict`), so it can travel in a job's options and result."""

    faces: tuple[tuple[int, Box], ...] = ()  # (track id, last box)
    next_id: int = 0
    last_detection_s: float | None = None
    seen_s: tuple[float | None, ...] = ()  # per face: when it was last seen (windows overlap)

    def to_dict(self) -> dict[str, Any]:
        seen = self.seen_s or (None,) * len(self.faces)
        return {
            "faces": [
                [key, [box.x0, box.y0, box.x1, box.y1], at] for (key, box), at in zip(self.faces, seen, strict=True)
            ],
            "next_id": self.next_id,
            "last_detection_s": self.last_detection_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackerState:
        entries = data.get("faces", [])
        faces = tuple((int(entry[0]), Box(*(float(c) for c in entry[1]))) for entry in entries)
        seen = tuple(None if len(entry) < 3 or entry[2] is None else float(entry[2]) for entry in entries)
        last = data.get("last_detection_s")
        return cls(faces, int(data.get("next_id", 0)), None if last is None else float(last), seen)


def search_slot(time_s: float, interval_s: float) -> int:
    """Which `interval_s` slot of video time `time_s` falls in: the whole frame is searched at
    least once in each (on its first sampled frame)."""
    return math.floor(time_s / interval_s + 1e-6)


@dataclass
class FaceModels:
    """The per-process face resources, heavy to load: build once, share between videos (one
    video at a time). `searcher` is a second detector for the searches the decoding thread runs
    ahead (a dlib detector must not run on two threads at once); without it the tracker runs
    them itself."""

    detector: FaceDetector
    landmarks: LandmarkPredictor
    searcher: FaceDetector | None = None

    @classmethod
    def load(cls, upsample: int = 0, landmarks: int = 68) -> FaceModels:
        """Load the models, and set OpenCV to one thread for the whole process: the face work's
        images are too small to gain from its pool, whose threads wait actively for more work
        on the cores that decoding, the searches and the model need (4 % of a long video's
        time, measured side by side)."""
        cv2.setNumThreads(1)
        return cls(
            FaceDetector(upsample=upsample), LandmarkPredictor(points=landmarks), FaceDetector(upsample=upsample)
        )


class _TrackerBase:
    def __init__(self, models: FaceModels, config: PipelineConfig, state: TrackerState | None = None) -> None:
        self._models = models
        self._config = config
        self._finished: list[Track] = []
        self._renumber = state is None  # a stream (any state, even empty) keeps the ids it hands out
        state = state or TrackerState()
        # Carried faces count as seen just before this window's first position, and at each of its
        # positions up to when the previous window (which overlaps this one) last saw them.
        seen = state.seen_s or (None,) * len(state.faces)
        self._active = [
            Track(key=key, last_box=box, last_position=-1, seen_until_s=at)
            for (key, box), at in zip(state.faces, seen, strict=True)
        ]
        self._next_key = max([state.next_id, *(key + 1 for key, _ in state.faces)])
        self._last_detection_s = state.last_detection_s

    def cut(self) -> None:
        """The video's clock was cut here (clips joined end to end): no face carries over, and
        the next frame is searched whole."""
        for track in list(self._active):
            self._end(track)
        self._last_detection_s = None

    def _end(self, track: Track) -> None:
        self._active.remove(track)
        self._finished.append(track)

    def active_tracks(self) -> list[Track]:
        """The tracks still followed (their windows may still grow)."""
        return list(self._active)

    def state(self) -> TrackerState:
        """The faces still followed (not retired) and the last full search, for the next window."""
        tracks = [t for t in sorted(self._active, key=lambda t: t.key) if t.last_box is not None]
        faces = tuple((t.key, t.last_box) for t in tracks if t.last_box is not None)
        seen = tuple(t.observations[max(t.observations)].time_s if t.observations else t.seen_until_s for t in tracks)
        return TrackerState(faces, self._next_key, self._last_detection_s, seen)

    def _detection_due(self, time_s: float) -> bool:
        last, interval = self._last_detection_s, self._config.detect_interval_s
        return last is None or search_slot(time_s, interval) > search_slot(last, interval)

    def _new_track(self) -> Track:
        track = Track(key=self._next_key)
        self._next_key += 1
        self._active.append(track)
        return track

    def _observe(
        self,
        track: Track,
        position: int,
        frame_index: int,
        time_s: float,
        gray: GrayImage,
        box: Box,
        color: ColorImage | None,
    ) -> None:
        crops = {spec: self._crop(spec, gray, box, color) for spec in self._config.crops}
        track.observations[position] = Observation(frame_index, time_s, box, crops)
        track.last_box = box
        track.last_position = position

    def _crop(self, spec: CropSpec, gray: GrayImage, box: Box, color: ColorImage | None) -> Crop:
        """One crop of the face in `box`; a colour crop of a gray-only frame (a gray stream) is
        the gray crop in three channels."""
        if spec.kind == "aligned":
            crop = align_face(gray, self._models.landmarks(gray, box), AlignSpec(size=spec.size))
            return brighten_if_dark(crop, self._config.gamma, self._config.dark_threshold)
        if not spec.color:
            return box_crop(gray, box, spec.size)
        if color is None:
            return np.repeat(box_crop(gray, box, spec.size)[:, :, None], 3, axis=2)
        return box_crop(color[:, :, ::-1], box, spec.size)  # BGR -> RGB

    def _retire_stale(self, position: int, time_s: float) -> None:
        """End tracks unseen for more than max_gap_steps positions (a carried face counts as seen
        at the positions the previous window saw it at or after)."""
        keep: list[Track] = []
        for track in self._active:
            if not track.observations and track.seen_until_s is not None and time_s <= track.seen_until_s + 1e-6:
                track.last_position = position
            if position - track.last_position > self._config.max_gap_steps:
                self._finished.append(track)
            else:
                keep.append(track)
        self._active = keep

    def _drop_duplicates(self, position: int) -> None:
        """When two tracks land on the same face, the younger one loses that observation."""
        seen: list[Box] = []
        for track in sorted(self._active, key=lambda t: t.key):
            obs = track.observations.get(position)
            if obs is None:
                continue
            if any(obs.box.iou(other) > _DUPLICATE_IOU for other in seen):
                del track.observations[position]
                track.last_position = max(track.observations, default=-1 - self._config.max_gap_steps)
            else:
                seen.append(obs.box)

    def finish(self) -> list[Track]:
        """All tracks seen often enough, in order of appearance, with ids 0, 1, ... (a stream
        keeps the ids it handed out, so they stay the same across its windows)."""
        tracks = [t for t in self._finished + self._active if len(t.observations) >= self._config.min_track_samples]
        tracks.sort(key=lambda t: (min(t.observations), t.key))
        if self._renumber:
            for new_id, track in enumerate(tracks):
                track.key = new_id
        return tracks


class SampledTracker(_TrackerBase):
    """Default strategy: work only at grid frames."""

    def observe(
        self,
        position: int,
        frame_index: int,
        time_s: float,
        gray: GrayImage,
        color: ColorImage | None = None,
        found: list[Box] | None = None,
    ) -> None:
        """Find and crop the faces of one grid frame (`color`: the BGR frame, when a model wants
        colour crops; `found`: this frame's whole-frame search, when it was run ahead)."""
        detector = self._models.detector
        self._retire_stale(position, time_s)
        for track in self._active:
            assert track.last_box is not None, "an active track always has a box"
            box = detector.detect_near(gray, track.last_box)
            if box is not None:
                self._observe(track, position, frame_index, time_s, gray, box, color)
        if not self._active or self._detection_due(time_s):
            self._last_detection_s = time_s
            for box in detector.detect(gray) if found is None else found:
                if any(
                    t.last_box is not None and t.last_position == position and t.last_box.iou(box) > _SAME_FACE_IOU
                    for t in self._active
                ):
                    continue
                track = self._revivable(box, position) or self._new_track()
                self._observe(track, position, frame_index, time_s, gray, box, color)
        self._drop_duplicates(position)

    def _revivable(self, box: Box, position: int) -> Track | None:
        """An active track that missed this frame but whose last box overlaps the detection."""
        for track in self._active:
            if (
                track.last_position != position
                and track.last_box is not None
                and track.last_box.iou(box) > _SAME_FACE_IOU
            ):
                return track
        return None


class PaperTracker(_TrackerBase):
    """Paper-faithful strategy: the correlation tracker sees every frame."""

    def __init__(self, models: FaceModels, config: PipelineConfig) -> None:
        super().__init__(models, config)
        self._correlation: dict[int, dlib.correlation_tracker] = {}

    def _start(self, track: Track, gray: GrayImage, box: Box) -> None:
        tracker = dlib.correlation_tracker()
        tracker.start_track(gray, box.to_dlib())
        self._correlation[track.key] = tracker
        track.last_box = box

    def _end(self, track: Track) -> None:
        super()._end(track)
        self._correlation.pop(track.key, None)

    def step(
        self,
        frame_index: int,
        time_s: float,
        gray: GrayImage,
        position: int | None,
        color: ColorImage | None = None,
        found: list[Box] | None = None,
    ) -> None:
        """Advance every track by one frame; crop faces when the frame is a grid position
        (`found`: this frame's whole-frame search, when it was run ahead)."""
        for track in list(self._active):
            tracker = self._correlation[track.key]
            if tracker.update(gray) < _MIN_PSR:
                self._end(track)
                continue
            track.last_box = Box.from_dlib(tracker.get_position())
        if not self._active or self._detection_due(time_s):
            self._last_detection_s = time_s
            self._reconcile(self._models.detector.detect(gray) if found is None else found, gray)
        if position is not None:
            for track in self._active:
                assert track.last_box is not None, "an active track always has a box"
                self._observe(track, position, frame_index, time_s, gray, track.last_box, color)
            self._drop_duplicates(position)

    def _reconcile(self, detections: list[Box], gray: GrayImage) -> None:
        """Restart matched trackers on their detection, end unmatched ones, start new ones."""
        unmatched = list(detections)
        for track in list(self._active):
            assert track.last_box is not None, "an active track always has a box"
            last = track.last_box
            match = max(unmatched, key=last.iou, default=None)
            if match is None or last.iou(match) <= _SAME_FACE_IOU:
                self._end(track)
                continue
            unmatched.remove(match)
            self._start(track, gray, match)
        for box in unmatched:
            self._start(self._new_track(), gray, box)

    def finish(self) -> list[Track]:
        self._finished.extend(self._active)
        self._active = []
        return super().finish()
