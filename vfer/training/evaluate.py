"""Metrics (accuracy, per-class recall, unweighted average recall) and the PNG figures: a
row-normalised confusion matrix like the paper's figures 5-8, and training curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vfer.training.train import History


def metrics(y_true: npt.NDArray[np.int64], y_pred: npt.NDArray[np.int64], classes: Sequence[str]) -> dict[str, Any]:
    k = len(classes)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    support = confusion.sum(1)
    recall = {c: (float(confusion[i, i] / support[i]) if support[i] else None) for i, c in enumerate(classes)}
    present = [r for r in recall.values() if r is not None]
    return {
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "unweighted_average_recall": float(np.mean(present)) if present else 0.0,
        "per_class_recall": recall,
        "support": {c: int(support[i]) for i, c in enumerate(classes)},
        "confusion": confusion.tolist(),
        "classes": list(classes),
        "n": len(y_true),
    }


def plot_confusion(result: dict[str, Any], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusion = np.array(result["confusion"], dtype=np.float64)
    rows = confusion.sum(1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros_like(confusion), where=rows > 0) * 100
    classes = result["classes"]
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=120)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j,
                i,
                f"{share[i, j]:.1f}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 60 else "black",
                fontsize=8,
            )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(
        f"{title}\naccuracy {result['accuracy'] * 100:.2f} %, UAR {result['unweighted_average_recall'] * 100:.2f} %"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_curves(history: History, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history.train_loss) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    left.plot(epochs, history.train_loss, label="train")
    left.plot(epochs, history.val_loss, label="validation")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy")
    left.legend()
    right.plot(epochs, history.val_accuracy, color="tab:green")
    right.axvline(history.best_epoch + 1, color="grey", linestyle=":", label=f"best epoch {history.best_epoch + 1}")
    right.set_xlabel("epoch")
    right.set_ylabel("validation accuracy")
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
