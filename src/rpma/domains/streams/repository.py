"""Every query on streams and their chunks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from rpma.domains.streams.models import Stream, StreamChunk

OPEN = "open"
COMPLETE = "complete"
FAILED = "failed"


class StreamRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, stream_id: str, *, lock: bool = False) -> Stream | None:
        """``lock`` takes a row lock on PostgreSQL so that the chunks of one stream are
        taken one at a time (SQLite writers are serialized by BEGIN IMMEDIATE already)."""
        query = select(Stream).where(Stream.id == stream_id)
        if lock:
            query = query.with_for_update()
        return self.db.scalar(query)

    def exists(self, stream_id: str) -> bool:
        return bool(self.db.scalar(select(exists().where(Stream.id == stream_id))))

    def add(self, stream: Stream) -> Stream:
        self.db.add(stream)
        self.db.flush()
        return stream

    def has_chunk(self, stream_id: str, index: int) -> bool:
        condition = and_(StreamChunk.stream_id == stream_id, StreamChunk.chunk_index == index)
        return bool(self.db.scalar(select(exists().where(condition))))

    def add_chunk(self, chunk: StreamChunk) -> None:
        self.db.add(chunk)
        self.db.flush()

    def received_indexes(self, stream_id: str) -> list[int]:
        query = (
            select(StreamChunk.chunk_index)
            .where(StreamChunk.stream_id == stream_id)
            .order_by(StreamChunk.chunk_index)
        )
        return list(self.db.scalars(query))

    def stale(self, *, open_before: int, complete_before: int, limit: int) -> list[str]:
        """Streams left unfinished (open or failed) since ``open_before`` and complete
        ones left unused since ``complete_before`` (Unix ms): both terms walk the
        (status, updated_at) index. Rows another transaction is writing are skipped on
        PostgreSQL, not waited for."""
        query = (
            select(Stream.id)
            .where(
                or_(
                    and_(Stream.status.in_((OPEN, FAILED)), Stream.updated_at < open_before),
                    and_(Stream.status == COMPLETE, Stream.updated_at < complete_before),
                )
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.db.scalars(query))

    def delete(self, stream_ids: Sequence[str]) -> None:
        if not stream_ids:
            return
        ids = list(stream_ids)
        self.db.execute(delete(StreamChunk).where(StreamChunk.stream_id.in_(ids)))
        self.db.execute(delete(Stream).where(Stream.id.in_(ids)))
        self.db.flush()
