"""Fit one of the paper's video models on a student pack (`train_default.py --stage pack`), on a
GPU when there is one: the paper's 80 epochs at Adam 1e-4, the epoch kept by the tune people's
macro recall. Torch and numpy only, so the pack and this repository are all a GPU machine needs.

    python scripts/train_students.py build/train_default/students.npz c3d_convlstm_fer \
        --out build/train_default/fitted [--start shipped] [--budget-s 420]

Writes OUT/NAME-START.pt (the state dict, uncalibrated), OUT/NAME-START.json (the report) and
OUT/NAME-START-tune.npy (every epoch's distributions of the tune photos, for the calibration);
`train_default.py --stage students --fitted OUT` calibrates and ships the best start of each.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from vfer.models import model_entry
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.device import select_device
from vfer.models.two_branch import FER_BLOCKS, FER_MAPS
from vfer.training.students import StudentPack, StudentRecipe, fit_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path)
    parser.add_argument("model", choices=("c3d_convlstm", "c3d_convlstm_fer"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--start",
        choices=("scratch", "shipped"),
        default="scratch",
        help="shipped: the released weights (only where they never trained on the pack's tune people)",
    )
    parser.add_argument("--epochs", type=int, default=StudentRecipe.epochs)
    parser.add_argument("--lr", type=float, default=StudentRecipe.lr)
    parser.add_argument("--batch-size", type=int, default=StudentRecipe.batch_size)
    parser.add_argument("--epoch-size", type=int, default=StudentRecipe.epoch_size)
    parser.add_argument(
        "--min-tune-support",
        type=int,
        default=StudentRecipe.min_class_support,
        help="tune clips a class needs to count in the macro recall that keeps an epoch",
    )
    parser.add_argument("--budget-s", type=float, help="no epoch starts after this many seconds")
    parser.add_argument("--ema-decay", type=float, help="keep an average of the weights over steps (release 10)")
    parser.add_argument(
        "--fer-blocks",
        type=int,
        choices=FER_MAPS,
        default=FER_BLOCKS,
        help="c3d_convlstm_fer: mini-Xception blocks its FER2013 branch takes (4: release 12)",
    )
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    deeper = args.fer_blocks != FER_BLOCKS
    if deeper and (args.model != "c3d_convlstm_fer" or args.start == "shipped"):
        parser.error("--fer-blocks 4: c3d_convlstm_fer from scratch only (the shipped weights have 3 blocks)")
    torch.set_num_threads(args.threads)
    recipe = StudentRecipe(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        epoch_size=args.epoch_size,
        min_class_support=args.min_tune_support,
        max_seconds=args.budget_s,
        ema_decay=args.ema_decay,
        model_kwargs={"fer_blocks": args.fer_blocks} if deeper else {},
    )
    start = None
    if args.start == "shipped":
        stem = model_entry(args.model).pretrained
        start = torch.load(WEIGHTS_DIR / f"{stem}.pt", map_location="cpu", weights_only=True)
    run = f"{args.model}-{args.start}"
    model, report, epoch_tune_probs = fit_student(
        args.model, StudentPack.load(args.pack), recipe, device=select_device(), start=start, description=run
    )
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / f"{run}.pt")
    np.save(args.out / f"{run}-tune.npy", epoch_tune_probs)
    (args.out / f"{run}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(run, json.dumps({k: report[k] for k in ("epochs_run", "best_epoch", "tune_macro_recall")}))


if __name__ == "__main__":
    main()
