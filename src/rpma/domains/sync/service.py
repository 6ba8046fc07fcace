"""The node side: push what this machine changed, pull what others changed, and the
queue commands (status, metrics, enqueue, dequeue). A sync runs outside any command
transaction: short write transactions around each network call, never one held open
while waiting on the central server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.errors import ValidationFailed
from rpma.core.services import Services
from rpma.domains.sync import queue
from rpma.domains.sync.apply import apply_operations, operation_errors
from rpma.domains.sync.capture import identity
from rpma.domains.sync.client import CentralClient, CentralRefused, CentralUnavailable
from rpma.domains.sync.live import events_for
from rpma.domains.sync.schemas import (
    OperationIn,
    PushedOperation,
    SyncAcknowledged,
    SyncAcknowledgeRequest,
    SyncOperation,
    SyncQueueMetrics,
    SyncResult,
)

NOT_CONFIGURED = "SYNC_NOT_CONFIGURED"
# Batches per sync_now: changes made while a sync runs wait for the next one.
MAX_ROUNDS = 100
MAX_BACKOFF_SECONDS = 3600
_locks: dict[int, threading.Lock] = {}


def operation_out(row: dict[str, Any]) -> SyncOperation:
    return SyncOperation.model_validate({k: row.get(k) for k in SyncOperation.model_fields})


def require_central(services: Services) -> CentralClient:
    if not services.settings.sync_url:
        raise ValidationFailed(
            NOT_CONFIGURED,
            message="No central server is configured (set RPMA_SYNC_URL and RPMA_SYNC_TOKEN)",
        )
    return CentralClient(services.settings)


def sync_lock(services: Services) -> threading.Lock:
    return _locks.setdefault(id(services), threading.Lock())


def backoff_ms(attempts: int) -> int:
    """30 s, 60 s, 120 s ... capped at an hour, after the ``attempts``-th failure."""
    return int(min(30 * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS) * 1000)


class SyncRun:
    """One sync: push the pending operations batch by batch, then pull."""

    def __init__(self, services: Services, *, due_only: bool) -> None:
        self.services = services
        self.settings = services.settings
        self.central = require_central(services)
        self.due_only = due_only
        self.processed = 0
        self.failed = 0
        self.errors: list[str] = []

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A short write transaction, in this process's queue of SQLite writers."""
        with self.services.db.write_turn(True), self.services.db.session(write=True) as db:
            yield db

    def run(self) -> SyncResult:
        with sync_lock(self.services):
            with self._session() as db:
                node_id = identity(self.services).get(db)
                db.commit()
            if self._push(node_id):
                self._pull(node_id)
            if not self.errors:
                with self._session() as db:
                    queue.set_state(db, "last_sync", str(clock.now_ms()))
                    db.commit()
        return SyncResult(
            success=not self.errors and not self.failed,
            operations_processed=self.processed,
            operations_failed=self.failed,
            errors=self.errors,
        )

    def _push(self, node_id: str) -> bool:
        """False when the central could not be reached or refused us: no pull then."""
        size = self.settings.sync_batch_size
        for _ in range(MAX_ROUNDS):
            with self._session() as db:
                # sync_now is someone asking now: it does not wait out the backoff.
                batch = queue.claim(
                    db, size, self.settings.sync_lease_seconds, due_only=self.due_only
                )
                db.commit()
            if not batch:
                return True
            wire = [
                PushedOperation.model_validate(
                    {k: row[k] for k in PushedOperation.model_fields}
                ).model_dump()
                for row in batch
            ]
            try:
                results = self.central.push(node_id, wire)
            except CentralUnavailable as error:
                self._give_back(batch, str(error))
                return False
            except CentralRefused as error:
                self._settle_all(batch, queue.FAILED, str(error))
                return False
            self._settle(batch, results)
            if len(batch) < size:
                return True
        return True

    def _give_back(self, batch: list[dict[str, Any]], error: str) -> None:
        """Back to pending, to be retried after a growing wait."""
        now = clock.now_ms()
        with self._session() as db:
            for row in batch:
                retry_at = now + backoff_ms(row["attempts"] + 1)
                queue.settle(db, [row["id"]], status=queue.PENDING, error=error, retry_at=retry_at)
            db.commit()
        self.failed += len(batch)
        self.errors.append(error)

    def _settle_all(self, batch: list[dict[str, Any]], status: str, error: str) -> None:
        with self._session() as db:
            queue.settle(db, [row["id"] for row in batch], status=status, error=error)
            db.commit()
        self.failed += len(batch)
        self.errors.append(error)

    def _settle(self, batch: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        by_operation = {r.get("operation_id"): r for r in results}
        with self._session() as db:
            for row in batch:
                result = by_operation.get(row["operation_id"], {})
                outcome, reason = result.get("outcome"), result.get("reason")
                if outcome in ("applied", "duplicate"):
                    queue.settle(db, [row["id"]], status=queue.COMPLETED)
                    self.processed += 1
                elif outcome == "conflict":
                    queue.settle(
                        db, [row["id"]], status=queue.COMPLETED, error=reason, conflict=True
                    )
                    self.processed += 1
                else:
                    reason = reason or "the central server gave no answer for this operation"
                    queue.settle(db, [row["id"]], status=queue.FAILED, error=reason)
                    self.failed += 1
                    self.errors.append(f"{row['entity_type']} {row['entity_id']}: {reason}")
            db.commit()

    def _pull(self, node_id: str) -> None:
        size = self.settings.sync_batch_size
        for _ in range(MAX_ROUNDS):
            with self.services.db.session(write=False) as db:
                since = int(queue.get_state(db, "pull_cursor") or 0)
            try:
                page = self.central.pull(node_id, since, size)
            except (CentralUnavailable, CentralRefused) as error:
                self.errors.append(str(error))
                return
            self._apply_page(since, page)
            if not page["has_more"]:
                return

    def _apply_page(self, since: int, page: dict[str, Any]) -> None:
        operations = []
        for change in page["changes"]:
            try:
                operations.append(
                    PushedOperation.model_validate(
                        {k: change[k] for k in PushedOperation.model_fields if k in change},
                        strict=False,
                    )
                )
            except ValidationError:
                self.failed += 1
                self.errors.append(f"an unreadable change from the central: {change.get('id')}")
        with self._session() as db:
            # Another process of this server may be pulling the same page.
            queue.serialize_pulls(db)
            if int(queue.get_state(db, "pull_cursor") or 0) != since:
                return
            own = identity(self.services).get(db)
            results = apply_operations(db, operations, own)
            for op, result in zip(operations, results, strict=True):
                if result.outcome == "rejected":
                    self.failed += 1
                    self.errors.append(f"{op.entity_type} {op.entity_id}: {result.reason}")
                elif result.outcome != "duplicate":
                    self.processed += 1
            queue.set_state(db, "pull_cursor", str(int(page["cursor"])))
            db.commit()
        for event in events_for(operations, results):  # this node's /ws listeners
            self.services.events.publish(event)


def sync_now(services: Services, *, due_only: bool = False) -> SyncResult:
    return SyncRun(services, due_only=due_only).run()


# --- queue commands -------------------------------------------------------------------


def metrics(db: Session) -> SyncQueueMetrics:
    found = queue.counts(db)
    total = sum(found[s] for s in queue.STATUSES)
    return SyncQueueMetrics(
        **{s: found[s] for s in queue.STATUSES}, total=total, conflicts=found["conflicts"]
    )


def last_sync(db: Session) -> int:
    return int(queue.get_state(db, "last_sync") or 0)


def enqueue(db: Session, services: Services, op: OperationIn, priority: str) -> int:
    node_id = identity(services).get(db)
    pushed = PushedOperation.model_validate(
        {**op.model_dump(), "operation_id": op.operation_id or _new_id(), "node_id": node_id}
    )
    errors = operation_errors(pushed)
    if errors:
        fields = [{"field": f"operation.{e.split(':')[0]}", "message": e} for e in errors]
        raise ValidationFailed(message="; ".join(errors), fields=fields)
    if queue.known_operation(db, pushed.operation_id):
        raise ValidationFailed(
            message="operation.operation_id: this operation is already queued",
            fields=[{"field": "operation.operation_id", "message": "already queued"}],
        )
    row = queue.new_row(
        entity_type=pushed.entity_type,
        entity_id=pushed.entity_id,
        kind=pushed.kind,
        payload=pushed.payload,
        version=pushed.version,
        node_id=node_id,
        operation_id=pushed.operation_id,
        priority=priority,
    )
    return queue.add_one(db, row)


def dequeue(db: Session, services: Services, limit: int) -> list[SyncOperation]:
    rows = queue.claim(db, limit, services.settings.sync_lease_seconds, due_only=False)
    return [operation_out(row) for row in rows]


def acknowledge(db: Session, req: SyncAcknowledgeRequest) -> SyncAcknowledged:
    completed = queue.acknowledge(db, req.completed, status=queue.COMPLETED, error=None)
    failed = sum(
        queue.acknowledge(db, [item.id], status=queue.FAILED, error=item.error)
        for item in req.failed
    )
    return SyncAcknowledged(completed=completed, failed=failed)


def _new_id() -> str:
    return str(uuid.uuid4())
