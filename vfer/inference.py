"""Run a clip model on batches of face clips, with PyTorch (CUDA when present) or ONNX Runtime.

A classifier declares the crops it takes (`crops`, from its checkpoint's metadata), takes uint8
clips of each, (N, T, S, S) gray or (N, T, S, S, 3) RGB, and returns probabilities (N, 7) in
LABELS order.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from vfer.config import ALIGNED_GRAY, CLIP_FRAMES, CropSpec
from vfer.errors import InvalidOptionError
from vfer.labels import NUM_CLASSES
from vfer.models import DEFAULT_MODEL, load_checkpoint
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.checkpoint import CheckpointMeta, read_meta, require_vfer_labels
from vfer.models.device import select_device
from vfer.models.ensemble import EnsembleSpec, ensemble_spec
from vfer.models.export import DISTINCT_FRAMES_KEY, FRAME_MEAN_KEY
from vfer.models.mini_xception import FrameAveraged
from vfer.models.resolver import resolve_model
from vfer.models.two_branch import TwoBranch
from vfer.pipeline import FaceWindow

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "onnx"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx")

Clips = npt.NDArray[np.uint8]  # (N, T, S, S)
Probabilities = npt.NDArray[np.float32]  # (N, K)


ModelKind = Literal["frame", "video"]  # per frame, averaged over the window; or a clip model (3D CNN + ConvLSTM)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    backend: str
    device: str
    kind: ModelKind


class ClipClassifier(Protocol):
    info: ModelInfo

    @property
    def crops(self) -> tuple[CropSpec, ...]:
        """The crops whose clips predict_clips needs."""

    def predict_clips(self, clips: Mapping[CropSpec, Clips]) -> Probabilities: ...


def classify_windows(classifier: ClipClassifier, windows: Sequence[FaceWindow]) -> Probabilities:
    """The probabilities of each window, from the clips of the crops the classifier takes."""
    return classifier.predict_clips({spec: np.stack([w.clips[spec] for w in windows]) for spec in classifier.crops})


BATCH = 32  # windows per model call: memory stays bounded however long the video (a whole
# 600-s video's 533 windows in one ONNX Runtime call took its arena to about 4 GB)


def clips_per_call(crop: CropSpec, batch: int = BATCH, device: str = "cpu") -> int:
    """Windows per model call: on the CPU at most `batch` of the paper's 64x64 gray crops, fewer
    of larger ones, so every model's activations stay about as large (32 windows of face-api's
    112x112 RGB crops took peak memory from 0.8 to 1.9 GB on a 600-s video); a GPU takes `batch`
    of any (an inference worker's whole batch in one forward pass)."""
    if device != "cpu":
        return batch
    return max(1, batch * ALIGNED_GRAY.size**2 // (crop.size**2 * crop.channels))


def _as_input(clips: Clips) -> npt.NDArray[np.float32]:
    # (N, T, S, S) uint8 -> (N, 1, T, S, S), or (N, T, S, S, 3) -> (N, 3, T, S, S); float in [0, 1]
    scaled = clips.astype(np.float32) / 255.0
    return scaled[:, None] if clips.ndim == 4 else np.ascontiguousarray(scaled.transpose(0, 4, 1, 2, 3))


def _as_frames(frames: Clips) -> npt.NDArray[np.float32]:
    # (U, 1, S, S) uint8 one-frame clips, as distinct_frames gives them -> (U, 1, S, S) float in [0, 1]
    return frames.astype(np.float32) / 255.0


def distinct_frames(clips: Clips) -> tuple[Clips, npt.NDArray[np.intp]]:
    """The distinct frames of clips (N, T, ...) as one-frame clips (U, 1, ...), in order of first
    appearance, and which of them each clip's frames are (N, T). Overlapping windows of a face
    share half their frames, byte for byte."""
    count, steps = clips.shape[:2]
    frames = clips.reshape(count * steps, *clips.shape[2:])
    ids: dict[bytes, int] = {}
    where = np.array([ids.setdefault(frame.tobytes(), len(ids)) for frame in frames], dtype=np.intp)
    first = np.unique(where, return_index=True)[1]  # where each id first appears; ids are 0..U-1
    return frames[first][:, None], where.reshape(count, steps)


def _kind(frame_mean: bool) -> ModelKind:
    return "frame" if frame_mean else "video"


class _OneCrop(ABC):
    """A classifier of one model: one crop, the one its checkpoint declares."""

    crop: CropSpec
    windows_per_call: int  # clips of CLIP_FRAMES frames per model call (fewer frames: more clips)
    frame_mean = False  # the model's clip distribution is the mean of its frames' (FrameAveraged)

    @property
    def crops(self) -> tuple[CropSpec, ...]:
        return (self.crop,)

    def predict_clips(self, clips: Mapping[CropSpec, Clips]) -> Probabilities:
        return self.predict_proba(clips[self.crop])

    def predict_proba(self, clips: Clips) -> Probabilities:
        """Probabilities (N, K) of clips (N, T, S, S[, 3]) of this model's crop. A frame model
        runs once on each distinct frame (one-frame clips) and each clip takes its frames' mean:
        the same numbers for half the work when windows overlap by half."""
        if not self.frame_mean:
            return self._in_calls(clips)
        frames, where = distinct_frames(clips)
        return self._in_calls(frames)[where].mean(axis=1, dtype=np.float64).astype(np.float32)

    def _in_calls(self, clips: Clips) -> Probabilities:
        step = max(1, self.windows_per_call * CLIP_FRAMES // clips.shape[1])
        out = [self._probabilities(clips[start : start + step]) for start in range(0, len(clips), step)]
        return np.concatenate(out) if out else np.zeros((0, NUM_CLASSES), dtype=np.float32)

    @abstractmethod
    def _probabilities(self, clips: Clips) -> Probabilities:
        """One model call: probabilities (N, K) of clips (N, T, S, S[, 3])."""


class TorchClassifier(_OneCrop):
    """Batched inference with a PyTorch module."""

    def __init__(
        self, model: nn.Module, meta: CheckpointMeta, *, device: torch.device | None = None, batch_size: int = BATCH
    ) -> None:
        self.device = device or select_device()
        self.model = model.to(self.device).eval()
        self.frame_mean = isinstance(model, FrameAveraged)
        self._per_frame = self.model if isinstance(self.model, TwoBranch) else None  # shares frames
        self.info = ModelInfo(meta.model, meta.version, "torch", self.device.type, _kind(self.frame_mean))
        self.crop = CropSpec.from_preprocessing(meta.preprocessing)
        self.windows_per_call = clips_per_call(self.crop, batch_size, self.device.type)

    @torch.inference_mode()
    def _probabilities(self, clips: Clips) -> Probabilities:
        if self._per_frame is not None:
            frames, where = distinct_frames(clips)
            logits = self._per_frame.forward_distinct(
                torch.from_numpy(_as_frames(frames)).to(self.device), torch.from_numpy(where).to(self.device)
            )
        else:
            logits = self.model(torch.from_numpy(_as_input(clips)).to(self.device))
        return torch.softmax(logits, dim=1).float().cpu().numpy()


class OnnxClassifier(_OneCrop):
    """Batched inference with ONNX Runtime on the CPU."""

    def __init__(self, onnx_path: Path, meta: CheckpointMeta, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle pool threads would spin for work and take the cores decoding and face work need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        marks = self._session.get_modelmeta().custom_metadata_map
        self.frame_mean = marks.get(FRAME_MEAN_KEY) == "1"
        self._shares_frames = marks.get(DISTINCT_FRAMES_KEY) == "1"  # inputs `frames` and `where`
        self.info = ModelInfo(meta.model, meta.version, "onnx", "cpu", _kind(self.frame_mean))
        self.crop = CropSpec.from_preprocessing(meta.preprocessing)
        self.windows_per_call = clips_per_call(self.crop)

    def _probabilities(self, clips: Clips) -> Probabilities:
        if self._shares_frames:
            frames, where = distinct_frames(clips)
            logits = self._session.run(None, {"frames": _as_frames(frames), "where": where.astype(np.int64)})[0]
        else:
            logits = self._session.run(None, {self._input: _as_input(clips)})[0]
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def calibrate(probs: Probabilities, temperature: float) -> Probabilities:
    """Temperature scaling of probabilities: softmax(log p / T)."""
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


class EnsembleClassifier:
    """Members' calibrated distributions, averaged; each member gets the clips of its own crop."""

    def __init__(self, spec: EnsembleSpec, members: Sequence[ClipClassifier]) -> None:
        self.spec = spec
        self.members = list(members)
        backends = sorted({m.info.backend for m in members})
        devices = sorted({m.info.device for m in members})
        kind: ModelKind = "frame" if all(m.info.kind == "frame" for m in members) else "video"
        self.info = ModelInfo(spec.name, spec.version, "+".join(backends), "+".join(devices), kind)

    @property
    def crops(self) -> tuple[CropSpec, ...]:
        return tuple(dict.fromkeys(crop for member in self.members for crop in member.crops))

    def predict_clips(self, clips: Mapping[CropSpec, Clips]) -> Probabilities:
        calibrated = [
            calibrate(classifier.predict_clips(clips), member.temperature)
            for classifier, member in zip(self.members, self.spec.members, strict=True)
        ]
        return np.mean(calibrated, axis=0).astype(np.float32)


def shipped_onnx(checkpoint: Path) -> Path | None:
    """The ONNX graph shipped beside a packaged checkpoint (scripts/export_onnx.py), if any."""
    graph = checkpoint.with_suffix(".onnx")
    return graph if checkpoint.resolve().parent == WEIGHTS_DIR and graph.is_file() else None


def _onnx_cache(checkpoint: Path) -> Path:
    """Where the ONNX export of a checkpoint is cached, keyed by the weights' hash."""
    digest = hashlib.sha256(checkpoint.with_suffix(".pt").read_bytes()).hexdigest()[:16]
    root = Path(os.environ.get("VFER_CACHE_DIR", Path.home() / ".cache" / "vfer"))
    return root / "onnx" / f"{checkpoint.stem}-{digest}.onnx"


def resolve_backend(backend: str) -> str:
    """ "auto": PyTorch on a GPU, else ONNX Runtime when installed (about 3x faster on a CPU)."""
    if backend not in BACKENDS:
        raise InvalidOptionError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        return backend
    if torch.cuda.is_available():
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx"


def load_classifier(
    model: str = DEFAULT_MODEL,
    *,
    backend: str = "torch",
    device: torch.device | None = None,
    threads: int | None = None,
    batch: int = BATCH,
) -> ClipClassifier:
    """Load a model once for many predictions: whatever `vfer.models.resolver` makes of the name (a
    shipped model or ensemble, a checkpoint, an exported `.onnx` file); a checkpoint's ONNX graph is
    exported once and cached on disk. `batch`: windows
    per forward pass with PyTorch on a GPU (ONNX Runtime on a CPU takes BATCH at most)."""
    record = resolve_model(model, paths=True)
    if record.kind == "onnx":
        assert record.path is not None
        return _exported_onnx(record.path, backend, threads)
    if record.kind == "ensemble":
        spec = ensemble_spec(model)
        assert spec is not None
        members = [
            load_classifier(m.model, backend=backend, device=device, threads=threads, batch=batch) for m in spec.members
        ]
        return EnsembleClassifier(spec, members)
    backend = resolve_backend(backend)
    checkpoint = record.path
    assert checkpoint is not None
    module, meta = load_checkpoint(checkpoint)
    if backend == "torch":
        return TorchClassifier(module, meta, device=device, batch_size=batch)
    onnx_path = shipped_onnx(checkpoint) or _onnx_cache(checkpoint)
    if not onnx_path.is_file():  # a trained checkpoint of the user's: exported once, then cached
        from vfer.models.export import export_runtime_onnx

        log.warning("exporting %s to ONNX once (about half a minute); cached in %s", checkpoint, onnx_path.parent)
        started = time.perf_counter()
        tmp = onnx_path.with_suffix(f".{os.getpid()}.tmp")
        export_runtime_onnx(module, tmp, meta)
        tmp.replace(onnx_path)
        log.warning("exported in %.0f s", time.perf_counter() - started)
    return OnnxClassifier(onnx_path, meta, threads=threads)


def model_crops(model: str = DEFAULT_MODEL) -> tuple[CropSpec, ...]:
    """The crops a model takes, in the order its classifier lists them, read from its metadata
    alone: a faces worker of the split topology cuts them without loading the weights."""
    record = resolve_model(model, paths=True)
    if record.kind == "ensemble":
        return tuple(dict.fromkeys(crop for member in record.members for crop in model_crops(member)))
    assert record.path is not None
    if record.kind == "onnx":
        from vfer.models.export import read_onnx_meta

        return (CropSpec.from_preprocessing(read_onnx_meta(record.path).preprocessing),)
    return (CropSpec.from_preprocessing(read_meta(record.path).preprocessing),)


def _exported_onnx(path: Path, backend: str, threads: int | None) -> ClipClassifier:
    """A file from `vfer export --format onnx`: ONNX Runtime, with the metadata the file carries."""
    from vfer.models.export import read_onnx_meta

    if backend not in ("auto", "onnx"):
        raise InvalidOptionError(f"{path} is an ONNX model: it runs with --backend onnx (or auto), not {backend}")
    meta = read_onnx_meta(path)
    require_vfer_labels(meta, path)
    return OnnxClassifier(path, meta, threads=threads)
