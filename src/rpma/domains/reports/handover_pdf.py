"""The handover report as a PDF (reportlab platypus): what was done to the car, by whom,
with which film, checked how, photographed, and signed for."""

from __future__ import annotations

import io
import logging
from typing import Any, BinaryIO, Final

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from rpma.domains.reports.handover import HandoverData, HandoverPhoto, HandoverStep
from rpma.domains.reports.render_charts import BOLD
from rpma.domains.reports.render_format import duration
from rpma.domains.reports.render_pdf import footer_canvas, styles

__all__ = ["WARRANTY_TEXT", "render_handover"]

log = logging.getLogger(__name__)

WARRANTY_TEXT: Final = (
    "Warranty terms: the film manufacturer's warranty against yellowing, cracking, "
    "blistering and peeling applies to the film and batch numbers listed above, from the "
    "handover date, when the vehicle is cared for as advised (no pressure washing closer "
    "than 30 cm to the edges for the first week, no abrasive polish). Workmanship is "
    "guaranteed by the workshop for the period agreed in the order. Keep this report: a "
    "warranty claim needs it. [Replace with your shop's own terms.]"
)
_MARGIN: Final = 16 * mm
_WIDTH: Final = A4[0] - 2 * _MARGIN
_LIGHT: Final = colors.HexColor("#F2F5F9")
_GRID: Final = colors.HexColor("#C9D3E0")
_NONE: Final = "\u2013"  # an en dash: nothing recorded
_OK: Final = colors.HexColor("#1B7F3B")
_BAD: Final = colors.HexColor("#B3261E")
_THUMB: Final = 40 * mm
_THUMBS_PER_ROW: Final = 4


def render_handover(data: HandoverData, target: BinaryIO) -> None:
    style = styles()
    doc = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=20 * mm,
        title=f"Handover report - {data.intervention.vehicle_plate or ''}",
        author=data.workshop,
        creator="RPMA",
    )
    story: list[Flowable] = [*_header(data, style), *_parties(data, style)]
    story += _work(data, style)
    for step in data.steps:
        story += _step(step, data, style)
    story += _closing(data, style)
    task = data.task.task_number
    canvas = footer_canvas(
        f"{data.workshop} · Handover report · task {task}"[:90],
        f"Printed {data.generated_at:%Y-%m-%d %H:%M}",
        skip_first=False,
    )
    doc.build(story, canvasmaker=canvas)


def _header(data: HandoverData, style: dict[str, ParagraphStyle]) -> list[Flowable]:
    row = data.intervention
    done = data.local(row.completed_at)
    when = f"{done:%d %B %Y}" if done else "not completed yet"
    title = ParagraphStyle("ht", parent=style["company"], alignment=0, fontSize=20, leading=24)
    sub = ParagraphStyle("hs", parent=style["h1"], textColor=colors.black, spaceBefore=2)
    return [
        Paragraph(_esc(data.workshop), title),
        Paragraph("Vehicle handover report", sub),
        Paragraph(f"Task {_esc(data.task.task_number)} · handed over {when}", style["small"]),
        Spacer(1, 8),
    ]


def _parties(data: HandoverData, style: dict[str, ParagraphStyle]) -> list[Flowable]:
    row, client = data.intervention, data.client
    who = [client.name if client else row.client_name or _NONE]
    if client is not None:
        if client.company_name and client.company_name != client.name:
            who.append(client.company_name)
        address = ", ".join(
            p for p in (client.address_street, client.address_zip, client.address_city) if p
        )
        who += [p for p in (address, client.phone, client.email) if p]
    vehicle_name = " ".join(str(p) for p in (row.vehicle_make, row.vehicle_model) if p)
    vehicle = [
        ("Vehicle", vehicle_name or _NONE),
        ("Year", str(row.vehicle_year or data.task.vehicle_year or _NONE)),
        ("Plate", row.vehicle_plate or data.task.vehicle_plate or _NONE),
        ("VIN", row.vin or data.task.vin or _NONE),
        ("Colour", data.task.vehicle_color or _NONE),
    ]
    left = [Paragraph("Client", style["h2"]), *[Paragraph(_esc(w), style["body"]) for w in who]]
    right = [Paragraph("Vehicle", style["h2"]), _pairs(vehicle, style, _WIDTH / 2 - 12)]
    box = Table([[left, right]], colWidths=[_WIDTH / 2, _WIDTH / 2])
    box.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, -1), _LIGHT),
                ("LINEAFTER", (0, 0), (0, 0), 2, colors.white),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return [box, Spacer(1, 6)]


