"""Small pieces the document builders share: trend lines over the range's days, pies,
labels people read."""

from __future__ import annotations

from typing import Final

from rpma.domains.reports.document import Chart, Series
from rpma.domains.reports.scope import ReportScope, epoch_day_number

# A line with more points than this is drawn per week (a year of days is unreadable).
MAX_DAILY_POINTS: Final = 92


def label_status(status: str) -> str:
    return status.replace("_", " ").capitalize()


def day_series(
    title: str, scope: ReportScope, series: dict[str, dict[int, float]], *, average: bool = False
) -> Chart:
    """A line over every day of the range (zeros where nothing happened), or over weeks
    (starting on the range's first day) when the range is long: weekly points add up the
    days, or average the days that have a value when ``average``."""
    days = scope.days
    step = 1 if len(days) <= MAX_DAILY_POINTS else 7
    categories: list[str] = []
    buckets: list[list[int]] = []
    for index in range(0, len(days), step):
        chunk = days[index : index + step]
        categories.append(chunk[0].isoformat())
        buckets.append([epoch_day_number(day) for day in chunk])
    lines = []
    for name, values in series.items():
        points: list[float] = []
        for numbers in buckets:
            found = [values[n] for n in numbers if n in values]
            if average:
                points.append(round(sum(found) / len(found), 2) if found else 0.0)
            else:
                points.append(float(sum(found)))
        lines.append(Series(name, points))
    unit = "day" if step == 1 else "week"
    return Chart(
        title if step == 1 else title.replace("per day", f"per {unit}"), "line", categories, lines
    )


def pie(title: str, slices: list[tuple[str, float]]) -> Chart:
    return Chart(
        title,
        "pie",
        [label for label, _ in slices],
        [Series(title, [value for _, value in slices])],
    )
