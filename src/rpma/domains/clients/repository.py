"""Every query on clients, and the few on the tasks table that clients need.

Full-text search uses what migration 0003 built: the FTS5 table ``clients_fts`` on
SQLite (kept in step by triggers), a GIN index over one tsvector expression on
PostgreSQL. User input never reaches either query language unquoted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    column,
    desc,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnClause

from rpma.domains.clients.models import Client
from rpma.domains.clients.schemas import TaskFigures
from rpma.domains.tasks.models import Task

ACTIVE_TASK_STATUSES: Final = ("scheduled", "in_progress", "paused", "on_hold")
COMPLETED_TASK_STATUSES: Final = ("completed", "archived")
TASKS_PER_CLIENT: Final = 100

# At most this many words of a search are used; the rest of a pasted paragraph is noise.
_MAX_SEARCH_TOKENS: Final = 16
# A word is kept when it holds a letter or digit (what both tokenizers index).
_WORD_CHAR: Final = re.compile(r"[^\W_]")

_SORT_COLUMNS: Final = {
    "name": Client.name,
    "created_at": Client.created_at,
    "updated_at": Client.updated_at,
    "customer_type": Client.customer_type,
}

# SQLite: the FTS5 table, columns (name, email, phone, company_name, notes), and bm25
# weights per column so that a name match ranks above a match in the notes.
_FTS = table("clients_fts", column("rowid"))
_FTS_TABLE: ColumnClause[Any] = literal_column("clients_fts")
_FTS_RANK: ColumnClause[Any] = literal_column("bm25(clients_fts, 10.0, 4.0, 4.0, 4.0, 1.0)")
_CLIENT_ROWID: ColumnClause[Any] = literal_column("clients.rowid")

# PostgreSQL: exactly the expression of the GIN index ix_clients_search (migration
# 0003), or the planner cannot use it. The rank uses a weighted vector (name A, contact
# details B, notes D), computed only for the rows the index found.
_PG_VECTOR: ColumnClause[Any] = literal_column(
    "to_tsvector('simple', coalesce(clients.name, '') || ' ' || coalesce(clients.email, '')"
    " || ' ' || coalesce(clients.phone, '') || ' ' || coalesce(clients.company_name, '')"
    " || ' ' || coalesce(clients.notes, ''))"
)
_PG_WEIGHTED: ColumnClause[Any] = literal_column(
    "setweight(to_tsvector('simple', coalesce(clients.name, '')), 'A')"
    " || setweight(to_tsvector('simple', coalesce(clients.email, '') || ' ' ||"
    " coalesce(clients.phone, '') || ' ' || coalesce(clients.company_name, '')), 'B')"
    " || setweight(to_tsvector('simple', coalesce(clients.notes, '')), 'D')"
)


# Search expressions ---------------------------------------------------------------------
def search_words(query: str) -> list[str]:
    """The words of a search: whitespace-separated, those without a letter or digit
    (``"``, ``*``, ``-``) dropped."""
    return [w for w in query.split() if _WORD_CHAR.search(w)][:_MAX_SEARCH_TOKENS]


def fts5_match(query: str) -> str | None:
    """An FTS5 MATCH expression that only ever searches for the user's words: each is
    an FTS5 string (so ``AND``, ``NEAR(``, ``*``, ``-`` are words, not operators), the
    last one a prefix. None when nothing is left to search for."""
    words = search_words(query)
    if not words:
        return None
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def pg_tsquery(query: str) -> str | None:
    """A ``to_tsquery`` text with every word a quoted lexeme (quotes doubled,
    backslashes escaped), ANDed, the last one a prefix (``:*``)."""
    words = search_words(query)
    if not words:
        return None
    quoted = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


@dataclass(frozen=True)
class _Match:
    """The full-text condition for one search, and its rank (lower sorts first)."""

    condition: ColumnElement[bool]
    rank: ColumnElement[Any]


class ClientRepository:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.is_sqlite = db.get_bind().dialect.name == "sqlite"

    # One client ---------------------------------------------------------------------------
    def get(self, client_id: str, *, lock: bool = False) -> Client | None:
        """A live client. ``lock`` takes a row lock on PostgreSQL for a write (SQLite
        writers are serialized by BEGIN IMMEDIATE already)."""
        query = select(Client).where(Client.id == client_id, Client.deleted_at.is_(None))
        if lock:
            query = query.with_for_update()
        return self.db.scalar(query)

    def email_owner(self, email: str, *, except_id: str | None = None) -> Client | None:
        """Who holds ``email`` (stored lower-cased), deleted clients included: their row
        keeps the unique email."""
        query = select(Client).where(Client.email == email)
        if except_id is not None:
            query = query.where(Client.id != except_id)
        return self.db.scalar(query.limit(1))

    def add(self, client: Client) -> Client:
        self.db.add(client)
        self.db.flush()
        return client

    # Lists ----------------------------------------------------------------------------------
    def page(
        self,
        *,
        customer_types: Sequence[str] | None,
        search: str | None,
        sort_by: str,
        descending: bool,
        offset: int,
        limit: int,
    ) -> tuple[list[Client], int]:
        """One page of live clients and how many match in all. A search that holds no
        word matches nothing."""
        conditions: list[ColumnElement[bool]] = [Client.deleted_at.is_(None)]
        if customer_types:
            conditions.append(Client.customer_type.in_(list(customer_types)))
        if search is not None and search.strip():
            match = self._match(search)
            if match is None:
                return [], 0
            conditions.append(match.condition)
        total = int(
            self.db.scalar(select(func.count()).select_from(Client).where(*conditions)) or 0
        )
        if total == 0 or offset >= total:
            return [], total
        column_ = _SORT_COLUMNS[sort_by]
        order = [column_.desc(), Client.id.desc()] if descending else [column_, Client.id]
        rows = self.db.scalars(
            select(Client).where(*conditions).order_by(*order).offset(offset).limit(limit)
        )
        return list(rows), total

    def search(self, query: str, limit: int) -> list[Client]:
        """Live clients matching the words of ``query``, best first."""
        match = self._match(query, joined=True)
        if match is None:
            return []
        statement: Select[tuple[Client]] = select(Client)
        if self.is_sqlite:
            statement = statement.join(_FTS, _FTS.c.rowid == _CLIENT_ROWID)
        statement = (
            statement.where(Client.deleted_at.is_(None), match.condition)
            .order_by(match.rank, Client.name, Client.id)
            .limit(limit)
        )
        return list(self.db.scalars(statement))

    def _match(self, query: str, *, joined: bool = False) -> _Match | None:
        """``joined``: the statement joins ``clients_fts`` (SQLite), as bm25() needs;
        otherwise the match is a rowid sub-select."""
        if self.is_sqlite:
            expression = fts5_match(query)
            if expression is None:
                return None
            matched = _FTS_TABLE.op("MATCH")(bindparam("fts_query", expression, type_=String))
            if not joined:
                matched = _CLIENT_ROWID.in_(select(_FTS.c.rowid).where(matched))
            return _Match(condition=matched, rank=_FTS_RANK)
        tsquery_text = pg_tsquery(query)
        if tsquery_text is None:
            return None
        tsquery = func.to_tsquery(
            literal_column("'simple'"), bindparam("tsquery", tsquery_text, type_=String)
        )
        return _Match(
            condition=_PG_VECTOR.op("@@")(tsquery),
            rank=func.ts_rank(_PG_WEIGHTED, tsquery).desc(),
        )

    # Statistics ---------------------------------------------------------------------------
    def counts_by_type(self) -> dict[str, int]:
        rows = self.db.execute(
            select(Client.customer_type, func.count())
            .where(Client.deleted_at.is_(None))
            .group_by(Client.customer_type)
        )
        return {str(kind): int(n) for kind, n in rows}

    def count_created_since(self, since_ms: int) -> int:
        query = select(func.count()).where(
            Client.deleted_at.is_(None), Client.created_at >= since_ms
        )
        return int(self.db.scalar(query.select_from(Client)) or 0)

    @property
    def tasks(self) -> ClientTaskReads:
        return ClientTaskReads(self.db)


class ClientTaskReads:
    """Read-only queries on the ``tasks`` table for the clients domain.

    The architecture lets a domain read another's table only through that domain's
    service; the tasks service is not written yet, so these few aggregate reads live
    here, together, until it offers them. Soft-deleted tasks never count.
    """

    def __init__(self, db: Session) -> None:
        self.db = db

    def figures(self, client_ids: Sequence[str]) -> dict[str, TaskFigures]:
        """Derived figures for a whole page of clients in one GROUP BY query."""
        if not client_ids:
            return {}
        active = case((Task.status.in_(ACTIVE_TASK_STATUSES), 1), else_=0)
        completed = case((Task.status.in_(COMPLETED_TASK_STATUSES), 1), else_=0)
        rows = self.db.execute(
            select(
                Task.client_id,
                func.count(),
                func.sum(active),
                func.sum(completed),
                func.max(Task.created_at),
            )
            .where(Task.client_id.in_(list(client_ids)), Task.deleted_at.is_(None))
            .group_by(Task.client_id)
        )
        return {
            str(client_id): TaskFigures(
                total_tasks=int(total),
                active_tasks=int(n_active or 0),
                completed_tasks=int(n_completed or 0),
                last_task_date=int(last) if last is not None else None,
            )
            for client_id, total, n_active, n_completed, last in rows
        }

    def recent(
        self, client_ids: Sequence[str], per_client: int = TASKS_PER_CLIENT
    ) -> dict[str, list[Task]]:
        """Each client's newest tasks (at most ``per_client``), for a whole page of
        clients in one query (a window function numbers each client's tasks)."""
        if not client_ids:
            return {}
        position = (
            func.row_number()
            .over(
                partition_by=Task.client_id,
                order_by=(Task.created_at.desc(), Task.id.desc()),
            )
            .label("position")
        )
        numbered = (
            select(Task.id, position)
            .where(Task.client_id.in_(list(client_ids)), Task.deleted_at.is_(None))
            .subquery()
        )
        rows = self.db.scalars(
            select(Task)
            .join(numbered, numbered.c.id == Task.id)
            .where(numbered.c.position <= per_client)
            .order_by(Task.client_id, Task.created_at.desc(), Task.id.desc())
        )
        grouped: dict[str, list[Task]] = {client_id: [] for client_id in client_ids}
        for task in rows:
            grouped[str(task.client_id)].append(task)
        return grouped

    def top_clients(self, limit: int) -> list[tuple[str, int]]:
        """Live clients with the most tasks, most first (ties by id)."""
        task_count = func.count().label("task_count")
        rows = self.db.execute(
            select(Task.client_id, task_count)
            .join(Client, Client.id == Task.client_id)
            .where(Task.deleted_at.is_(None), Client.deleted_at.is_(None))
            .group_by(Task.client_id)
            .order_by(desc(task_count), Task.client_id)
            .limit(limit)
        )
        return [(str(client_id), int(n)) for client_id, n in rows]
