"""Change capture: every flushed create, update or soft delete of a synced entity becomes
a ``sync_queue`` row committed in the same transaction (docs/SYNC.md "Capture").

Rows are collected at each flush (the entity as flushed) and inserted just before the
commit. Inserting them last matters on PostgreSQL: the feed's ids must commit in order
(``queue.serialize_feed`` takes a lock until the commit), and a transaction that took
that lock early and then waited on another's row locks could deadlock with it. A row
captured inside a savepoint that rolls back is dropped with it.

A session applying operations received from another node sets ``APPLYING`` in its
``info``: those changes are recorded by the apply code with their origin (``defer``),
not captured again as local ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from rpma.core.db import statement_changes
from rpma.core.services import Services
from rpma.domains.sync import queue
from rpma.domains.sync.entities import SyncedEntity, entity_of, entity_of_model

APPLYING = "rpma_sync_applying"
_PENDING = "rpma_sync_pending"
_identities: dict[int, queue.NodeIdentity] = {}


def identity(services: Services) -> queue.NodeIdentity:
    found = _identities.get(id(services))
    if found is None:
        found = _identities[id(services)] = queue.NodeIdentity(services.settings.sync_node_id)
    return found


def _kind(entity: SyncedEntity, instance: Any, created: bool) -> str | None:
    if created:
        return "create"
    state = inspect(instance)
    # Only synced columns count: a sign-in touching a user's login counters is no change.
    if not any(state.attrs[c.key].history.has_changes() for c in entity.columns):
        return None
    deleted = state.attrs.deleted_at.history
    if deleted.has_changes() and instance.deleted_at is not None:
        return "delete"
    return "update"


def changes_of(session: Session) -> list[dict[str, Any]]:
    """Queue rows (without a node id yet) for each synced entity this flush wrote."""
    found: list[dict[str, Any]] = []

    def add(entity: SyncedEntity, instance: Any, kind: str, payload: dict[str, Any]) -> None:
        found.append(
            queue.new_row(
                entity_type=entity.name,
                entity_id=instance.id,
                kind=kind,
                payload=payload,
                version=int(instance.version or 1),
                node_id="",
            )
        )

    for instances, created in ((session.new, True), (session.dirty, False)):
        for instance in instances:
            entity = entity_of(instance)
            kind = _kind(entity, instance, created) if entity is not None else None
            if entity is not None and kind is not None:
                add(entity, instance, kind, entity.to_payload(instance))
    for instance in session.deleted:  # a hard delete: only the id and the last version
        entity = entity_of(instance)
        if entity is not None:
            add(entity, instance, "delete", {"id": instance.id})
    return found


def _statement_rows(
    session: Session, noted: list[tuple[type[Any], str, list[str]]]
) -> list[dict[str, Any]]:
    """Queue rows for what INSERT and UPDATE statements wrote (a CSV import's tasks, a
    stock movement's balance): read back as committed, once per row."""
    found: list[dict[str, Any]] = []
    for model, kind, ids in noted:
        entity = entity_of_model(model)
        if entity is None:
            continue
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = session.scalars(
                select(model).where(model.id.in_(chunk)).execution_options(populate_existing=True)
            )
            for row in rows:
                found.append(
                    queue.new_row(
                        entity_type=entity.name,
                        entity_id=row.id,
                        kind=kind,
                        payload=entity.to_payload(row),
                        version=int(row.version or 1),
                        node_id="",
                    )
                )
    return found


def _current(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def defer(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue rows to insert when ``session`` commits (dropped if it rolls back)."""
    transaction = _current(session)
    session.info.setdefault(_PENDING, []).extend((transaction, row) for row in rows)


def deferred(session: Session) -> list[dict[str, Any]]:
    return [row for _, row in session.info.get(_PENDING, [])]


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def install(services: Services) -> None:
    """Listen on the database's session factories (readers too: a read command that
    writes after all must not slip past the queue)."""
    node = identity(services)

    def capture(session: Session, _flush: UOWTransaction) -> None:
        if not session.info.get(APPLYING):
            rows = changes_of(session)
            if rows:
                defer(session, rows)

    def before_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: its rows wait for the real commit
        session.flush()  # what the commit would flush is captured now, not lost
        noted = statement_changes(session)
        if noted and not session.info.get(APPLYING):
            defer(session, _statement_rows(session, noted))
        rows = [row for _, row in session.info.pop(_PENDING, [])]
        if not rows:
            return
        connection = session.connection()
        queue.serialize_feed(connection)
        node_id = node.get(connection)
        queue.add_rows(connection, [{**row, "node_id": row["node_id"] or node_id} for row in rows])

    def after_soft_rollback(session: Session, ended: SessionTransaction) -> None:
        if not ended.nested:
            session.info.pop(_PENDING, None)
            return
        kept = [(t, row) for t, row in session.info.get(_PENDING, []) if not _within(t, ended)]
        session.info[_PENDING] = kept

    def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # closed without a commit: nothing was written
            session.info.pop(_PENDING, None)

    for factory in services.db.session_factories:
        event.listen(factory, "after_flush", capture)
        event.listen(factory, "before_commit", before_commit)
        event.listen(factory, "after_soft_rollback", after_soft_rollback)
        event.listen(factory, "after_transaction_end", after_transaction_end)
