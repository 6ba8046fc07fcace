"""Exports (seed: `export_report_data`; docs/EXPORTS.md): report files, downloads and
the customer handover PDF.

done = client.exports.report("TaskCompletion", "pdf", "2026-01-01", "2026-01-31")
answer = client.exports.download(done["export_id"])
pdf = inline_bytes(answer)  # or, for transfer == "stream":
                            # client.streams.get_data(answer["stream"]["stream_id"])
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Literal

from ._base import Namespace, R, fields

__all__ = ["ExportsApi", "inline_bytes"]

Transfer = Literal["auto", "inline", "stream"]


def inline_bytes(download: Mapping[str, Any]) -> bytes:
    """The file of an inline `export_download` answer (or a handover's `download`)."""
    if download.get("transfer") != "inline" or download.get("data") is None:
        raise ValueError("this download is a stream: read it with streams.get_data")
    return base64.b64decode(download["data"])


class ExportsApi(Namespace[R]):
    def report(
        self,
        report_type: str,
        export_format: str,
        start: str,
        end: str,
        *,
        filters: Mapping[str, Any] | None = None,
    ) -> R:
        """`export_report_data` for the days `start`..`end` (YYYY-MM-DD, inclusive);
        `filters` the seed's optional `{technician_id, client_id, status}`. Answers the
        `ExportResult` with `export_id`."""
        report_filters: dict[str, Any] = {"date_range": {"start": start, "end": end}}
        if filters is not None:
            report_filters["filters"] = dict(filters)
        return self._call(
            "export_report_data",
            {"report_type": report_type, "format": export_format, "filters": report_filters},
        )

    def download(self, export_id: str, *, transfer: Transfer | None = None) -> R:
        """`export_download`: inline base64 up to 8 MiB, else a stream's metadata."""
        return self._call("export_download", {"export_id": export_id, **fields(transfer=transfer)})

    def list(self, *, limit: int | None = None) -> R:
        """`export_list`: your exports (an admin's: all), newest first."""
        return self._call("export_list", fields(limit=limit))

    def handover(self, intervention_id: str, *, transfer: Transfer | None = None) -> R:
        """`intervention_export_report`: the customer handover PDF; the answer carries
        the file in `download`."""
        return self._call(
            "intervention_export_report",
            {"intervention_id": intervention_id, **fields(transfer=transfer)},
        )
