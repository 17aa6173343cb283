"""Options of the core pipeline, validated on construction so a bad value fails before any work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vfer.errors import InvalidOptionError

Mode = Literal["fast", "paper"]
CropKind = Literal["aligned", "box"]
MODES: tuple[str, ...] = ("fast", "paper")
CLIP_FRAMES = 8
"""Frames per clip: first, last and 6 at equal intervals between (paper section III-A)."""
WINDOW_S_MIN, WINDOW_S_MAX = 0.2, 60.0
"""Bounds of a window's length in seconds."""


@dataclass(frozen=True)
class DecodeLimits:
    """Inputs beyond these are refused before their frames are decoded."""

    max_bytes: int = 512 * 1024 * 1024  # whole file or upload
    max_pixels: int = 3840 * 2160  # width * height of one frame
    max_duration_s: float = 600.0
    max_frames: int = 36_000
    # The work: width x height x frames, known from the demux pass. Decoding and the face pipeline
    # ran at about 220 Mpixel/s on one core of a 2-core AMD EPYC (1080p, fast mode): 24 Gpixel is
    # about two minutes, e.g. 6.4 min of 1080p30, 14 min of 720p30, 96 s of 4K30.
    max_decoded_pixels: int = 24_000_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_duration_s", "max_frames", "max_decoded_pixels"):
            if getattr(self, name) <= 0:
                raise InvalidOptionError(f"{name} must be positive")


@dataclass(frozen=True)
class CropSpec:
    """What one model takes per frame: which crop, its side, and colour (RGB) or gray."""

    kind: CropKind = "aligned"
    size: int = 64
    color: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("aligned", "box"):
            raise InvalidOptionError(f"crop kind must be aligned or box, not {self.kind!r}")
        if self.kind == "aligned" and self.color:
            raise InvalidOptionError("aligned crops are gray")
        if not 16 <= self.size <= 512:
            raise InvalidOptionError("crop size must be between 16 and 512")

    @property
    def channels(self) -> int:
        return 3 if self.color else 1

    @classmethod
    def from_preprocessing(cls, preprocessing: dict[str, Any]) -> CropSpec:
        """From a checkpoint's `preprocessing`; older checkpoints (no `crop` key) are aligned 64 gray."""
        if "crop" not in preprocessing:
            return cls()
        return cls(preprocessing["crop"], int(preprocessing["size"]), preprocessing.get("color") == "rgb")


ALIGNED_GRAY = CropSpec()
"""The paper's crop: what the video models and the FER2013 mini-Xception take."""


@dataclass(frozen=True)
class PipelineConfig:
    """How a video becomes aligned 8-frame face clips."""

    mode: Mode = "fast"  # "fast": detect where needed; "paper": detector + tracker on every frame
    window_s: float = 2.0  # sliding-window length; a shorter clip is one window
    stride_s: float = 1.0  # window stride, rounded to whole sampling steps
    detect_interval_s: float = 2.0  # full-frame search for more faces while some are tracked
    upsample: int = 0  # HOG pyramid upsampling: 0 finds faces >= ~80 px, 1 >= ~40 px (4x slower)
    landmarks: int = 68  # the aligner's landmark model: 68 points (iBUG 300-W, non-commercial) or 5 (dlib's)
    crops: tuple[CropSpec, ...] = (ALIGNED_GRAY,)  # made at every sample: the predictor's models' crops
    gamma: float = 1.5  # applied to dark crops only
    dark_threshold: float = 80.0  # mean gray level of the aligned crop below which it counts as dark
    max_gap_steps: int = 2  # missed samples a track survives (filled from its nearest sample)
    min_track_samples: int = 2  # a face seen on fewer samples is treated as a false detection
    limits: DecodeLimits = field(default_factory=DecodeLimits)

    @property
    def color(self) -> bool:
        """Whether any crop is in colour: frames are then decoded in colour too."""
        return any(spec.color for spec in self.crops)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidOptionError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not WINDOW_S_MIN <= self.window_s <= WINDOW_S_MAX:
            raise InvalidOptionError(f"window_s must be between {WINDOW_S_MIN} and {WINDOW_S_MAX:g} seconds")
        if not 0 < self.stride_s <= self.window_s:
            raise InvalidOptionError("stride_s must be positive and at most window_s")
        if self.detect_interval_s <= 0:
            raise InvalidOptionError("detect_interval_s must be positive")
        if self.landmarks not in (5, 68):
            raise InvalidOptionError("landmarks must be 68 or 5")
        if self.upsample not in (0, 1, 2):
            raise InvalidOptionError("upsample must be 0, 1 or 2")
        if self.gamma <= 0:
            raise InvalidOptionError("gamma must be positive")
        if not self.crops:
            raise InvalidOptionError("at least one crop is needed")
        if self.min_track_samples < 1 or self.max_gap_steps < 0:
            raise InvalidOptionError("min_track_samples must be >= 1 and max_gap_steps >= 0")
