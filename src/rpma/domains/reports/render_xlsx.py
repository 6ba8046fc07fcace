"""A ReportDocument as an Excel workbook (xlsxwriter; docs/EXPORTS.md, "Excel").

* ``Summary``: the report's title, shop, period, generation time and headline metrics,
  then the document's charts as native Excel charts.
* ``Chart data``: the figures the charts draw (Excel charts need cells to point at).
* one sheet per table: a bold header row frozen in place, an autofilter, widths fitted
  to the content, typed cells: numbers as numbers, dates as dates (``yyyy-mm-dd``),
  percents as fractions shown ``0.0%`` (85 % is the cell value 0.85), money ``#,##0.00``,
  durations as minutes (``#,##0 "min"``).

Text is always written as text: a cell starting with ``=`` is never a formula.
The workbook is written in constant-memory mode, row after row.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, BinaryIO, Final

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from rpma.domains.reports.document import CellValue, Chart, ReportDocument, Table, ValueKind

__all__ = ["CONTENT_TYPE", "render_xlsx"]

CONTENT_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NUMBER_FORMATS: Final[dict[str, str]] = {
    "int": "#,##0",
    "decimal": "#,##0.00",
    "percent": "0.0%",
    "money": "#,##0.00",
    "minutes": '#,##0 "min"',
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
_SHEET_UNSAFE: Final = re.compile(r"[\[\]:*?/\\]")
_WIDTH_SAMPLE: Final = 500  # rows looked at to fit a column's width
_MAX_WIDTH: Final = 60
_CHART_ROWS: Final = 18  # rows a chart takes on the summary sheet
_EXCEL_CHART: Final = {"line": "line", "bar": "column", "pie": "pie"}


class _Formats:
    def __init__(self, book: Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 16})
        self.label = book.add_format({"bold": True})
        self.header = book.add_format(
            {"bold": True, "bg_color": "#1F3A5F", "font_color": "#FFFFFF", "border": 1}
        )
        self.by_kind = {
            kind: book.add_format({"num_format": f}) for kind, f in _NUMBER_FORMATS.items()
        }
        self.text = book.add_format({})

    def of(self, kind: ValueKind) -> Format:
        return self.by_kind.get(kind, self.text)


def render_xlsx(document: ReportDocument, target: BinaryIO) -> None:
    book = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "remove_timezone": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    formats = _Formats(book)
    names: set[str] = set()
    summary = book.add_worksheet(_sheet_name("Summary", names))
    chart_data = book.add_worksheet(_sheet_name("Chart data", names)) if document.charts else None
    table_sheets = [(book.add_worksheet(_sheet_name(t.title, names)), t) for t in document.tables]
    next_row = _write_summary(summary, document, formats)
    if chart_data is not None:
        _write_charts(book, summary, chart_data, document.charts, next_row + 1, formats)
    for sheet, table in table_sheets:
        _write_table(sheet, table, formats)
    book.close()


def _write_summary(sheet: Worksheet, document: ReportDocument, formats: _Formats) -> int:
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 24)
    sheet.write_string(0, 0, document.title, formats.title)
    rows: list[tuple[str, CellValue, ValueKind]] = [
        ("Shop", document.company, "text"),
        ("Period start", document.period_start, "date"),
        ("Period end", document.period_end, "date"),
        ("Generated at (UTC)", _utc(document.generated_at), "datetime"),
    ]
    rows += [(m.label, m.value, m.kind) for m in document.summary]
    for offset, (label, value, kind) in enumerate(rows, start=2):
        sheet.write_string(offset, 0, label, formats.label)
        _write_cell(sheet, offset, 1, value, kind, formats)
    return 2 + len(rows)


def _write_charts(  # noqa: PLR0917
    book: Workbook,
    summary: Worksheet,
    data: Worksheet,
    charts: list[Chart],
    first_row: int,
    formats: _Formats,
) -> None:
    data_name = data.get_name().replace("'", "''")
    row = 0
    for number, spec in enumerate(charts):
        data.write_string(row, 0, spec.title, formats.label)
        header = row + 1
        data.write_string(header, 0, "Category", formats.header)
        for col, series in enumerate(spec.series, start=1):
            data.write_string(header, col, series.name, formats.header)
        for index, category in enumerate(spec.categories):
            data.write_string(header + 1 + index, 0, category)
            for col, series in enumerate(spec.series, start=1):
                if index < len(series.values):
                    data.write_number(header + 1 + index, col, series.values[index])
        first, last = header + 1, header + max(len(spec.categories), 1)
        chart = book.add_chart({"type": _EXCEL_CHART[spec.kind]})
        assert chart is not None
        shown = spec.series[:1] if spec.kind == "pie" else spec.series
        for col, series in enumerate(shown, start=1):
            chart.add_series(
                {
                    "name": series.name,
                    "categories": [data_name, first, 0, last, 0],
                    "values": [data_name, first, col, last, col],
                    **({"data_labels": {"percentage": True}} if spec.kind == "pie" else {}),
                }
            )
        chart.set_title({"name": spec.title})
        chart.set_legend({"position": "right" if spec.kind == "pie" else "bottom"})
        chart.set_size({"width": 720, "height": 340})
        summary.insert_chart(first_row + number * _CHART_ROWS, 0, chart)
        row = last + 2
    data.set_column(0, 0, 28)
    data.set_column(1, max(len(c.series) for c in charts), 16)


def _write_table(sheet: Worksheet, table: Table, formats: _Formats) -> None:
    columns = table.columns
    for col in range(len(columns)):
        sheet.set_column(col, col, _width(table, col))
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.title, formats.header)
    sheet.freeze_panes(1, 0)
    if columns:
        sheet.autofilter(0, 0, max(len(table.rows), 1), len(columns) - 1)
    for index, values in enumerate(table.rows, start=1):
        for col, column in enumerate(columns):
            if col < len(values):
                _write_cell(sheet, index, col, values[col], column.kind, formats)


def _write_cell(  # noqa: PLR0917
    sheet: Worksheet, row: int, col: int, value: CellValue, kind: ValueKind, formats: _Formats
) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value, formats.of("datetime"))
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, formats.of("date"))
    elif isinstance(value, int | float):
        number = value / 100 if kind == "percent" else value
        sheet.write_number(row, col, number, formats.of(kind))
    else:
        sheet.write_string(row, col, value)


def _width(table: Table, col: int) -> float:
    column = table.columns[col]
    widest = len(column.title) + 4  # room for the autofilter's arrow
    for values in table.rows[:_WIDTH_SAMPLE]:
        if col < len(values):
            widest = max(widest, len(_shown(values[col], column.kind)))
    return min(widest + 2, _MAX_WIDTH)


def _shown(value: Any, kind: ValueKind) -> str:
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return "yyyy-mm-dd"
    if isinstance(value, float) and kind in {"money", "decimal"}:
        return f"{value:,.2f}"
    if isinstance(value, int | float) and kind == "minutes":
        return f"{value:,.0f} min"
    return str(value) if value is not None else ""


def _utc(moment: datetime) -> datetime:
    """Excel has no time zones: the instant in UTC, as the label says."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


def _sheet_name(title: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique ignoring case."""
    base = _SHEET_UNSAFE.sub(" ", title).strip().strip("'")[:31] or "Sheet"
    name, number = base, 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name
