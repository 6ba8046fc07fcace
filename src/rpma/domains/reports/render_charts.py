"""A report's charts as reportlab drawings (vector graphics inside the PDF).

Line for trends over days, vertical bars for a figure per technician or client, a pie for
shares per status. Labels are thinned or rotated so that they never overlap, the value
axis starts at zero with round steps, and every chart has a legend (a pie's legend holds
each slice's share, so small slices need no label of their own).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Final

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont

from rpma.domains.reports.document import Chart

__all__ = ["BOLD", "FONT", "PALETTE", "chart_drawing", "register_fonts"]

# Colour-blind-safe (Okabe-Ito), readable in greyscale print too.
PALETTE: Final = [
    colors.HexColor(code)
    for code in (
        "#0072B2",
        "#E69F00",
        "#009E73",
        "#CC79A7",
        "#56B4E9",
        "#D55E00",
        "#F0E442",
        "#000000",
        "#882255",
        "#44AA99",
        "#999933",
        "#AA4499",
    )
]
FONT: Final = "RpmaSans"
BOLD: Final = "RpmaSans-Bold"
# DejaVu covers most alphabets a client's name may use; reportlab's bundled Vera (the
# font DejaVu grew from, Latin only) is the fallback where DejaVu is not installed.
_FONT_FILES: Final = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("Vera.ttf", "VeraBd.ttf"),
)
_MAX_LABEL: Final = 18  # characters of a category label before it is shortened
_MAX_X_LABELS: Final = 14  # category labels drawn on an x axis at most
_MAX_SLICES: Final = 10  # a pie with more slices cannot be read


def register_fonts() -> None:
    """Register the PDF fonts once per process (embedded, subset, in every PDF)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for regular, bold in _FONT_FILES:
        try:
            pdfmetrics.registerFont(TTFont(FONT, regular))
            pdfmetrics.registerFont(TTFont(BOLD, bold))
        except Exception:  # noqa: S112 (TTFError or OSError: try the next font)
            continue
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
        return
    raise RuntimeError("no TrueType font found for the PDF exports")


def chart_drawing(chart: Chart, width: float, height: float = 220) -> Drawing:
    if chart.kind == "pie":
        return _pie(chart, width, height)
    return _bars_or_line(chart, width, height)


