"""Metrics (accuracy, per-class recall, unweighted average recall, calibration error) and the PNG
figures: a row-normalised confusion matrix like the paper's figures 5-8, a reliability diagram,
and training curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vfer.labels import LABELS
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


ECE_BINS = 10


def reliability(
    probs: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], bins: int = ECE_BINS
) -> dict[str, list[Any]]:
    """Top-label confidence in equal-width bins: per bin, how many examples, how sure the model was
    on average and how often it was right (None for an empty bin). What ECE sums and the
    reliability diagram draws."""
    confidence, correct = probs.max(1), probs.argmax(1) == labels
    bin_of = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    inside = [bin_of == b for b in range(bins)]
    return {
        "count": [int(m.sum()) for m in inside],
        "confidence": [float(confidence[m].mean()) if m.any() else None for m in inside],
        "accuracy": [float(correct[m].mean()) if m.any() else None for m in inside],
    }


def expected_calibration_error(
    probs: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], bins: int = ECE_BINS
) -> float:
    """Top-label ECE: over equal-width confidence bins, the gap between how sure the model was
    and how often it was right, weighted by the bin's share of examples."""
    table = reliability(probs, labels, bins)
    return float(
        sum(
            n / len(labels) * abs(right - sure)
            for n, sure, right in zip(table["count"], table["confidence"], table["accuracy"], strict=True)
            if n
        )
    )


def plot_reliability(table: dict[str, list[Any]], ece: float, path: Path, title: str) -> Path:
    """The reliability diagram: per confidence bin, how often the top label was right against how
    sure the model said it was (the diagonal is a calibrated model); bars below it are overconfident."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = len(table["count"])
    edges = np.linspace(0, 1, bins + 1)
    used = [b for b in range(bins) if table["count"][b]]
    fig, ax = plt.subplots(figsize=(5.2, 5.2), dpi=120)
    ax.bar(edges[used], [table["accuracy"][b] for b in used], width=1 / bins, align="edge",
           color="tab:blue", edgecolor="white", label="right (share of the bin)")  # fmt: skip
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    ax.scatter([table["confidence"][b] for b in used], [table["confidence"][b] for b in used],
               color="tab:red", zorder=3, s=14, label="said (mean confidence)")  # fmt: skip
    for b in used:
        ax.text(edges[b] + 0.5 / bins, 0.02, str(table["count"][b]), ha="center", fontsize=7, color="white")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top label's probability")
    ax.set_ylabel("how often the top label was right")
    ax.set_title(f"{title}\nECE {ece:.3f} (numbers: examples per bin)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def quality(
    model: str,
    probs: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    *,
    photos: int | None = None,
    votes: npt.NDArray[np.float32] | None = None,
) -> dict[str, Any]:
    """What `vfer evaluate` reports for labelled examples (`photos`: how many were given, of
    which `len(labels)` gave a face): accuracy, recall per class, their macro average over the
    classes present, top-label ECE and mean confidence, support and the confusion matrix; with the annotators'
    `votes` (N, 7), how far the distributions are from them (`vote_figures`)."""
    scores = metrics(labels, probs.argmax(1), LABELS)
    report = {
        "model": model,
        "n": len(labels) if photos is None else photos,
        "found": len(labels),
        "accuracy": scores["accuracy"],
        "macro_recall": scores["unweighted_average_recall"],
        "recall": scores["per_class_recall"],
        "ece": expected_calibration_error(probs, labels) if len(labels) else 0.0,
        # The mean top-label probability: above the accuracy, the percentages run high (too sure).
        "confidence": float(probs.max(1).mean()) if len(labels) else 0.0,
        "reliability": reliability(probs, labels),
        "support": scores["support"],
        "confusion": scores["confusion"],
    }
    return report if votes is None else report | vote_figures(probs, votes)


def vote_figures(probs: npt.NDArray[np.float32], votes: npt.NDArray[np.float32]) -> dict[str, float]:
    """How far the model's distributions are from the annotators' votes: mean cross-entropy
    (nats; the votes' own entropy is its floor) and mean total-variation distance (0: the same
    distribution, 1: nothing shared)."""
    if not len(votes):
        return {"vote_cross_entropy": 0.0, "vote_total_variation": 0.0}
    p = np.clip(probs.astype(np.float64), 1e-12, None)
    return {
        "vote_cross_entropy": float(-(votes * np.log(p)).sum(1).mean()),
        "vote_total_variation": float(0.5 * np.abs(probs - votes).sum(1).mean()),
    }


def macro_recall(recall: dict[str, float | None], *, leave_out: Sequence[str] = ()) -> float:
    """The mean recall of the classes present, less `leave_out` (fear: too few to rule)."""
    present = [r for label, r in recall.items() if r is not None and label not in leave_out]
    return float(np.mean(present)) if present else 0.0
