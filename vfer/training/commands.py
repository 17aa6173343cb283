"""`vfer prepare`, `vfer train`, `vfer evaluate`, `vfer export`: the paper's training toolkit."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vfer.errors import InvalidOptionError

COMMANDS = ("prepare", "train", "evaluate", "export")
CORE_INSTALL_HINT = "pip install 'vfer[core]'"


def _prepare(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vfer.data.layouts import read_layout
    from vfer.data.prepare import prepare

    samples = read_layout(args.layout, Path(args.root), keep_contempt=args.keep_contempt)
    with tqdm(total=len(samples), unit="clip", desc="prepare", file=sys.stderr) as bar:
        report = prepare(samples, Path(args.cache), workers=args.workers, progress=lambda _: bar.update())
    counts = {k: len(v) for k, v in report.items()}
    print(json.dumps({"cache": args.cache, "samples": len(samples), **counts}))
    for line in report["no_face"]:
        print(f"vfer: no face found, clip left out: {line}", file=sys.stderr)
    for line in report["error"]:
        print(f"vfer: clip left out: {line}", file=sys.stderr)
    return 0


def _config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from vfer.training.train import TrainConfig

    return TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)


def _train(args: argparse.Namespace) -> int:
    from vfer.data.cache import load_cache
    from vfer.training.run import train_checkpoint

    path = train_checkpoint(load_cache(Path(args.cache)), args.model, Path(args.out), args.augment, _config(args))
    print(f"wrote {path} and {path.with_suffix('.json')}; use it with: vfer predict --model {path} VIDEO")
    return 0


def _format_quality(folder: str, report: dict[str, Any]) -> str:
    found = report["found"] / report["n"] if report["n"] else 0.0
    recall = ", ".join(
        f"{label} {r * 100:.1f} % ({report['support'][label]})"
        for label, r in report["recall"].items()
        if r is not None
    )
    lines = [
        f"{folder}: {report['model']}, {report['n']} photos, a face in {report['found']} ({found * 100:.1f} %)",
        f"  accuracy {report['accuracy'] * 100:.1f} %, macro recall {report['macro_recall'] * 100:.1f} %, "
        f"ECE {report['ece']:.3f}",
        f"  recall: {recall}",
    ]
    if "vote_cross_entropy" in report:
        lines.append(
            f"  against the annotators' votes: cross-entropy {report['vote_cross_entropy']:.3f} nats, "
            f"total variation {report['vote_total_variation']:.3f}"
        )
    return "\n".join(lines)


def _evaluate_folder(args: argparse.Namespace) -> int:
    from vfer.data.photos import FaceMode
    from vfer.models import DEFAULT_MODEL
    from vfer.training.evaluate import plot_confusion, plot_reliability
    from vfer.training.photo_eval import evaluate_folder

    mode: FaceMode = "crop" if args.crops else "detect" if args.no_pad else "pad"
    model = args.model or DEFAULT_MODEL
    report = evaluate_folder(
        Path(args.folder), model, mode=mode, landmarks=args.landmarks, backend=args.backend, workers=args.workers
    )
    if args.confusion:
        figure = {**report, "classes": list(report["recall"]), "unweighted_average_recall": report["macro_recall"]}
        plot_confusion(figure, Path(args.confusion), f"{model} on {Path(args.folder).name}")
    if args.reliability:
        plot_reliability(
            report["reliability"], report["ece"], Path(args.reliability), f"{model} on {Path(args.folder).name}"
        )
    public = {k: v for k, v in report.items() if k not in ("confusion", "reliability")}
    print(json.dumps(public) if args.json else _format_quality(args.folder, report))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if (args.folder is None) == (args.cache is None):
        raise InvalidOptionError("give a labelled photo folder, or --cache with --protocol and --out")
    if args.folder is not None:
        return _evaluate_folder(args)
    if args.protocol is None or args.out is None:
        raise InvalidOptionError("--cache needs --protocol and --out")
    from vfer.data.cache import load_cache
    from vfer.training.run import evaluate_protocol

    model = args.model or "c3d_convlstm"
    summary = evaluate_protocol(load_cache(Path(args.cache)), args.protocol, model, Path(args.out), _config(args))
    pooled = summary["pooled"]
    print(
        f"{args.protocol}: mean accuracy {summary['mean_accuracy'] * 100:.2f} % over {summary['splits']} split(s), "
        f"pooled accuracy {pooled['accuracy'] * 100:.2f} %, UAR {pooled['unweighted_average_recall'] * 100:.2f} %; "
        f"wrote {os.path.join(args.out, 'metrics.json')}, confusion.png, curves.png"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from vfer.models.export import export_onnx, export_torchscript
    from vfer.models.registry import load_checkpoint
    from vfer.models.resolver import resolve_model

    record = resolve_model(args.model, paths=True)
    if record.kind == "ensemble":
        raise InvalidOptionError(f"{args.model} is an ensemble of {', '.join(record.members)}: export each of them")
    if record.kind == "onnx":
        raise InvalidOptionError(f"{args.model} is an ONNX model already")
    assert record.path is not None
    model, meta = load_checkpoint(record.path)
    out = Path(args.out)
    if args.format == "onnx":
        print(f"exporting {args.model} to ONNX (about half a minute on a CPU)…", file=sys.stderr, flush=True)
        path = export_onnx(model, out, meta)
    else:
        path = export_torchscript(model, out, meta)
    print(f"wrote {path}")
    return 0


def _missing_core(missing: str | None) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)  # `vfer` says what to install

    return run


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The toolkit's commands; in an install without the core (the gateway's), stubs that say so."""
    try:
        from vfer.data.augment import schemes
        from vfer.data.registry import list_datasets, list_protocols
    except ModuleNotFoundError as exc:
        for name in COMMANDS:
            # No option prefix: whatever follows is taken as words, so any arguments reach the message.
            stub = commands.add_parser(name, help=f"(needs {CORE_INSTALL_HINT})", prefix_chars="\0", add_help=False)
            stub.add_argument("args", nargs="*")
            stub.set_defaults(run=_missing_core(exc.name))
        return

    prepare = commands.add_parser("prepare", help="run the face pipeline once per clip of a dataset, into a cache")
    prepare.add_argument("root", help="the dataset's folder")
    prepare.add_argument("--layout", choices=list_datasets(), required=True)
    prepare.add_argument("--cache", required=True, help="output folder (resumable)")
    prepare.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    prepare.add_argument("--keep-contempt", action="store_true", help="CK+: keep contempt (an 8-class protocol)")
    prepare.set_defaults(run=_prepare)

    for name, helper, runner in (
        ("train", "train a model on a prepared cache and write a checkpoint", _train),
        (
            "evaluate",
            "measure a model on a labelled photo folder, or run one of the paper's protocols on a prepared cache",
            _evaluate,
        ),
    ):
        parser = commands.add_parser(name, help=helper)
        training = parser
        if name == "evaluate":
            parser.add_argument(
                "folder",
                nargs="?",
                help="a photo folder with labels.csv (file, label; optional person; optional vote columns, as FER+)",
            )
            parser.add_argument("--crops", action="store_true", help="the photos are face crops: no detection (FER+)")
            parser.add_argument("--no-pad", action="store_true", help="photos of whole heads: detect as they are")
            parser.add_argument("--json", action="store_true", help="one JSON object")
            parser.add_argument("--confusion", metavar="PNG", help="write the confusion matrix there")
            parser.add_argument(
                "--reliability", metavar="PNG", help="write the reliability diagram there (how sure against how right)"
            )
            parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
            parser.add_argument("--landmarks", type=int, choices=(68, 5), default=68)
            parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes finding faces")
            training = parser.add_argument_group("protocol on a prepared cache (trains a model per split)")
        training.add_argument("--cache", required=name == "train")
        training.add_argument(
            "--model",
            default="c3d_convlstm" if name == "train" else None,
            help="registered model to train" if name == "train" else "model to measure or train (default: the default)",
        )
        training.add_argument("--epochs", type=int, default=80)
        training.add_argument("--lr", type=float, default=1e-4)
        training.add_argument("--batch-size", type=int, default=32)
        training.add_argument("--seed", type=int, default=0)
        training.add_argument(
            "--out", required=name == "train", help="checkpoint path (train) or output folder (evaluate)"
        )
        if name == "train":
            training.add_argument("--augment", default="generic", choices=schemes())
        else:
            training.add_argument("--protocol", choices=list_protocols())
        parser.set_defaults(run=runner)

    export = commands.add_parser("export", help="export a model to ONNX or TorchScript")
    export.add_argument("model", help="registered model name or checkpoint path")
    export.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    export.add_argument("--out", required=True)
    export.set_defaults(run=_export)
