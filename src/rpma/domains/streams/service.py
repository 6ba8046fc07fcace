"""Chunked transfers (seed: Streaming; CONTRACT.md sections 5 and 8; issue 5 item 5).

A stream belongs to the user who started it: anyone else is told it does not exist.
Chunks arrive in any order, each index once, each exactly ``chunk_size`` bytes but the
last (the remainder); they go to disk (storage.py), one row each. When the last one
arrives the whole payload is hashed from disk and checked against the expected SHA-256:
a mismatch marks the stream ``failed`` (kept despite the error) and removes its bytes.

Other domains consume complete streams through this service (photos, imports):

    service = StreamService(ctx.db, ctx.services, ctx.user, after_commit=ctx.after_commit)
    payload, stream = service.read_completed(stream_id)      # or open_completed(...)
    ...
    service.discard(stream_id)                               # rows now, files on commit

Streams left unfinished for ``stream_abandon_minutes`` (and complete ones left unused
for a day) are removed by ``cleanup_abandoned``, run at every start_stream_transfer.
Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rpma.core.clock import clock, to_ms
from rpma.core.context import Principal
from rpma.core.errors import AuthorizationError, IoError, NotFound, ValidationFailed
from rpma.core.services import Services
from rpma.domains.streams.models import Stream, StreamChunk
from rpma.domains.streams.repository import COMPLETE, FAILED, OPEN, StreamRepository
from rpma.domains.streams.schemas import (
    ChunkReceipt,
    StartStreamRequest,
    StreamChunkRequest,
    StreamData,
    StreamMetadata,
)
from rpma.domains.streams.storage import PayloadFile, StreamStorage

__all__ = [
    "COMPLETE_RETENTION_MS",
    "GET_DATA_MAX_BYTES",
    "MISSING_SHOWN",
    "PayloadFile",
    "StreamService",
]

# get_stream_data answers the payload base64 in one envelope: past this size that is
# a memory hazard for the server, and the payload is consumed server-side instead
# (photo_upload's stream_id). Equal to the HTTP body cap.
GET_DATA_MAX_BYTES: Final = 64 * 1024 * 1024
# A complete stream nobody consumed is removed after a day.
COMPLETE_RETENTION_MS: Final = 24 * 60 * 60 * 1000
# How many missing chunk indexes an error lists.
MISSING_SHOWN: Final = 20
# Streams removed per cleanup run (the next run takes the rest).
CLEANUP_BATCH: Final = 200

AfterCommit = Callable[[Callable[[], Any]], None]
FailureWrite = Callable[[Callable[[Session], None]], None]


class StreamService:
    def __init__(
        self,
        db: Session,
        services: Services,
        actor: Principal | None,
        *,
        after_commit: AfterCommit | None = None,
    ) -> None:
        """``actor`` owns the streams this service touches (None only for
        ``cleanup_abandoned``). With ``after_commit`` (``ctx.after_commit``), files are
        removed once the transaction commits; without it, at once."""
        self.db = db
        self.settings = services.settings
        self.actor = actor
        self.after_commit = after_commit
        self.streams = StreamRepository(db)
        self.storage = StreamStorage(services.settings.data_dir)

    # Commands ---------------------------------------------------------------------------
    def start(self, data: StartStreamRequest) -> StreamMetadata:
        owner = self._owner_id()
        limit = self.settings.stream_max_bytes
        if data.total_size > limit:
            raise ValidationFailed(
                message=f"total_size: {data.total_size} bytes exceeds the limit of "
                f"{limit} bytes ({_mib(limit)})",
                field="total_size",
                limit=limit,
            )
        self.cleanup_abandoned()  # first, so that an abandoned stream's id is free again
        if self.streams.exists(data.stream_id):
            raise ValidationFailed(
                message=f"stream_id {data.stream_id!r} is already in use; choose another",
                field="stream_id",
            )
        now = clock.now_ms()
        row = Stream(
            id=data.stream_id,
            owner_id=owner,
            total_size=data.total_size,
            chunk_size=data.chunk_size,
            total_chunks=-(-data.total_size // data.chunk_size),
            content_type=data.content_type,
            checksum=data.checksum,
            stream_metadata=dict(data.metadata or {}),
            received_chunks=0,
            received_bytes=0,
            status=OPEN,
            created_at=now,
            updated_at=now,
            completed_at=None,
        )
        try:
            self.streams.add(row)
        except IntegrityError:  # the same id started at the same moment elsewhere
            raise ValidationFailed(
                message=f"stream_id {data.stream_id!r} is already in use; choose another",
                field="stream_id",
            ) from None
        return self.metadata(row)

    def receive_chunk(
        self, data: StreamChunkRequest, *, even_on_failure: FailureWrite
    ) -> ChunkReceipt:
        """Everything is checked before a byte is written; once written, any failure
        removes the chunk's file again. ``even_on_failure`` is ``ctx.even_on_failure``:
        a checksum mismatch marks the stream failed although the command fails."""
        row = self._own(data.stream_id, lock=True)
        self._check_open(row)
        index = data.chunk_index
        last = row.total_chunks - 1
        if index > last:
            raise ValidationFailed(
                message=f"chunk_index {index} is out of range: the stream has "
                f"{row.total_chunks} chunk(s), 0..{last}",
                field="chunk_index",
                total_chunks=row.total_chunks,
            )
        if data.is_last is not None and data.is_last != (index == last):
            raise ValidationFailed(
                message=f"is_last is {str(data.is_last).lower()} but chunk {index} is "
                + ("not the last one" if data.is_last else "the last one")
                + f" (the last is {last})",
                field="is_last",
            )
        if self.streams.has_chunk(row.id, index):
            raise _already_received(index)
        expected = _chunk_length(row, index)
        size = len(data.chunk_data)
        if size != expected:
            which = "the last chunk" if index == last else f"every chunk but the last ({last})"
            raise ValidationFailed(
                message=f"chunk {index} holds {size} bytes; {which} must hold {expected}",
                field="chunk_data",
                expected_size=expected,
                actual_size=size,
            )
        try:
            self.streams.add_chunk(
                StreamChunk(
                    stream_id=row.id,
                    chunk_index=index,
                    size=size,
                    sha256=hashlib.sha256(data.chunk_data).hexdigest(),
                )
            )
        except IntegrityError:  # only if two writers ever got past the row lock
            raise _already_received(index) from None
        self.storage.write_chunk(row.id, index, data.chunk_data)
        try:
            row.received_chunks += 1
            row.received_bytes += size
            row.updated_at = clock.now_ms()
            self.db.flush()
            if row.received_chunks == row.total_chunks:
                self._complete(row, even_on_failure)
        except BaseException:
            # The transaction will roll back: its chunk must not stay on disk.
            self.storage.remove_chunk(row.id, index)
            raise
        return ChunkReceipt(
            stream_id=row.id,
            received_chunks=row.received_chunks,
            total_chunks=row.total_chunks,
            complete=row.status == COMPLETE,
            checksum=row.checksum if row.status == COMPLETE else None,
        )

    def data(self, stream_id: str) -> StreamData:
        """get_stream_data: the payload of a complete stream, base64."""
        row = self._own(stream_id)
        self._check_complete(row)
        if row.total_size > GET_DATA_MAX_BYTES:
            raise ValidationFailed(
                message=f"The stream holds {row.total_size} bytes; get_stream_data answers "
                f"at most {_mib(GET_DATA_MAX_BYTES)}: pass its stream_id to the command "
                "that consumes it instead",
                limit=GET_DATA_MAX_BYTES,
            )
        payload = self._read_verified(row)
        return StreamData(
            data=base64.b64encode(payload).decode("ascii"),
            checksum=row.checksum or "",
            total_size=row.total_size,
            content_type=row.content_type,
        )

    @staticmethod
    def metadata(row: Stream) -> StreamMetadata:
        return StreamMetadata(
            stream_id=row.id,
            total_size=row.total_size,
            total_chunks=row.total_chunks,
            chunk_size=row.chunk_size,
            content_type=row.content_type,
            checksum=row.checksum or "",
        )

    # For other domains -------------------------------------------------------------------
    def read_completed(self, stream_id: str) -> tuple[bytes, Stream]:
        """The whole payload in memory, checked against its SHA-256, and the stream's
        row (``content_type``, ``total_size``, ``stream_metadata``...). NOT_FOUND for
        a stream that is not the actor's; VALIDATION_ERROR for one not complete."""
        row = self._own(stream_id, lock=True)
        self._check_complete(row)
        return self._read_verified(row), row

    def open_completed(self, stream_id: str) -> PayloadFile:
        """The payload as a seekable binary file read from disk in constant memory
        (close it, or use ``with``); iterating it yields blocks. Same checks as
        ``read_completed``; the bytes were verified when the stream completed."""
        row = self._own(stream_id, lock=True)
        self._check_complete(row)
        return self.storage.open(row.id, row.total_size, row.chunk_size)

    def discard(self, stream_id: str) -> None:
        """Delete the actor's stream: rows now, files once the transaction commits
        (at once without ``after_commit``). Whatever its status."""
        row = self._own(stream_id, lock=True)
        self.streams.delete([row.id])
        self._remove_files([row.id])

    def cleanup_abandoned(self, now: datetime | None = None) -> int:
        """Remove streams left open or failed for ``stream_abandon_minutes`` and
        complete ones left unused for a day, rows and files; answers how many (at most
        CLEANUP_BATCH per call)."""
        now_ms = to_ms(now if now is not None else clock.now())
        open_before = now_ms - self.settings.stream_abandon_minutes * 60_000
        stale = self.streams.stale(
            open_before=open_before,
            complete_before=now_ms - COMPLETE_RETENTION_MS,
            limit=CLEANUP_BATCH,
        )
        self.streams.delete(stale)
        self._remove_files(stale)
        return len(stale)

    # Rules ------------------------------------------------------------------------------
    def _complete(self, row: Stream, even_on_failure: FailureWrite) -> None:
        digest, length = self.storage.digest(row.id, row.total_chunks)
        if length != row.total_size:
            raise IoError(message="The stream's chunks on disk do not add up to its size")
        now = clock.now_ms()
        if row.checksum is not None and digest != row.checksum:
            stream_id, storage = row.id, self.storage

            def mark_failed(db: Session) -> None:
                db.execute(
                    update(Stream)
                    .where(Stream.id == stream_id)
                    .values(status=FAILED, updated_at=now)
                )
                storage.remove(stream_id)

            even_on_failure(mark_failed)
            raise ValidationFailed(
                message=f"checksum mismatch: the payload's SHA-256 is {digest}, expected "
                f"{row.checksum}; the stream has failed, start a new one",
                stream_id=row.id,
                expected_checksum=row.checksum,
                actual_checksum=digest,
            )
        row.status = COMPLETE
        row.checksum = digest
        row.completed_at = now
        row.updated_at = now
        self.db.flush()

    @staticmethod
    def _check_open(row: Stream) -> None:
        if row.status == COMPLETE:
            raise ValidationFailed(
                message=f"stream {row.id!r} is already complete; it takes no more chunks",
                stream_id=row.id,
                status=row.status,
            )
        if row.status == FAILED:
            raise _failed(row)

    def _check_complete(self, row: Stream) -> None:
        if row.status == COMPLETE:
            return
        if row.status == FAILED:
            raise _failed(row)
        received = set(self.streams.received_indexes(row.id))
        missing = [i for i in range(row.total_chunks) if i not in received]
        shown = ", ".join(str(i) for i in missing[:MISSING_SHOWN])
        more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
        raise ValidationFailed(
            message=f"stream {row.id!r} is incomplete: {len(received)} of "
            f"{row.total_chunks} chunks received; missing chunks: {shown}{more}",
            stream_id=row.id,
            missing_chunks=missing[:MISSING_SHOWN],
            missing_count=len(missing),
        )

    # Helpers ----------------------------------------------------------------------------
    def _owner_id(self) -> str:
        if self.actor is None:
            raise AuthorizationError(message="Authentication required")
        return self.actor.user_id

    def _own(self, stream_id: str, *, lock: bool = False) -> Stream:
        owner = self._owner_id()
        row = self.streams.get(stream_id, lock=lock)
        if row is None or row.owner_id != owner:
            raise NotFound(message="Stream not found", stream_id=stream_id)
        return row

    def _read_verified(self, row: Stream) -> bytes:
        sha = hashlib.sha256()
        parts = []
        for block in self.storage.blocks(row.id, row.total_chunks):
            sha.update(block)
            parts.append(block)
        payload = b"".join(parts)
        if len(payload) != row.total_size or sha.hexdigest() != row.checksum:
            raise IoError(message="The stream's payload on disk is damaged")
        return payload

    def _remove_files(self, stream_ids: list[str]) -> None:
        if not stream_ids:
            return
        storage, ids = self.storage, list(stream_ids)

        def remove() -> None:
            for stream_id in ids:
                storage.remove(stream_id)

        if self.after_commit is None:
            remove()
        else:
            self.after_commit(remove)


def _chunk_length(row: Stream, index: int) -> int:
    if index < row.total_chunks - 1:
        return row.chunk_size
    return row.total_size - row.chunk_size * (row.total_chunks - 1)


def _already_received(index: int) -> ValidationFailed:
    return ValidationFailed(
        message=f"chunk {index} already received; each index is sent once",
        field="chunk_index",
        chunk_index=index,
    )


def _failed(row: Stream) -> ValidationFailed:
    return ValidationFailed(
        message=f"stream {row.id!r} failed its checksum check (checksum mismatch); "
        "start a new stream",
        stream_id=row.id,
        status=row.status,
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
