"""Aggregate SQL over clients and where they are (city, region, country)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from rpma.domains.clients.models import Client
from rpma.domains.reports.scope import ReportScope, count_if
from rpma.domains.reports.task_queries import DONE, task_in_range
from rpma.domains.tasks.models import Task
from rpma.domains.users.models import User

UNKNOWN_PLACE = "Unknown"


def _client_base(scope: ReportScope) -> list[ColumnElement[bool]]:
    """The clients a report counts: registered by the end of the range, and, for a
    technician's report, those the technician has worked for."""
    conditions: list[ColumnElement[bool]] = [
        Client.deleted_at.is_(None),
        Client.created_at < scope.end_ms,
    ]
    if scope.client_id is not None:
        conditions.append(Client.id == scope.client_id)
    if scope.technician_id is not None:
        conditions.append(
            select(Task.id)
            .where(
                Task.client_id == Client.id,
                Task.technician_id == scope.technician_id,
                Task.deleted_at.is_(None),
            )
            .exists()
        )
    return conditions


def client_counts(db: Session, scope: ReportScope) -> tuple[int, int]:
    """(clients in the base, those registered during the range)."""
    new = count_if(Client.created_at >= scope.start_ms)
    row = db.execute(select(func.count(), new).where(*_client_base(scope))).one()
    return int(row[0]), int(row[1])


def client_names(db: Session, client_ids: list[str]) -> dict[str, str]:
    if not client_ids:
        return {}
    rows = db.execute(select(Client.id, Client.name).where(Client.id.in_(client_ids)))
    return {row[0]: row[1] for row in rows}


def user_names(db: Session, user_ids: list[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = db.execute(select(User.id, User.first_name, User.last_name).where(User.id.in_(user_ids)))
    return {row[0]: f"{row[1]} {row[2]}".strip() for row in rows}


def technicians(db: Session, scope: ReportScope) -> dict[str, str]:
    """The technicians a performance report lists (every live technician account, or
    the one the report is about), by id with their names."""
    query = select(User.id, User.first_name, User.last_name)
    if scope.technician_id is not None:
        query = query.where(User.id == scope.technician_id)
    else:
        query = query.where(User.role == "technician", User.deleted_at.is_(None))
    return {row[0]: f"{row[1]} {row[2]}".strip() for row in db.execute(query)}


@dataclass(frozen=True)
class PlaceGroup:
    city: str
    region: str
    country: str
    clients: int
    tasks: int
    done: int


def work_by_city(db: Session, scope: ReportScope) -> list[PlaceGroup]:
    """Tasks of the range by their client's city (most tasks first). Tasks are counted
    per client first, so the join reads each client once rather than once per task."""
    per_client = (
        select(
            Task.client_id.label("client_id"),
            func.count().label("tasks"),
            count_if(Task.status.in_(DONE)).label("done"),
        )
        .where(*task_in_range(scope), Task.client_id.is_not(None))
        .group_by(Task.client_id)
        .subquery()
    )
    city = func.coalesce(Client.address_city, "").label("city")
    region = func.coalesce(Client.address_state, "").label("region")
    country = func.coalesce(Client.address_country, "").label("country")
    tasks = func.sum(per_client.c.tasks).label("tasks")
    rows = db.execute(
        select(city, region, country, func.count(), tasks, func.sum(per_client.c.done))
        .select_from(per_client)
        .join(Client, Client.id == per_client.c.client_id)
        .group_by(city, region, country)
        .order_by(tasks.desc(), city, region, country)
    )
    return [
        PlaceGroup(
            row[0] or UNKNOWN_PLACE,
            row[1],
            row[2],
            int(row[3]),
            int(row[4]),
            int(row[5]),
        )
        for row in rows
    ]
