"""Task numbers ``YYYYMMDD-NNN``: the day of creation (UTC) and a per-day counter (shared
between synced machines by stride and offset: ``NumberSpace``).

The counter row is bumped by one atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
so that two creations, even on two server processes, never get the same number; the row
stays locked until the creating transaction ends, and a rolled-back creation gives its
number back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rpma.config import Settings
from rpma.core.clock import clock
from rpma.domains.tasks.models import TaskNumberCounter


def today_key() -> str:
    return clock.now().strftime("%Y%m%d")


@dataclass(frozen=True)
class NumberSpace:
    """Machine ``offset`` (1..``stride``) of ``stride`` machines sharing the numbers."""

    stride: int = 1
    offset: int = 1


ONE_MACHINE: Final = NumberSpace()


def reserve_numbers(
    db: Session, count: int = 1, day: str | None = None, *, space: NumberSpace = ONE_MACHINE
) -> list[str]:
    """``count`` fresh task numbers of ``day`` (today by default). The day's counter
    counts this machine's tasks; with ``stride`` n and ``offset`` k (1..n) the k-th of n
    synced machines (``space``) turns its counter c into (c - 1) * n + k, so that no two
    machines issue the same number."""
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
    return [
        format_number(day, (n - 1) * space.stride + space.offset)
        for n in range(last - count + 1, last + 1)
    ]


def number_space(settings: Settings) -> NumberSpace:
    """This machine's share of the number space (``RPMA_TASK_NUMBER_STRIDE/_OFFSET``)."""
    return NumberSpace(settings.task_number_stride, settings.task_number_offset)


def format_number(day: str, sequence: int) -> str:
    # At least three digits; a thousandth task on one day simply gets a fourth.
    return f"{day}-{sequence:03d}"
