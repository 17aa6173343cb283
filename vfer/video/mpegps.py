"""Whether an MPEG program stream (MPEG-1/2 `.mpg`) was cut off: it has no index that counts its
frames, and its demuxer reads a cut file to the end without an error, so the last packets are
walked instead. A packet whose declared length runs past the end of the data was cut."""

from __future__ import annotations

import struct
from typing import Literal

START = b"\x00\x00\x01"
PACK, SYSTEM_HEADER, END = 0xBA, 0xBB, 0xB9
TAIL_BYTES = 64 * 1024  # packets are 2 KB or so: the tail holds dozens
Walk = Literal["whole", "cut", "lost"]


def _length(data: bytes, at: int, code: int) -> int | None:
    """The length of the pack header or packet at `at`; None when its header is itself cut."""
    if code == PACK:  # 12 bytes in MPEG-1; 14 and stuffing in MPEG-2 (its marker bits '01')
        if at + 5 > len(data):
            return None
        if data[at + 4] >> 6 != 0b01:
            return 12
        return None if at + 14 > len(data) else 14 + (data[at + 13] & 0x07)
    if at + 6 > len(data):
        return None
    return 6 + int(struct.unpack(">H", data[at + 4 : at + 6])[0])  # system header or PES packet


def _walk(data: bytes, at: int) -> tuple[Walk, int]:
    """Follow packets from `at` to the end: "whole" (the end, or the end code, falls between
    packets), "cut" (a packet runs past the end) or "lost" (no packet starts where one should);
    and how many packets were followed."""
    packets = 0
    while at < len(data):
        if len(data) - at < 4:
            return ("cut" if START.startswith(data[at:]) else "lost"), packets
        code = data[at + 3]
        if data[at : at + 3] != START or not (code >= 0xBC or code in (PACK, SYSTEM_HEADER, END)):
            return "lost", packets
        if code == END:
            return "whole", packets
        length = _length(data, at, code)
        if length is None or at + length > len(data):
            return "cut", packets
        at += length
        packets += 1
    return "whole", packets


def cut_off(tail: bytes) -> bool:
    """True when the program stream whose last bytes are `tail` ends inside a packet: the walk
    starts at the first start code from which packets follow one another to the end."""
    at = tail.find(START)
    while at >= 0:
        outcome, packets = _walk(tail, at)
        if outcome != "lost" and (packets >= 2 or outcome == "cut"):
            return outcome == "cut"
        at = tail.find(START, at + 1)
    return False
