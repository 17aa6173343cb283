from __future__ import annotations

import io
import itertools
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.media import VIDEO, encode, faststart_copy
from vfer.config import DecodeLimits
from vfer.deadline import Deadline
from vfer.errors import CorruptVideoError, EmptyInputError, LimitExceededError, NotAVideoError, TimeLimitExceededError
from vfer.video import VideoReader
from vfer.video.mpegps import TAIL_BYTES, cut_off
from vfer.video.preview import PREVIEW_FPS, PREVIEW_WIDTH, preview_size, webm_preview


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


@pytest.mark.parametrize("name", ["single_face.mp4", "face_noface.mov", "grid/bbaf2n.mpg"])
def test_converters_kept_for_a_decode_give_what_a_fresh_conversion_gives(data: Path, name: str) -> None:
    """One swscale context per format for a whole decode (the speed-up) changes no pixel."""
    frames = list(itertools.islice(VideoReader(VIDEO / name).frames(), 0, 40, 3))
    for frame in frames:
        assert np.array_equal(frame.gray(), frame.frame.to_ndarray(format="gray"))
        assert np.array_equal(frame.bgr(), frame.frame.to_ndarray(format="bgr24"))


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


def test_a_text_file_is_not_a_video(tmp_path: Path) -> None:
    """FFmpeg's tty demuxer renders a .txt file as ANSI-art frames; text is refused as text."""
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text\n" * 100)
    with pytest.raises(NotAVideoError, match="text, not a video"):
        VideoReader(notes)


@pytest.mark.parametrize("suffix", [".bin", ".xbin", ".adf", ".idf", ""])
def test_random_bytes_are_not_a_video_whatever_the_name(tmp_path: Path, suffix: str) -> None:
    """FFmpeg's text-art demuxers take any bytes named .bin (and kin) as a 1280x10000 picture; the
    CLI used to call that an oversized video while HTTP (no name) said not a video: one answer."""
    noise = tmp_path / f"noise{suffix}"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(NotAVideoError, match="not a video"):
        VideoReader(noise)


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


