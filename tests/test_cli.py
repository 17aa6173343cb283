from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.media import VIDEO, band_share, faststart_copy
from tests.schema import assert_result
from vfer.labels import LABELS
from vfer.models import DEFAULT_MODEL
from vfer.plots import COLORS


def vfer(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vfer.cli", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_predict_json_follows_the_schema(data: Path) -> None:
    run = vfer("predict", VIDEO / "single_face.mp4", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert_result(result)
    assert result["labels"] == list(LABELS)
    assert result["no_face"] is False and result["partial"] is False
    assert result["model"]["name"] == DEFAULT_MODEL and result["model"]["version"]
    assert result["video"] == {"duration_s": 2.4, "fps": 30.0, "frames": 72, "width": 640, "height": 360}
    assert {"decode", "faces", "model", "total"} <= result["timings_ms"].keys()
    [face] = result["faces"]
    assert {"track_id", "start_s", "end_s", "box", "distribution", "label", "windows"} <= face.keys()
    assert sum(face["distribution"].values()) == pytest.approx(1.0, abs=1e-4)
    assert result["distribution"] == face["distribution"] and result["label"] == face["label"]
    for window in face["windows"]:
        assert sum(window["distribution"].values()) == pytest.approx(1.0, abs=1e-4)
        assert window["label"] == max(window["distribution"], key=window["distribution"].get)
        assert 0 <= window["start_s"] < window["end_s"] <= 2.4


def test_plot_draws_each_window_over_the_real_time_of_the_face(data: Path, tmp_path: Path) -> None:
    """A face seen for the first 2.3 s of a 6.4-s clip: its bands cover that share of the lane."""
    run = vfer("predict", VIDEO / "face_noface.mov", "--json", "--plot", tmp_path / "timeline.png")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    [face] = result["faces"]
    labels = {w["label"] for w in face["windows"]}
    drawn = sum(band_share(tmp_path / "timeline.png", COLORS[label]) for label in labels)
    assert drawn == pytest.approx((face["end_s"] - face["start_s"]) / result["video"]["duration_s"], abs=0.01)
    assert all(band_share(tmp_path / "timeline.png", COLORS[label]) == 0 for label in set(LABELS) - labels)


def test_plot_of_several_videos_is_a_folder_of_pngs(data: Path, tmp_path: Path) -> None:
    run = vfer("predict", VIDEO / "single_face.mp4", VIDEO / "no_face.mp4", "--quiet", "--plot", tmp_path / "plots")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["no_face.png", "single_face.png"]


def test_an_exported_onnx_file_is_one_file_that_predict_takes(data: Path, tmp_path: Path) -> None:
    """`vfer export` says it is working, writes one file with the labels and input spec inside,
    and `vfer predict --model m.onnx` (a bare name, from its folder) runs it like the shipped model."""
    run = vfer("export", "c3d_convlstm_fer", "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert run.returncode == 0, run.stderr
    assert "exporting" in run.stderr and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert props["labels"] == ",".join(LABELS) and json.loads(props["input"])["shape"] == [1, 8, 64, 64]
    clip = str(VIDEO / "single_face.mp4")
    mine = subprocess.run(
        [sys.executable, "-m", "vfer.cli", "predict", clip, "--model", "m.onnx", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert mine.returncode == 0, mine.stderr
    shipped = json.loads(vfer("predict", clip, "--json", "--model", "c3d_convlstm_fer", "--backend", "onnx").stdout)
    result = json.loads(mine.stdout)
    assert result["model"] == shipped["model"]
    for label in LABELS:
        assert result["distribution"][label] == pytest.approx(shipped["distribution"][label], abs=1e-4)
    refused = vfer("predict", clip, "--model", tmp_path / "m.onnx", "--backend", "torch")
    assert refused.returncode == 2 and "--backend onnx" in refused.stderr
    ensemble = vfer("export", "fer_ensemble", "--out", tmp_path / "e.onnx")
    assert ensemble.returncode == 2 and "export each of them" in ensemble.stderr


def test_predict_without_a_face_succeeds_with_no_face(data: Path) -> None:
    run = vfer("predict", VIDEO / "no_face.mp4", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["no_face"] is True and result["label"] is None and result["faces"] == []


def test_human_output_names_the_face_and_its_label(data: Path) -> None:
    run = vfer("predict", VIDEO / "grid" / "bbaf2n.mpg", "--mode", "paper")
    assert run.returncode == 0, run.stderr
    assert "1 face" in run.stdout and "face 0" in run.stdout


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, t: t / "missing.mp4", "no such file"),
        (lambda d, t: _write(t / "empty.mp4", b""), "empty file"),
        (lambda d, t: _write(t / "notes.mp4", b"just some text\n" * 50), "notes.mp4: this is text, not a video"),
        (lambda d, t: d / "faces" / "canada" / "003f.jpg", "still image is not a video"),
        (lambda d, t: _write(t / "cut.mp4", (VIDEO / "single_face.mp4").read_bytes()[:100_000]), "damaged"),
    ],
    ids=["missing", "empty", "text", "image", "truncated-without-index"],
)
def test_bad_inputs_exit_2_with_one_clear_line(data: Path, tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    run = vfer("predict", make(data, tmp_path))
    assert run.returncode == 2
    # A slow machine may first say how long the models took to load; that note is not an error.
    lines = [line for line in run.stderr.strip().splitlines() if not line.startswith("vfer: loaded ")]
    assert len(lines) == 1 and lines[0].startswith("vfer: error: ") and message in lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_truncated_video_with_index_gives_a_partial_result(data: Path, tmp_path: Path) -> None:
    whole = faststart_copy(VIDEO / "single_face.mp4", tmp_path / "whole.mp4").read_bytes()
    cut = _write(tmp_path / "cut.mp4", whole[: len(whole) * 7 // 10])
    run = vfer("predict", cut, "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["partial"] is True and result["faces"]
    assert result["video"]["duration_s"] < 2.4


def test_one_bad_file_among_good_ones_still_prints_the_good_results(data: Path, tmp_path: Path) -> None:
    run = vfer("predict", VIDEO / "single_face.mp4", tmp_path / "missing.mp4", "--json")
    assert run.returncode == 2
    assert len(run.stdout.strip().splitlines()) == 1 and "missing.mp4" in run.stderr


def one_line_exit_2(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    return run.stderr


@pytest.mark.parametrize(("args", "said"), [
    (("predict", "x.mp4", "--window", "0.01"), "--window: "),  # was "window_s: ", an internal name
    (("predict", "x.mp4", "--window", "-1"), "--window: "),
    (("predict", "x.mp4", "--stride", "0"), "--stride: "),
    (("evaluate", "/nonexistent"), "/nonexistent: no such folder"),  # was "has no labels.csv"
    (("predict", "x.mp4", "--model", "nope"), "fer_ensemble"),  # the list forgot the ensemble
])  # fmt: skip
def test_a_command_line_mistake_is_one_line_naming_the_flag_or_path_as_typed(args: tuple[str, ...], said: str) -> None:
    stderr = one_line_exit_2(vfer(*args))
    assert said in stderr and "window_s" not in stderr and "stride_s" not in stderr


def test_streaming_to_a_port_with_no_server_is_one_line() -> None:
    """`vfer stream --ws` to a dead port printed a traceback and exited 1 (--target said one line)."""
    from tests.service.helpers import free_port

    for door in (("--ws", f"ws://127.0.0.1:{free_port()}/stream"), ("--target", f"127.0.0.1:{free_port()}")):
        stderr = one_line_exit_2(vfer("stream", VIDEO / "single_face.mp4", *door))
        assert door[1] in stderr or "UNAVAILABLE" in stderr


def test_models_lists_the_registry_and_the_default() -> None:
    run = vfer("models", "--json")
    assert run.returncode == 0
    models = {m["name"]: m for m in json.loads(run.stdout)["models"]}
    assert models[DEFAULT_MODEL]["default"] and all(m["weights"] for m in models.values())
    assert sum(m["default"] for m in models.values()) == 1
    assert all(0 < m["development"]["macro_recall"] < 1 for m in models.values()), "each measured (model card)"
    text = vfer("models").stdout
    default = models[DEFAULT_MODEL]["development"]
    assert f"{default['macro_recall']:.3f}" in text and f"{default['ece']:.3f}" in text


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_a_reader_that_leaves_early_ends_it_quietly(data: Path) -> None:
    """`vfer predict a b | head -1`: the pipe closes under the CLI; no traceback, exit 141."""
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vfer.cli",
            "predict",
            "--json",
            str(VIDEO / "single_face.mp4"),
            str(VIDEO / "no_face.mp4"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line is written
        errors = process.stderr.read().decode()
        assert process.wait(timeout=120) == 141
    assert "Traceback" not in errors and "BrokenPipe" not in errors


def _stderr_on_a_terminal(argv: list[str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in a shell); its exit status and stderr."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a width
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=follower) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=120)
    os.close(leader)
    return code, b"".join(chunks).decode(errors="replace")


def test_a_long_video_shows_a_progress_bar_on_a_terminal(data: Path, tmp_path: Path) -> None:
    from benchmarks.clips import make_long_clip

    clip = str(make_long_clip(VIDEO / "single_face.mp4", 12.0, tmp_path / "long.mp4"))
    code, shown = _stderr_on_a_terminal([sys.executable, "-m", "vfer.cli", "predict", clip])
    assert code == 0 and "long.mp4" in shown and "12.0/12.0" in shown, shown
    code, quiet = _stderr_on_a_terminal([sys.executable, "-m", "vfer.cli", "predict", "--quiet", clip])
    assert code == 0 and "/12.0" not in quiet


def test_evaluate_a_labelled_photo_folder(data: Path, tmp_path: Path) -> None:
    from tests.test_photos import photo_fixture

    folder = photo_fixture(data, tmp_path / "photos", per_label=3)
    png, diagram = tmp_path / "confusion.png", tmp_path / "reliability.png"
    run = vfer(
        "evaluate", folder, "--model", "mini_xception_fer2013", "--json", "--confusion", png, "--reliability", diagram
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["model"] == "mini_xception_fer2013" and report["n"] == 21
    assert 18 <= report["found"] <= 21
    assert list(report["recall"]) == list(LABELS) and 0.0 <= report["ece"] <= 1.0
    right = sum(r * report["support"][label] for label, r in report["recall"].items() if r is not None)
    assert report["accuracy"] == pytest.approx(right / report["found"])
    assert report["macro_recall"] == pytest.approx(np.mean([r for r in report["recall"].values() if r is not None]))
    assert png.read_bytes()[:8] == diagram.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    human = vfer("evaluate", folder, "--model", "mini_xception_fer2013")
    assert human.returncode == 0 and "macro recall" in human.stdout and "ECE" in human.stdout


def test_evaluate_face_crops_without_detection_against_the_annotators_votes(data: Path, tmp_path: Path) -> None:
    """FER+'s 48-px crops are too small for the detector as they are: --crops takes each as the
    face; their vote columns add how far the model's distributions are from the ten annotators'."""
    source = data / "faces" / "ferplus" / "valid"
    with (source / "labels.csv").open(newline="") as listing:
        rows = list(csv.DictReader(listing))
    header = list(rows[0])
    kept = [row for label in LABELS for row in [r for r in rows if r["label"] == label][:2]]
    kept.append(next(r for r in rows if not r["label"]))  # no majority: left out of every figure
    folder = tmp_path / "crops"
    folder.mkdir()
    for row in kept:
        (folder / row["file"]).write_bytes((source / row["file"]).read_bytes())
    with (folder / "labels.csv").open("w", newline="") as listing:
        writer = csv.DictWriter(listing, header)
        writer.writeheader()
        writer.writerows(kept)
    run = vfer("evaluate", folder, "--crops", "--json", "--model", "mini_xception_fer2013")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["n"] == report["found"] == 14
    assert 0.0 < report["vote_total_variation"] < 1.0
    assert report["vote_cross_entropy"] > 0.0
    human = vfer("evaluate", folder, "--crops", "--model", "mini_xception_fer2013")
    assert "against the annotators' votes: cross-entropy" in human.stdout
    detected = json.loads(vfer("evaluate", folder, "--json", "--no-pad", "--model", "faceapi_expression").stdout)
    assert detected["found"] < 3  # 48-px faces that fill their picture: the detector finds almost none


def test_evaluate_without_labels_exits_2_saying_what_is_missing(tmp_path: Path) -> None:
    run = vfer("evaluate", tmp_path)
    assert run.returncode == 2 and "labels.csv" in run.stderr and len(run.stderr.strip().splitlines()) == 1
