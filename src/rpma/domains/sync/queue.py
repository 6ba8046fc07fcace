"""The sync_queue repository: capture rows, claim and settle batches, count, the feed.

Statements run on a connection or a session alike (``Executor``) because change
capture writes from inside a flush, where only the session's connection may be used.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.sync.models import SyncQueueEntry, SyncState

QUEUE: Table = SyncQueueEntry.__table__  # type: ignore[assignment]
STATE: Table = SyncState.__table__  # type: ignore[assignment]
PENDING, PROCESSING, COMPLETED, FAILED = "pending", "processing", "completed", "failed"
STATUSES = (PENDING, PROCESSING, COMPLETED, FAILED)
PRIORITIES = ("high", "normal", "low")
_PRIORITY_RANK = case({"high": 0, "normal": 1}, value=QUEUE.c.priority, else_=2)
# A constant key for pg_advisory_xact_lock: see ``serialize_feed``.
_FEED_LOCK_KEY = 7_267_001
_PULL_LOCK_KEY = 7_267_002


Executor = Connection | Session


def serialize_feed(db: Executor) -> None:
    """On PostgreSQL, make transactions that add feed rows commit in id order: a reader
    of ``id > cursor`` must never see id 8 committed while id 7 is still in flight (it
    would skip 7 forever). The lock is held until commit. SQLite has one writer anyway."""
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name == "postgresql":
        db.execute(select(func.pg_advisory_xact_lock(_FEED_LOCK_KEY)))


def serialize_pulls(db: Session) -> None:
    """On PostgreSQL, one pull at a time per database (several server processes), held
    until commit. Another key than the feed's: a pull also writes entities, and must not
    hold the lock local commits wait for."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(func.pg_advisory_xact_lock(_PULL_LOCK_KEY)))


