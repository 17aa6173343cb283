"""`vfer train` and `vfer evaluate`: one model fitted for use, or a protocol of the paper run.

Protocols come from the dataset registry: ck+ (10-fold subject-independent), savee (80/20 over
5 runs), afew (train on Train, test on Val), afew-80/20 (80/20 over 5 runs), split (one
subject-disjoint 80/20 split); each trains with its dataset's augmentation. Within
each training part, subjects held out for validation choose the best epoch; the test part is
never seen before the end.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vfer.data.augment import augment
from vfer.data.cache import ClipSet
from vfer.data.protocols import Split
from vfer.data.registry import protocol
from vfer.models import CheckpointMeta, create_model, save_checkpoint
from vfer.training.evaluate import metrics, plot_confusion, plot_curves
from vfer.training.train import History, TrainConfig, predict_proba, train


def validation_split(clips: ClipSet, index: npt.NDArray[np.int64], seed: int) -> Split:
    """About a tenth of the subjects of `index` for validation, the rest for training."""
    subjects = sorted({clips.subjects[i] for i in index})
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(subjects)[: max(1, len(subjects) // 10)].tolist())
    if len(held) == len(subjects):  # a single subject: validate on a tenth of its clips
        order = rng.permutation(index)
        cut = max(1, len(order) // 10)
        return np.sort(order[cut:]), np.sort(order[:cut])
    train_idx = np.array([i for i in index if clips.subjects[i] not in held], dtype=np.int64)
    val_idx = np.array([i for i in index if clips.subjects[i] in held], dtype=np.int64)
    return train_idx, val_idx


def fit(
    clips: ClipSet, index: npt.NDArray[np.int64], model_name: str, scheme: str, config: TrainConfig, description: str
) -> tuple[Any, History]:
    train_idx, val_idx = validation_split(clips, index, config.seed)
    x, y = augment(clips.crops[train_idx], clips.labels[train_idx], scheme)
    model = create_model(model_name, num_classes=len(clips.classes))
    history = train(model, x, y, clips.crops[val_idx], clips.labels[val_idx], config, description=description)
    return model, history


def evaluate_protocol(clips: ClipSet, name: str, model_name: str, out: Path, config: TrainConfig) -> dict[str, Any]:
    """Run the protocol; write metrics.json, confusion.png and curves.png (first split) to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    splitter, dataset = protocol(name)
    splits = splitter(clips, config.seed)
    runs, truth, predicted = [], [], []
    for number, (train_index, test_index) in enumerate(splits):
        model, history = fit(clips, train_index, model_name, dataset.name, config, f"{name} {number + 1}/{len(splits)}")
        prediction = predict_proba(model, clips.crops[test_index]).argmax(1)
        runs.append(metrics(clips.labels[test_index], prediction, clips.classes))
        truth.append(clips.labels[test_index])
        predicted.append(prediction)
        if number == 0:
            plot_curves(history, out / "curves.png", f"{model_name}, {name}, split 1")
    pooled = metrics(np.concatenate(truth), np.concatenate(predicted), clips.classes)
    summary = {
        "protocol": name,
        "model": model_name,
        "clips": len(clips),
        "splits": len(splits),
        "mean_accuracy": float(np.mean([r["accuracy"] for r in runs])),
        "std_accuracy": float(np.std([r["accuracy"] for r in runs])),
        "pooled": pooled,
        "runs": runs,
        "train": asdict(config),
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_confusion(pooled, out / "confusion.png", f"{model_name} on {name}")
    return summary


def train_checkpoint(clips: ClipSet, model_name: str, out: Path, scheme: str, config: TrainConfig) -> Path:
    """Fit on every clip (validation subjects held out) and save a checkpoint `predict` loads."""
    model, history = fit(clips, np.arange(len(clips), dtype=np.int64), model_name, scheme, config, "train")
    meta = CheckpointMeta(
        model=model_name,
        model_kwargs={"num_classes": len(clips.classes)},
        labels=list(clips.classes),
        version="trained",
        provenance={
            "clips": len(clips),
            "augment": scheme,
            "best_epoch": history.best_epoch + 1,
            "train": asdict(config),
        },
    )
    path = save_checkpoint(model.cpu(), out, meta)
    plot_curves(history, path.with_name(path.stem + "_curves.png"), f"{model_name} training")
    return path
