"""The renderers on a hand-built ReportDocument: every format gives a valid file whose
content reads back exactly (PDF with pypdf, Excel with openpyxl and the package's chart
parts, CSV with the csv module), formula injection neutralised, values formatted by kind."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from rpma.domains.reports.document import (
    CellValue,
    Chart,
    Column,
    Metric,
    ReportDocument,
    Series,
    Table,
)
from rpma.domains.reports.render_csv import render_csv
from rpma.domains.reports.render_format import csv_text, display, duration
from rpma.domains.reports.render_pdf import render_pdf
from rpma.domains.reports.render_xlsx import render_xlsx

TECHS = ["Alice Martin", "Bruno Keller", "Chloé Dubois"]


def document(rows: int = 3) -> ReportDocument:
    tasks: list[list[CellValue]] = [
        [
            f"T-{i:04d}",
            '=HYPERLINK("http://evil")' if i == 1 else f"Hood {i}",
            date(2026, 10, 1 + i % 28),
            85 + i,
            91.5,
            1234.5 + i,
        ]
        for i in range(rows)
    ]
    return ReportDocument(
        report_type="TaskCompletion",
        title="Task completion",
        company="Clearshield PPF Studio",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        generated_at=datetime(2026, 11, 24, 10, 15, tzinfo=UTC),
        summary=[
            Metric("Tasks", 412),
            Metric("Completion rate", 91.5, "percent"),
            Metric("Average duration", 85, "minutes"),
            Metric("Material value", 48210.5, "money"),
        ],
        charts=[
            Chart(
                "Tasks per day",
                "line",
                ["01 Oct", "02 Oct", "03 Oct"],
                [Series("Created", [3, 5, 4]), Series("Completed", [2, 5, 3])],
            ),
            Chart("Completed by technician", "bar", TECHS, [Series("Completed", [40, 55, 61])]),
            Chart(
                "Tasks by status", "pie", ["completed", "scheduled"], [Series("Tasks", [377, 35])]
            ),
        ],
        tables=[
            Table(
                "By technician",
                [
                    Column("name", "Technician"),
                    Column("done", "Completed", "int"),
                    Column("rate", "On-time rate", "percent"),
                ],
                [[t, 40 + i, 90.0 + i] for i, t in enumerate(TECHS)],
            ),
            Table(
                "Tasks",
                [
                    Column("n", "Task"),
                    Column("t", "Title"),
                    Column("d", "Scheduled", "date"),
                    Column("m", "Duration", "minutes"),
                    Column("p", "Rate", "percent"),
                    Column("v", "Value", "money"),
                ],
                tasks,
            ),
        ],
    )


def rendered(render: object, doc: ReportDocument) -> bytes:
    buffer = io.BytesIO()
    render(doc, buffer)  # type: ignore[operator]
    return buffer.getvalue()


def test_display_formats_by_kind() -> None:
    assert display(91.456, "percent") == "91.5 %"
    assert display(48210.5, "money") == "48,210.50"
    assert display(85, "minutes") == "1 h 25 min"
    assert display(120, "minutes") == "2 h"
    assert display(40.4, "minutes") == "40 min"
    assert display(12345, "int") == "12,345"
    assert display(date(2026, 1, 2), "date") == "2026-01-02"
    assert display(None, "int") == "\u2013"
    assert duration(-65) == "-1 h 5 min"
    assert csv_text("=1+1") == "'=1+1"
    assert csv_text("-5") == "'-5"
    assert csv_text(-5) == "-5"
    assert csv_text(2.5) == "2.5"
    assert csv_text(3.0) == "3"


def test_pdf_has_title_page_figures_tables_and_page_numbers() -> None:
    data = rendered(render_pdf, document(rows=300))
    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) == 9
    assert "Clearshield PPF Studio" in pages[0]
    assert "Task completion" in pages[0]
    assert "01 October 2026 \u2013 31 October 2026" in pages[0]
    assert "Page" not in pages[0]  # no footer on the title page
    summary = pages[1]
    for figure in ("412", "91.5 %", "1 h 25 min", "48,210.50", "Tasks per day"):
        assert figure in summary
    text = "\n".join(pages)
    for value in ("Alice Martin", "Chloé Dubois", "T-0299", "1,533.50"):
        assert value in text
    assert f"Page 9 of {len(pages)}" in pages[-1]
    assert "Generated 2026-11-24 10:15 UTC" in pages[-1]
    # The header row repeats on every page the Tasks table runs over.
    assert all("Scheduled" in page for page in pages[3:])
    assert reader.metadata is not None
    assert reader.metadata.title == ("Task completion \u2013 Clearshield PPF Studio")


def test_pdf_of_an_empty_report_is_still_a_report() -> None:
    empty = ReportDocument(
        report_type="Overview",
        title="Overview",
        company="Shop",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 1),
        generated_at=datetime(2026, 1, 2, tzinfo=UTC),
        charts=[Chart("By status", "pie", [], [])],
        tables=[Table("Tasks", [Column("n", "Task")], [])],
    )
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(rendered(render_pdf, empty))).pages]
    assert "01 January 2026" in pages[0]
    assert "No data in this period" in pages[1]
    assert "No rows in this period." in pages[1]


def test_excel_has_typed_sheets_frozen_filtered_and_native_charts() -> None:
    data = rendered(render_xlsx, document())
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "Chart data", "By technician", "Tasks"]
    summary = book["Summary"]
    assert summary["A1"].value == "Task completion"
    assert [summary.cell(r, 1).value for r in range(3, 11)] == [
        "Shop",
        "Period start",
        "Period end",
        "Generated at (UTC)",
        "Tasks",
        "Completion rate",
        "Average duration",
        "Material value",
    ]
    assert summary["B3"].value == "Clearshield PPF Studio"
    assert summary["B4"].value == datetime(2026, 10, 1)
    assert summary["B4"].number_format == "yyyy-mm-dd"
    assert summary["B7"].value == 412
    assert summary["B8"].value == pytest.approx(0.915)
    assert summary["B8"].number_format == "0.0%"
    tasks = book["Tasks"]
    assert tasks.freeze_panes == "A2"
    assert tasks.auto_filter.ref == "A1:F4"
    assert [c.value for c in tasks[1]] == [
        "Task",
        "Title",
        "Scheduled",
        "Duration",
        "Rate",
        "Value",
    ]
    row = [c.value for c in tasks[3]]
    assert row == ["T-0001", '=HYPERLINK("http://evil")', datetime(2026, 10, 2), 86, 0.915, 1235.5]
    assert tasks["B3"].data_type == "s"  # text, never a formula
    assert tasks["C3"].is_date
    assert tasks["C3"].number_format == "yyyy-mm-dd"
    assert tasks["F3"].number_format == "#,##0.00"
    assert tasks.column_dimensions["B"].width > tasks.column_dimensions["A"].width - 4
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        charts = sorted(n for n in package.namelist() if n.startswith("xl/charts/chart"))
        kinds = [package.read(n).decode() for n in charts]
    assert len(charts) == 3
    assert "<c:lineChart>" in kinds[0]
    assert "<c:barChart>" in kinds[1]
    assert '<c:barDir val="col"/>' in kinds[1]
    assert "<c:pieChart>" in kinds[2]
    assert "'Chart data'!$A$3:$A$5" in kinds[0]


def test_csv_sections_read_back_exactly() -> None:
    data = rendered(render_csv, document())
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for record in records:
        if not record:
            current = []
        elif record[0] == "section" and not current:
            sections[record[1]] = current
        else:
            current.append(record)
    assert list(sections) == ["Report", "Summary", "By technician", "Tasks"]
    assert sections["Report"] == [
        ["report_type", "TaskCompletion"],
        ["title", "Task completion"],
        ["company", "Clearshield PPF Studio"],
        ["period_start", "2026-10-01"],
        ["period_end", "2026-10-31"],
        ["generated_at", "2026-11-24T10:15:00+00:00"],
    ]
    assert sections["Summary"] == [
        ["metric", "value"],
        ["Tasks", "412"],
        ["Completion rate", "91.5"],
        ["Average duration", "85"],
        ["Material value", "48210.5"],
    ]
    assert sections["By technician"][1] == ["Alice Martin", "40", "90"]
    assert sections["Tasks"] == [
        ["Task", "Title", "Scheduled", "Duration", "Rate", "Value"],
        ["T-0000", "Hood 0", "2026-10-01", "85", "91.5", "1234.5"],
        ["T-0001", '\'=HYPERLINK("http://evil")', "2026-10-02", "86", "91.5", "1235.5"],
        ["T-0002", "Hood 2", "2026-10-03", "87", "91.5", "1236.5"],
    ]
