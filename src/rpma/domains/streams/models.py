"""Chunked transfers (seed: Streaming): the stream's metadata and which chunks arrived.
The bytes are on disk under the data directory, never in the database or in memory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base
from rpma.core.types import JsonDict


class Stream(Base):
    __tablename__ = "streams"
    __table_args__ = (Index("ix_streams_status_updated", "status", "updated_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's stream_id
    owner_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    total_size: Mapped[int] = mapped_column(BigInteger)
    chunk_size: Mapped[int] = mapped_column(Integer)
    total_chunks: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    checksum: Mapped[str | None] = mapped_column(String(64))  # expected SHA-256, hex
    stream_metadata: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    received_chunks: Mapped[int] = mapped_column(Integer, default=0)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))  # open | complete | failed
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)


class StreamChunk(Base):
    """One row per chunk received: the primary key makes each index arrive once."""

    __tablename__ = "stream_chunks"

    stream_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
