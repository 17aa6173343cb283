"""`vfer` command line: predict expressions in videos, list models.

Commands of other packages (the service's `serve`, the workers' `worker`) plug in through the
`vfer.commands` entry points, so this core module imports no web or queue library.

Exit status: 0 on success (a video without a face is a success), 2 when an input or an option
is unusable, 3 when the command needs a part of vfer this install lacks (a gateway-only install
has no torch or numpy), each with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vfer.config import MODES
from vfer.errors import VferError
from vfer.labels import LABELS
from vfer.models import DEFAULT_MODEL
from vfer.result import runner_up
from vfer.training.commands import CORE_INSTALL_HINT
from vfer_jobs.options import JobOptions, parse

if TYPE_CHECKING:
    from torch import nn

    from vfer.models.registry import ModelEntry

EXIT_INPUT = 2
EXIT_MISSING = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
_BAR_WIDTH = 20


def _fail(message: str) -> None:
    print(f"vfer: error: {message}", file=sys.stderr)


def _percent(dist: dict[str, float], label: str) -> str:
    return f"{label} {dist[label] * 100:.0f}%"


def _runners_up(dist: dict[str, float]) -> str:
    ranked = sorted(dist, key=lambda k: dist[k], reverse=True)[1:3]
    return ", ".join(_percent(dist, k) for k in ranked)


def format_human(result: dict[str, object]) -> str:
    """A short readable report of one prediction. A face's percentage is the mean of its windows'
    distributions; a close call (the top two within 10 points) says so."""
    video = result["video"]
    assert isinstance(video, dict)
    faces = result["faces"]
    assert isinstance(faces, list)
    lines = [
        f"{result['source']}: {video['duration_s']:.1f} s, {video['width']}x{video['height']}, "
        f"{video['fps']:.0f} fps, {len(faces)} face{'s' if len(faces) != 1 else ''}"
        + (" (partial: the file is damaged, only its readable part was used)" if result["partial"] else "")
    ]
    model = result["model"]
    assert isinstance(model, dict)
    lines.append(f"  model: {model['name']} {model['version']} ({model['kind']} model, {model['backend']})")
    if not faces:
        lines.append("  no face found")
    for face in faces:
        dist = face["distribution"]
        lines.append(
            f"  face {face['track_id']}  {face['start_s']:.2f}-{face['end_s']:.2f} s  "
            f"{_percent(dist, face['label'])}  ({_runners_up(dist)})"
            + (f"  a close call: {runner_up(dist)} is {dist[runner_up(dist)] * 100:.0f}%" if face["uncertain"] else "")
        )
        for window in face["windows"]:
            share = window["distribution"][window["label"]]
            bar = "#" * max(1, round(share * _BAR_WIDTH))
            lines.append(
                f"    {window['start_s']:6.2f}-{window['end_s']:6.2f} s  {window['label']:<8} {share * 100:3.0f}%  {bar}"
            )
    timings = result["timings_ms"]
    assert isinstance(timings, dict)
    lines.append("  time: " + ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items()))
    return "\n".join(lines)


class _VideoBar:
    """A progress bar on stderr, in seconds of video, for videos longer than a few seconds."""

    MIN_DURATION_S = 5.0

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar: Any = None

    def __call__(self, done_s: float, duration_s: float) -> None:
        if self.bar is None:
            if duration_s < self.MIN_DURATION_S:
                return
            from tqdm import tqdm

            name = os.path.basename(self.name)
            self.bar = tqdm(total=round(duration_s, 1), unit="s", desc=name, file=sys.stderr, leave=False)
        self.bar.n = round(done_s, 1)
        self.bar.update(0)  # redraws at most every tqdm.mininterval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.n = self.bar.total
            self.bar.refresh()
            self.bar.close()


# The options' names on the wire, as this command line spells them.
FLAGS = {"window_s": "--window", "stride_s": "--stride", "mode": "--mode"}
SLOW_LOAD_S = 2.0  # a first run loads the face and expression models: said when it takes this long


def options_from_flags(values: dict[str, Any]) -> JobOptions:
    """The job options, an error naming the flag as typed (not the option's name on the wire)."""
    try:
        return parse(JobOptions, values)
    except VferError as exc:
        message = str(exc)
        for name, flag in FLAGS.items():
            message = message.replace(f"{name}: ", f"{flag}: ").replace(name, flag)
        raise type(exc)(message) from None


def _predict(args: argparse.Namespace) -> int:
    from vfer.predict import Predictor

    options = options_from_flags({"mode": args.mode, "window_s": args.window, "stride_s": args.stride})
    config = replace(options.to_pipeline_config(), upsample=args.upsample, landmarks=args.landmarks)
    started = time.monotonic()
    predictor = Predictor(args.model, backend=args.backend, config=config)
    if (loading := time.monotonic() - started) >= SLOW_LOAD_S and not args.quiet:
        print(
            f"vfer: loaded the face and expression models in {loading:.0f} s (once a run; "
            "the times below are the video's own)",
            file=sys.stderr,
        )
    paths = args.paths
    failed = 0
    progress = None
    show = sys.stderr.isatty() and not args.quiet
    if len(paths) > 1 and show:
        from tqdm import tqdm

        progress = tqdm(total=len(paths), unit="video", file=sys.stderr)
    for path in paths:
        bar = _VideoBar(path) if show and len(paths) == 1 else None
        try:
            result = predictor.predict(path, progress=bar).to_dict()
        except VferError as exc:
            _fail(str(exc))
            failed += 1
        else:
            print(json.dumps(result) if args.json else format_human(result), flush=True)
            if args.plot:
                _plot(result, _plot_path(Path(args.plot), Path(path), several=len(paths) > 1))
        finally:
            if bar is not None:
                bar.close()
        if progress is not None:
            progress.update()
    if progress is not None:
        progress.close()
    return EXIT_INPUT if failed else 0


def _plot_path(plot: Path, video: Path, *, several: bool) -> Path:
    """One video: the PNG itself; several: a folder of `<video name>.png`."""
    if not several:
        return plot
    plot.mkdir(parents=True, exist_ok=True)
    return plot / f"{video.stem}.png"


def _plot(result: dict[str, Any], path: Path) -> None:
    from vfer.plots import plot_timeline

    title = f"{Path(str(result['source'])).name} ({result['model']['name']})"
    plot_timeline(result["faces"], result["video"]["duration_s"], path, title=title)
    print(f"vfer: timeline written to {path}", file=sys.stderr)


def _shipped_shape(entry: ModelEntry) -> nn.Module:
    """The model as its shipped weights build it (their metadata may set builder options), so the
    count is that of what runs; a model without weights, as its builder's defaults make it."""
    if entry.pretrained is None:
        return entry.builder()
    from vfer.models.checkpoint import pretrained_path, read_meta
    from vfer.models.registry import build_from_meta

    return build_from_meta(read_meta(pretrained_path(entry.pretrained)))


def _models(args: argparse.Namespace) -> int:
    from vfer.models import list_models
    from vfer.models.catalogue import shipped_models
    from vfer.models.ensemble import list_ensembles

    parameters = {entry.name: sum(p.numel() for p in _shipped_shape(entry).parameters()) for entry in list_models()}
    rows: list[dict[str, Any]] = [
        {
            "name": entry.name,
            "default": entry.name == DEFAULT_MODEL,
            "weights": entry.pretrained is not None,
            "parameters": parameters[entry.name],
            "summary": entry.summary,
        }
        for entry in list_models()
    ]
    rows += [
        {
            "name": ensemble.name,
            "default": ensemble.name == DEFAULT_MODEL,
            "weights": True,
            "parameters": sum(parameters[member.model] for member in ensemble.members),
            "summary": ensemble.summary,
        }
        for ensemble in list_ensembles()
    ]
    shipped = shipped_models()
    for row in rows:
        measured = shipped[row["name"]].measured if row["name"] in shipped else None
        row["development"] = None if measured is None else asdict(measured)
    rows.sort(key=lambda row: str(row["name"]))
    if args.json:
        print(json.dumps({"labels": list(LABELS), "models": rows}))
        return 0
    for row in rows:
        flags = ("default, " if row["default"] else "") + ("weights shipped" if row["weights"] else "no weights")
        print(f"{row['name']:<24} {row['parameters']:>8,} params  [{flags}]  {row['summary']}")
    some = next((row["development"] for row in rows if row["development"] is not None), None)
    if some is None:
        return 0
    print(
        f"\non {some['ferplus_faces']} FER+ valid faces and {some['photos']} photos of {some['people']} "
        "development people (model card; recall pooled, each person weighing once):"
    )
    print(f"{'':<24} {'FER+':>6} {'photos':>6} {'macro':>6} {'ECE':>6}  " + " ".join(f"{label:>8}" for label in LABELS))
    for row in rows:
        if (figures := row["development"]) is not None:
            recalls = " ".join(f"{figures['recall'].get(label, float('nan')):>8.2f}" for label in LABELS)
            print(
                f"{row['name']:<24} {figures['ferplus_accuracy']:>6.3f} {figures['accuracy']:>6.3f} "
                f"{figures['macro_recall']:>6.3f} {figures['ece']:>6.3f}  {recalls}"
            )
    support = ", ".join(f"{label} {some['support'][label]}" for label in LABELS)
    print(f"faces and people per label: {support} (macro: the mean recall over the labels held by 100 or more)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from vfer import __version__

    parser = argparse.ArgumentParser(prog="vfer", description="Video facial-expression recognition.")
    parser.add_argument("--version", action="version", version=f"vfer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="predict expressions of every face in videos")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="video files")
    predict.add_argument("--model", default=DEFAULT_MODEL, help="registered model or checkpoint path")
    predict.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto: PyTorch on a GPU, ONNX Runtime (about 3x faster) on a CPU",
    )
    defaults = JobOptions()  # the same defaults as the HTTP and gRPC options
    predict.add_argument(
        "--mode", choices=MODES, default=defaults.mode, help="'paper': detector + tracker on every frame"
    )
    predict.add_argument(
        "--window", type=float, default=defaults.window_s, metavar="S", help="window length in seconds"
    )
    predict.add_argument(
        "--stride", type=float, default=defaults.stride_s, metavar="S", help="window stride in seconds"
    )
    predict.add_argument("--upsample", type=int, default=0, help="HOG upsampling: 1 finds faces down to ~40 px")
    predict.add_argument(
        "--landmarks",
        type=int,
        choices=(68, 5),
        default=68,
        help="aligner: dlib's 68-point model (iBUG 300-W: non-commercial) or its 5-point model (no such restriction)",
    )
    predict.add_argument("--json", action="store_true", help="one JSON object per input")
    predict.add_argument("--quiet", action="store_true", help="no progress bar (shown only on a terminal anyway)")
    predict.add_argument(
        "--plot", metavar="OUT", help="write each face's expression timeline as a PNG (several videos: a folder)"
    )
    predict.set_defaults(run=_predict)

    models = commands.add_parser("models", help="list registered models")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=_models)

    from vfer.training.commands import register as register_training

    register_training(commands)  # without the core install, commands that say what to install

    for plugin in entry_points(group="vfer.commands"):  # serve, worker: installed with the service
        plugin.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except VferError as exc:
        _fail(str(exc))
        return EXIT_INPUT
    except ModuleNotFoundError as exc:  # e.g. `vfer predict` in a gateway-only install
        _fail(f"vfer {args.command} needs {exc.name}, which this install lacks: {CORE_INSTALL_HINT}")
        return EXIT_MISSING
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `vfer ... | head`: the reader left; say nothing more, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail too
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
