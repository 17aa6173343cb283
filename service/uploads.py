"""Stream an upload (multipart field `file`, or the raw body) into the blob store.

Limits are enforced while reading: a declared Content-Length over the limit is refused before a
byte is read, every byte of the body counts (not only the file's), a body that grows past the
limit is cut off there, and a client that sends nothing for `idle_s` is cut off too. A multipart
body that does not parse, that ends before its closing boundary, or that carries any part but
`file`, is the client's error (400); a blob store that cannot take the bytes is a 503, never a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from service.errors import (
    MalformedUploadError,
    MissingUploadError,
    StorageUnavailableError,
    UnsupportedMediaError,
    UploadTimeoutError,
    UploadTooLargeError,
)
from vfer.errors import EmptyInputError
from vfer.sniff import SNIFF_BYTES, refusal
from vfer_jobs.blobs import BlobStore

FIELD = "file"
_MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around the file part
_MAX_PART_HEADER = 8 * 1024  # one part's header line; longer is an attack, not a file name


@dataclass
class _Sink:
    """Counts and writes the file's bytes, checking the limit and the first bytes as they come."""

    out: IO[bytes]
    limit: int
    size: int = 0
    head: bytearray = field(default_factory=bytearray)

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise UploadTooLargeError(f"upload exceeds the limit of {self.limit} bytes")
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES and (reason := refusal(bytes(self.head))):
                raise UnsupportedMediaError(reason)
        self.out.write(data)

    def finish(self) -> None:
        if self.size == 0:
            raise EmptyInputError("the upload is empty")
        if reason := refusal(bytes(self.head)):
            raise UnsupportedMediaError(reason)


class _FilePart:
    """python-multipart callbacks that send the `file` field to the sink and refuse any other."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.filename: str | None = None
        self.found = False
        self._header_field = b""
        self._header_value = b""
        self._disposition = b""
        self._active = False

    def on_part_begin(self) -> None:
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        self._check_header()

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header()

    def _check_header(self) -> None:
        if len(self._header_field) + len(self._header_value) > _MAX_PART_HEADER:
            raise MalformedUploadError(f"a multipart header is longer than {_MAX_PART_HEADER} bytes")

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        name = params.get(b"name")
        if name != FIELD.encode():
            shown = name.decode("utf-8", "replace")[:40] if name else "without a name"
            raise MalformedUploadError(f"unexpected multipart field {shown!r}: send the video alone, as `{FIELD}`")
        if self.found:
            raise MalformedUploadError(f"more than one `{FIELD}` field in the multipart upload")
        self.found = self._active = True
        raw = params.get(b"filename")
        self.filename = raw.decode("utf-8", "replace") if raw else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._active:
            self.sink.write(data[start:end])

    def on_part_end(self) -> None:
        self._active = False


async def receive_upload(request: Request, blobs: BlobStore, key: str, limit: int, idle_s: float) -> str | None:
    """Store the request's video under `key`; returns the client's file name if it sent one."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise UploadTooLargeError(f"upload of {declared} bytes exceeds the limit of {limit} bytes")
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    body = _body(request, limit + _MULTIPART_OVERHEAD, idle_s)
    try:
        pending = blobs.begin(key)
    except OSError as exc:
        raise StorageUnavailableError(f"the upload store cannot take uploads now: {exc}") from exc
    try:
        filename = await _read_into(body, _Sink(pending.file, limit), content_type, params)
        await run_in_threadpool(pending.commit)  # an object store uploads here: off the event loop
    except BaseException as exc:
        pending.discard()
        if isinstance(exc, OSError):  # a full disk, a read-only volume, an unreachable bucket
            raise StorageUnavailableError(f"the upload store cannot take uploads now: {exc}") from exc
        raise
    return filename


async def _body(request: Request, limit: int, idle_s: float) -> AsyncIterator[bytes]:
    """The body's chunks: all of them count toward `limit`, and none may take longer than `idle_s`."""
    chunks = request.stream().__aiter__()
    received = 0
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), idle_s)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UploadTimeoutError(f"the upload sent nothing for {idle_s:.0f} s") from None
        received += len(chunk)
        if received > limit:
            raise UploadTooLargeError(f"the request body exceeds the limit of {limit} bytes")
        yield chunk


async def _read_into(
    body: AsyncIterator[bytes], sink: _Sink, content_type: bytes, params: dict[bytes, bytes]
) -> str | None:
    filename: str | None = None
    if content_type == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise MissingUploadError("multipart upload without a boundary")
        part = _FilePart(sink)
        parser = MultipartParser(boundary, _callbacks(part))  # type: ignore[arg-type]
        try:
            async for chunk in body:
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as exc:
            raise MalformedUploadError(f"the multipart body does not parse: {exc}") from None
        if parser.state != MultipartState.END:  # cut short: a part of a file is no file
            raise MalformedUploadError(f"the multipart body ends before its closing boundary (--{boundary.decode()}--)")
        if not part.found:
            raise MissingUploadError(f"no `{FIELD}` field in the multipart upload")
        filename = part.filename
    else:
        async for chunk in body:
            sink.write(chunk)
    sink.finish()
    return filename


def declared_filename(request: Request) -> str | None:
    """A raw body's file name, from its `Content-Disposition` header (`attachment; filename=x`)."""
    _, params = parse_options_header(request.headers.get("content-disposition", ""))
    raw = params.get(b"filename")
    return raw.decode("utf-8", "replace") if raw else None


def _callbacks(part: _FilePart) -> dict[str, object]:
    names = (
        "on_part_begin",
        "on_header_field",
        "on_header_value",
        "on_header_end",
        "on_headers_finished",
        "on_part_data",
        "on_part_end",
    )
    return {name: getattr(part, name) for name in names}
