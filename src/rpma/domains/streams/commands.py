"""start_stream_transfer, send_stream_chunk, get_stream_data (seed: Streaming Commands;
CONTRACT.md sections 5 and 8). Thin: validate, call the service, answer.

Who: every signed-in role that writes (the matrix's "photo.upload": admin, supervisor,
technician); a stream is its starter's alone. No rate-limit class: a payload is counted
where it is consumed (photo_upload counts once against the upload limit).
"""

from __future__ import annotations

from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.domains.streams.schemas import (
    ChunkReceipt,
    GetStreamDataRequest,
    StartStreamRequest,
    StreamChunkRequest,
    StreamData,
    StreamMetadata,
)
from rpma.domains.streams.service import StreamService

PERMISSION = "photo.upload"
_SESSION_ERRORS = ("AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")


def _service(ctx: CommandContext) -> StreamService:
    return StreamService(ctx.db, ctx.services, ctx.user, after_commit=ctx.after_commit)


@command(
    "start_stream_transfer",
    request=StartStreamRequest,
    response=StreamMetadata,
    permission=PERMISSION,
    errors=["VALIDATION_ERROR", *_SESSION_ERRORS],
)
def start_stream_transfer(ctx: CommandContext, req: StartStreamRequest) -> StreamMetadata:
    """Start a chunked upload of a large payload. `stream_id` is the client's (1 to 64 of
    `A-Z a-z 0-9 _ -`, unused); `total_size` is 1 byte up to `RPMA_STREAM_MAX_BYTES`
    (512 MiB by default); `chunk_size` is 64 KiB to 8 MiB (1 MiB by default); `checksum`,
    when given, is the SHA-256 (lower-case hex) of the whole payload, checked when the
    last chunk arrives; `metadata` is kept with the stream (16 KiB of JSON at most).
    Answers the seed's `StreamMetadata`: `total_chunks` is `ceil(total_size /
    chunk_size)`, `checksum` the given one or `""`. A stream not completed within
    `RPMA_STREAM_ABANDON_MINUTES` (60 by default) is removed with its bytes, as is a
    complete one left unused for a day.
    """
    return _service(ctx).start(req)


@command(
    "send_stream_chunk",
    request=StreamChunkRequest,
    response=ChunkReceipt,
    permission=PERMISSION,
    errors=["VALIDATION_ERROR", "NOT_FOUND", "IO_ERROR", *_SESSION_ERRORS],
)
def send_stream_chunk(ctx: CommandContext, req: StreamChunkRequest) -> ChunkReceipt:
    """Send one chunk of a stream you started: `chunk_data` is base64 in JSON, raw bytes
    in MessagePack. Chunks may come in any order, each index once; every chunk holds
    exactly `chunk_size` bytes but the last, which holds the remainder. `is_last`, when
    given, must be true exactly for the last index. Refused with `VALIDATION_ERROR`: an
    index out of range, an index already received, a wrong size, data that is not
    base64, a stream already complete or failed; someone else's stream is `NOT_FOUND`.
    When the last chunk arrives the payload's SHA-256 is computed and compared with the
    expected one: a mismatch answers `VALIDATION_ERROR` ("checksum mismatch") and the
    stream is failed for good. Answers `{stream_id, received_chunks, total_chunks,
    complete, checksum}` (`checksum` only once complete), where the seed said void.
    """
    return _service(ctx).receive_chunk(req, even_on_failure=ctx.even_on_failure)


@command(
    "get_stream_data",
    request=GetStreamDataRequest,
    response=StreamData,
    permission=PERMISSION,
    writes=False,
    errors=["VALIDATION_ERROR", "NOT_FOUND", "IO_ERROR", *_SESSION_ERRORS],
)
def get_stream_data(ctx: CommandContext, req: GetStreamDataRequest) -> StreamData:
    """The payload of a complete stream you started: `{data (base64), checksum,
    total_size, content_type}`. An incomplete stream is refused with the missing chunk
    indexes (the first 20), a failed one as failed; a payload over 64 MiB is not
    answered whole (pass the stream_id to the command that consumes it).
    """
    return _service(ctx).data(req.stream_id)
