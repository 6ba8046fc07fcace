"""export_report_data, export_download and export_list through the real HTTP server:
every report type in every format lands in the exports folder and downloads back
byte for byte (inline and as a stream), refusals write nothing, an export is its
maker's (and the admins'), ids never escape the exports folder, old exports expire."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from rpma.client import IpcClient
from rpma.client.api.exports import inline_bytes
from rpma.core.clock import clock
from rpma.domains.reports.exports import ExportStore
from rpma.domains.reports.render_format import csv_text
from rpma.domains.reports.schemas import REPORT_TYPES
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.helpers import refused

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 24 * 60 * 60 * 1000
FILTERS = {"date_range": {"start": "2026-02-01", "end": "2026-02-28"}}
PAYLOAD = b"%PDF-1.4 not really, but bytes are bytes\n" * 1000


@pytest.fixture
def exports(server: LiveServer) -> Iterator[Path]:
    """The exports folder, emptied around the test (the server outlives one test)."""
    root = server.services.settings.data_dir / "exports"
    shutil.rmtree(root, ignore_errors=True)
    clock.freeze(NOW)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def files(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def user_id(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])


def stored_export(server: LiveServer, owner: str, payload: bytes = PAYLOAD) -> str:
    """An export written as export_report_data writes it, for the download tests."""
    record = ExportStore(server.services.settings.data_dir).write(
        kind="report",
        report_type="Overview",
        export_format="pdf",
        file_name="overview_2026-02-01_2026-02-28.pdf",
        content_type="application/pdf",
        created_at=clock.now_ms(),
        created_by=owner,
        write=lambda target: target.write(payload),
        period=("2026-02-01", "2026-02-28"),
    )
    return record.export_id


# Refusals ------------------------------------------------------------------------------------
def test_roles_without_report_export_are_refused(
    server: LiveServer, exports: Path, role_clients: dict[str, IpcClient]
) -> None:
    export_id = stored_export(server, user_id(role_clients["admin"]))
    before = files(exports)
    body = {"report_type": "Overview", "format": "pdf", "filters": FILTERS}
    calls: tuple[tuple[str, dict[str, Any]], ...] = (
        ("export_report_data", body),
        ("export_download", {"export_id": export_id}),
        ("export_list", {}),
    )
    for role in ("technician", "viewer"):
        for command, args in calls:
            call = partial(role_clients[role].call, command, args)
            refused(server.services, call, "AUTH_FORBIDDEN", 403)
    assert files(exports) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"report_type": "Revenue"}, "report_type"),
        ({"report_type": "taskcompletion"}, "report_type"),
        ({"format": "docx"}, "format"),
        ({"format": ""}, "format"),
        ({"filters": {"date_range": {"start": "2026-02-10", "end": "2026-02-01"}}}, "filters"),
        ({"filters": {"date_range": {"start": "2020-01-01", "end": "2026-01-01"}}}, "filters"),
        ({"filters": {"date_range": {"start": "2026-02-30", "end": "2026-03-01"}}}, "filters"),
        ({"filters": None}, "filters"),
    ],
)
def test_invalid_requests_write_nothing(
    server: LiveServer, exports: Path, admin: IpcClient, change: dict[str, Any], field: str
) -> None:
    body = {"report_type": "TaskCompletion", "format": "pdf", "filters": FILTERS, **change}
    error = refused(
        server.services, lambda: admin.call("export_report_data", body), "VALIDATION_ERROR", 400
    )
    assert field in str(error)
    assert files(exports) == []


@pytest.mark.parametrize(
    "bad_id",
    [
        "../secret.key",
        "../../../../etc/passwd",
        "..",
        ".",
        "",
        "%2e%2e%2fsecret.key",
        "00000000-0000-0000-0000-000000000000/../../secret.key",
        "00000000-0000-0000-0000-000000000000",
        "/etc/passwd",
    ],
)
def test_ids_never_escape_the_exports_folder(
    server: LiveServer, exports: Path, admin: IpcClient, bad_id: str
) -> None:
    stored_export(server, user_id(admin))
    code = "VALIDATION_ERROR" if bad_id == "" else "NOT_FOUND"
    refused(server.services, lambda: admin.call("export_download", {"export_id": bad_id}), code)


def test_an_upper_case_id_is_not_another_path(
    server: LiveServer, exports: Path, admin: IpcClient
) -> None:
    export_id = stored_export(server, user_id(admin))
    refused(
        server.services,
        lambda: admin.call("export_download", {"export_id": export_id.upper()}),
        "NOT_FOUND",
        404,
    )


# Download ------------------------------------------------------------------------------------
def test_download_inline_and_as_a_stream(
    server: LiveServer, exports: Path, role_clients: dict[str, IpcClient]
) -> None:
    admin, supervisor = role_clients["admin"], role_clients["supervisor"]
    export_id = stored_export(server, user_id(admin))
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    inline = admin.call("export_download", {"export_id": export_id})
    assert {k: v for k, v in inline.items() if k != "data"} == {
        "export_id": export_id,
        "file_name": "overview_2026-02-01_2026-02-28.pdf",
        "format": "pdf",
        "content_type": "application/pdf",
        "size_bytes": len(PAYLOAD),
        "checksum": sha,
        "transfer": "inline",
        "stream": None,
    }
    assert base64.b64decode(inline["data"]) == PAYLOAD
    streamed = admin.call("export_download", {"export_id": export_id, "transfer": "stream"})
    assert (streamed["transfer"], streamed["data"]) == ("stream", None)
    meta = streamed["stream"]
    assert (meta["total_size"], meta["total_chunks"], meta["checksum"]) == (len(PAYLOAD), 1, sha)
    data = admin.call("get_stream_data", {"stream_id": meta["stream_id"]})
    assert base64.b64decode(data["data"]) == PAYLOAD
    assert (data["checksum"], data["content_type"]) == (sha, "application/pdf")
    # The supervisor did not make it: it does not exist for them.
    refused(
        server.services,
        lambda: supervisor.call("export_download", {"export_id": export_id}),
        "NOT_FOUND",
        404,
    )
    assert supervisor.call("export_list", {}) == {"exports": []}
    listed = admin.call("export_list", {})["exports"]
    assert listed == [
        {
            "export_id": export_id,
            "file_path": f"exports/{export_id}/overview_2026-02-01_2026-02-28.pdf",
            "file_name": "overview_2026-02-01_2026-02-28.pdf",
            "format": "pdf",
            "content_type": "application/pdf",
            "size_bytes": len(PAYLOAD),
            "checksum": sha,
            "report_type": "Overview",
            "created_at": NOW_MS,
            "expires_at": NOW_MS + 30 * DAY_MS,
        }
    ]


def test_a_supervisors_export_is_theirs_and_the_admins(
    server: LiveServer, exports: Path, role_clients: dict[str, IpcClient]
) -> None:
    admin, supervisor = role_clients["admin"], role_clients["supervisor"]
    export_id = stored_export(server, user_id(supervisor), b"mine")
    for client in (admin, supervisor):
        answer = client.call("export_download", {"export_id": export_id})
        assert base64.b64decode(answer["data"]) == b"mine"
    assert [e["export_id"] for e in supervisor.call("export_list", {})["exports"]] == [export_id]


def test_exports_expire_after_thirty_days(
    server: LiveServer, exports: Path, admin: IpcClient
) -> None:
    owner = user_id(admin)
    old = stored_export(server, owner)
    clock.advance(timedelta(days=29))
    younger = stored_export(server, owner)
    clock.advance(timedelta(days=1))
    ExportStore(server.services.settings.data_dir).cleanup(clock.now_ms())
    assert files(exports) == sorted(
        [f"{younger}/export.json", f"{younger}/overview_2026-02-01_2026-02-28.pdf"]
    )
    admin.auth.login("owner@shop.example", ADMIN_PASSWORD)  # 30 days: a new session
    refused(
        server.services, lambda: admin.call("export_download", {"export_id": old}), "NOT_FOUND", 404
    )
    assert admin.call("export_download", {"export_id": younger})["size_bytes"] == len(PAYLOAD)


# End to end ----------------------------------------------------------------------------------
def test_every_report_type_in_every_format(
    server: LiveServer, exports: Path, admin: IpcClient
) -> None:
    made = []
    for report_type in REPORT_TYPES:
        for export_format in ("pdf", "CSV", "Excel"):
            answer = admin.call(
                "export_report_data",
                {"report_type": report_type, "format": export_format, "filters": FILTERS},
            )
            path = server.services.settings.data_dir / answer["file_path"]
            content = path.read_bytes()
            assert answer["size_bytes"] == len(content)
            assert answer["checksum"] == hashlib.sha256(content).hexdigest()
            assert answer["format"] == export_format.lower()
            assert answer["report_type"] == report_type
            assert (answer["created_at"], answer["expires_at"]) == (NOW_MS, NOW_MS + 30 * DAY_MS)
            assert path.parent.parent == exports
            download = admin.call("export_download", {"export_id": answer["export_id"]})
            assert base64.b64decode(download["data"]) == content
            check_file(answer["format"], content, report_type)
            made.append(answer["export_id"])
    listed = [e["export_id"] for e in admin.call("export_list", {"limit": 200})["exports"]]
    assert sorted(listed) == sorted(made)


def check_file(export_format: str, content: bytes, report_type: str) -> None:
    if export_format == "pdf":
        reader = PdfReader(io.BytesIO(content))
        assert len(reader.pages) >= 2
        assert "2026" in reader.pages[0].extract_text()
    elif export_format == "csv":
        records = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        assert records[0] == ["section", "Report"]
        assert records[1] == ["report_type", report_type]
        assert records[4:6] == [["period_start", "2026-02-01"], ["period_end", "2026-02-28"]]
    else:
        book = load_workbook(io.BytesIO(content))
        assert book.sheetnames[0] == "Summary"
        assert book["Summary"]["B4"].value == datetime(2026, 2, 1)


def test_the_files_hold_the_reports_figures(
    server: LiveServer, exports: Path, role_clients: dict[str, IpcClient]
) -> None:
    """Three tasks in February, two for the technician: the CSV, the workbook and the
    PDF carry exactly the figures get_task_completion_report answers."""
    admin = role_clients["admin"]
    technician = user_id(role_clients["technician"])
    for day, assignee in (
        ("2026-02-03", technician),
        ("2026-02-03", technician),
        ("2026-02-10", None),
    ):
        admin.tasks.create(
            {
                "title": "Hood PPF",
                "vehicle_plate": "AB-123-CD",
                "scheduled_date": day,
                **({"technician_id": assignee} if assignee else {}),
            }
        )
    report = admin.call("get_task_completion_report", FILTERS)
    assert report["total_tasks"] == 3
    done = {}
    for export_format in ("csv", "excel", "pdf"):
        answer = admin.exports.report("TaskCompletion", export_format, "2026-02-01", "2026-02-28")
        done[export_format] = inline_bytes(admin.exports.download(answer["export_id"]))
    records = list(csv.reader(io.StringIO(done["csv"].decode("utf-8-sig"), newline="")))
    summary = records[records.index(["section", "Summary"]) + 2 :][:4]
    assert summary == [
        ["Tasks", "3"],
        ["Completed", str(report["completed_tasks"])],
        ["Completion rate", csv_text(float(report["completion_rate"]))],
        ["Average duration", csv_text(float(report["average_duration"]))],
    ]
    assert ["2026-02-03", "2", "0"] in records
    assert ["2026-02-10", "1", "0"] in records
    book = load_workbook(io.BytesIO(done["excel"]))
    assert [book["Summary"].cell(r, 2).value for r in (7, 8)] == [3, report["completed_tasks"]]
    text = PdfReader(io.BytesIO(done["pdf"])).pages[1].extract_text()
    assert "Tasks per day" in text
    assert " 3\n Tasks\n 0\n Completed\n 0.0 %\n Completion rate" in text
    assert "Scheduled  3 (100.0 %)" in text


def test_over_eight_mib_comes_as_a_stream(
    server: LiveServer, exports: Path, admin: IpcClient
) -> None:
    big = bytes(range(256)) * (9 * 4096)  # 9 MiB
    export_id = stored_export(server, user_id(admin), big)
    answer = admin.exports.download(export_id)
    assert (answer["transfer"], answer["data"]) == ("stream", None)
    assert (answer["stream"]["total_chunks"], answer["stream"]["chunk_size"]) == (9, 1024 * 1024)
    data = admin.streams.get_data(answer["stream"]["stream_id"])
    assert base64.b64decode(data["data"]) == big
    refused(
        server.services,
        lambda: admin.exports.download(export_id, transfer="inline"),
        "VALIDATION_ERROR",
        400,
    )
