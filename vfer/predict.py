"""Video in, expression distributions out: the face pipeline, then the model on every window."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from vfer.config import PipelineConfig
from vfer.deadline import Deadline
from vfer.face.tracking import ColorImage, FaceModels, TrackerState
from vfer.inference import ClipClassifier, ModelInfo, classify_windows, load_classifier
from vfer.model_feed import ModelFeed, Probabilities
from vfer.models import DEFAULT_MODEL
from vfer.pipeline import Extraction, FaceClips, GrayImage, Progress, extract_faces, faces_in_window
from vfer.result import FacePrediction, PredictionResult, WindowPrediction, distribution
from vfer.video.decode import VideoSource


class Predictor:
    """Holds the loaded face models and classifier; reuse one per process."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        backend: str = "torch",
        config: PipelineConfig | None = None,
        face_models: FaceModels | None = None,
        classifier: ClipClassifier | None = None,
        threads: int | None = None,
    ) -> None:
        self.classifier = classifier or load_classifier(model, backend=backend, threads=threads)
        self.config = self._cropping(config or PipelineConfig())
        self.face_models = face_models or FaceModels.load(self.config.upsample, self.config.landmarks)

    def _cropping(self, config: PipelineConfig) -> PipelineConfig:
        """`config`, making the crops this predictor's model takes."""
        return replace(config, crops=self.classifier.crops)

    def predict(
        self,
        source: VideoSource,
        *,
        name: str | None = None,
        config: PipelineConfig | None = None,
        deadline: Deadline | None = None,
        progress: Progress | None = None,
    ) -> PredictionResult:
        """Predict one video (a path or its bytes); `config` overrides this predictor's for one call;
        past `deadline` (or once it is cancelled) the work stops with its error; `progress` hears
        (seconds done, duration) as frames are decoded."""
        config = self._cropping(config) if config else self.config
        started = time.perf_counter()
        with ModelFeed(self.classifier) as feed:  # windows are classified while the video decodes
            extraction = extract_faces(source, self.face_models, config, deadline, progress, feed.submit)
            if deadline is not None:
                deadline.check()
            probabilities = feed.results()
        timings = dict(extraction.timings_ms)
        timings["model"] = feed.busy_s * 1e3  # busy time of the model thread, overlapping the rest
        timings["total"] = (time.perf_counter() - started) * 1e3
        return prediction_result(
            extraction,
            assemble_faces(extraction.faces, probabilities),
            name=name or (str(source) if isinstance(source, (str, Path)) else "upload"),
            model=self.classifier.info,
            options=result_options(config),
            timings_ms=timings,
        )

    def predict_window(
        self,
        frames: Sequence[tuple[float, GrayImage]],
        state: TrackerState,
        *,
        config: PipelineConfig | None = None,
        deadline: Deadline | None = None,
        colors: Sequence[ColorImage] | None = None,
    ) -> tuple[list[FacePrediction], TrackerState]:
        """Faces and expressions in one window of a live stream's sampled frames (`colors`: the
        same frames in BGR, for colour crops); `state` comes from the stream's previous window,
        and the returned one goes to its next."""
        config = self._cropping(config) if config else self.config
        clips, state = faces_in_window(frames, self.face_models, config, state, deadline, colors)
        return self._classify(clips), state

    def _classify(self, clips: list[FaceClips]) -> list[FacePrediction]:
        windows = [w for face in clips for w in face.windows]
        if not windows:
            return []
        probs = classify_windows(self.classifier, windows)
        return assemble_faces(clips, {id(w): p for w, p in zip(windows, probs, strict=True)})


def assemble_faces(clips: list[FaceClips], probabilities: Mapping[int, Probabilities]) -> list[FacePrediction]:
    """Each face's windows with their probabilities (keyed by the window object's id); a face's
    distribution is the mean of its windows'."""
    faces = []
    for face in clips:
        if not face.windows:
            continue
        face_probs = np.stack([probabilities[id(w)] for w in face.windows])
        faces.append(
            FacePrediction(
                track_id=face.track_id,
                start_s=face.start_s,
                end_s=face.end_s,
                box=face.box.to_xywh(),
                samples=face.samples,
                distribution=distribution(face_probs.mean(axis=0).tolist()),
                windows=[
                    WindowPrediction(w.start_s, w.end_s, w.box.to_xywh(), distribution(p.tolist()))
                    for w, p in zip(face.windows, face_probs, strict=True)
                ],
            )
        )
    return faces


def prediction_result(
    extraction: Extraction,
    faces: list[FacePrediction],
    *,
    name: str,
    model: ModelInfo,
    options: dict[str, object],
    timings_ms: dict[str, float],
) -> PredictionResult:
    """The result of one video: what the face pipeline found, the faces' predictions, and how."""
    return PredictionResult(
        source=name,
        faces=faces,
        model=asdict(model),
        video=extraction.info.to_dict(),
        options=options,
        partial=extraction.partial,
        timings_ms=timings_ms,
    )


def result_options(config: PipelineConfig) -> dict[str, object]:
    """The options a result reports: how the video was sampled."""
    return {k: v for k, v in asdict(config).items() if k in ("mode", "window_s", "stride_s")}
