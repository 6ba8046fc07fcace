"""Export files on disk: ``<data_dir>/exports/<export_id>/<file name>`` plus
``export.json`` (who made it, what, when, its size and SHA-256).

An export has no database row: the folder is the record, so an export survives a
restore of the database and a shop can copy or delete the folder by hand. Ids are UUIDs
checked before any path is built, and every path is checked to stay inside the exports
folder, so ``../`` in an id can never reach another file. A file is written under a
temporary name and renamed when complete; ``export.json`` is written last, so a folder
without it is an unfinished export (hidden from listings, removed by the cleanup).
Exports are kept ``RETENTION_DAYS`` and removed by ``cleanup`` (run at every new export).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Final, Literal

from rpma.core.errors import IoError, NotFound, ValidationFailed
from rpma.domains.reports.document import ReportDocument
from rpma.domains.reports.render_csv import CONTENT_TYPE as CSV_TYPE
from rpma.domains.reports.render_csv import render_csv
from rpma.domains.reports.render_pdf import CONTENT_TYPE as PDF_TYPE
from rpma.domains.reports.render_pdf import render_pdf
from rpma.domains.reports.render_xlsx import CONTENT_TYPE as XLSX_TYPE
from rpma.domains.reports.render_xlsx import render_xlsx

__all__ = [
    "EXPORT_FORMATS",
    "RETENTION_DAYS",
    "ExportFormat",
    "ExportRecord",
    "ExportStore",
    "parse_format",
]

ExportFormat = Literal["pdf", "csv", "excel"]
Renderer = Callable[[ReportDocument, BinaryIO], None]


@dataclass(frozen=True)
class FormatSpec:
    extension: str
    content_type: str
    render: Renderer


EXPORT_FORMATS: Final[dict[str, FormatSpec]] = {
    "pdf": FormatSpec("pdf", PDF_TYPE, render_pdf),
    "csv": FormatSpec("csv", CSV_TYPE, render_csv),
    "excel": FormatSpec("xlsx", XLSX_TYPE, render_xlsx),
}
RETENTION_DAYS: Final = 30
_DAY_MS: Final = 24 * 60 * 60 * 1000
# A folder without export.json this old is an export whose writing failed or crashed.
_UNFINISHED_MS: Final = 60 * 60 * 1000
_RECORD: Final = "export.json"


def parse_format(value: str) -> ExportFormat:
    """The seed's ExportFormat, any case (CONTRACT.md section 4); ``xlsx`` is Excel too."""
    name = value.strip().lower()
    name = "excel" if name == "xlsx" else name
    if name not in EXPORT_FORMATS:
        raise ValidationFailed(
            message=f"format must be one of: pdf, csv, excel (got {value[:40]!r})",
            fields=[{"field": "format", "message": "unknown export format"}],
        )
    return name  # type: ignore[return-value]


@dataclass(frozen=True)
class ExportRecord:
    export_id: str
    kind: str  # "report" or "handover"
    report_type: str  # the seed's ReportType, or "InterventionHandover"
    format: str
    file_name: str
    content_type: str
    size_bytes: int
    checksum: str  # SHA-256 of the file, lower hex
    created_at: int  # Unix ms
    created_by: str
    subject_id: str | None = None  # the intervention of a handover report
    period_start: str | None = None
    period_end: str | None = None

    @property
    def relative_path(self) -> str:
        return f"exports/{self.export_id}/{self.file_name}"

    @property
    def expires_at(self) -> int:
        return self.created_at + RETENTION_DAYS * _DAY_MS


class ExportStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / "exports").resolve()

    # Paths ------------------------------------------------------------------------------
    def folder(self, export_id: str) -> Path:
        """The export's folder; an id that is not a canonical UUID is NOT_FOUND, and the
        resolved path must still be a child of the exports folder."""
        try:
            canonical = str(uuid.UUID(export_id))
        except (ValueError, AttributeError, TypeError):
            raise NotFound(
                "NOT_FOUND", message="Export not found", export_id=export_id[:80]
            ) from None
        if canonical != export_id:
            raise NotFound("NOT_FOUND", message="Export not found", export_id=export_id[:80])
        folder = (self.root / canonical).resolve()
        if folder.parent != self.root:
            raise NotFound("NOT_FOUND", message="Export not found", export_id=export_id)
        return folder

    def file(self, record: ExportRecord) -> Path:
        path = (self.folder(record.export_id) / record.file_name).resolve()
        if not path.is_relative_to(self.root) or path.parent.parent != self.root:
            raise NotFound("NOT_FOUND", message="Export not found", export_id=record.export_id)
        return path

    # Writing ----------------------------------------------------------------------------
    def write(
        self,
        *,
        kind: str,
        report_type: str,
        export_format: str,
        file_name: str,
        content_type: str,
        created_at: int,
        created_by: str,
        write: Callable[[BinaryIO], object],
        subject_id: str | None = None,
        period: tuple[str, str] | None = None,
    ) -> ExportRecord:
        """Render into a new export folder; answers the record (``export.json`` is
        written last). On any failure the folder is removed and IO_ERROR raised."""
        export_id = str(uuid.uuid4())
        folder = self.folder(export_id)
        try:
            folder.mkdir(parents=True)
            fd, temp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
            sha = hashlib.sha256()
            with os.fdopen(fd, "w+b") as handle:
                write(handle)
                handle.flush()
                size = handle.tell()
                handle.seek(0)
                while block := handle.read(1024 * 1024):
                    sha.update(block)
                os.fsync(handle.fileno())
            record = ExportRecord(
                export_id=export_id,
                kind=kind,
                report_type=report_type,
                format=export_format,
                file_name=file_name,
                content_type=content_type,
                size_bytes=size,
                checksum=sha.hexdigest(),
                created_at=created_at,
                created_by=created_by,
                subject_id=subject_id,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
            )
            os.replace(temp, self.file(record))
            _write_json(folder / _RECORD, asdict(record))
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise IoError(message="Could not write the export file") from exc
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return record

    def remove(self, export_id: str) -> None:
        shutil.rmtree(self.folder(export_id), ignore_errors=True)

    # Reading ----------------------------------------------------------------------------
    def get(self, export_id: str) -> ExportRecord:
        record = self._load(self.folder(export_id))
        if record is None or not self.file(record).is_file():
            raise NotFound("NOT_FOUND", message="Export not found", export_id=export_id)
        return record

    def open(self, record: ExportRecord) -> BinaryIO:
        try:
            return self.file(record).open("rb")
        except OSError as exc:
            raise IoError(message="Could not read the export file") from exc

    def all(self) -> list[ExportRecord]:
        """Every finished export, newest first."""
        if not self.root.is_dir():
            return []
        records = [r for f in self.root.iterdir() if (r := self._load(f)) is not None]
        return sorted(records, key=lambda r: (r.created_at, r.export_id), reverse=True)

    # Retention --------------------------------------------------------------------------
    def cleanup(self, now_ms: int) -> int:
        """Remove exports older than RETENTION_DAYS and unfinished folders older than an
        hour; answers how many folders went."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            record = self._load(folder)
            if record is not None:
                stale = record.expires_at <= now_ms
            else:
                stale = folder.stat().st_mtime * 1000 < now_ms - _UNFINISHED_MS
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    @staticmethod
    def _load(folder: Path) -> ExportRecord | None:
        try:
            raw = json.loads((folder / _RECORD).read_text(encoding="utf-8"))
            return ExportRecord(**raw)
        except (OSError, ValueError, TypeError):
            return None


def _write_json(path: Path, payload: dict[str, object]) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
