"""Task numbers ``YYYYMMDD-NNN``: the day of creation (UTC) and a per-day counter.

The counter row is bumped by one atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
so that two creations, even on two server processes, never get the same number; the row
stays locked until the creating transaction ends, and a rolled-back creation gives its
number back.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.domains.tasks.models import TaskNumberCounter


def today_key() -> str:
    return clock.now().strftime("%Y%m%d")


def reserve_numbers(db: Session, count: int = 1, day: str | None = None) -> list[str]:
    """``count`` fresh, consecutive task numbers of ``day`` (today by default)."""
    if count < 1:
        return []
    day = day or today_key()
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TaskNumberCounter)
        .values(day=day, last_number=count)
        .on_conflict_do_update(
            index_elements=[TaskNumberCounter.day],
            set_={"last_number": TaskNumberCounter.last_number + count},
        )
        .returning(TaskNumberCounter.last_number)
    )
    last = int(db.execute(statement).scalar_one())
    return [format_number(day, n) for n in range(last - count + 1, last + 1)]


def format_number(day: str, sequence: int) -> str:
    # At least three digits; a thousandth task on one day simply gets a fourth.
    return f"{day}-{sequence:03d}"
