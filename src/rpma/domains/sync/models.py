"""The sync tables: the operation queue (also the change feed), the node's own state,
and the credentials nodes present to a central server (docs/SYNC.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base
from rpma.core.types import JsonDict


class SyncQueueEntry(Base):
    """One SyncOperation. Rows captured here start ``pending`` (to be pushed upstream);
    rows received from another node are stored ``completed`` so that a repeated
    operation is recognised (``operation_id`` is unique) and so that a central server
    can hand them on. ``id`` is the feed's sequence."""

    __tablename__ = "sync_queue"
    __table_args__ = (
        Index("ix_sync_queue_status_id", "status", "id"),
        Index("ix_sync_queue_entity", "entity_type", "entity_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(8))  # create | update | delete
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    version: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # high | normal | low
    # pending | processing | completed | failed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The operation lost against a newer version: kept for the record, never applied.
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    node_id: Mapped[str] = mapped_column(String(64))  # where the change was made
    next_attempt_at: Mapped[int | None] = mapped_column(BigInteger)
    lease_until: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class SyncState(Base):
    """Small named values: this node's id, the pull cursor, the last successful sync."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncCredential(Base):
    """A long-lived credential a node presents to this (central) server. Only the
    SHA-256 of the token is stored; the token is shown once, when issued."""

    __tablename__ = "sync_credentials"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    last_used_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
