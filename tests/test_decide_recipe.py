"""scripts/decide_recipe.py decides a release on its pre-registered fits only, as the card's rule
says, on the figures kept in fits/ (release 10's three fits)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEPT = ROOT / "fits" / "release10"


def decide(release: Path, *options: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, ROOT / "scripts" / "decide_recipe.py", release, *options],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def release_of(release: Path, seeds: dict[int, dict[str, Any]]) -> Path:
    """A release holding the given fits' figures under release 10's terms (seeds 2, 3 and 4)."""
    release.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(KEPT / "release.json", release / "release.json")
    for seed, figures in seeds.items():
        (release / f"seed-{seed}").mkdir()
        (release / f"seed-{seed}" / "figures.json").write_text(json.dumps(figures))
    return release


def kept(seed: int) -> dict[str, Any]:
    path = KEPT / f"seed-{seed}" / "figures.json"
    assert path.exists(), f"fits/release10 lost seed {seed}'s figures"
    figures: dict[str, Any] = json.loads(path.read_text())
    return figures


def test_a_release_is_not_decided_before_its_third_fit_nor_on_a_misfiled_one(tmp_path: Path) -> None:
    run = decide(release_of(tmp_path / "two", {2: kept(2), 3: kept(3)}))
    assert run.returncode != 0 and "fits of seeds [2, 3], but seeds [2, 3, 4] were pre-registered" in run.stderr
    run = decide(release_of(tmp_path / "misfiled", {2: kept(2), 3: kept(3), 4: kept(3)}))
    assert run.returncode != 0 and "seed-4: its figures are of seed 3" in run.stderr


def test_release_10_is_decided_on_its_three_kept_fits_as_recorded(tmp_path: Path) -> None:
    """The recorded decision follows from the kept figures and the frame models' figures it records
    (those shipped when it was decided, whatever ships later): every fit loses sad, so does the mean."""
    fits = {seed: kept(seed) for seed in (2, 3, 4)}
    release = release_of(tmp_path / "release", fits)
    recorded = json.loads((KEPT / "decision.json").read_text())
    assert set(recorded["frame_models"]) == {"mini_xception_fer2013", "faceapi_expression", "fer_ensemble"}
    selection = tmp_path / "selection.json"
    selection.write_text(json.dumps({"candidates": recorded["frame_models"]}))
    run = decide(release, "--selection", selection, "--plot", tmp_path / "curves.png")
    assert run.returncode == 0, run.stderr
    decision = json.loads((release / "decision.json").read_text())
    assert decision == recorded
    assert decision["model"] == "c3d_convlstm_fer" and not decision["ships"] and decision["shipped_seed"] is None
    assert not decision["beats_shipped_recipe"] and "sad" in decision["rule"]["classes_losing_over_10_points"]
    mean = sum(f["macro_recall_6"] for f in fits.values()) / 3
    assert decision["recipe"]["fits"] == 3 and decision["recipe"]["macro_recall_6"] == pytest.approx(mean)
    assert "| seed 4 | 20 |" in run.stdout and "not shipped" in run.stdout
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", sorted(p.parent.name for p in (ROOT / "fits").glob("release*/decision.json")))
def test_every_recorded_decision_follows_from_its_kept_fits(name: str, tmp_path: Path) -> None:
    """Rerun on each release's kept figures and the frame models' figures it recorded, the script
    gives the recorded decision (no verdict in fits/ was written by hand or drifted since) and
    draws the tune curves (before: a release without a weight average, 12, failed to plot)."""
    kept_release = ROOT / "fits" / name
    release = tmp_path / name
    shutil.copytree(kept_release, release, ignore=shutil.ignore_patterns("decision.json", "*.pt", "*.png"))
    recorded = json.loads((kept_release / "decision.json").read_text())
    selection = tmp_path / "selection.json"
    selection.write_text(json.dumps({"candidates": recorded["frame_models"]}))
    run = decide(release, "--selection", selection, "--plot", tmp_path / "curves.png")
    assert run.returncode == 0, run.stderr
    assert json.loads((release / "decision.json").read_text()) == recorded
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
