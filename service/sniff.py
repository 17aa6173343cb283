"""A cheap look at an upload's first bytes, to refuse obvious non-videos before queueing.

The worker's decoder has the final word; this only catches text and still images early.
"""

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
