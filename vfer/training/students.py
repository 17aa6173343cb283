"""The paper's video models fitted on a pack of clips with real labels and soft targets.

Torch and numpy only: the pack is built where the faces were found (`scripts/train_default.py`)
and the fit runs there, on the GPU when there is one. A pack holds:

- stills (N, S, S) and their targets (N, 7): photos (real labels, one-hot) and FER+ faces (their
  annotators' majority labels or vote distributions); each becomes an 8-frame still clip moved by
  `move_clips` every time it is drawn;
- windows (M, T, S, S) and their targets (M, 7): GRID talking-face windows with the teacher's
  distributions, so that speech and head motion are not read as expressions;
- weights (N + M,): how often each clip is drawn (classes balanced within each source);
- the tune people's clips and targets: the epoch with the best macro recall on them is kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from vfer.config import CLIP_FRAMES
from vfer.models import create_model
from vfer.training.motion import move_clips
from vfer.training.train import TrainConfig, train

Uint8 = npt.NDArray[np.uint8]
Float32 = npt.NDArray[np.float32]


@dataclass
class StudentPack:
    stills: Uint8  # (N, S, S): photos and FER+ faces
    still_targets: Float32  # (N, 7)
    windows: Uint8  # (M, T, S, S): GRID windows
    window_targets: Float32  # (M, 7)
    weights: npt.NDArray[np.float64]  # (N + M,): drawing weight of each clip
    tune_stills: Uint8  # (K, S, S): the tune people's photos
    tune_still_labels: npt.NDArray[np.int64]  # (K,)
    tune_windows: Uint8  # (L, T, S, S): the tune videos' GRID windows
    tune_window_targets: Float32  # (L, 7)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **asdict(self))
        return path

    @classmethod
    def load(cls, path: Path) -> StudentPack:
        with np.load(path) as arrays:
            return cls(**{f.name: arrays[f.name] for f in fields(cls)})

    def training_set(self) -> tuple[Uint8, Float32]:
        """Every clip (N + M, T, S, S) in the weights' order, and its target distribution."""
        clips = np.concatenate([still_clips_copy(self.stills), self.windows])
        return clips, np.concatenate([self.still_targets, self.window_targets]).astype(np.float32)

    def tune_set(self) -> tuple[Uint8, Float32]:
        """The tune people's still clips and GRID windows, with their targets."""
        labels = np.eye(self.still_targets.shape[1], dtype=np.float32)[self.tune_still_labels]
        clips = np.concatenate([still_clips_copy(self.tune_stills), self.tune_windows])
        return clips, np.concatenate([labels, self.tune_window_targets]).astype(np.float32)


def still_clips_copy(stills: Uint8) -> Uint8:
    """(N, S, S) stills as (N, 8, S, S) clips, copied: training draws them by index."""
    return np.ascontiguousarray(np.broadcast_to(stills[:, None], (len(stills), CLIP_FRAMES, *stills.shape[1:])))


@dataclass(frozen=True)
class StudentRecipe:
    epochs: int = 80  # the paper's
    lr: float = 1e-4  # the paper's
    batch_size: int = 32
    epoch_size: int = 8192  # clips drawn per epoch, by the pack's weights
    min_class_support: int = 10  # tune clips a class needs to count in the macro recall
    seed: int = 0
    max_seconds: float | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # the builder's, e.g. {"fer_blocks": 4}


def fit_student(
    name: str,
    pack: StudentPack,
    recipe: StudentRecipe,
    *,
    device: torch.device,
    start: dict[str, torch.Tensor] | None = None,
    description: str | None = None,
) -> tuple[nn.Module, dict[str, Any], Float32]:
    """One registered video model fitted on the pack, its best tune epoch kept. `start` warm-starts
    every weight but the last layer (a shipped checkpoint's last layer holds its temperature).
    Also returns every epoch's distributions of the tune stills, (E, K, 7), for a calibration
    that does not trust the people who kept the epoch."""
    torch.manual_seed(recipe.seed)  # the first weights: the recipe's, whatever drew on torch's generator before
    model = create_model(name, **recipe.model_kwargs)
    if start is not None:
        kept = {k: v for k, v in start.items() if not k.endswith(("fc.weight", "fc.bias"))}
        model.load_state_dict(kept, strict=False)
    x, y = pack.training_set()
    val_x, val_y = pack.tune_set()
    config = TrainConfig(
        epochs=recipe.epochs,
        lr=recipe.lr,
        batch_size=recipe.batch_size,
        seed=recipe.seed,
        select_by="macro_recall",
        epoch_size=recipe.epoch_size,
        min_class_support=recipe.min_class_support,
        max_seconds=recipe.max_seconds,
    )
    history = train(
        model, x, y, val_x, val_y, config,
        device=device, description=description or name, sample_weights=pack.weights, augment=move_clips,
    )  # fmt: skip
    report = {
        **asdict(recipe),
        "epochs_run": len(history.train_loss),
        "best_epoch": history.best_epoch + 1,
        "tune_macro_recall": history.val_macro_recall[history.best_epoch],
        "tune_loss": history.val_loss[history.best_epoch],
        "tune_macro_recall_by_epoch": history.val_macro_recall,
        "warm_start": start is not None,
        "device": str(device),
        "clips": {"stills": len(pack.stills), "windows": len(pack.windows)},
    }
    epoch_tune_probs = np.stack(history.val_probs)[:, : len(pack.tune_stills)]  # (E, K, 7)
    return model.cpu().eval(), report, epoch_tune_probs