def _frame(chart: Chart, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    drawing.add(
        String(0, height - 12, chart.title, fontName=BOLD, fontSize=11, fillColor=colors.black)
    )
    return drawing


def _bars_or_line(chart: Chart, width: float, height: float) -> Drawing:  # noqa: PLR0915
    drawing = _frame(chart, width, height)
    series = chart.series or []
    if not chart.categories or not any(v for s in series for v in s.values):
        return _no_data(chart, width)
    categories = [_short(c) for c in _day_labels(chart.categories)]
    has_legend = len(series) > 1 or (series and series[0].name != chart.title)
    legend_height = 18 if has_legend else 0
    slot = (width - 56) / max(len(categories), 1)
    widest = max((stringWidth(c, FONT, 7) for c in _thinned(categories)), default=0.0)
    every = math.ceil(len(categories) / _MAX_X_LABELS) if len(categories) > _MAX_X_LABELS else 1
    rotate = widest > slot * every * 0.9  # labels that would touch are turned 35 degrees
    label_room = 60 if rotate else 22
    plot = VerticalBarChart() if chart.kind == "bar" else HorizontalLineChart()
    plot.x, plot.y = 46, label_room + legend_height
    plot.width = width - plot.x - 10
    plot.height = height - plot.y - 26
    values = [list(s.values) or [0.0] for s in series] or [[0.0]]
    plot.data = values
    plot.categoryAxis.categoryNames = _thinned(categories)
    plot.categoryAxis.labels.fontName = FONT
    plot.categoryAxis.labels.fontSize = 7
    if rotate:
        plot.categoryAxis.labels.angle = 35
        plot.categoryAxis.labels.boxAnchor = "ne"
        plot.categoryAxis.labels.dy = -2
    else:
        plot.categoryAxis.labels.boxAnchor = "n"
    top = max((max(v) for v in values), default=0.0)
    step = _nice_step(top)
    plot.valueAxis.valueMin = 0
    plot.valueAxis.valueMax = step * max(1, math.ceil(top / step)) if top > 0 else 1
    plot.valueAxis.valueStep = step if top > 0 else 1
    plot.valueAxis.labels.fontName = FONT
    plot.valueAxis.labels.fontSize = 7
    plot.valueAxis.labelTextFormat = _axis_format(step)
    plot.valueAxis.visibleGrid = True
    plot.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    plot.valueAxis.gridStrokeWidth = 0.4
    for index in range(len(values)):
        color = PALETTE[index % len(PALETTE)]
        if isinstance(plot, VerticalBarChart):
            plot.bars[index].fillColor = color
            plot.bars[index].strokeColor = None
        else:
            plot.lines[index].strokeColor = color
            plot.lines[index].strokeWidth = 1.6
    if isinstance(plot, VerticalBarChart):
        plot.barSpacing = 1
        plot.groupSpacing = 6
    else:
        plot.joinedLines = 1
    drawing.add(plot)
    if has_legend:
        drawing.add(
            _legend([(s.name, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)], 46, 10)
        )
    return drawing


def _pie(chart: Chart, width: float, height: float) -> Drawing:
    drawing = _frame(chart, width, height)
    values = list(chart.series[0].values) if chart.series else []
    pairs = [(c, v) for c, v in zip(chart.categories, values, strict=False) if v > 0]
    if len(pairs) > _MAX_SLICES:  # the smallest slices become one "Other" slice
        ranked = sorted(pairs, key=lambda pair: pair[1], reverse=True)
        kept = ranked[: _MAX_SLICES - 1]
        pairs = [*kept, ("Other", sum(v for _, v in ranked[_MAX_SLICES - 1 :]))]
    total = sum(v for _, v in pairs)
    if not pairs:
        return _no_data(chart, width)
    pie = Pie()
    size = min(height - 40, width / 2 - 20)
    pie.x, pie.y = 20, (height - 14 - size) / 2
    pie.width = pie.height = size
    pie.data = [v for _, v in pairs]
    pie.labels = None
    pie.startAngle = 90
    pie.direction = "clockwise"
    pie.slices.strokeColor = colors.white
    pie.slices.strokeWidth = 1
    for index in range(len(pairs)):
        pie.slices[index].fillColor = PALETTE[index % len(PALETTE)]
    drawing.add(pie)
    entries = [
        (f"{_short(name)}  {value:,.0f} ({value / total * 100:.1f} %)", PALETTE[i % len(PALETTE)])
        for i, (name, value) in enumerate(pairs)
    ]
    legend = _legend(entries, pie.x + size + 30, pie.y + size - 4, columns=1)
    drawing.add(legend)
    return drawing


def _no_data(chart: Chart, width: float) -> Drawing:
    """A chart without figures: its title and a line saying so, not an empty frame."""
    drawing = _frame(chart, width, 40)
    drawing.add(
        String(0, 8, "No data in this period", fontName=FONT, fontSize=9, fillColor=colors.grey)
    )
    return drawing


def _day_labels(categories: list[str]) -> list[str]:
    """ISO days (2026-08-01) read "01 Aug" on an axis, with the year only when the
    chart spans more than one; anything else is left as it is."""
    try:
        days = [date.fromisoformat(c) for c in categories]
    except ValueError:
        return categories
    pattern = "%d %b" if len({d.year for d in days}) == 1 else "%d %b %y"
    return [d.strftime(pattern) for d in days]


def _legend(
    entries: list[tuple[str, colors.Color]], x: float, y: float, columns: int = 0
) -> Legend:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontName = FONT
    legend.fontSize = 8
    legend.alignment = "right"
    legend.boxAnchor = "nw" if columns == 1 else "sw"
    legend.columnMaximum = len(entries) if columns == 1 else 1
    legend.dxTextSpace = 4
    legend.deltax = 110
    legend.dx = legend.dy = 7
    legend.deltay = 12
    legend.colorNamePairs = [(color, name) for name, color in entries]
    return legend


def _thinned(labels: list[str]) -> list[str]:
    """Every n-th label only, so that a month of days does not print 31 labels on top of
    each other; the first and last stay."""
    if len(labels) <= _MAX_X_LABELS:
        return labels
    every = math.ceil(len(labels) / _MAX_X_LABELS)
    last = len(labels) - 1
    return [
        label if index % every == 0 or (index == last and last % every > every // 2) else ""
        for index, label in enumerate(labels)
    ]


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def _nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` steps."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            step = float(factor * power)
            return max(step, 1.0) if top >= ticks else step
    return 10.0 * power


def _axis_format(step: float) -> Callable[[float], str]:
    if step >= 1 and float(step).is_integer():
        return lambda value: f"{value:,.0f}"
    return lambda value: f"{value:,.1f}"
