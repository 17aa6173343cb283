from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.layouts import make_ckplus
from tests.media import VIDEO
from vfer.data.cache import load_cache
from vfer.data.layouts import read_layout
from vfer.data.prepare import prepare
from vfer.models import create_model, list_models, model_entry
from vfer.training.students import StudentPack, StudentRecipe, fit_student
from vfer.training.train import TrainConfig, predict_proba, train


def vfer(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vfer.cli", *map(str, args)], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    root = make_ckplus(tmp_path_factory.mktemp("ckplus"))
    out = tmp_path_factory.mktemp("cache")
    run = vfer("prepare", root, "--layout", "ck+", "--cache", out, "--workers", "2")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["ok"] == 8 and json.loads(run.stdout)["no_face"] == 1
    assert "no face found" in run.stderr
    return out


def test_prepare_caches_aligned_crops_and_reports_clips_without_a_face(cache: Path) -> None:
    clips = load_cache(cache)
    assert clips.crops.shape == (8, 8, 64, 64) and clips.crops.dtype == np.uint8
    assert sorted(set(clips.subjects)) == ["S001", "S002", "S003", "S004"]
    report = json.loads((cache / "report.json").read_text())
    assert len(report["no_face"]) == 1 and report["no_face"][0].endswith("S001/004")


def test_prepare_resumes_instead_of_redoing(cache: Path, tmp_path: Path, data: Path) -> None:
    samples = [s for s in read_layout("ck+", make_ckplus(tmp_path)) if s.subject == "S002"]
    prepare(samples, tmp_path / "c")
    again = prepare(samples, tmp_path / "c")
    assert len(again["cached"]) == len(samples) and not again["ok"]


def test_training_lowers_the_loss_and_keeps_the_best_validation_weights(cache: Path) -> None:
    clips = load_cache(cache)
    model = create_model("c3d_convlstm")
    config = TrainConfig(epochs=6, lr=1e-3, batch_size=4, progress=False)
    history = train(model, clips.crops, clips.labels, clips.crops, clips.labels, config, device=torch.device("cpu"))
    assert history.train_loss[-1] < history.train_loss[0]
    accuracy = (predict_proba(model, clips.crops).argmax(1) == clips.labels).mean()
    assert accuracy == pytest.approx(max(history.val_accuracy))


def test_drawn_epochs_move_each_batch_and_keep_the_best_macro_recall(cache: Path) -> None:
    """Photos train as moving clips: `augment` sees every drawn batch, `epoch_size` clips an epoch,
    and the kept weights are those of the epoch with the best macro recall."""
    clips = load_cache(cache)
    seen: list[int] = []

    def count_and_flip(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        seen.append(len(batch))
        return batch.flip(-1)

    model = create_model("c3d_convlstm")
    config = TrainConfig(epochs=3, lr=1e-3, batch_size=4, progress=False, select_by="macro_recall", epoch_size=10)
    weights = np.ones(len(clips.labels))
    history = train(
        model, clips.crops, clips.labels, clips.crops, clips.labels, config,
        device=torch.device("cpu"), sample_weights=weights, augment=count_and_flip,
    )  # fmt: skip
    assert seen == [4, 4, 2] * 3
    assert len(history.val_macro_recall) == 3
    assert history.best_epoch == int(np.argmax(history.val_macro_recall))
    # Every epoch's distributions are kept (the calibration needs them); the kept epoch's are the model's.
    assert len(history.val_probs) == 3
    np.testing.assert_allclose(history.val_probs[history.best_epoch], predict_proba(model, clips.crops), atol=1e-6)
    predicted = predict_proba(model, clips.crops).argmax(1)
    per_class = [(predicted[clips.labels == k] == k).mean() for k in np.unique(clips.labels)]
    assert np.mean(per_class) == pytest.approx(max(history.val_macro_recall))


def test_vfer_train_writes_a_checkpoint_that_predict_loads(cache: Path, tmp_path: Path) -> None:
    run = vfer("train", "--cache", cache, "--epochs", "2", "--out", tmp_path / "ck", "--augment", "none")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ck.pt").is_file() and (tmp_path / "ck_curves.png").is_file()
    predicted = vfer("predict", "--model", tmp_path / "ck.pt", VIDEO / "single_face.mp4", "--json")
    assert predicted.returncode == 0, predicted.stderr
    result = json.loads(predicted.stdout)
    assert result["model"]["name"] == "c3d_convlstm" and len(result["faces"]) == 1


def test_vfer_evaluate_writes_metrics_and_figures(cache: Path, tmp_path: Path) -> None:
    run = vfer("evaluate", "--cache", cache, "--protocol", "split", "--epochs", "2", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"accuracy", "unweighted_average_recall", "per_class_recall", "confusion"} <= metrics["pooled"].keys()
    for png in ("confusion.png", "curves.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", [e.name for e in list_models()])
def test_vfer_export_writes_a_runnable_model_for_every_registered_model(name: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"m.{fmt}"
    run = vfer("export", name, "--format", fmt, "--out", out)
    assert run.returncode == 0, run.stderr
    from vfer.models.checkpoint import pretrained_path, read_meta

    shape = read_meta(pretrained_path(model_entry(name).pretrained or "")).input["shape"]  # (C, T, H, W)
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    if fmt == "onnx":
        import onnxruntime as ort

        logits = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"clips": x})[0]
    else:
        with torch.no_grad():
            logits = torch.jit.load(str(out))(torch.from_numpy(x)).numpy()
    assert logits.shape == (3, 7) and np.isfinite(logits).all()


def small_pack(cache: Path) -> StudentPack:
    """A student pack of the cache's real faces: each clip's first frame a still, two windows."""
    clips = load_cache(cache)
    stills = np.ascontiguousarray(clips.crops[:, 0])  # (N, 64, 64)
    one_hot = np.eye(7, dtype=np.float32)[clips.labels]
    return StudentPack(
        stills=stills,
        still_targets=one_hot,
        windows=clips.crops[:2],
        window_targets=np.full((2, 7), 1 / 7, np.float32),
        weights=np.ones(len(stills) + 2),
        tune_stills=stills,
        tune_still_labels=clips.labels,
        tune_windows=clips.crops[:2],
        tune_window_targets=one_hot[:2],
    )


def test_a_student_fit_is_the_same_whatever_ran_before_it_in_the_process(cache: Path) -> None:
    """A model's first weights come from the recipe's seed, not from whatever drew on torch's
    generator before (loading the teacher to build a pack did): a rerun from a cached pack once
    started elsewhere."""
    pack, recipe = small_pack(cache), StudentRecipe(epochs=1, epoch_size=8, batch_size=4, min_class_support=1)
    first, _, _ = fit_student("c3d_convlstm", pack, recipe, device=torch.device("cpu"))
    torch.rand(1000)  # what building the pack drew
    second, _, _ = fit_student("c3d_convlstm", pack, recipe, device=torch.device("cpu"))
    for name, weight in first.state_dict().items():
        torch.testing.assert_close(second.state_dict()[name], weight, msg=name)
