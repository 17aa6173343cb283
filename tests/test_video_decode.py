from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.media import VIDEO, encode, faststart_copy
from vfer.config import DecodeLimits
from vfer.errors import CorruptVideoError, EmptyInputError, LimitExceededError, NotAVideoError
from vfer.video import VideoReader


def test_probe_reports_size_rate_frames_and_duration(data: Path) -> None:
    info = VideoReader(VIDEO / "single_face.mp4").info
    assert (info.width, info.height, info.frames) == (640, 360, 72)
    assert info.fps == pytest.approx(30.0)
    assert info.duration_s == pytest.approx(2.4, abs=0.05)


def test_frames_have_increasing_real_timestamps_from_zero(data: Path) -> None:
    times = [f.time_s for f in VideoReader(VIDEO / "grid" / "bbaf2n.mpg").frames()]
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    assert np.diff(times).mean() == pytest.approx(1 / 25, rel=0.01)


def test_bytes_decode_like_the_file(data: Path) -> None:
    path = VIDEO / "single_face.mp4"
    from_path = [f.gray() for f in VideoReader(path).frames()]
    from_bytes = [f.gray() for f in VideoReader(path.read_bytes()).frames()]
    assert len(from_path) == len(from_bytes) == 72
    assert np.array_equal(from_path[40], from_bytes[40])


def test_rotation_metadata_turns_frames_upright() -> None:
    frame = np.zeros((32, 64), np.uint8)
    frame[:8, :8] = 255  # a white mark at the top-left of the stored frame
    clip = encode([frame] * 4, rotation=90)  # stored frames are shown turned 90 degrees ccw
    reader = VideoReader(clip)
    assert (reader.info.width, reader.info.height, reader.info.rotation) == (32, 64, 90)
    upright = next(iter(reader.frames())).gray()
    assert upright.shape == (64, 32)
    assert upright[-8:, :8].mean() > 200 and upright[:8, :8].mean() < 50  # top-left went bottom-left


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", EmptyInputError, "empty file"),
        (b"hello, this is a text file\n" * 20, NotAVideoError, "not a video"),
    ],
)
def test_unusable_bytes_are_refused_with_a_clear_error(content: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        VideoReader(content)


def test_a_still_image_is_not_a_video(data: Path) -> None:
    with pytest.raises(NotAVideoError, match="still image"):
        VideoReader(data / "faces" / "canada" / "003f.jpg")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotAVideoError, match="no such file"):
        VideoReader(tmp_path / "nothing.mp4")


def test_a_valid_container_with_garbage_pictures_is_corrupt(tmp_path: Path, data: Path) -> None:
    whole = faststart_copy(VIDEO / "single_face.mp4", tmp_path / "whole.mp4").read_bytes()
    body = whole.find(b"mdat") + 4  # the index stays intact, the picture data becomes noise
    noise = np.random.default_rng(0).integers(0, 256, len(whole) - body, dtype=np.uint8).tobytes()
    with pytest.raises(CorruptVideoError, match="cannot decode"):
        list(VideoReader(whole[:body] + noise).frames())


def test_a_truncated_file_without_its_index_is_refused(data: Path) -> None:
    content = (VIDEO / "single_face.mp4").read_bytes()  # this file keeps its index at the end
    with pytest.raises(NotAVideoError, match="damaged"):
        VideoReader(content[: len(content) // 2])


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (DecodeLimits(max_pixels=640 * 359), "pixels"),
        (DecodeLimits(max_frames=50), "more than 50 frames"),
        (DecodeLimits(max_duration_s=1.0), "exceeds the limit of 1 s"),
        (DecodeLimits(max_bytes=1000), "bytes exceeds"),
    ],
)
def test_limits_refuse_before_decoding(data: Path, limits: DecodeLimits, message: str) -> None:
    with pytest.raises(LimitExceededError, match=message):
        VideoReader(VIDEO / "single_face.mp4", limits)


def test_truncated_video_decodes_its_readable_part_and_says_partial(tmp_path: Path, data: Path) -> None:
    whole = faststart_copy(VIDEO / "single_face.mp4", tmp_path / "whole.mp4").read_bytes()
    reader = VideoReader(whole[: len(whole) * 6 // 10])
    frames = list(reader.frames())
    assert reader.partial
    assert 10 < len(frames) < 72
    assert not VideoReader(whole).partial
