"""export_report_data (seed: Report Commands), export_download and export_list (new);
docs/EXPORTS.md. Thin: validate, call the service, answer.

Who: the matrix's ``report.export`` (admin, supervisor). An export is its maker's: an
admin sees every export, a supervisor the ones they made.
"""

from __future__ import annotations

from rpma.core.commands import RateClass, command
from rpma.core.context import CommandContext
from rpma.domains.reports.export_schemas import (
    ExportDownload,
    ExportDownloadRequest,
    ExportList,
    ExportListRequest,
    ExportReportDataRequest,
    ExportResult,
)
from rpma.domains.reports.export_service import ExportService

PERMISSION = "report.export"
_SESSION_ERRORS = ("AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED")


@command(
    "export_report_data",
    request=ExportReportDataRequest,
    response=ExportResult,
    permission=PERMISSION,
    limit=RateClass.REPORTS,
    writes=False,
    errors=["VALIDATION_ERROR", "IO_ERROR", "RATE_LIMIT", *_SESSION_ERRORS],
)
def export_report_data(ctx: CommandContext, req: ExportReportDataRequest) -> ExportResult:
    """Render a report into a file under the data directory's `exports` folder:
    `{report_type, format, filters}` where `report_type` is one of TaskCompletion,
    TechnicianPerformance, ClientAnalytics, QualityCompliance, MaterialUsage,
    Geographic, Overview; `format` is `pdf`, `csv` or `excel` (any case); `filters` is
    the seed's `ReportFilters` (a range of at most five years, the end not before the
    start). PDF: a title page, headline figures, charts and tables for people; CSV: one
    file, a section per table; Excel: a summary sheet with native charts and one typed
    sheet per table (docs/EXPORTS.md). Answers the seed's `ExportResult` (`file_path`
    relative to the data directory, `format`, `size_bytes`) plus `export_id`,
    `file_name`, `content_type`, `checksum` (SHA-256), `report_type`, `created_at` and
    `expires_at` (exports are kept 30 days). Fetch the file with `export_download`.
    An unknown type or format is `VALIDATION_ERROR` and writes nothing.
    """
    return ExportService(ctx).export_report(req)


@command(
    "export_download",
    request=ExportDownloadRequest,
    response=ExportDownload,
    permission=PERMISSION,
    errors=["VALIDATION_ERROR", "NOT_FOUND", "IO_ERROR", *_SESSION_ERRORS],
)
def export_download(ctx: CommandContext, req: ExportDownloadRequest) -> ExportDownload:
    """A finished export of yours (an admin's: any): `{export_id, transfer?}`. With
    `transfer` `auto` (the default) a file up to 8 MiB comes inline, `data` base64;
    a larger one comes as `stream`, the metadata of a complete stream of yours holding
    the file (read it with `get_stream_data {stream_id}`; SHA-256 in `checksum`).
    `inline` or `stream` force one way (`inline` over 8 MiB is `VALIDATION_ERROR`).
    An unknown, expired or someone else's export, or an id that is not a UUID, is
    `NOT_FOUND`.
    """
    return ExportService(ctx).download(req.export_id, req.transfer)


@command(
    "export_list",
    request=ExportListRequest,
    response=ExportList,
    permission=PERMISSION,
    writes=False,
    errors=["VALIDATION_ERROR", *_SESSION_ERRORS],
)
def export_list(ctx: CommandContext, req: ExportListRequest) -> ExportList:
    """The finished exports you may download (an admin: everyone's), newest first:
    `{exports: [ExportResult]}`, at most `limit` (1-200, default 50). Handover reports
    appear here too (`report_type` `InterventionHandover`)."""
    return ExportService(ctx).list(req.limit)
