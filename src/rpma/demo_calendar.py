"""A month of calendar for the demo workshop (`rpma demo`): for each demo technician,
client drop-offs and pick-ups, a training, a reminder, time off for every other one; for the shop,
one recurring weekly team meeting. Written in bulk straight through the model, in the
shop's time zone, deterministic for a given seed."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.calendar.models import CalendarEvent
from rpma.domains.calendar.recurrence import Series, canonical
from rpma.domains.calendar.timespan import at_minutes_ms, midnight_ms
from rpma.domains.clients.models import Client
from rpma.domains.settings.service import shop_timezone

WEEKS: Final = 4
# Drop-offs before the day's work, pick-ups after it (minutes after local midnight).
_APPOINTMENTS: Final = ((8 * 60, 8 * 60 + 30, "Drop-off"), (17 * 60 + 30, 18 * 60, "Pick-up"))
_TEAM_MEETING: Final = (8 * 60, 8 * 60 + 30)
_COLORS: Final = {"appointment": "#2563eb", "meeting": "#7c3aed", "time_off": "#dc2626",
                  "reminder": "#f59e0b"}  # fmt: skip


def add_demo_calendar(db: Session, technicians: list[str], seed: int, actor: str | None) -> int:
    """Write the month starting this week's Monday; answers how many events."""
    rng = random.Random(f"{seed}-calendar")
    tz = shop_timezone(db)
    now = clock.now_ms()
    monday = clock.now().astimezone(tz).date()
    monday -= timedelta(days=monday.weekday())
    clients = list(db.execute(select(Client.id, Client.name).limit(200)))
    rows: list[dict[str, Any]] = []

    def add(title: str, event_type: str, start_ms: int, end_ms: int, **extra: Any) -> None:
        rows.append(
            {
                "id": str(uuid.uuid4()), "title": title, "description": None,
                "event_type": event_type, "start_at": start_ms, "end_at": end_ms,
                "all_day": False, "timezone": tz.key, "technician_id": None, "task_id": None,
                "client_id": None, "location": None, "status": "confirmed",
                "color": _COLORS.get(event_type), "rrule": None, "series_end_at": end_ms,
                "created_at": now, "updated_at": now, "created_by": actor,
                "updated_by": actor, "version": 1, "deleted_at": None, **extra,
            }
        )  # fmt: skip

    start, end = (at_minutes_ms(monday, m, tz) for m in _TEAM_MEETING)
    rule = canonical(f"FREQ=WEEKLY;BYDAY=MO;COUNT={WEEKS}", start, tz)
    add("Weekly team meeting", "meeting", start, end, rrule=rule, location="Workshop",
        series_end_at=Series(rule, start, end, tz.key).last_end_ms())  # fmt: skip
    workdays = [monday + timedelta(days=d) for d in range(WEEKS * 7) if d % 7 < 5]
    for index, technician_id in enumerate(technicians):
        for day in rng.sample(workdays, k=min(len(workdays), 8)):
            first, last, label = rng.choice(_APPOINTMENTS)
            client_id, client_name = rng.choice(clients) if clients else (None, "a client")
            add(f"{label}: {client_name}", "appointment", at_minutes_ms(day, first, tz),
                at_minutes_ms(day, last, tz), technician_id=technician_id,
                client_id=client_id, location="Reception")  # fmt: skip
        training = rng.choice(workdays)
        add("Film supplier training", "meeting", at_minutes_ms(training, 14 * 60, tz),
            at_minutes_ms(training, 16 * 60, tz), technician_id=technician_id,
            status=rng.choice(["confirmed", "tentative"]))  # fmt: skip
        reminder = rng.choice(workdays)
        add(
            "Order more film",
            "reminder",
            at_minutes_ms(reminder, 9 * 60, tz),
            at_minutes_ms(reminder, 9 * 60 + 15, tz),
            technician_id=technician_id,
        )
        if index % 2 == 0:  # every other technician takes a day or three off
            first_day: date = rng.choice(workdays)
            last_day = first_day + timedelta(days=rng.randint(0, 2))
            start, end = midnight_ms(first_day, tz), midnight_ms(last_day + timedelta(days=1), tz)
            add("Time off", "time_off", start, end, technician_id=technician_id, all_day=True,
                series_end_at=end)  # fmt: skip
    if rows:
        db.execute(insert(CalendarEvent), rows)
    return len(rows)
