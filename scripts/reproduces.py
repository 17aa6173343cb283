"""Does a fit reproduce a shipped video model? (model card, release 11: a temperature may be
changed on shipped weights only when a rerun of their fit gives them back.)

    python scripts/reproduces.py CHECKOUT [--model c3d_convlstm_fer] [--shipped DIR]

CHECKOUT has run `train_default.py --stage students`: its weights folder holds the fit. Reproduced
means the same kept epoch, tune loss and tune macro recall to six digits, and the same weights
before calibration (each checkpoint's last layer multiplied back by its own temperature, every
tensor within 1e-6). Prints one JSON object; exits 1 when the fit does not reproduce.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from vfer.models import load_checkpoint
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.training.calibrate import fold_temperature

FIGURES = ("best_epoch", "tune_loss", "tune_macro_recall")
TOLERANCE = 1e-6


def uncalibrated(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A checkpoint's weights as its fit left them (its temperature taken out) and its fit's figures."""
    model, meta = load_checkpoint(path)
    train = meta.provenance["train"]
    fold_temperature(model, 1 / train["temperature"])  # logits / (1 / T): times T, as before calibration
    return model.state_dict(), train


def compare(fit: Path, shipped: Path) -> dict[str, Any]:
    """The two checkpoints' figures side by side and their largest weight difference."""
    fit_state, fit_train = uncalibrated(fit)
    shipped_state, shipped_train = uncalibrated(shipped)
    figures = {k: {"fit": fit_train[k], "shipped": shipped_train[k]} for k in FIGURES}
    same_figures = all(round(v["fit"], 6) == round(v["shipped"], 6) for v in figures.values())
    same_tensors = fit_state.keys() == shipped_state.keys()
    largest = (
        max(float((fit_state[k].double() - shipped_state[k].double()).abs().max()) for k in fit_state)
        if same_tensors
        else None
    )
    return {
        "figures": figures,
        "largest_weight_difference": largest,
        "temperatures": {"fit": fit_train["temperature"], "shipped": shipped_train["temperature"]},
        "reproduced": same_figures and largest is not None and largest <= TOLERANCE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--model", default="c3d_convlstm_fer")
    parser.add_argument("--shipped", type=Path, default=WEIGHTS_DIR, help="the shipped weights' folder")
    args = parser.parse_args()
    fit = args.checkout / "vfer" / "models" / "weights" / f"{args.model}.pt"  # as keep_fit.py reads a checkout
    if not fit.is_file():
        parser.error(f"{args.checkout} holds no fit ({fit}): run train_default.py --stage students there first")
    report = compare(fit, args.shipped / f"{args.model}.pt")
    print(json.dumps(report, indent=2))
    sys.exit(0 if report["reproduced"] else 1)


if __name__ == "__main__":
    main()