class NodeIdentity:
    """This machine's node id: the configured one, or a random one kept in sync_state."""

    def __init__(self, configured: str | None) -> None:
        self._value = configured

    def get(self, db: Executor) -> str:
        if self._value:
            return self._value
        stored = get_state(db, "node_id")
        if stored:
            self._value = stored  # remembered only once it is known to be committed
            return stored
        # Two first writers at once (PostgreSQL): the second waits on the first's row and
        # then keeps it. No feed lock here: this may run before a transaction's writes.
        bind = db.get_bind() if isinstance(db, Session) else db
        dialect_insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
        db.execute(
            dialect_insert(STATE)
            .values(name="node_id", value=f"node-{uuid.uuid4()}")
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return str(get_state(db, "node_id"))


def get_state(db: Executor, name: str) -> str | None:
    return db.execute(select(STATE.c.value).where(STATE.c.name == name)).scalar()


def set_state(db: Executor, name: str, value: str) -> None:
    done = db.execute(update(STATE).where(STATE.c.name == name).values(value=value))
    if not done.rowcount:  # type: ignore[attr-defined]
        db.execute(insert(STATE).values(name=name, value=value))


def new_row(
    *,
    entity_type: str,
    entity_id: str,
    kind: str,
    payload: dict[str, Any],
    version: int,
    node_id: str,
    operation_id: str | None = None,
    priority: str = "normal",
    status: str = PENDING,
    conflict: bool = False,
    last_error: str | None = None,
) -> dict[str, Any]:
    now = clock.now_ms()
    return {
        "operation_id": operation_id or str(uuid.uuid4()),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "kind": kind,
        "payload": payload,
        "version": version,
        "priority": priority,
        "status": status,
        "attempts": 0,
        "last_error": last_error,
        "conflict": conflict,
        "node_id": node_id,
        "next_attempt_at": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
    }


def add_rows(db: Executor, rows: Sequence[dict[str, Any]]) -> None:
    """Insert feed rows; the caller holds ``serialize_feed``."""
    if rows:
        db.execute(insert(QUEUE), list(rows))


def add_one(db: Executor, row: dict[str, Any]) -> int:
    serialize_feed(db)
    return int(db.execute(insert(QUEUE).values(**row).returning(QUEUE.c.id)).scalar_one())


def known_operation(db: Executor, operation_id: str) -> bool:
    found = db.execute(select(QUEUE.c.id).where(QUEUE.c.operation_id == operation_id)).first()
    return found is not None


def last_origin(db: Executor, entity_type: str, entity_id: str) -> str | None:
    """The node that made the entity's current state (its latest applied operation)."""
    return db.execute(
        select(QUEUE.c.node_id)
        .where(
            QUEUE.c.entity_type == entity_type,
            QUEUE.c.entity_id == entity_id,
            QUEUE.c.conflict.is_(False),
        )
        .order_by(QUEUE.c.id.desc())
        .limit(1)
    ).scalar()


def release_expired_leases(db: Session) -> int:
    now = clock.now_ms()
    done = db.execute(
        update(QUEUE)
        .where(QUEUE.c.status == PROCESSING, QUEUE.c.lease_until < now)
        .values(status=PENDING, lease_until=None, updated_at=now)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def claim(db: Session, limit: int, lease_seconds: float, *, due_only: bool) -> list[dict[str, Any]]:
    """Mark up to ``limit`` pending operations ``processing`` under a lease; high
    priority first, then in capture order (parents before the rows that refer to them)."""
    release_expired_leases(db)
    now = clock.now_ms()
    query = select(QUEUE).where(QUEUE.c.status == PENDING)
    if due_only:
        query = query.where((QUEUE.c.next_attempt_at.is_(None)) | (QUEUE.c.next_attempt_at <= now))
    query = query.order_by(_PRIORITY_RANK, QUEUE.c.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.execute(query))
    if rows:
        lease_until = now + int(lease_seconds * 1000)
        db.execute(
            update(QUEUE)
            .where(QUEUE.c.id.in_([r.id for r in rows]))
            .values(status=PROCESSING, lease_until=lease_until, updated_at=now)
        )
    return [{**r._asdict(), "status": PROCESSING, "lease_until": lease_until} for r in rows]


def settle(
    db: Session,
    ids: Iterable[int],
    *,
    status: str,
    error: str | None = None,
    conflict: bool = False,
    retry_at: int | None = None,
    count_attempt: bool = True,
) -> None:
    ids = list(ids)
    if not ids:
        return
    values: dict[str, Any] = {
        "status": status,
        "last_error": error,
        "lease_until": None,
        "next_attempt_at": retry_at,
        "updated_at": clock.now_ms(),
    }
    if conflict:
        values["conflict"] = True
    if count_attempt:
        values["attempts"] = QUEUE.c.attempts + 1
    db.execute(update(QUEUE).where(QUEUE.c.id.in_(ids)).values(**values))


def counts(db: Session) -> dict[str, int]:
    """Operations per status (processing past its lease counts as pending), conflicts."""
    found = dict.fromkeys(STATUSES, 0)
    for name, number in db.execute(select(QUEUE.c.status, func.count()).group_by(QUEUE.c.status)):
        found[str(name)] = int(number)
    expired = int(
        db.execute(
            select(func.count()).where(
                QUEUE.c.status == PROCESSING, QUEUE.c.lease_until < clock.now_ms()
            )
        ).scalar_one()
    )
    found[PROCESSING] -= expired
    found[PENDING] += expired
    found["conflicts"] = int(
        db.execute(select(func.count()).where(QUEUE.c.conflict.is_(True))).scalar_one()
    )
    return found


def feed_after(db: Session, since: int, limit: int) -> list[Any]:
    return list(
        db.execute(select(QUEUE).where(QUEUE.c.id > since).order_by(QUEUE.c.id).limit(limit))
    )


def listed(db: Session, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(QUEUE).order_by(QUEUE.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(QUEUE.c.status == status)
    return [row._asdict() for row in db.execute(query)]


def retry_failed(db: Session, ids: list[int] | None) -> int:
    """Failed operations back to pending (all of them, or those of ``ids``)."""
    query = update(QUEUE).where(QUEUE.c.status == FAILED)
    if ids is not None:
        query = query.where(QUEUE.c.id.in_(ids))
    done = db.execute(query.values(status=PENDING, next_attempt_at=None, updated_at=clock.now_ms()))
    return int(done.rowcount)  # type: ignore[attr-defined]


def acknowledge(db: Session, ids: list[int], *, status: str, error: str | None) -> int:
    """Settle operations an external agent holds (``processing``); others are left."""
    if not ids:
        return 0
    now = clock.now_ms()
    done = db.execute(
        update(QUEUE)
        .where(QUEUE.c.id.in_(ids), QUEUE.c.status == PROCESSING, QUEUE.c.lease_until >= now)
        .values(
            status=status,
            last_error=error,
            lease_until=None,
            attempts=QUEUE.c.attempts + 1,
            updated_at=now,
        )
    )
    return int(done.rowcount)  # type: ignore[attr-defined]
