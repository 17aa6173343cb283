"""The width and height an encoded JPEG or PNG declares in its header, read without decoding:
a live stream's frames are refused over the pixel limit before any decoder allocates them (a
44 KB PNG can declare 6000x6000)."""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
# Start-of-frame markers (baseline, extended, progressive, lossless; Huffman and arithmetic).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: markers without a segment


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the IHDR chunk, which must come first; None when there is none."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the first start-of-frame segment; None when the markers run out first."""
    if not data.startswith(JPEG_START):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _NO_LENGTH:
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the pictures' data before any frame header
            return None
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def encoded_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """The size a "jpeg" or "png" frame declares; None when its header does not say."""
    return jpeg_size(data) if fmt == "jpeg" else png_size(data) if fmt == "png" else None
