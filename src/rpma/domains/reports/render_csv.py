"""A ReportDocument as one CSV file, a section per table (docs/EXPORTS.md, "CSV").

    section,Report                     <- the document's own fields, key,value
    report_type,TaskCompletion
    ...
    <empty line>
    section,Summary                    <- the headline metrics, metric,value
    metric,value
    Completion rate,85.0
    <empty line>
    section,<table title>              <- then each table: a header row, the rows
    <column titles>
    <rows>

A program reads it with any CSV reader: an empty record ends a section, the next record
names the following one. Values are machine-readable (ISO dates, a dot for decimals, no
thousands separators, percents as 0-100); text that a spreadsheet would run as a formula
is prefixed with a single quote. UTF-8 with a byte-order mark, so that Excel opens
accented names correctly; records end with CRLF (RFC 4180).
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

from rpma.domains.reports.document import ReportDocument
from rpma.domains.reports.render_format import csv_text

__all__ = ["CONTENT_TYPE", "render_csv"]

CONTENT_TYPE = "text/csv; charset=utf-8"


def render_csv(document: ReportDocument, target: BinaryIO) -> None:
    """Write ``document`` to ``target`` (a binary file), row by row."""
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=False)
    try:
        writer = csv.writer(text)
        writer.writerow(["section", "Report"])
        writer.writerows(
            [
                ["report_type", document.report_type],
                ["title", csv_text(document.title)],
                ["company", csv_text(document.company)],
                ["period_start", document.period_start.isoformat()],
                ["period_end", document.period_end.isoformat()],
                ["generated_at", document.generated_at.isoformat()],
            ]
        )
        if document.summary:
            writer.writerow([])
            writer.writerow(["section", "Summary"])
            writer.writerow(["metric", "value"])
            writer.writerows(
                [csv_text(metric.label), csv_text(metric.value)] for metric in document.summary
            )
        for table in document.tables:
            writer.writerow([])
            writer.writerow(["section", csv_text(table.title)])
            writer.writerow([csv_text(column.title) for column in table.columns])
            writer.writerows([csv_text(value) for value in row] for row in table.rows)
        text.flush()
    finally:
        text.detach()  # the caller owns (and closes) the binary file
