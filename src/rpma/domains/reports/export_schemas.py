"""What the export commands take and answer (seed: ``export_report_data``,
``ExportResult``; docs/EXPORTS.md)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, Field

from rpma.core.commands import IpcRequest
from rpma.domains.reports.schemas import ReportFilters
from rpma.domains.streams.schemas import StreamMetadata

__all__ = [
    "INLINE_MAX_BYTES",
    "ExportDownload",
    "ExportDownloadRequest",
    "ExportList",
    "ExportListRequest",
    "ExportReportDataRequest",
    "ExportResult",
    "HandoverExportRequest",
    "HandoverExportResult",
]

# A download up to this size travels inline (base64 in the answer); a larger one as a
# stream read with get_stream_data (CONTRACT.md section 5).
INLINE_MAX_BYTES: Final = 8 * 1024 * 1024

ExportId = Annotated[str, Field(min_length=1, max_length=80, description="an export's UUID")]
Transfer = Literal["auto", "inline", "stream"]


class ExportReportDataRequest(IpcRequest):
    report_type: Annotated[str, Field(max_length=40, description="the seed's ReportType")]
    format: Annotated[str, Field(max_length=10, description="pdf, csv or excel")]
    filters: ReportFilters


class ExportDownloadRequest(IpcRequest):
    export_id: ExportId
    transfer: Transfer = Field(
        default="auto",
        description="auto: inline up to INLINE_MAX_BYTES, else a stream; or force one",
    )


class ExportListRequest(IpcRequest):
    limit: int = Field(default=50, ge=1, le=200)


class HandoverExportRequest(IpcRequest):
    intervention_id: Annotated[str, Field(min_length=1, max_length=64)]
    transfer: Transfer = "auto"


class ExportResult(BaseModel):
    """The seed's ``ExportResult`` (``file_path``, ``format``, ``size_bytes``) and what a
    client needs to fetch or list it. ``file_path`` is relative to the data directory."""

    export_id: str
    file_path: str
    file_name: str
    format: str
    content_type: str
    size_bytes: int
    checksum: str = Field(description="SHA-256 of the file, lower hex")
    report_type: str
    created_at: int
    expires_at: int


class ExportDownload(BaseModel):
    """A finished export: ``data`` (base64) when ``transfer`` is ``inline``; else
    ``stream``, a complete stream of the caller's to read with ``get_stream_data``."""

    export_id: str
    file_name: str
    format: str
    content_type: str
    size_bytes: int
    checksum: str
    transfer: Literal["inline", "stream"]
    data: str | None = None
    stream: StreamMetadata | None = None


class ExportList(BaseModel):
    exports: list[ExportResult]


class HandoverExportResult(ExportResult):
    """The handover report's file, and the file itself (a technician has no
    ``export_download``)."""

    download: ExportDownload
