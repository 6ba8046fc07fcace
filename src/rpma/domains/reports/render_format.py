"""How a typed value reads for people (the PDF) and for text files (the CSV).

One place for both, so that a percent or a duration reads the same on paper and in a
spreadsheet cell. Excel gets the raw values with a number format instead (render_xlsx).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

from rpma.domains.reports.document import CellValue, ValueKind

__all__ = ["NUMERIC_KINDS", "csv_text", "display", "neutralise", "slug"]

NUMERIC_KINDS: Final = frozenset({"int", "decimal", "percent", "money", "minutes"})
# A spreadsheet runs a cell that starts with one of these as a formula (the same rule as
# the tasks domain's CSV export).
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9]+")


def neutralise(cell: str) -> str:
    """A leading single quote makes a spreadsheet show the text instead of running it."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def duration(minutes: float) -> str:
    """85 -> "1 h 25 min"; 40 -> "40 min"; 120 -> "2 h"; days stay hours (a shop thinks
    in hours of work)."""
    total = round(minutes)
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 60)
    if hours and rest:
        return f"{sign}{hours:,} h {rest} min"
    if hours:
        return f"{sign}{hours:,} h"
    return f"{sign}{rest} min"


def display(value: CellValue, kind: ValueKind) -> str:
    """The value as a person reads it: thousands separators, two decimals for money, one
    for percents, durations in hours and minutes, ISO dates (no locale guessing)."""
    if value is None or value == "":
        return "\u2013"  # an en dash: "no value"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if kind == "percent":
        return f"{value:,.1f} %"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "minutes":
        return duration(value)
    if kind == "int":
        return f"{round(value):,}"
    if kind == "decimal":
        return f"{value:,.2f}"
    return str(value)


def csv_text(value: CellValue) -> str:
    """The value for a CSV cell: machine-readable (no separators, ISO dates, a dot for
    decimals), text neutralised against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6)) if value != int(value) else str(int(value))
    return neutralise(value)


def slug(text: str) -> str:
    """A file-name-safe form of a title or report type."""
    return _UNSAFE.sub("-", text).strip("-").lower() or "report"
