"""The calendar's rules (DOMAIN.md "Calendar"): who may write which event, bounds and
all-day days in the shop's time zone, recurrence, references, versions. The role
matrix itself is checked by the dispatcher; "technician: own events only" is here.

Services flush, never commit; ``calendar_updated`` leaves only after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rpma.core.clock import clock, from_ms, to_ms
from rpma.core.context import Principal
from rpma.core.errors import AuthorizationError, Conflict, NotFound
from rpma.core.events import Event
from rpma.core.permissions import Role
from rpma.domains.calendar.conflicts import ConflictChecker, saved_check_window
from rpma.domains.calendar.models import CalendarEvent
from rpma.domains.calendar.recurrence import Series, canonical
from rpma.domains.calendar.repository import CalendarRepository
from rpma.domains.calendar.schedule import TASK_PREFIX, Item, Schedule, event_item, spans
from rpma.domains.calendar.schemas import (
    CheckConflictsRequest,
    ConflictDetection,
    EventCreateData,
    EventFields,
    EventUpdateData,
    SavedEvent,
)
from rpma.domains.calendar.timespan import (
    MAX_RANGE_DAYS,
    MS_PER_DAY,
    Moment,
    instant,
    invalid,
    local_day,
    local_of,
    midnight_ms,
    parse_moment,
    query_range,
)
from rpma.domains.settings.service import shop_timezone

EVENT_TYPE: Final = "calendar_updated"
MAX_ITEMS: Final = 50_000
_OPTIONAL: Final = ("description", "location", "color", "task_id", "client_id")

Publish = Callable[[Event], None]


class CalendarService:
    def __init__(self, db: Session, actor: Principal, publish: Publish | None = None) -> None:
        self.db = db
        self.actor = actor
        self.repo = CalendarRepository(db)
        self._publish = publish
        self.tz: ZoneInfo = shop_timezone(db)

    @property
    def is_technician(self) -> bool:
        return self.actor.role is Role.TECHNICIAN

    # Reading ------------------------------------------------------------------------------
    def events(
        self, start: str, end: str, technician_id: str | None, *, with_tasks: bool
    ) -> list[Item]:
        """CalendarEventOut items as plain dicts (see schedule.event_item)."""
        start_ms, end_ms = query_range(start, end, self.tz)
        if technician_id is not None:
            self._user(technician_id, "technician_id")
        items = Schedule(self.repo, self.tz).items(
            start_ms, end_ms, technician_id, with_tasks=with_tasks
        )
        if len(items) > MAX_ITEMS:
            raise invalid("end_date", f"the range holds over {MAX_ITEMS} items; narrow it")
        return items

    def check_conflicts(self, req: CheckConflictsRequest) -> ConflictDetection:
        return ConflictChecker(self.db, self.repo, self.tz).check(req)

    # Writing ------------------------------------------------------------------------------
    def create(self, data: EventCreateData) -> SavedEvent:
        technician_id = data.technician_id
        if self.is_technician:
            if technician_id not in (None, self.actor.user_id):
                raise AuthorizationError(
                    message="A technician may create events only for themselves"
                )
            technician_id = self.actor.user_id
        start, end = _bound(data, "start"), _bound(data, "end")
        if start is None or end is None:
            missing = "start_date" if start is None else "end_date"
            raise invalid(f"event_data.{missing}", "required")
        self._check_references(technician_id, data.task_id, data.client_id)
        start_ms, end_ms, all_day = self._span(start, end, data.all_day)
        rule = canonical(data.rrule, start_ms, self.tz) if data.rrule else None
        now = clock.now_ms()
        row = CalendarEvent(
            id=str(uuid.uuid4()),
            title=data.title,
            description=data.description,
            event_type=data.event_type,
            start_at=start_ms,
            end_at=end_ms,
            all_day=all_day,
            timezone=self.tz.key,
            technician_id=technician_id,
            task_id=data.task_id,
            client_id=data.client_id,
            location=data.location,
            status=data.status,
            color=data.color,
            rrule=rule,
            series_end_at=_series_end(rule, start_ms, end_ms, self.tz.key),
            created_at=now,
            updated_at=now,
            created_by=self.actor.user_id,
            updated_by=self.actor.user_id,
            version=1,
        )
        self.repo.add(row)
        self._emit(row, "created", {"title": row.title})
        return self._saved(row)

    def update(
        self, event_id: str, data: EventUpdateData, expected_version: int | None
    ) -> SavedEvent:
        row = self._row(event_id, lock=True)
        self._check_owner(row)
        if expected_version is not None and expected_version != row.version:
            raise Conflict(
                message=f"The event was changed by someone else (version {row.version}, "
                f"expected {expected_version}); reload and retry",
                event_id=row.id,
                expected_version=expected_version,
                current_version=row.version,
            )
        given = data.model_fields_set
        for name in ("title", "event_type", "status", "all_day"):
            if name in given and getattr(data, name) is None:
                raise invalid(f"event_data.{name}", "may not be null")
        changes: dict[str, Any] = {}
        if "technician_id" in given:
            wanted = data.technician_id
            if self.is_technician and wanted != self.actor.user_id:
                raise AuthorizationError(message="A technician may not give an event away")
            changes["technician_id"] = wanted
        for name in ("title", "event_type", "status", *_OPTIONAL):
            if name in given:
                changes[name] = getattr(data, name)
        self._check_references(
            changes.get("technician_id"), changes.get("task_id"), changes.get("client_id")
        )
        changes.update(self._new_timing(row, data))
        changes = {name: value for name, value in changes.items() if getattr(row, name) != value}
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = clock.now_ms()
            row.updated_by = self.actor.user_id
            row.version = (row.version or 0) + 1
            self.db.flush()
            self._emit(row, "updated", changes)
        return self._saved(row)

    def delete(self, event_id: str) -> bool:
        """A soft delete: the row stays, every read leaves it out."""
        row = self._row(event_id, lock=True)
        self._check_owner(row)
        row.deleted_at = row.updated_at = clock.now_ms()
        row.updated_by = self.actor.user_id
        row.version = (row.version or 0) + 1
        self.db.flush()
        self._emit(row, "deleted", {"deleted_at": row.deleted_at})
        return True

    # Rules -------------------------------------------------------------------------------
    def _new_timing(self, row: CalendarEvent, data: EventUpdateData) -> dict[str, Any]:
        """Bounds, all-day and rule after an update; recomputed together since each
        depends on the others."""
        given = data.model_fields_set
        timing = {"start_date", "end_date", "start_datetime", "end_datetime", "all_day", "rrule"}
        if not given & timing:
            return {}
        tz = ZoneInfo(row.timezone)
        all_day = data.all_day if data.all_day is not None else row.all_day
        start = _bound(data, "start") or _stored(row.start_at, all_day, tz, is_end=False)
        end = _bound(data, "end") or _stored(row.end_at, all_day, tz, is_end=True)
        start_ms, end_ms, all_day = self._span(start, end, all_day, tz)
        rule_text = data.rrule if "rrule" in given else row.rrule
        rule = canonical(rule_text, start_ms, tz) if rule_text else None
        return {
            "start_at": start_ms,
            "end_at": end_ms,
            "all_day": all_day,
            "rrule": rule,
            "series_end_at": _series_end(rule, start_ms, end_ms, tz.key),
        }

    def _span(
        self, start: Moment, end: Moment, all_day: bool | None, tz: ZoneInfo | None = None
    ) -> tuple[int, int, bool]:
        """``[start, end)`` in UTC ms. All-day: whole local days, the end day included.
        Timed: the end must be after the start (an event of no length is refused)."""
        tz = tz or self.tz
        if all_day is None:
            all_day = not isinstance(start, datetime) and not isinstance(end, datetime)
        if all_day:
            first, last = local_day(start, tz), local_day(end, tz)
            if last < first:
                raise invalid(
                    "event_data.end_date", f"the end ({last}) is before the start ({first})"
                )
            start_ms, end_ms = midnight_ms(first, tz), midnight_ms(last + timedelta(days=1), tz)
        else:
            start_ms, end_ms = to_ms(instant(start, tz)), to_ms(instant(end, tz))
            if end_ms == start_ms:
                raise invalid("event_data.end_date", "the end equals the start: an event must last")
            if end_ms < start_ms:
                raise invalid("event_data.end_date", "the end is before the start")
        if end_ms - start_ms > MAX_RANGE_DAYS * MS_PER_DAY + 3_600_000:
            raise invalid("event_data.end_date", f"an event lasts at most {MAX_RANGE_DAYS} days")
        return start_ms, end_ms, all_day

    def _check_references(
        self, technician_id: str | None, task_id: str | None, client_id: str | None
    ) -> None:
        if technician_id is not None:
            self._user(technician_id, "event_data.technician_id")
        if task_id is not None and self.repo.tasks.get(task_id) is None:
            raise NotFound("NOT_FOUND_TASK", "Task not found", task_id=task_id)
        if client_id is not None and not self.repo.client_exists(client_id):
            raise NotFound("NOT_FOUND_CLIENT", "Client not found", client_id=client_id)

    def _user(self, user_id: str, field: str) -> None:
        if self.repo.user(user_id) is None:
            raise NotFound("NOT_FOUND_USER", "User not found", user_id=user_id, field=field)

    def _check_owner(self, row: CalendarEvent) -> None:
        """The matrix's "technician: own events only"."""
        if self.is_technician and row.technician_id != self.actor.user_id:
            raise AuthorizationError(
                message="A technician may change only their own events", event_id=row.id
            )

    def _row(self, event_id: str, *, lock: bool = False) -> CalendarEvent:
        if event_id.startswith(TASK_PREFIX):
            raise invalid("id", "this is a scheduled task: change it with task_crud or edit_task")
        if ":" in event_id:
            raise invalid("id", "this is one occurrence of a series: change the series (series_id)")
        row = self.repo.get(event_id, lock=lock)
        if row is None:
            raise NotFound("NOT_FOUND_EVENT", "Calendar event not found", event_id=event_id)
        return row

    def _saved(self, row: CalendarEvent) -> SavedEvent:
        item = event_item(row, row.id, row.start_at, row.end_at)
        conflicts = []
        if row.status != "cancelled" and row.event_type != "reminder":
            window = saved_check_window(row.start_at)
            own = (
                [(s, e) for _, s, e in spans(row, *window)]
                if row.rrule
                else [(row.start_at, row.end_at)]
            )
            checker = ConflictChecker(self.db, self.repo, self.tz)
            conflicts = checker.for_event(row.technician_id, own, exclude_event_id=row.id)
        return SavedEvent(**item, conflicts=conflicts)

    def _emit(self, row: CalendarEvent, action: str, changes: dict[str, Any]) -> None:
        if self._publish is None:
            return
        data = {
            "event_id": row.id,
            "action": action,
            "technician_id": row.technician_id,
            "changes": {k: v for k, v in changes.items() if k != "series_end_at"},
        }
        self._publish(Event(type=EVENT_TYPE, data=data))


def _bound(data: EventFields, which: str) -> Moment | None:
    """``start``/``end`` from either spelling; both at once is ambiguous."""
    short, long = f"{which}_date", f"{which}_datetime"
    first, second = getattr(data, short), getattr(data, long)
    if first is not None and second is not None:
        raise invalid(f"event_data.{long}", f"give {short} or {long}, not both")
    value = first if first is not None else second
    return None if value is None else parse_moment(value, f"event_data.{short}")


def _stored(ms: int, all_day: bool, tz: ZoneInfo, *, is_end: bool) -> Moment:
    """A stored bound as input for the event's new shape: for an all-day event the
    (inclusive) local day it covers, else the instant."""
    if all_day:
        return local_of(ms - 1 if is_end else ms, tz).date()
    return from_ms(ms)


def _series_end(rule: str | None, start_ms: int, end_ms: int, tz_name: str) -> int | None:
    if rule is None:
        return end_ms
    return Series(rule, start_ms, end_ms, tz_name).last_end_ms()
