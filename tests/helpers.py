"""Small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from rpma.client import IpcClient, IpcError
from rpma.core.db import Base
from rpma.core.services import Services

# The security trail is append-only and records refusals by design; tests assert its
# rows explicitly (see security_events below) rather than expecting it unchanged.
AUDIT_TABLES = ("security_events",)
# Login protection counts failures on the account: a refused login writes these.
AUDIT_COLUMNS = {"users": ("failed_login_attempts", "first_failed_login_at", "locked_until")}


def snapshot(
    services: Services, exclude: tuple[str, ...] = AUDIT_TABLES
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to assert that a refused call changed nothing."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with services.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in exclude:
                continue
            skip = AUDIT_COLUMNS.get(table.name, ())
            columns = [c for c in table.columns if c.name not in skip]
            rows[table.name] = sorted((tuple(r) for r in conn.execute(select(*columns))), key=repr)
    return rows


def count(services: Services, table: str) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Base.metadata.tables[table])) or 0)


def refused(
    services: Services, call: Callable[[], Any], code: str, status: int | None = None
) -> IpcError:
    """Run ``call``, expect the error ``code`` (and HTTP ``status``), and check that the
    database is exactly as it was."""
    before = snapshot(services)
    with pytest.raises(IpcError) as caught:
        call()
    assert caught.value.code == code, caught.value
    if status is not None:
        assert caught.value.status == status
    assert snapshot(services) == before
    return caught.value


def raw(client: IpcClient, command: str, body: Any = None, **kwargs: Any) -> Any:
    """A raw HTTP response, for what the SDK hides (status, headers, bytes)."""
    return client._http.post(f"/ipc/{command}", json=body, **kwargs)


def security_events(services: Services) -> list[tuple[str, str | None]]:
    """(event_type, user_id) of every recorded security event, oldest first."""
    table = Base.metadata.tables["security_events"]
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.event_type, table.c.user_id).order_by(table.c.timestamp, table.c.id)
        )
        return [(r.event_type, r.user_id) for r in rows]