def test_a_program_stream_cut_mid_packet_says_partial(tmp_path: Path, data: Path) -> None:
    """MPEG-PS has no index and its demuxer reads a cut file to the end without an error: GRID's
    bbaf2n.mpg cut mid-pack gave 1.52 s with `partial: false`."""
    whole = (VIDEO / "grid" / "bbaf2n.mpg").read_bytes()
    cut = whole[: len(whole) // 2 + 1000]
    reader = VideoReader(cut)
    assert reader.partial and 10 < len(list(reader.frames())) < 75
    on_disk = tmp_path / "cut.mpg"
    on_disk.write_bytes(cut)
    assert VideoReader(on_disk).partial
    for clip in sorted((VIDEO / "grid").glob("*.mpg")):
        assert not VideoReader(clip).partial, clip.name


def test_the_walk_finds_a_cut_packet_wherever_the_cut_falls(data: Path) -> None:
    whole = (VIDEO / "grid" / "lwbsza.mpg").read_bytes()
    assert not cut_off(whole[-TAIL_BYTES:])
    cuts = [cut_off(whole[:end][-TAIL_BYTES:]) for end in range(len(whole) // 3, len(whole) // 3 + 4000, 61)]
    assert sum(cuts) >= len(cuts) - 2  # only a cut that falls between two packets leaves a whole file


def _mpegts(frames: list[np.ndarray], fps: int = 10) -> bytes:
    """An H.264 MPEG-TS segment; segments of different sizes concatenate into one stream."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def test_a_resolution_switch_past_the_pixel_limit_is_refused(data: Path) -> None:
    """The probe sees only the first size: 320x240, then 7680x4320 frames (about 100 KB of input)
    that would cost gigabytes to decode. Every decoded frame is checked."""
    first = VideoReader(VIDEO / "single_face.mp4")
    small = [cv2.resize(next(iter(first.frames())).gray(), (320, 240))] * 5
    huge = [np.zeros((4320, 7680), np.uint8)] * 2
    reader = VideoReader(_mpegts(small) + _mpegts(huge))
    assert (reader.info.width, reader.info.height) == (320, 240), "the demuxer declares the first size"
    with pytest.raises(LimitExceededError, match=r"frame 5 is 7680x4320, over the limit"):
        list(reader.frames())


def test_work_past_the_budget_is_refused_before_decoding() -> None:
    """3,000 frames of 4K: within the byte, pixel, frame and duration limits (100 s), but
    25 Gpixel of decoding, minutes of a worker. Refused by the probe."""
    segment = _mpegts([np.zeros((2160, 3840), np.uint8)] * 30, fps=30)
    with pytest.raises(LimitExceededError, match=r"3000 frames of 3840x2160 are 24.9 Gpixel to decode, over the work"):
        VideoReader(segment * 100)


GRID_JOINED = [VIDEO / "grid" / n for n in ("bbaf2n.mpg", "brbk7n.mpg", "id2_vcd_swwp2s.mpg", "lbax4n.mpg")]


def test_clips_joined_with_cat_keep_one_clock(data: Path) -> None:
    """Four 3-s GRID clips joined with `cat`: each restarts its timestamps at 0. The video is 12 s
    (it was reported as 3 s), times never go back, and each restart is marked as a cut."""
    reader = VideoReader(b"".join(path.read_bytes() for path in GRID_JOINED))
    assert reader.info.frames == 300 and reader.info.duration_s == pytest.approx(12.0, abs=0.05)
    frames = list(reader.frames())
    times = [f.time_s for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times)) and times[-1] == pytest.approx(11.96)
    assert [f.index for f in frames if f.cut] == [75, 150, 225]


@pytest.mark.parametrize("name", ["single_face.mp4", "no_face.mp4", "face_noface.mov", "grid/bbaf2n.mpg"])
def test_frames_nobody_needs_may_be_left_undecoded(data: Path, name: str) -> None:
    """Every 5th frame needed: each comes with the index, time and pixels of a full decode, and the
    H.264 files' non-reference frames in between are left out (no_face.mp4's edit list drops its
    first packets: packets and frames do not pair off one for one there)."""
    reader = VideoReader(VIDEO / name)
    full = {f.index: (f.time_s, f.gray()) for f in reader.frames()}
    needed = set(range(0, len(full), 5))
    some = {f.index: (f.time_s, f.gray()) for f in reader.frames(needed.__contains__)}
    assert needed <= set(some) <= set(full)
    for index in needed:
        assert some[index][0] == full[index][0] and np.array_equal(some[index][1], full[index][1])
    if name.endswith(".mp4"):
        assert len(some) < 0.7 * len(full)


def test_a_cut_file_is_decoded_whole_even_when_few_frames_are_needed(data: Path, tmp_path: Path) -> None:
    """Two H.264 MPEG-TS copies joined with `cat`: the timestamps restart, so which packet is which
    frame is not certain, and every frame is decoded (and counted) as without `needed`."""
    ts = tmp_path / "copy.ts"
    with av.open(str(VIDEO / "single_face.mp4")) as src, av.open(str(ts), "w", format="mpegts") as dst:
        target = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = target
                dst.mux(packet)
    reader = VideoReader(ts.read_bytes() * 2)
    needed = {0, 80}
    indices = [f.index for f in reader.frames(needed.__contains__)]
    assert indices == list(range(144))


def _preview_frames(data: bytes) -> tuple[str, list[av.VideoFrame]]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, [frame for frame in container.decode(stream)]


def test_a_preview_is_small_webm_on_the_decoders_clock() -> None:
    """MPEG-PS (which no browser plays) becomes VP8 in WebM, each frame at the time the decoder
    gives it (the results' clock), at most PREVIEW_FPS frames a second."""
    clip = VIDEO / "grid" / "bbaf2n.mpg"
    reader = VideoReader(clip)
    times = [frame.time_s for frame in reader.frames()]
    codec, frames = _preview_frames(webm_preview(clip))
    assert codec == "vp8" and (frames[0].width, frames[0].height) == preview_size(reader.info.width, reader.info.height)
    shown = [float(frame.time) for frame in frames]
    assert shown[0] == 0 and all(min(abs(t - s) for s in times) < 0.002 for t in shown)
    assert shown[-1] >= times[-1] - 1 / PREVIEW_FPS and len(frames) <= PREVIEW_FPS * times[-1] + 1


def test_a_preview_is_upright_and_at_most_its_width() -> None:
    """A phone clip stored sideways (a display matrix) comes out upright, scaled to the width."""
    tall = np.zeros((64, 960, 3), np.uint8)  # stored 960x64, shown rotated: 64 wide, 960 tall
    tall[:, :480] = 255  # the left half white: upright, the picture's top or bottom half
    _, frames = _preview_frames(webm_preview(encode([tall] * 10, rotation=90)))
    assert (frames[0].width, frames[0].height) == (64, 960)
    assert preview_size(1920, 1080) == (PREVIEW_WIDTH, 270) and preview_size(320, 240) == (320, 240)


def test_a_preview_stops_at_its_deadline() -> None:
    with pytest.raises(TimeLimitExceededError):
        webm_preview(VIDEO / "single_face.mp4", deadline=Deadline(0.0))
