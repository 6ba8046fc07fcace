"""Aggregate SQL over interventions, their steps and where they were done.

An intervention belongs to the range by its start. The report's status filter is about
tasks and does not narrow interventions; technician and client filters do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from rpma.domains.clients.models import Client
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.reports.scope import ReportScope, count_if

# Quality score bands, as a shop reads them.
QUALITY_BANDS: Final = (
    ("90-100", 90, 101),
    ("80-89", 80, 90),
    ("60-79", 60, 80),
    ("0-59", 0, 60),
)


def intervention_in_range(scope: ReportScope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Intervention.deleted_at.is_(None),
        Intervention.started_at >= scope.start_ms,
        Intervention.started_at < scope.end_ms,
    ]
    if scope.technician_id is not None:
        conditions.append(Intervention.technician_id == scope.technician_id)
    if scope.client_id is not None:
        conditions.append(Intervention.client_id == scope.client_id)
    return conditions


def _completed() -> ColumnElement[bool]:
    return Intervention.status == "completed"


@dataclass(frozen=True)
class InterventionGroup:
    """Figures of a group of interventions; averages over the completed ones."""

    key: Any  # the group's value: a technician id, a status, a day number
    interventions: int
    completed: int
    quality_sum: float
    quality_count: int
    satisfaction_sum: float
    satisfaction_count: int
    duration_sum: float
    duration_count: int


def _group_columns() -> list[ColumnElement[Any]]:
    quality = case((_completed(), Intervention.quality_score), else_=None)
    satisfaction = case((_completed(), Intervention.customer_satisfaction), else_=None)
    duration = case((_completed(), Intervention.actual_duration), else_=None)
    return [
        func.count(),
        count_if(_completed()),
        func.coalesce(func.sum(quality), 0),
        func.count(quality),
        func.coalesce(func.sum(satisfaction), 0),
        func.count(satisfaction),
        func.coalesce(func.sum(duration), 0),
        func.count(duration),
    ]


def _groups(rows: Any) -> list[InterventionGroup]:
    return [
        InterventionGroup(
            row[0],
            int(row[1]),
            int(row[2]),
            float(row[3]),
            int(row[4]),
            float(row[5]),
            int(row[6]),
            float(row[7]),
            int(row[8]),
        )
        for row in rows
    ]


def interventions_by_technician(db: Session, scope: ReportScope) -> list[InterventionGroup]:
    return _groups(
        db.execute(
            select(Intervention.technician_id, *_group_columns())
            .where(*intervention_in_range(scope))
            .group_by(Intervention.technician_id)
        )
    )


def interventions_by_status(db: Session, scope: ReportScope) -> list[InterventionGroup]:
    return _groups(
        db.execute(
            select(Intervention.status, *_group_columns())
            .where(*intervention_in_range(scope))
            .group_by(Intervention.status)
            .order_by(Intervention.status)
        )
    )


def interventions_by_day(db: Session, scope: ReportScope) -> list[InterventionGroup]:
    """Per day of start (``key`` is the day number since 1970-01-01)."""
    day = scope.local_day(Intervention.started_at).label("day")
    return _groups(
        db.execute(
            select(day, *_group_columns())
            .where(*intervention_in_range(scope))
            .group_by(day)
            .order_by(day)
        )
    )


def quality_bands(db: Session, scope: ReportScope) -> dict[str, int]:
    """Completed interventions with a score, per band (every band present)."""
    band = case(
        *[
            (Intervention.quality_score >= low, label)
            for label, low, _high in QUALITY_BANDS
            if low > 0
        ],
        else_="0-59",
    ).label("band")
    rows = db.execute(
        select(band, func.count())
        .where(*intervention_in_range(scope), _completed(), Intervention.quality_score.is_not(None))
        .group_by(band)
    )
    found = {str(row[0]): int(row[1]) for row in rows}
    return {label: found.get(label, 0) for label, _low, _high in QUALITY_BANDS}


@dataclass(frozen=True)
class StepGroup:
    step_type: str
    steps: int
    completed: int
    skipped: int
    rework: int
    photo_checked: int  # completed steps that ask for photos
    photo_compliant: int  # ... and have at least the minimum


def steps_by_type(db: Session, scope: ReportScope) -> list[StepGroup]:
    status = InterventionStep.status
    needs_photos = (status == "completed") & (InterventionStep.min_photos_required > 0)
    rows = db.execute(
        select(
            InterventionStep.step_type,
            func.count(),
            count_if(status == "completed"),
            count_if(status == "skipped"),
            count_if(status == "rework"),
            count_if(needs_photos),
            count_if(
                needs_photos
                & (InterventionStep.photo_count >= InterventionStep.min_photos_required)
            ),
        )
        .join(Intervention, Intervention.id == InterventionStep.intervention_id)
        .where(*intervention_in_range(scope))
        .group_by(InterventionStep.step_type)
        .order_by(InterventionStep.step_type)
    )
    return [StepGroup(str(row[0]), *(int(value) for value in row[1:])) for row in rows]


@dataclass(frozen=True)
class GpsGroup:
    city: str
    interventions: int
    with_gps: int
    latitude: float | None
    longitude: float | None


def interventions_by_city(db: Session, scope: ReportScope) -> list[GpsGroup]:
    """Interventions per client city, with how many recorded a start position and the
    centre of those positions."""
    city = func.coalesce(Client.address_city, "").label("city")
    has_gps = Intervention.start_latitude.is_not(None) & Intervention.start_longitude.is_not(None)
    count = func.count().label("interventions")
    rows = db.execute(
        select(
            city,
            count,
            count_if(has_gps),
            func.avg(Intervention.start_latitude),
            func.avg(Intervention.start_longitude),
        )
        .select_from(Intervention)
        .outerjoin(Client, Client.id == Intervention.client_id)
        .where(*intervention_in_range(scope))
        .group_by(city)
        .order_by(count.desc(), city)
    )
    return [
        GpsGroup(
            str(row[0]) or "Unknown",
            int(row[1]),
            int(row[2]),
            None if row[3] is None else round(float(row[3]), 5),
            None if row[4] is None else round(float(row[4]), 5),
        )
        for row in rows
    ]
