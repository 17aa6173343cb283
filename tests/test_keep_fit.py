"""scripts/keep_fit.py keeps a fit's weights and its figures out of the checkout it ran in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from vfer.models import create_model

ROOT = Path(__file__).resolve().parents[1]


def test_a_fit_is_kept_with_its_weights_and_figures(tmp_path: Path) -> None:
    weights = tmp_path / "checkout" / "vfer" / "models" / "weights"
    build = tmp_path / "checkout" / "build" / "train_default"
    weights.mkdir(parents=True)
    build.mkdir(parents=True)
    state = create_model("c3d_convlstm").state_dict()
    torch.save(state, weights / "c3d_convlstm.pt")
    (weights / "c3d_convlstm.json").write_text('{"model": "c3d_convlstm"}')
    development = {"macro_recall_6": 0.61, "recall": {"sad": 0.5}}
    (weights / "selection.json").write_text(json.dumps({"candidates": {"c3d_convlstm": development}}))
    report = {
        "seed": 2, "ema_decay": 0.998, "epochs_run": 43, "best_epoch": 30, "tune_macro_recall": 0.77,
        "tune_loss": 0.65, "raw_tune_macro_recall": [0.5, 0.6], "temperature": 0.95,
        "temperature_in_selection": 0.9, "lr": 5e-4,
    }  # fmt: skip
    (build / "c3d_convlstm.json").write_text(json.dumps(report))
    out = tmp_path / "fits" / "seed-2"
    run = subprocess.run(
        [sys.executable, ROOT / "scripts" / "keep_fit.py", tmp_path / "checkout", out, "--model", "c3d_convlstm"],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    kept = json.loads((out / "figures.json").read_text())
    assert kept["seed"] == 2 and kept["tune_macro_recall"] == 0.77 and kept["macro_recall_6"] == 0.61
    assert kept["raw_tune_macro_recall"] == [0.5, 0.6] and "lr" not in kept and kept["machine"]
    loaded = torch.load(out / "c3d_convlstm.pt", weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    assert json.loads((out / "c3d_convlstm.json").read_text()) == {"model": "c3d_convlstm"}
