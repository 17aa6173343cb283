"""Stream an upload (multipart field `file`, or the raw body) into the blob store.

Limits are enforced while reading: a declared Content-Length over the limit is refused before a
byte is read, and a body that grows past it is cut off at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from service.errors import MissingUploadError, UnsupportedMediaError, UploadTooLargeError
from service.sniff import SNIFF_BYTES, refusal
from vfer.errors import EmptyInputError
from vfer.jobs.blobs import BlobStore

FIELD = "file"
_MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around the file part


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
    """python-multipart callbacks that send the `file` field to the sink and skip the rest."""

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

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        self._active = params.get(b"name") == FIELD.encode() and not self.found
        if self._active:
            self.found = True
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._active:
            self.sink.write(data[start:end])

    def on_part_end(self) -> None:
        self._active = False


async def receive_upload(request: Request, blobs: BlobStore, key: str, limit: int) -> str | None:
    """Store the request's video under `key`; returns the client's file name if it sent one."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise UploadTooLargeError(f"upload of {declared} bytes exceeds the limit of {limit} bytes")
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    pending = blobs.begin(key)
    try:
        filename = await _read_into(request, _Sink(pending.file, limit), content_type, params)
        await run_in_threadpool(pending.commit)  # an object store uploads here: off the event loop
    except BaseException:
        pending.discard()
        raise
    return filename


async def _read_into(request: Request, sink: _Sink, content_type: bytes, params: dict[bytes, bytes]) -> str | None:
    filename: str | None = None
    if content_type == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise MissingUploadError("multipart upload without a boundary")
        part = _FilePart(sink)
        parser = MultipartParser(boundary, _callbacks(part))  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if not part.found:
            raise MissingUploadError(f"no `{FIELD}` field in the multipart upload")
        filename = part.filename
    else:
        async for chunk in request.stream():
            sink.write(chunk)
    sink.finish()
    return filename


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
