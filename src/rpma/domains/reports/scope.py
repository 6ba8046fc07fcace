"""What one report reads: the range as instants and day numbers, and who it is about.

Days are the shop's calendar days. Stored instants are Unix ms UTC and ``scheduled_date``
is a calendar date, so the SQL needs two things from here: the instants where the
range starts and ends (for index-friendly WHERE clauses), and the shop's UTC offset
over time (for GROUP BY day). Offsets change a few times a year (summer time); a CASE
over those few segments gives every instant its local day in the database itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from rpma.core.context import Principal
from rpma.core.errors import AuthorizationError
from rpma.core.permissions import Role
from rpma.domains.reports.schemas import ReportFilters

MS_PER_DAY: Final = 86_400_000
_EPOCH: Final = date(1970, 1, 1)
# How far around the range offsets are worked out: a task completed months after its
# scheduled day still gets its local completion day right.
_OFFSET_MARGIN: Final = timedelta(days=400)


def epoch_day_number(day: date) -> int:
    return (day - _EPOCH).days


def day_of_number(number: int) -> date:
    return _EPOCH + timedelta(days=number)


def local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp() * 1000)


def _offset_ms(instant_ms: int, zone: ZoneInfo) -> int:
    moment = datetime.fromtimestamp(instant_ms / 1000, tz=UTC).astimezone(zone)
    offset = moment.utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


@lru_cache(maxsize=64)
def offset_segments(zone: ZoneInfo, first: date, last: date) -> tuple[tuple[int, int], ...]:
    """``[(from_ms, offset_ms), ...]``: the zone's UTC offset from each instant on, between
    ``first`` and ``last`` (the first segment also covers everything before)."""
    lo = local_midnight_ms(first, zone)
    hi = local_midnight_ms(last, zone)
    segments = [(lo, _offset_ms(lo, zone))]
    step = MS_PER_DAY
    at = lo
    while at < hi:
        nxt = min(at + step, hi)
        if _offset_ms(nxt, zone) != segments[-1][1]:
            # The change is somewhere in (at, nxt]: narrow it down to the minute.
            left, right = at, nxt
            while right - left > 60_000:
                middle = (left + right) // 2
                if _offset_ms(middle, zone) == segments[-1][1]:
                    left = middle
                else:
                    right = middle
            segments.append((right, _offset_ms(right, zone)))
        at = nxt
    return tuple(segments)


class epoch_day(FunctionElement[int]):
    """Days since 1970-01-01 of a DATE column, as an integer, on either database."""

    type = Integer()
    inherit_cache = True


@compiles(epoch_day, "sqlite")
def _epoch_day_sqlite(element: epoch_day, compiler: object, **kw: object) -> str:
    column = compiler.process(element.clauses, **kw)  # type: ignore[attr-defined]
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


@compiles(epoch_day, "postgresql")
def _epoch_day_postgresql(element: epoch_day, compiler: object, **kw: object) -> str:
    column = compiler.process(element.clauses, **kw)  # type: ignore[attr-defined]
    return f"({column} - DATE '1970-01-01')"


@dataclass(frozen=True)
class ReportScope:
    """One report's range and subjects, resolved for the viewer."""

    start: date
    end: date
    zone: ZoneInfo
    technician_id: str | None
    client_id: str | None
    statuses: tuple[str, ...]
    today: date

    @property
    def start_ms(self) -> int:
        return local_midnight_ms(self.start, self.zone)

    @property
    def end_ms(self) -> int:
        """Exclusive: the first instant after the range's last day."""
        return local_midnight_ms(self.end + timedelta(days=1), self.zone)

    @property
    def first_day_number(self) -> int:
        return epoch_day_number(self.start)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def local_day(self, instant_ms: Any) -> ColumnElement[int]:
        """The shop's calendar day (days since 1970-01-01) of a ms column, in SQL."""
        first = min(self.start, self.today) - _OFFSET_MARGIN
        last = max(self.end, self.today) + _OFFSET_MARGIN
        segments = offset_segments(self.zone, first, last)
        if len(segments) == 1:
            shifted = instant_ms + literal(segments[0][1], Integer)
        else:
            # Newest first: the first segment whose start the instant has passed.
            offset = case(
                *[(instant_ms >= start, literal(ms, Integer)) for start, ms in segments[:0:-1]],
                else_=literal(segments[0][1], Integer),
            )
            shifted = instant_ms + offset
        day: ColumnElement[int] = shifted // literal(MS_PER_DAY, Integer)
        return day


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """How many rows of the group meet ``condition`` (0, never NULL)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def resolve_scope(
    filters: ReportFilters, viewer: Principal, zone: ZoneInfo, today: date
) -> ReportScope:
    """The filters as the viewer may see them: a technician's report is about
    themselves, and asking for another technician's data is refused."""
    options = filters.filters
    technician_id = options.technician_id if options else None
    if viewer.role is Role.TECHNICIAN:
        if technician_id is not None and technician_id != viewer.user_id:
            raise AuthorizationError(
                message="A technician sees only their own report data",
                technician_id=technician_id,
            )
        technician_id = viewer.user_id
    return ReportScope(
        start=filters.date_range.start,
        end=filters.date_range.end,
        zone=zone,
        technician_id=technician_id,
        client_id=options.client_id if options else None,
        statuses=tuple(sorted(set(options.status or []))) if options else (),
        today=today,
    )
