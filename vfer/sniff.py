"""A cheap look at a file's first bytes, to name obvious non-videos: the gateway refuses them
before queueing, and the decoder says the same when it cannot open them (one message, whichever
door a file comes through). The decoder has the final word; this only catches text and stills."""

from __future__ import annotations

_IMAGES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")
SNIFF_BYTES = 512


def refusal(head: bytes) -> str | None:
    """Why these first bytes cannot start a video, or None when they might."""
    if head.startswith(_IMAGES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "a still image is not a video"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "this is text, not a video"
    return None