def _work(data: HandoverData, style: dict[str, ParagraphStyle]) -> list[Flowable]:
    row = data.intervention
    film = " ".join(p for p in (row.film_brand, row.film_model) if p)
    kind = (row.film_type or data.task.film_type or "").replace("_", " ")
    started, done = data.local(row.started_at), data.local(row.completed_at)
    pairs = [
        ("Zones", ", ".join(str(z).replace("_", " ") for z in row.ppf_zones) or _NONE),
        ("Film", " · ".join(p for p in (film, kind) if p) or _NONE),
        ("Batch numbers", ", ".join(data.batches) or "not recorded"),
        ("Technician", data.technician or _NONE),
        ("Started", f"{started:%Y-%m-%d %H:%M}" if started else _NONE),
        ("Completed", f"{done:%Y-%m-%d %H:%M}" if done else _NONE),
        ("Working time", duration(row.actual_duration) if row.actual_duration else _NONE),
    ]
    conditions = [
        f"{row.temperature_celsius:g} °C" if row.temperature_celsius is not None else "",
        f"{row.humidity_percentage:g} % humidity" if row.humidity_percentage is not None else "",
        (row.work_location or "").replace("_", " "),
    ]
    if any(conditions):
        pairs.append(("Conditions", ", ".join(c for c in conditions if c)))
    quality = [
        ("Quality score", f"{row.quality_score} / 100" if row.quality_score is not None else _NONE),
        (
            "Customer satisfaction",
            f"{row.customer_satisfaction} / 10" if row.customer_satisfaction is not None else _NONE,
        ),
    ]
    observations = [str(o) for o in row.final_observations or []]
    if observations:
        quality.append(("Observations", "; ".join(observations)))
    return [
        Paragraph("Work carried out", style["h2"]),
        _pairs(pairs, style, _WIDTH),
        Paragraph("Quality", style["h2"]),
        _pairs(quality, style, _WIDTH),
    ]


def _step(
    step: HandoverStep, data: HandoverData, style: dict[str, ParagraphStyle]
) -> list[Flowable]:
    done = step.completed_at.astimezone(data.zone) if step.completed_at else None
    status = step.status.replace("_", " ")
    heading = f"Step {step.number} · {_esc(step.name)}"
    meta = f"{status}" + (f", {done:%Y-%m-%d %H:%M}" if done else "")
    head = [
        Paragraph(f"{heading} <font size=8 color='#555555'>({meta})</font>", style["h2"]),
    ]
    rows: list[list[Any]] = []
    marks: list[tuple[int, bool | None]] = []
    for label, ticked in step.checklist:
        rows.append([Paragraph(_esc(label), style["body"]), "Done" if ticked else "Not done"])
        marks.append((len(rows) - 1, ticked))
    for label, passed in step.checkpoints:
        verdict = "Pass" if passed else "Fail" if passed is False else "Not checked"
        rows.append([Paragraph(f"Check: {_esc(label)}", style["body"]), verdict])
        marks.append((len(rows) - 1, passed))
    for label, value in step.measurements:
        rows.append([Paragraph(f"Measured: {_esc(label)}", style["body"]), value])
    body: list[Flowable] = []
    if rows:
        table = Table(rows, colWidths=[_WIDTH - 30 * mm, 30 * mm])
        commands: list[tuple[Any, ...]] = [
            ("FONT", (1, 0), (1, -1), BOLD, 8.5),
            ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.3, _GRID),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        for index, ok in marks:
            color = _OK if ok else _BAD if ok is False else colors.grey
            commands.append(("TEXTCOLOR", (1, index), (1, index), color))
        table.setStyle(TableStyle(commands))
        body.append(table)
    if step.notes:
        body.append(Paragraph(f"<i>Notes:</i> {_esc(str(step.notes))}", style["body"]))
    if step.photos:
        body += [Spacer(1, 4), _thumbnails(step.photos, style)]
    if step.photo_count > len(step.photos):
        more = step.photo_count - len(step.photos)
        body.append(
            Paragraph(f"{more} more photo(s) kept in the workshop's records.", style["small"])
        )
    if not body:
        body.append(Paragraph("Nothing recorded for this step.", style["small"]))
    return [KeepTogether([*head, body[0]]), *body[1:]]


