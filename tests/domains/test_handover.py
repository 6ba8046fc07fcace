"""intervention_export_report, the customer handover PDF, through the real HTTP server:
a finished PPF intervention with a client, film batch numbers, measurements, a real
photo and a signature prints everything a warranty claim needs; who may print it; and
refusals write nothing."""

from __future__ import annotations

import base64
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from rpma.domains.reports.handover_pdf import WARRANTY_TEXT
from tests.conftest import make_user
from tests.domains.test_interventions import (
    NOW_MS,
    Shop,
    do_step,
    frozen,
    new_task,
    shop,
    start,
)
from tests.helpers import refused

__all__ = ["frozen", "shop"]  # fixtures shared with test_interventions.py


@pytest.fixture
def exports(shop: Shop) -> Iterator[Path]:
    root = shop.server.services.settings.data_dir / "exports"
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def files(root: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


def photo() -> str:
    out = io.BytesIO()
    Image.new("RGB", (480, 320), (30, 90, 160)).save(out, "JPEG", quality=85)
    return base64.b64encode(out.getvalue()).decode()


def signature() -> str:
    """A scribble as a signature pad sends it: a PNG with transparency, base64."""
    pad = Image.new("RGBA", (300, 90), (0, 0, 0, 0))
    ImageDraw.Draw(pad).line([(10, 70), (80, 20), (150, 60), (290, 15)], fill="black", width=4)
    out = io.BytesIO()
    pad.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def finished_intervention(shop: Shop) -> tuple[str, dict[str, Any]]:
    client = shop.admin.clients.create(
        {
            "name": "Camille Laurent",
            "email": "camille@example.com",
            "phone": "+33 6 12 34 56 78",
            "customer_type": "individual",
            "address_city": "Lyon",
        }
    )["client"]
    task = new_task(
        shop, ppf_zones=["headlights"], client_id=client["id"], vehicle_color="GT silver"
    )
    answer = start(shop.technician, task["id"], film_brand="XPEL", film_model="Ultimate Plus")
    iid, step = answer["intervention"]["id"], answer["steps"][0]
    shop.technician.photos.upload(
        iid,
        1,
        [
            {
                "file_name": "front.jpg",
                "mime_type": "image/jpeg",
                "data": photo(),
                "photo_type": "before",
                "zone": "headlights",
            }
        ],
    )
    step = do_step(shop, shop.technician, iid, step, measurements={"paint_depth_um": 120})
    step = do_step(
        shop,
        shop.technician,
        iid,
        step,
        film_batch="LOT-2026-0042",
        notes="Edges wrapped on both lamps",
    )
    do_step(shop, shop.technician, iid, step)
    final = shop.technician.interventions.finalize(
        iid,
        customer_satisfaction=9,
        customer_signature=signature(),
        customer_comments="Flawless, thank you",
        final_observations="Work completed as planned",
    )
    return iid, final


def pdf_text(answer: dict[str, Any]) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(base64.b64decode(answer["download"]["data"])))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_the_handover_report_holds_what_a_warranty_claim_needs(shop: Shop, exports: Path) -> None:
    iid, final = finished_intervention(shop)
    answer = shop.admin.call("intervention_export_report", {"intervention_id": iid})
    assert answer["report_type"] == "InterventionHandover"
    assert answer["file_name"] == "handover_AB123CD_2024-03-04.pdf"
    assert answer["file_path"] == f"exports/{answer['export_id']}/{answer['file_name']}"
    assert (answer["format"], answer["created_at"]) == ("pdf", NOW_MS)
    assert answer["download"]["transfer"] == "inline"
    stored = shop.server.services.settings.data_dir / answer["file_path"]
    assert base64.b64decode(answer["download"]["data"]) == stored.read_bytes()
    assert answer["size_bytes"] == stored.stat().st_size
    reader, text = pdf_text(answer)
    flat = " ".join(text.split())
    for expected in (
        "RPMA Workshop",
        "Vehicle handover report",
        "Camille Laurent",
        "+33 6 12 34 56 78",
        "Porsche 911",
        "2022",
        "AB-123-CD",
        "WP0ZZZ99ZNS123456",
        "GT silver",
        "headlights",
        "XPEL Ultimate Plus",
        "LOT-2026-0042",
        "Sam Technician",
        "Paint depth",
        "120 µm",
        "Edges wrapped on both lamps",
        f"{final['quality_score']} / 100",
        "9 / 10",
        "Work completed as planned",
        "Flawless, thank you",
        "Step 1 · Inspection",
        "Step 3 · Finalization",
        "headlights · before",
        "Date: 2024-03-04",
        " ".join(WARRANTY_TEXT.split()[:8]),
    ):
        assert expected in flat, expected
    assert "Done" in text
    assert "Pass" in text
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 2  # the photo's thumbnail and the signature
    assert f"Page 1 of {len(reader.pages)}" in reader.pages[0].extract_text()


def test_who_may_print_it(shop: Shop, exports: Path) -> None:
    iid, _ = finished_intervention(shop)
    for client in (shop.supervisor, shop.technician):
        answer = client.call("intervention_export_report", {"intervention_id": iid})
        assert answer["download"]["size_bytes"] == answer["size_bytes"]
    before = files(exports)
    other = make_user(shop.admin, shop.server, "technician")
    services = shop.server.services
    body = {"intervention_id": iid}
    refused(services, lambda: other.call("intervention_export_report", body), "AUTH_FORBIDDEN", 403)
    refused(
        services,
        lambda: shop.viewer.call("intervention_export_report", body),
        "AUTH_FORBIDDEN",
        403,
    )
    refused(
        services,
        lambda: shop.admin.call("intervention_export_report", {"intervention_id": "nope"}),
        "NOT_FOUND_INTERVENTION",
        404,
    )
    refused(
        services, lambda: shop.admin.call("intervention_export_report", {}), "VALIDATION_ERROR", 400
    )
    assert files(exports) == before
    # The exports of all three are listed for the admin, the technician has no list.
    listed = shop.admin.call("export_list", {})["exports"]
    assert [e["report_type"] for e in listed] == ["InterventionHandover"] * 2


def test_a_technician_gets_a_large_report_as_a_stream(shop: Shop, exports: Path) -> None:
    iid, _ = finished_intervention(shop)
    answer = shop.technician.call(
        "intervention_export_report", {"intervention_id": iid, "transfer": "stream"}
    )
    download = answer["download"]
    assert (download["transfer"], download["data"]) == ("stream", None)
    data = shop.technician.call("get_stream_data", {"stream_id": download["stream"]["stream_id"]})
    stored = shop.server.services.settings.data_dir / answer["file_path"]
    assert base64.b64decode(data["data"]) == stored.read_bytes()
    assert data["checksum"] == answer["checksum"]


def test_an_intervention_under_way_prints_what_is_done(shop: Shop, exports: Path) -> None:
    task = new_task(shop, ppf_zones=["hood"])
    answer = start(shop.technician, task["id"])
    iid = answer["intervention"]["id"]
    report = shop.technician.call("intervention_export_report", {"intervention_id": iid})
    _, text = pdf_text(report)
    flat = " ".join(text.split())
    assert "handed over not completed yet" in flat
    assert "No signature recorded." in flat
    assert "Batch numbers not recorded" in flat
    assert "Not done" in flat
