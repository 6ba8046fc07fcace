"""Recurring events: an RFC 5545 RRULE, checked and made canonical on write, expanded
with python-dateutil on read.

A series recurs in its own time zone (the shop's when it was written): a weekly 09:00
meeting stays at 09:00 local across daylight-saving changes. Limits keep expansion
cheap and bounded: the frequency is DAILY at most (no BYHOUR/BYMINUTE/BYSECOND, so an
event has one time of day), COUNT is at most 1000, the first occurrence must be the
event's own start (as calendar apps assume), and one read expands at most
``MAX_OCCURRENCES_PER_SERIES`` occurrences of a series.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from rpma.core.clock import to_ms
from rpma.domains.calendar.timespan import invalid, local_of

FIELD: Final = "event_data.rrule"
MAX_RRULE_LENGTH: Final = 500
MAX_COUNT: Final = 1000
MAX_INTERVAL: Final = 1000
MAX_OCCURRENCES_PER_SERIES: Final = 1000
FREQUENCIES: Final = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_ORDER: Final = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
)
_UNTIL_RE: Final = re.compile(r"(\d{8})(T(\d{6})(Z?))?")


def _fail(message: str) -> Exception:
    return invalid(FIELD, message)


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or len(body) > MAX_RRULE_LENGTH or any(ch in body for ch in "\r\n"):
        raise _fail(f"an RRULE is one line of at most {MAX_RRULE_LENGTH} characters")
    parts: dict[str, str] = {}
    for item in body.upper().split(";"):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise _fail(f"'{item[:40]}' is not KEY=VALUE")
        if key in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            raise _fail(f"{key} is not supported: an event recurs at its own time of day")
        if key not in _ORDER:
            raise _fail(f"{key[:40]} is not an RRULE part this calendar supports")
        if key in parts:
            raise _fail(f"{key} is given twice")
        parts[key] = value
    if parts.get("FREQ") not in FREQUENCIES:
        raise _fail(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    for key, ceiling in (("INTERVAL", MAX_INTERVAL), ("COUNT", MAX_COUNT)):
        if key in parts and not (parts[key].isdigit() and 1 <= int(parts[key]) <= ceiling):
            raise _fail(f"{key} must be a whole number from 1 to {ceiling}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise _fail("COUNT and UNTIL may not both be given")
    return parts


def _until_utc(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as a UTC instant: ``...Z`` as given, a local time in the series' zone, a
    bare day as the end of that local day."""
    match = _UNTIL_RE.fullmatch(value)
    if match is None:
        raise _fail("UNTIL must be YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ")
    try:
        day = datetime.strptime(match[1], "%Y%m%d")
        if match[3] is None:
            local = datetime.combine(day.date(), time(23, 59, 59))
        else:
            local = datetime.strptime(match[1] + match[3], "%Y%m%d%H%M%S")
    except ValueError:
        raise _fail(f"UNTIL {value[:20]} is not a valid date") from None
    if match[4]:
        return local.replace(tzinfo=UTC)
    return local.replace(tzinfo=tz).astimezone(UTC)


def canonical(text: str, start_ms: int, tz: ZoneInfo) -> str:
    """The rule as stored: parts in a fixed order, UNTIL in UTC. Refuses a rule that
    dateutil cannot read, that yields nothing, or whose first occurrence is not the
    event's start."""
    parts = _parts(text)
    if "UNTIL" in parts:
        parts["UNTIL"] = _until_utc(parts["UNTIL"], tz).strftime("%Y%m%dT%H%M%SZ")
    rule_text = ";".join(f"{key}={parts[key]}" for key in _ORDER if key in parts)
    start_local = local_of(start_ms, tz).replace(tzinfo=None)
    try:
        rule = build(rule_text, start_local, tz.key)
        first = next(iter(rule), None)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _fail(f"not a valid RRULE ({str(exc)[:100]})") from None
    if first is None:
        raise _fail("the rule yields no occurrence")
    if first != start_local:
        raise _fail(
            f"the event's start ({start_local:%Y-%m-%d %H:%M}) must be the rule's first "
            f"occurrence (the rule starts {first:%Y-%m-%d %H:%M})"
        )
    return rule_text


@lru_cache(maxsize=4096)
def build(rule_text: str, start_local: datetime, tz_name: str) -> rrule:
    """The dateutil rule on naive wall-clock times of the series' zone (UNTIL moved
    into that frame), cached: a read expands the same series again and again."""
    parts = dict(item.split("=", 1) for item in rule_text.split(";"))
    if "UNTIL" in parts and parts["UNTIL"].endswith("Z"):
        until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        parts["UNTIL"] = until.astimezone(ZoneInfo(tz_name)).strftime("%Y%m%dT%H%M%S")
    text = ";".join(f"{key}={value}" for key, value in parts.items())
    rule = rrulestr(text, dtstart=start_local)
    if not isinstance(rule, rrule):  # pragma: no cover - one RRULE line is one rrule
        raise ValueError("expected a single RRULE")
    return rule


class Series:
    """One recurring event in its zone: its rule, first start and wall-clock length."""

    def __init__(self, rule_text: str, start_ms: int, end_ms: int, tz_name: str) -> None:
        self.tz = ZoneInfo(tz_name)
        self.start_local = local_of(start_ms, self.tz).replace(tzinfo=None)
        self.length = local_of(end_ms, self.tz).replace(tzinfo=None) - self.start_local
        self.absolute_ms = end_ms - start_ms
        self.rule = build(rule_text, self.start_local, tz_name)
        self.parts = dict(item.split("=", 1) for item in rule_text.split(";"))

    def _span(self, local_start: datetime) -> tuple[int, int]:
        start = to_ms(local_start.replace(tzinfo=self.tz))
        end = to_ms((local_start + self.length).replace(tzinfo=self.tz))
        return (start, end) if end > start else (start, start + self.absolute_ms)

    def last_end_ms(self) -> int | None:
        """When the series is over (an upper bound for UNTIL), None when it never is."""
        if "COUNT" in self.parts:
            last: datetime | None = None
            for occurrence in self.rule:
                last = occurrence
            return self._span(last)[1] if last is not None else None
        if "UNTIL" in self.parts:
            until = datetime.strptime(self.parts["UNTIL"], "%Y%m%dT%H%M%SZ")
            return to_ms(until.replace(tzinfo=UTC)) + self.absolute_ms + 86_400_000
        return None

    def between(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Occurrences ``(start, end)`` overlapping ``[start_ms, end_ms)``."""
        after = local_of(start_ms, self.tz).replace(tzinfo=None) - self.length - timedelta(days=1)
        before = local_of(end_ms, self.tz).replace(tzinfo=None) + timedelta(days=1)
        found: list[tuple[int, int]] = []
        for local_start in _limited(self.rule.xafter(after, inc=True), before):
            span = self._span(local_start)
            if span[0] < end_ms and span[1] > start_ms:
                found.append(span)
        return found


def _limited(occurrences: Iterable[datetime], before: datetime) -> Iterable[datetime]:
    for index, local_start in enumerate(occurrences):
        if local_start > before or index >= MAX_OCCURRENCES_PER_SERIES:
            return
        yield local_start
