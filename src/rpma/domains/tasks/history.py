"""The task history (CONTRACT.md section 8): one row per status change or reschedule,
written in the same transaction as the change and never updated."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.tasks.models import TaskHistory
from rpma.domains.tasks.schemas import HistoryEntry

_id_lock = threading.Lock()
_last: list[int] = [0, 0]  # (milliseconds, counter) of the last id given out


def sortable_id() -> str:
    """A UUIDv7 (RFC 9562): real time in milliseconds, then a counter, then random bits.
    Ids given out by one process only grow, so rows written in the same (possibly
    frozen) clock millisecond still sort in the order they were written."""
    with _id_lock:
        ms, counter = time.time_ns() // 1_000_000, 0
        if ms <= _last[0]:
            ms, counter = _last[0], _last[1] + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        _last[0], _last[1] = ms, counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))


def record(
    db: Session,
    task_id: str,
    *,
    old_status: str | None,
    new_status: str,
    reason: str | None,
    changed_by: str | None,
) -> None:
    db.add(
        TaskHistory(
            id=sortable_id(),
            task_id=task_id,
            old_status=old_status,
            new_status=new_status,
            reason=reason,
            changed_by=changed_by,
            changed_at=clock.now_ms(),
        )
    )


def record_many(db: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Many rows in one executemany (the bulk import); each dict holds task_id,
    old_status, new_status, reason, changed_by."""
    now = clock.now_ms()
    values = [{"id": sortable_id(), "changed_at": now, **row} for row in rows]
    if values:
        db.execute(insert(TaskHistory), values)


def entries(db: Session, task_id: str) -> list[HistoryEntry]:
    """Newest first; rows of the same millisecond by their time-ordered ids."""
    rows = db.scalars(
        select(TaskHistory)
        .where(TaskHistory.task_id == task_id)
        .order_by(TaskHistory.changed_at.desc(), TaskHistory.id.desc())
    )
    ordered = list(rows)
    return [
        HistoryEntry(
            id=row.id,
            task_id=row.task_id,
            old_status=row.old_status,
            new_status=row.new_status,
            reason=row.reason,
            changed_by=row.changed_by,
            changed_at=row.changed_at,
        )
        for row in ordered
    ]
