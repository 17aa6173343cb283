from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vfer.errors import ModelNotFoundError
from vfer.inference import OnnxClassifier, TorchClassifier, _as_input, load_classifier, shipped_onnx
from vfer.labels import LABELS
from vfer.models import CheckpointMeta, create_model, list_models, load_checkpoint, model_entry, save_checkpoint
from vfer.models.checkpoint import pretrained_path
from vfer.models.export import export_onnx, export_torchscript
from vfer.models.mini_xception import SamePadMaxPool2d

CLIP = (1, 8, 64, 64)


def shipped_meta(name: str) -> CheckpointMeta:
    """The metadata of a registered model's shipped weights: its declared input among them."""
    from vfer.models.checkpoint import pretrained_path, read_meta

    return read_meta(pretrained_path(model_entry(name).pretrained or ""))


def declared_clips(name: str, count: int, seed: int) -> np.ndarray:
    """uint8 clips (N, T, S, S[, 3]) of the shape the model's checkpoint declares."""
    channels, frames, height, width = shipped_meta(name).input["shape"]
    shape = (count, frames, height, width) + ((3,) if channels == 3 else ())
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("name", [e.name for e in list_models()])
def test_every_model_maps_clips_to_seven_logits(name: str) -> None:
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(torch.rand(3, *shipped_meta(name).input["shape"]))
    assert out.shape == (3, len(LABELS))


def test_paper_model_trains_without_nan() -> None:
    torch.manual_seed(0)
    model = create_model("c3d_convlstm")
    clips, labels = torch.rand(4, *CLIP), torch.tensor([0, 2, 4, 6])
    loss = torch.nn.functional.cross_entropy(model(clips), labels)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None)


def test_paper_model_refuses_a_wrong_clip_shape() -> None:
    with pytest.raises(AssertionError, match="expected clips of shape"):
        create_model("c3d_convlstm")(torch.rand(1, 1, 6, 64, 64))


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(
        ModelNotFoundError,
        match="known models: c3d_convlstm, c3d_convlstm_fer, faceapi_expression, mini_xception_fer2013",
    ):
        create_model("resnet")


def test_a_model_without_weights_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from vfer.models import registry
    from vfer.models.resolver import resolve_model

    bare = registry.ModelEntry("bare", registry.model_entry("c3d_convlstm").builder, "no weights", None)
    monkeypatch.setitem(registry._REGISTRY, "bare", bare)
    with pytest.raises(ModelNotFoundError, match="ships no pretrained weights"):
        create_model("bare", pretrained=True)
    with pytest.raises(ModelNotFoundError, match="unknown model 'bare'; known models: c3d_convlstm"):
        resolve_model("bare")  # nothing to serve: a request cannot name it


def test_checkpoint_round_trip_keeps_outputs_and_metadata(tmp_path: Path) -> None:
    model = create_model("c3d_convlstm", channels=(8, 16, 16)).eval()
    meta = CheckpointMeta(model="c3d_convlstm", model_kwargs={"channels": [8, 16, 16]}, version="t1")
    save_checkpoint(model, tmp_path / "ckpt", meta)
    loaded, loaded_meta = load_checkpoint(tmp_path / "ckpt.pt")
    x = torch.rand(2, *CLIP)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded_meta.version == "t1" and loaded_meta.labels == list(LABELS)


def test_an_old_checkpoint_without_newer_metadata_keys_still_loads(tmp_path: Path) -> None:
    model = create_model("c3d_convlstm").eval()
    save_checkpoint(model, tmp_path / "old", CheckpointMeta(model="c3d_convlstm"))
    (tmp_path / "old.json").write_text('{"model": "c3d_convlstm"}')
    _, meta = load_checkpoint(tmp_path / "old")
    assert meta.labels == list(LABELS) and meta.format_version == 1


def test_shipped_weights_load_with_provenance() -> None:
    from vfer.models.checkpoint import pretrained_path, read_meta

    meta = read_meta(pretrained_path("mini_xception_fer2013"))
    assert meta.provenance["licence"].startswith("MIT")
    assert isinstance(create_model("mini_xception_fer2013", pretrained=True), torch.nn.Module)


def test_same_pad_pooling_puts_the_extra_pixel_bottom_right() -> None:
    x = torch.full((1, 1, 4, 4), -1.0)
    x[0, 0, 3, 3] = 5.0  # only a window reaching past the bottom-right edge sees this pixel twice
    out = SamePadMaxPool2d(3, 2)(x)
    assert out.shape == (1, 1, 2, 2)
    assert out[0, 0, 1, 1] == 5.0 and out[0, 0, 0, 0] == -1.0


@pytest.mark.parametrize("name", [e.name for e in list_models()])
def test_onnx_runtime_matches_torch(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, pretrained=True).eval()
    meta = shipped_meta(name)
    onnx = OnnxClassifier(export_onnx(model, tmp_path / "m.onnx", meta), meta)
    eager = TorchClassifier(model, meta, device=torch.device("cpu"))
    clips = declared_clips(name, 5, 0)
    np.testing.assert_allclose(onnx.predict_proba(clips), eager.predict_proba(clips), atol=1e-5)


