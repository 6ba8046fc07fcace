"""Exports: render a report into a file, list the files, hand them out.

Who sees an export: the user who made it, and admins. The file is written before the
command commits; if the command then fails, the rollback hook removes it, so a refusal
never leaves a file behind.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from typing import BinaryIO, Final

from rpma.core.clock import clock
from rpma.core.context import CommandContext
from rpma.core.errors import NotFound, ValidationFailed
from rpma.domains.reports.builders import build_document
from rpma.domains.reports.export_schemas import (
    INLINE_MAX_BYTES,
    ExportDownload,
    ExportList,
    ExportReportDataRequest,
    ExportResult,
    Transfer,
)
from rpma.domains.reports.exports import EXPORT_FORMATS, ExportRecord, ExportStore, parse_format
from rpma.domains.reports.schemas import REPORT_TYPES
from rpma.domains.streams.schemas import StartStreamRequest, StreamChunkRequest, StreamMetadata
from rpma.domains.streams.service import StreamService
from rpma.domains.streams.storage import StreamStorage

__all__ = ["ExportService", "file_stem"]

STREAM_CHUNK: Final = 1024 * 1024
_CAMEL: Final = re.compile(r"(?<!^)(?=[A-Z])")


def file_stem(report_type: str) -> str:
    """TaskCompletion -> task-completion."""
    return _CAMEL.sub("-", report_type).lower()


class ExportService:
    def __init__(self, ctx: CommandContext) -> None:
        self.ctx = ctx
        self.store = ExportStore(ctx.services.settings.data_dir)

    # export_report_data -----------------------------------------------------------------
    def export_report(self, req: ExportReportDataRequest) -> ExportResult:
        export_format = parse_format(req.format)
        if req.report_type not in REPORT_TYPES:
            raise ValidationFailed(
                message=f"report_type must be one of: {', '.join(REPORT_TYPES)}",
                fields=[{"field": "report_type", "message": "unknown report type"}],
            )
        document = build_document(self.ctx.db, req.report_type, req.filters, self.ctx.user)
        spec = EXPORT_FORMATS[export_format]
        start, end = document.period_start.isoformat(), document.period_end.isoformat()
        record = self.write(
            kind="report",
            report_type=req.report_type,
            export_format=export_format,
            file_name=f"{file_stem(req.report_type)}_{start}_{end}.{spec.extension}",
            content_type=spec.content_type,
            write=lambda target: spec.render(document, target),
            period=(start, end),
        )
        return result(record)

    def write(
        self,
        *,
        kind: str,
        report_type: str,
        export_format: str,
        file_name: str,
        content_type: str,
        write: Callable[[BinaryIO], object],
        subject_id: str | None = None,
        period: tuple[str, str] | None = None,
    ) -> ExportRecord:
        """A new export file of the caller's; removed again if the command fails."""
        now = clock.now_ms()
        self.store.cleanup(now)
        record = self.store.write(
            kind=kind,
            report_type=report_type,
            export_format=export_format,
            file_name=file_name,
            content_type=content_type,
            created_at=now,
            created_by=self.ctx.user.user_id,
            write=write,
            subject_id=subject_id,
            period=period,
        )
        store, export_id = self.store, record.export_id
        self.ctx.on_rollback(lambda: store.remove(export_id))
        return record

    # export_download, export_list --------------------------------------------------------
    def download(self, export_id: str, transfer: Transfer) -> ExportDownload:
        return self.deliver(self._visible(export_id), transfer)

    def list(self, limit: int) -> ExportList:
        user = self.ctx.user
        mine = [r for r in self.store.all() if user.is_admin or r.created_by == user.user_id]
        return ExportList(exports=[result(r) for r in mine[:limit]])

    def deliver(self, record: ExportRecord, transfer: Transfer) -> ExportDownload:
        inline = transfer == "inline" or (
            transfer == "auto" and record.size_bytes <= INLINE_MAX_BYTES
        )
        if transfer == "inline" and record.size_bytes > INLINE_MAX_BYTES:
            raise ValidationFailed(
                message=f"the export holds {record.size_bytes} bytes; inline answers hold at "
                f"most {INLINE_MAX_BYTES}: ask for transfer 'stream'",
                field="transfer",
                limit=INLINE_MAX_BYTES,
            )
        answer = ExportDownload(
            export_id=record.export_id,
            file_name=record.file_name,
            format=record.format,
            content_type=record.content_type,
            size_bytes=record.size_bytes,
            checksum=record.checksum,
            transfer="inline" if inline else "stream",
        )
        if inline:
            with self.store.open(record) as handle:
                answer.data = base64.b64encode(handle.read()).decode("ascii")
        else:
            answer.stream = self._stream(record)
        return answer

    def _stream(self, record: ExportRecord) -> StreamMetadata:
        """Copy the file into a complete stream of the caller's (the streams domain's own
        rules: chunk by chunk, SHA-256 checked), read with get_stream_data."""
        ctx = self.ctx
        streams = StreamService(ctx.db, ctx.services, ctx.user, after_commit=ctx.after_commit)
        stream_id = f"export-{uuid.uuid4().hex}"
        storage = StreamStorage(ctx.services.settings.data_dir)
        ctx.on_rollback(lambda: storage.remove(stream_id))
        metadata = streams.start(
            StartStreamRequest.model_validate(
                {
                    "stream_id": stream_id,
                    "total_size": record.size_bytes,
                    "content_type": record.content_type,
                    "chunk_size": STREAM_CHUNK,
                    "checksum": record.checksum,
                    "metadata": {"export_id": record.export_id, "file_name": record.file_name},
                }
            )
        )
        with self.store.open(record) as handle:
            index = 0
            while block := handle.read(STREAM_CHUNK):
                chunk = StreamChunkRequest.model_validate(
                    {"stream_id": stream_id, "chunk_index": index, "chunk_data": block}
                )
                streams.receive_chunk(chunk, even_on_failure=ctx.even_on_failure)
                index += 1
        return metadata

    def _visible(self, export_id: str) -> ExportRecord:
        record = self.store.get(export_id)
        user = self.ctx.user
        if not (user.is_admin or record.created_by == user.user_id):
            raise NotFound("NOT_FOUND", message="Export not found", export_id=export_id)
        return record


def result(record: ExportRecord) -> ExportResult:
    return ExportResult(
        export_id=record.export_id,
        file_path=record.relative_path,
        file_name=record.file_name,
        format=record.format,
        content_type=record.content_type,
        size_bytes=record.size_bytes,
        checksum=record.checksum,
        report_type=record.report_type,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )
