"""Train a clip model: Adam at 1e-4, cross-entropy (hard labels or soft teacher targets), the
best-validation weights kept, seeds fixed, CUDA when present, a progress bar per run."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from vfer.models.device import select_device

Clips = npt.NDArray[np.uint8]  # (N, T, H, W)
# A batch's clips (B, C, T, H, W) on the training device, moved anew each time drawn.
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 80  # the paper's
    lr: float = 1e-4  # the paper's Adam learning rate
    batch_size: int = 32
    seed: int = 0
    progress: bool = True
    # The kept epoch: best validation accuracy (the paper's checkpoint; ties: the first), lowest
    # validation loss (soft targets make it informative on every class), or best macro recall
    # (unbalanced validation people: every class counts alike).
    select_by: Literal["accuracy", "loss", "macro_recall"] = "accuracy"
    epoch_size: int | None = None  # clips drawn per epoch (with sample weights); None: all of them
    min_class_support: int = 1  # macro recall counts the classes with this many validation clips
    max_seconds: float | None = None  # no epoch starts after this much wall time (a lease's end)


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_macro_recall: list[float] = field(default_factory=list)
    # Each epoch's validation distributions (N, K): a temperature is fitted at the kept one.
    val_probs: list[npt.NDArray[np.float32]] = field(default_factory=list)
    best_epoch: int = -1


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def _batch(clips: Clips, device: torch.device) -> torch.Tensor:
    return (torch.from_numpy(clips).to(device).float() / 255.0).unsqueeze(1)  # (B, 1, T, H, W)


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, target)  # class indices or probabilities (distillation)


@torch.no_grad()
def predict_proba(
    model: nn.Module, clips: Clips, *, batch_size: int = 64, device: torch.device | None = None
) -> npt.NDArray[np.float32]:
    device = device or next(model.parameters()).device
    model.eval()
    out = [
        torch.softmax(model(_batch(clips[i : i + batch_size], device)), 1).cpu().numpy()
        for i in range(0, len(clips), batch_size)
    ]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


def selection_macro_recall(probs: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], min_support: int) -> float:
    """What keeps a video model's epoch: recall averaged over the classes with `min_support`
    examples or more (`vfer.training.train`)."""
    predicted = probs.argmax(1)
    counted = [k for k, n in enumerate(np.bincount(labels)) if n >= max(1, min_support)]
    return float(np.mean([(predicted[labels == k] == k).mean() for k in counted]))


def train(
    model: nn.Module,
    train_x: Clips,
    train_y: npt.NDArray[np.int64] | npt.NDArray[np.float32],
    val_x: Clips,
    val_y: npt.NDArray[np.int64] | npt.NDArray[np.float32],
    config: TrainConfig = TrainConfig(),
    *,
    device: torch.device | None = None,
    description: str = "train",
    sample_weights: npt.NDArray[np.float64] | None = None,
    augment: Augment | None = None,
) -> History:
    """Train in place; the model ends with its best-validation weights (`config.select_by`).
    Targets are class indices or distributions (distillation); `sample_weights` draws each
    epoch's clips with replacement in proportion to them (balanced classes), else a permutation;
    `augment` moves each drawn batch anew on the device (photos as clips under random motion)."""
    seed_everything(config.seed)
    device = device or select_device()
    model.to(device)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    generator = np.random.default_rng(config.seed)
    motion = torch.Generator(device=device).manual_seed(config.seed)
    target = torch.from_numpy(train_y)
    history = History()
    best_state, best_score = copy.deepcopy(model.state_dict()), -float("inf")
    epochs = tqdm(range(config.epochs), desc=description, unit="epoch", disable=not config.progress, leave=False)
    draw = None if sample_weights is None else sample_weights / sample_weights.sum()
    val_target = torch.from_numpy(val_y)
    hard = (val_y if val_y.ndim == 1 else val_y.argmax(1)).astype(np.int64)
    if config.select_by == "macro_recall" and np.bincount(hard).max() < config.min_class_support:
        raise ValueError(f"no validation class has {config.min_class_support} clips: lower min_class_support")
    started = time.monotonic()
    for epoch in epochs:
        if config.max_seconds is not None and time.monotonic() - started > config.max_seconds:
            break
        model.train()
        if draw is None:
            order = generator.permutation(len(train_x))
        else:
            order = generator.choice(len(train_x), config.epoch_size or len(train_x), p=draw)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            clips = _batch(train_x[idx], device)
            if augment is not None:
                clips = augment(clips, motion)
            optimiser.zero_grad()
            loss = _loss(model(clips), target[idx].to(device))
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        history.train_loss.append(total / len(order))
        probs = predict_proba(model, val_x, device=device)
        log_probs = torch.log(torch.from_numpy(probs).clamp_min(1e-12))
        val_loss = float(_loss(log_probs, val_target))  # cross-entropy: softmax of log p is p
        predicted = probs.argmax(1)
        accuracy = float((predicted == hard).mean())
        macro_recall = selection_macro_recall(probs, hard, config.min_class_support)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(accuracy)
        history.val_macro_recall.append(macro_recall)
        history.val_probs.append(probs)
        score = {"loss": -val_loss, "accuracy": accuracy, "macro_recall": macro_recall}[config.select_by]
        if score > best_score:
            best_score, history.best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        epochs.set_postfix(loss=f"{history.train_loss[-1]:.3f}", val_acc=f"{accuracy:.3f}")
    model.load_state_dict(best_state)
    return history