@pytest.mark.parametrize("name", [e.name for e in list_models()])
def test_the_shipped_onnx_graph_is_the_shipped_model(name: str) -> None:
    """scripts/export_onnx.py made them; shipped weights changed without a new export fail here."""
    checkpoint = pretrained_path(model_entry(name).pretrained or "")
    graph = shipped_onnx(checkpoint)
    assert graph is not None, f"no ONNX graph beside {checkpoint.name}: run scripts/export_onnx.py"
    assert not list(graph.parent.glob("*.data")), "the graphs are self-contained files"
    model = create_model(name, pretrained=True).eval()
    meta = shipped_meta(name)
    clips = declared_clips(name, 40, 1)  # more than one batch
    eager = TorchClassifier(model, meta, device=torch.device("cpu")).predict_proba(clips)
    np.testing.assert_allclose(OnnxClassifier(graph, meta).predict_proba(clips), eager, atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("name", ["mini_xception_fer2013", "faceapi_expression"])
def test_a_frame_model_runs_each_distinct_frame_once(name: str, backend: str) -> None:
    """Windows overlapping by half (as a video's are): the model sees each frame once, and each
    window still gets its clip model's distribution (the shipped graph's own frames-mean)."""
    clips = declared_clips(name, 2, 2)
    frames = clips.reshape(-1, *clips.shape[2:])[:12]  # 12 distinct random frames
    windows = np.stack([frames[0:8], frames[4:12], frames[0:8]])  # (3, 8, ...): 24 frames, 12 distinct
    classifier = load_classifier(name, backend=backend)
    assert isinstance(classifier, (OnnxClassifier, TorchClassifier)) and classifier.frame_mean
    seen: list[int] = []
    run = classifier._probabilities

    def counting(clips: np.ndarray) -> np.ndarray:
        seen.append(clips.shape[0] * clips.shape[1])
        return run(clips)

    classifier._probabilities = counting  # type: ignore[method-assign]
    probs = classifier.predict_proba(windows)
    assert sum(seen) == 12
    model = create_model(name, pretrained=True).eval()
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(_as_input(windows))), dim=1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_two_branch_model_passes_each_shared_frame_through_its_fer_branch_once(backend: str) -> None:
    """A video's windows overlap by half: the per-frame FER branch sees each distinct frame once
    (12 of 24 here), and each window still gets the clip model's logits."""
    from vfer.models.two_branch import TwoBranch

    frames = declared_clips("c3d_convlstm_fer", 2, 3).reshape(-1, 64, 64)[:12]  # 12 distinct random frames
    windows = np.stack([frames[0:8], frames[4:12], frames[0:8]])  # (3, 8, 64, 64): 24 frames, 12 distinct
    classifier = load_classifier("c3d_convlstm_fer", backend=backend)
    seen: list[int] = []
    if isinstance(classifier, OnnxClassifier):
        session = classifier._session
        run = session.run
        session.run = lambda names, feed: seen.append(len(feed["frames"])) or run(names, feed)  # type: ignore[method-assign,func-returns-value]
    else:
        assert isinstance(classifier, TorchClassifier) and isinstance(classifier.model, TwoBranch)
        maps = classifier.model.fer_maps
        classifier.model.fer_maps = lambda x: seen.append(len(x)) or maps(x)  # type: ignore[method-assign,func-returns-value]
    probs = classifier.predict_proba(windows)
    assert seen == [12]
    model = create_model("c3d_convlstm_fer", pretrained=True).eval()
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(_as_input(windows))), dim=1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_a_clip_model_is_not_taken_for_a_frame_model() -> None:
    """The paper's model looks at the frames together: its graph keeps 8 frames and no mark."""
    assert not load_classifier("c3d_convlstm", backend="onnx").frame_mean  # type: ignore[attr-defined]
    assert not load_classifier("c3d_convlstm", backend="torch").frame_mean  # type: ignore[attr-defined]


def test_a_trained_checkpoint_is_exported_once_into_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VFER_CACHE_DIR", str(tmp_path / "cache"))
    checkpoint = save_checkpoint(create_model("c3d_convlstm"), tmp_path / "mine", CheckpointMeta(model="c3d_convlstm"))
    first = load_classifier(str(checkpoint), backend="onnx")
    cached = list((tmp_path / "cache").rglob("*"))
    assert [p.suffix for p in cached if p.is_file()] == [".onnx"], cached
    assert load_classifier(str(checkpoint), backend="onnx").info == first.info
    assert list((tmp_path / "cache").rglob("*")) == cached, "the second load exports nothing"


@pytest.mark.parametrize("name", [e.name for e in list_models()])
def test_torchscript_export_matches_eager(tmp_path: Path, name: str) -> None:
    model = create_model(name, pretrained=True).eval()
    meta = shipped_meta(name)
    scripted = torch.jit.load(str(export_torchscript(model, tmp_path / "m.ts", meta)))
    x = torch.rand(3, *meta.input["shape"])
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))


