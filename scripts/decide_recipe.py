"""Decide a release judged by several fits of one recipe (model card, release 10): the mean of its
fits against the rule and against the shipped recipe's mean, written to RELEASE/decision.json.

    python scripts/decide_recipe.py fits/release10 [--plot fits/release10/tune_curves.png]

RELEASE/release.json holds what was decided before any fit (the model, the seeds, the shipped
recipe's mean macro recall to beat), RELEASE/seed-N/figures.json each fit's figures
(`scripts/keep_fit.py`). The frame models are judged as shipped (`weights/selection.json`), and
their figures are recorded in the decision, so it can be rerun against them later. It
refuses to decide on any set of fits but the pre-registered seeds, and prints the card's table.
`--plot` draws each fit's tune macro recall by epoch, the raw weights' beside the kept ones'.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vfer.models.catalogue import SELECTION
from vfer.training.photo_eval import decide_recipe

CLASSES = ("neutral", "happy", "surprise", "sad", "anger", "disgust")


def load_fits(release: Path, seeds: list[int]) -> list[dict[str, Any]]:
    """Every pre-registered fit and no other: a missing, extra or misfiled seed is refused."""
    found = sorted(int(p.parent.name.removeprefix("seed-")) for p in release.glob("seed-*/figures.json"))
    if found != sorted(seeds):
        raise SystemExit(f"{release}: fits of seeds {found}, but seeds {sorted(seeds)} were pre-registered")
    fits = [json.loads((release / f"seed-{seed}" / "figures.json").read_text()) for seed in seeds]
    for seed, fit in zip(seeds, fits, strict=True):
        if fit["seed"] != seed:
            raise SystemExit(f"{release}/seed-{seed}: its figures are of seed {fit['seed']}")
    return fits


def table(fits: list[dict[str, Any]], mean: dict[str, Any]) -> str:
    """The card's table: one row a fit, then the mean (with the range of macro recall)."""
    head = "| fit | kept epoch | tune macro | macro (6) | " + " | ".join(CLASSES) + " | ECE (temperature) |"
    rows = [head, "|" + "---|" * (5 + len(CLASSES))]
    for f in fits:
        recall = " | ".join(f"{f['recall'][c]:.2f}" for c in CLASSES)
        rows.append(
            f"| seed {f['seed']} | {f['best_epoch']} | {f['tune_macro_recall']:.3f} | {f['macro_recall_6']:.3f} | "
            f"{recall} | {f['ece']:.3f} ({f['temperature']:.3f}) |"
        )
    low, high = mean["macro_recall_6_range"]
    recall = " | ".join(f"{mean['recall'][c]:.2f}" for c in CLASSES)
    rows.append(f"| **mean** | | | **{mean['macro_recall_6']:.3f}** ({low:.3f}-{high:.3f}) | {recall} | |")
    return "\n".join(rows)


def plot_tune_curves(fits: list[dict[str, Any]], path: Path) -> None:
    """What the tune people saw of each fit, epoch by epoch: the raw weights (thin), the kept average
    where the report has it (thick), and the kept epoch (a dot); a fit without an average, one curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=120)
    for i, fit in enumerate(fits):
        colour = f"C{i}"  # matplotlib's colour cycle: as many fits as a release has
        if not fit.get("ema_decay"):  # no average: the kept weights are the raw ones, one curve
            kept = fit["tune_macro_recall_by_epoch"]
            ax.plot(range(1, len(kept) + 1), kept, color=colour, linewidth=1.5, label=f"seed {fit['seed']}")
        else:
            raw = fit["raw_tune_macro_recall"]
            epochs = range(1, len(raw) + 1)
            ax.plot(epochs, raw, color=colour, linewidth=0.8, alpha=0.6, label=f"seed {fit['seed']}: raw weights")
            if "tune_macro_recall_by_epoch" in fit:
                average = fit["tune_macro_recall_by_epoch"]
                ax.plot(epochs, average, color=colour, linewidth=2, label=f"seed {fit['seed']}: average (kept)")
        ax.plot([fit["best_epoch"]], [fit["tune_macro_recall"]], "o", color=colour)
    ax.set(xlabel="epoch (2,048 clips)", ylabel="tune macro recall", title="Tune people, by epoch (dot: kept)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", type=Path)
    parser.add_argument("--selection", type=Path, default=SELECTION, help="the shipped frame models' figures")
    parser.add_argument("--plot", type=Path, help="write the fits' tune curves to this PNG")
    args = parser.parse_args()
    terms = json.loads((args.release / "release.json").read_text())
    fits = load_fits(args.release, terms["seeds"])
    shipped = json.loads(args.selection.read_text())["candidates"]
    frame_models = {name: figures for name, figures in shipped.items() if figures["kind"] == "frame"}
    decision = {
        "model": terms["model"],
        **decide_recipe(fits, frame_models, beat_macro_recall_6=terms["beat_macro_recall_6"]),
    }
    (args.release / "decision.json").write_text(json.dumps(decision, indent=2) + "\n")
    print(table(fits, decision["recipe"]))
    if args.plot:
        plot_tune_curves(fits, args.plot)
    rule = decision["rule"]
    print(
        f"\nagainst {rule['compared_with']}: {rule['macro_recall_6_behind']:+.4f} behind in macro recall, "
        f"losing over 10 points: {rule['classes_losing_over_10_points'] or 'none'}; rule passes: {rule['passes']}; "
        f"mean above {terms['beat_macro_recall_6']}: {decision['beats_shipped_recipe']}"
    )
    if decision["ships"]:
        print(
            f"ships seed {decision['shipped_seed']}: copy {args.release}/seed-{decision['shipped_seed']}/"
            f"{terms['model']}.pt and .json into vfer/models/weights, then run scripts/export_onnx.py and "
            "train_default.py --stage select"
        )
    else:
        print("not shipped: the shipped recipe stays")


if __name__ == "__main__":
    main()
