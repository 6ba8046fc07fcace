"""calendar_export_ics: a schedule as an iCalendar file (RFC 5545) made with the
``icalendar`` library, so that it opens in any calendar app.

* Events in the range; a series whose occurrences touch the range is written once with
  its RRULE (the app expands it), DTSTART/DTEND in the series' time zone with its
  VTIMEZONE, so a weekly 09:00 stays 09:00 across daylight-saving changes.
* All-day events and tasks without a time are DATE values (DTEND exclusive).
* Scheduled tasks are events too (CATEGORIES ``task``).
* UIDs are stable (``<event id>@rpma``, ``task-<task id>@rpma``) so that a second
  import updates instead of duplicating; DTSTAMP and LAST-MODIFIED are the row's
  ``updated_at``; SEQUENCE is its version minus one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from rpma.core.clock import from_ms
from rpma.domains.calendar.models import CalendarEvent
from rpma.domains.calendar.repository import CalendarRepository
from rpma.domains.calendar.schedule import Schedule, spans
from rpma.domains.calendar.schemas import IcsFile
from rpma.domains.calendar.timespan import local_of, query_range
from rpma.domains.tasks.models import Task

PRODID: Final = "-//RPMA//Workshop calendar//EN"
CONTENT_TYPE: Final = "text/calendar; charset=utf-8"
UID_DOMAIN: Final = "rpma"
_STATUS: Final = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}
_SLUG_RE: Final = re.compile(r"[^a-z0-9]+")


def _moment(ms: int, all_day: bool, tz: ZoneInfo, *, is_end: bool = False) -> date | datetime:
    local = local_of(ms, tz)
    if all_day:
        # Stored ends are exclusive local midnights, as iCalendar's DATE DTEND.
        return (
            local.date()
            if not is_end or local.time() == datetime.min.time()
            else (local.date() + timedelta(days=1))
        )
    return local if tz.key != "UTC" else from_ms(ms)


def _stamp(ms: int) -> datetime:
    return from_ms(ms).astimezone(UTC)


def _rrule(text: str, all_day: bool, tz: ZoneInfo) -> vRecur:
    rule: vRecur = vRecur(vRecur.from_ical(text))
    # With a DATE DTSTART, RFC 5545 wants UNTIL as a DATE too (the series' local day).
    if all_day and "UNTIL" in rule:
        until = rule["UNTIL"][0]
        if isinstance(until, datetime):
            rule["UNTIL"] = [until.astimezone(tz).date()]
    return rule


def event_component(row: CalendarEvent) -> Event:
    tz = ZoneInfo(row.timezone)
    item = Event()
    item.add("uid", f"{row.id}@{UID_DOMAIN}")
    item.add("dtstamp", _stamp(row.updated_at))
    item.add("last-modified", _stamp(row.updated_at))
    item.add("created", _stamp(row.created_at))
    item.add("sequence", max(0, row.version - 1))
    item.add("summary", row.title)
    item.add("dtstart", _moment(row.start_at, row.all_day, tz))
    item.add("dtend", _moment(row.end_at, row.all_day, tz, is_end=True))
    if row.rrule:
        item.add("rrule", _rrule(row.rrule, row.all_day, tz))
    if row.description:
        item.add("description", row.description)
    if row.location:
        item.add("location", row.location)
    item.add("status", _STATUS.get(row.status, "CONFIRMED"))
    item.add("categories", [row.event_type])
    if row.event_type == "time_off":
        item.add("transp", "OPAQUE")
    if row.color:
        item.add("color", row.color)
    return item


def task_component(task: Task, span: tuple[int, int, bool], tz: ZoneInfo) -> Event:
    start_ms, end_ms, all_day = span
    item = Event()
    item.add("uid", f"task-{task.id}@{UID_DOMAIN}")
    item.add("dtstamp", _stamp(task.updated_at))
    item.add("last-modified", _stamp(task.updated_at))
    item.add("sequence", max(0, task.version - 1))
    item.add("summary", f"{task.task_number} {task.title}")
    item.add("dtstart", _moment(start_ms, all_day, tz))
    item.add("dtend", _moment(end_ms, all_day, tz, is_end=True))
    if task.description:
        item.add("description", task.description)
    item.add("status", "CANCELLED" if task.status == "cancelled" else "CONFIRMED")
    item.add("categories", ["task"])
    return item


def export(
    repo: CalendarRepository,
    tz: ZoneInfo,
    start: str,
    end: str,
    technician_id: str | None,
    *,
    with_tasks: bool,
    calendar_name: str,
) -> IcsFile:
    start_ms, end_ms = query_range(start, end, tz)
    schedule = Schedule(repo, tz)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name)
    cal.add("x-wr-timezone", tz.key)
    count = 0
    for row in repo.in_range(start_ms, end_ms, technician_id=technician_id):
        if schedule_has(row, start_ms, end_ms):
            cal.add_component(event_component(row))
            count += 1
    if with_tasks:
        for task, span in schedule.tasks_in(start_ms, end_ms, technician_id, open_only=False):
            cal.add_component(task_component(task, span, tz))
            count += 1
    cal.add_missing_timezones()
    first, last = local_of(start_ms, tz).date(), local_of(end_ms - 1, tz).date()
    slug = _SLUG_RE.sub("-", calendar_name.lower()).strip("-") or "calendar"
    return IcsFile(
        filename=f"{slug}-{first:%Y%m%d}-{last:%Y%m%d}.ics",
        content_type=CONTENT_TYPE,
        content=cal.to_ical().decode("utf-8"),
        event_count=count,
    )


def schedule_has(row: CalendarEvent, start_ms: int, end_ms: int) -> bool:
    """Whether the event, or an occurrence of the series, falls in the range."""
    return bool(spans(row, start_ms, end_ms))