def test_the_two_branch_model_keeps_no_dead_head_and_old_checkpoints_still_load(tmp_path: Path) -> None:
    """Checkpoints from before the video branch's unused head was dropped hold `video.fc.*`:
    loading skips them."""
    fresh = create_model("c3d_convlstm_fer", pretrained_fer=False)
    assert not [k for k in fresh.state_dict() if k.startswith("video.fc")]
    meta = CheckpointMeta(model="c3d_convlstm_fer", model_kwargs={"pretrained_fer": False})
    old = save_checkpoint(fresh, tmp_path / "old", meta)
    state = torch.load(old, weights_only=True)
    torch.save({**state, "video.fc.weight": torch.zeros(7, 1024), "video.fc.bias": torch.zeros(7)}, old)
    loaded, _ = load_checkpoint(old)
    assert loaded.state_dict().keys() == fresh.state_dict().keys()


def test_a_two_branch_checkpoint_loads_without_reading_the_teacher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vfer.models import two_branch

    trained = create_model("c3d_convlstm_fer", pretrained_fer=False)
    meta = CheckpointMeta(model="c3d_convlstm_fer", model_kwargs={"num_classes": len(LABELS)})  # as `vfer train` saves
    path = save_checkpoint(trained, tmp_path / "trained", meta)

    def teacher_read(*_: object) -> None:
        raise AssertionError("loading a checkpoint read the teacher's weights")

    monkeypatch.setattr(two_branch, "load_checkpoint", teacher_read)
    loaded, _ = load_checkpoint(path)
    for name, tensor in trained.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_a_branch_on_the_fer_nets_4x4_maps_round_trips_through_checkpoint_and_onnx(tmp_path: Path) -> None:
    """`fer_blocks=4`: the mini-Xception's last block joins the branch, starting from the shipped
    weights, and the builder's argument travels with the checkpoint to ONNX."""
    import onnxruntime as ort

    model = create_model("c3d_convlstm_fer", fer_blocks=4).eval()
    shipped, _ = load_checkpoint(pretrained_path("mini_xception_fer2013"))
    last_block = {k: v for k, v in shipped.state_dict().items() if k.startswith("frame_model.blocks.3.")}
    assert last_block, "the shipped mini-Xception has no fourth block"
    for name, tensor in last_block.items():
        assert torch.equal(model.state_dict()[name.replace("frame_model.blocks", "fer_blocks")], tensor), name
    meta = CheckpointMeta(model="c3d_convlstm_fer", model_kwargs={"pretrained_fer": False, "fer_blocks": 4})
    path = save_checkpoint(model, tmp_path / "deeper", meta)
    loaded, loaded_meta = load_checkpoint(path)
    assert len(loaded.fer_blocks) == 4 and loaded_meta.model_kwargs["fer_blocks"] == 4
    x = torch.rand(2, *CLIP)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(loaded(x), expected)
    graph = export_onnx(loaded, tmp_path / "deeper.onnx", loaded_meta)
    (out,) = ort.InferenceSession(str(graph)).run(None, {"clips": x.numpy()})
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_a_branch_takes_only_the_fer_net_blocks_it_can_sum() -> None:
    with pytest.raises(AssertionError, match="fer_blocks must be one of"):
        create_model("c3d_convlstm_fer", fer_blocks=2, pretrained_fer=False)


def test_the_names_a_request_may_give_are_read_from_the_shipped_files() -> None:
    """Derived, not a hand-kept copy: every registered model (each ships weights) and ensemble."""
    from vfer.models import REGISTERED_MODELS, list_models
    from vfer.models.ensemble import list_ensembles

    names = [entry.name for entry in list_models()] + [spec.name for spec in list_ensembles()]
    assert tuple(sorted(names)) == REGISTERED_MODELS


def test_the_ensemble_averages_its_calibrated_members() -> None:
    """fer_ensemble on clips of both crops: the mean of each member's temperature-scaled
    distribution, each member fed its own crop (aligned gray 64, face box RGB 112)."""
    from vfer.config import ALIGNED_GRAY, CropSpec
    from vfer.inference import calibrate
    from vfer.models.ensemble import ensemble_spec

    ensemble = load_classifier("fer_ensemble", backend="onnx")
    box = CropSpec("box", 112, color=True)
    assert ensemble.crops == (ALIGNED_GRAY, box) and ensemble.info.name == "fer_ensemble"
    rng = np.random.default_rng(3)
    clips = {
        ALIGNED_GRAY: rng.integers(0, 256, (4, 8, 64, 64), np.uint8),
        box: rng.integers(0, 256, (4, 8, 112, 112, 3), np.uint8),
    }
    spec = ensemble_spec("fer_ensemble")
    assert spec is not None
    expected = np.mean(
        [calibrate(load_classifier(m.model, backend="onnx").predict_clips(clips), m.temperature) for m in spec.members],
        axis=0,
    )
    np.testing.assert_allclose(ensemble.predict_clips(clips), expected, atol=1e-6)
    assert np.allclose(expected.sum(axis=1), 1, atol=1e-5)