def _thumbnails(photos: list[HandoverPhoto], style: dict[str, ParagraphStyle]) -> Table:
    caption = ParagraphStyle("cap", parent=style["small"], alignment=1, fontSize=7, leading=9)
    cells: list[list[Flowable]] = []
    for photo in photos:
        image = _image(photo.thumbnail, _THUMB, _THUMB)
        cells.append([image, Paragraph(_esc(photo.caption), caption)] if image else [Spacer(1, 1)])
    while len(cells) % _THUMBS_PER_ROW:
        cells.append([Spacer(1, 1)])
    grid = [cells[i : i + _THUMBS_PER_ROW] for i in range(0, len(cells), _THUMBS_PER_ROW)]
    table = Table(grid, colWidths=[_WIDTH / _THUMBS_PER_ROW] * _THUMBS_PER_ROW)
    table.setStyle(
        TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    return table


def _closing(data: HandoverData, style: dict[str, ParagraphStyle]) -> list[Flowable]:
    row = data.intervention
    signature: Flowable = Paragraph("No signature recorded.", style["small"])
    if data.signature:
        signature = _image(data.signature, 70 * mm, 28 * mm) or signature
    done = data.local(row.completed_at) or data.generated_at
    left = [
        Paragraph("Customer", style["h2"]),
        signature,
        Paragraph(_esc(data.client.name if data.client else row.client_name or ""), style["small"]),
        Paragraph(f"Date: {done:%Y-%m-%d}", style["small"]),
    ]
    right = [
        Paragraph("Workshop", style["h2"]),
        Spacer(1, 26 * mm),
        Paragraph(f"For {_esc(data.workshop)}", style["small"]),
        Paragraph(_esc(data.technician or ""), style["small"]),
    ]
    signatures = Table([[left, right]], colWidths=[_WIDTH / 2, _WIDTH / 2])
    signatures.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (0, 0), 0.5, _GRID),
                ("BOX", (1, 0), (1, 0), 0.5, _GRID),
            ]
        )
    )
    story: list[Flowable] = [Spacer(1, 10)]
    if row.customer_comments:
        story.append(
            Paragraph(f"<b>Customer's comments:</b> {_esc(row.customer_comments)}", style["body"])
        )
    if data.photos_left_out:
        story.append(
            Paragraph(
                f"{data.photos_left_out} further photo(s) are kept in the workshop's records.",
                style["small"],
            )
        )
    warranty = ParagraphStyle("w", parent=style["small"], fontSize=8, leading=10.5)
    story += [
        KeepTogether([signatures, Spacer(1, 8), Paragraph(_esc(WARRANTY_TEXT), warranty)]),
    ]
    return story


def _pairs(pairs: list[tuple[str, str]], style: dict[str, ParagraphStyle], width: float) -> Table:
    label = ParagraphStyle("pl", parent=style["body"], fontName=BOLD)
    rows = [[Paragraph(_esc(k), label), Paragraph(_esc(v), style["body"])] for k, v in pairs]
    table = Table(rows, colWidths=[34 * mm, width - 34 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _image(raw: bytes, max_width: float, max_height: float) -> Image | None:
    """An image scaled to fit the box, its proportions kept; None if it cannot be
    decoded (a damaged signature must not stop the report). Decoded once with Pillow
    first: reportlab reads the file only when the page is drawn, too late to skip it."""
    try:
        with PILImage.open(io.BytesIO(raw)) as picture:
            picture.load()
            width, height = picture.size
            if picture.format != "JPEG":  # PNG with alpha, WebP: as PNG, on white
                flat = PILImage.new("RGB", picture.size, "white")
                rgba = picture.convert("RGBA")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                out = io.BytesIO()
                flat.save(out, "PNG")
                raw = out.getvalue()
    except Exception:  # Pillow raises many kinds for a damaged file
        log.warning("handover report: an image could not be decoded")
        return None
    scale = min(max_width / width, max_height / height)
    return Image(io.BytesIO(raw), width=width * scale, height=height * scale)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
