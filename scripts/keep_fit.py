"""Keep one fit of a recipe judged by several (model card, release 10): its shipped weights and
its figures, copied out of the checkout it was fitted and selected in, until the release decides.

    python scripts/keep_fit.py CHECKOUT fits/release10/seed-2 [--model c3d_convlstm_fer]

CHECKOUT has run `train_default.py --stage students` and then `--stage select`: its weights
folder holds the fit (calibrated) and its `selection.json` the fit's development figures. Writes
OUT/NAME.pt, OUT/NAME.json (the checkpoint's metadata) and OUT/figures.json: the development
figures, the tune people's figures of the training report (those it has), and the machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from benchmarks.machine import describe

# What the training report says of the fit (the rest is in the checkpoint's metadata).
TRAINING = (
    "seed", "ema_decay", "epochs_run", "best_epoch", "tune_macro_recall", "tune_loss", "tune_macro_recall_by_epoch",
    "raw_tune_macro_recall", "temperature", "temperature_in_selection",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="c3d_convlstm_fer")
    args = parser.parse_args()
    weights = args.checkout / "vfer" / "models" / "weights"
    report = json.loads((args.checkout / "build" / "train_default" / f"{args.model}.json").read_text())
    development = json.loads((weights / "selection.json").read_text())["candidates"][args.model]
    args.out.mkdir(parents=True, exist_ok=True)
    for suffix in (".pt", ".json"):
        shutil.copyfile(weights / f"{args.model}{suffix}", args.out / f"{args.model}{suffix}")
    figures = {"machine": describe(), **{key: report[key] for key in TRAINING if key in report}, **development}
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({key: figures[key] for key in ("seed", "best_epoch", "tune_macro_recall", "macro_recall_6")}))


if __name__ == "__main__":
    main()
