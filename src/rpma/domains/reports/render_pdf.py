"""A ReportDocument as a PDF made for people (reportlab platypus; docs/EXPORTS.md).

Page 1 is a title page (the shop, the report, the period); then the headline figures,
the charts, and the tables. Tables repeat their header row on every page, stripe their
rows, right-align numbers and show each value by its kind (render_format.display).
Every page but the title carries a footer: shop and report on the left, the generation
time in the middle, "page n of m" on the right.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from rpma.domains.reports.document import Metric, ReportDocument
from rpma.domains.reports.document import Table as ReportTable
from rpma.domains.reports.render_charts import BOLD, FONT, chart_drawing, register_fonts
from rpma.domains.reports.render_format import NUMERIC_KINDS, display

__all__ = ["BRAND", "CONTENT_TYPE", "FooterCanvas", "render_pdf", "styles"]

CONTENT_TYPE: Final = "application/pdf"
BRAND: Final = colors.HexColor("#1F3A5F")
_ZEBRA: Final = colors.HexColor("#F2F5F9")
_RULE: Final = colors.HexColor("#C9D3E0")
_MARGIN: Final = 18 * mm
_FRAME_WIDTH: Final = A4[0] - 2 * _MARGIN
_ROWS_PER_BLOCK: Final = 250  # a long table is split into blocks: reportlab splits fast
_CELL_PADDING: Final = 4
_METRICS_PER_ROW: Final = 3


def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    return {
        "company": ParagraphStyle(
            "company", fontName=BOLD, fontSize=26, leading=32, textColor=BRAND, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title", fontName=BOLD, fontSize=20, leading=26, alignment=TA_CENTER, spaceBefore=18
        ),
        "period": ParagraphStyle(
            "period",
            fontName=FONT,
            fontSize=13,
            leading=18,
            alignment=TA_CENTER,
            spaceBefore=10,
            textColor=colors.black,
        ),
        "muted": ParagraphStyle(
            "muted",
            fontName=FONT,
            fontSize=9,
            leading=12,
            alignment=TA_CENTER,
            textColor=colors.grey,
        ),
        "h1": ParagraphStyle(
            "h1",
            fontName=BOLD,
            fontSize=15,
            leading=19,
            textColor=BRAND,
            spaceBefore=4,
            spaceAfter=8,
        ),
        "h2": ParagraphStyle(
            "h2",
            fontName=BOLD,
            fontSize=12,
            leading=15,
            textColor=BRAND,
            spaceBefore=12,
            spaceAfter=6,
        ),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13),
        "small": ParagraphStyle(
            "small", fontName=FONT, fontSize=8, leading=10, textColor=colors.HexColor("#444444")
        ),
        "metric_value": ParagraphStyle(
            "metric_value",
            fontName=BOLD,
            fontSize=17,
            leading=21,
            alignment=TA_CENTER,
            textColor=BRAND,
        ),
        "metric_label": ParagraphStyle(
            "metric_label",
            fontName=FONT,
            fontSize=8.5,
            leading=11,
            alignment=TA_CENTER,
            textColor=colors.HexColor("#555555"),
        ),
    }


class FooterCanvas(Canvas):  # type: ignore[misc]
    """Draws the footer once the page count is known ("page n of m" needs it): pages are
    kept until the document is saved, then stamped and written."""

    footer_left = ""
    footer_middle = ""
    skip_first = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            if not (self.skip_first and self._pageNumber == 1):
                self._footer(self._pageNumber, total)
            super().showPage()
        super().save()

    def _footer(self, number: int, total: int) -> None:
        width, _ = self._pagesize
        self.saveState()
        self.setStrokeColor(_RULE)
        self.setLineWidth(0.5)
        self.line(_MARGIN, 13 * mm, width - _MARGIN, 13 * mm)
        self.setFont(FONT, 7.5)
        self.setFillColor(colors.HexColor("#555555"))
        # The generation time sits with the page number, so a long shop name on the left
        # never runs into it.
        right = f"{self.footer_middle}  ·  Page {number} of {total}"
        self.drawRightString(width - _MARGIN, 9 * mm, right)
        room = width - 2 * _MARGIN - stringWidth(right, FONT, 7.5) - 12
        self.drawString(_MARGIN, 9 * mm, _cut(self.footer_left, room, size=7.5))
        self.restoreState()


def footer_canvas(left: str, middle: str, *, skip_first: bool = True) -> type[FooterCanvas]:
    return type(
        "ReportCanvas",
        (FooterCanvas,),
        {"footer_left": left, "footer_middle": middle, "skip_first": skip_first},
    )


def render_pdf(document: ReportDocument, target: BinaryIO) -> None:
    style = styles()
    # The document's own zone (UTC from the builders); a naive time is taken as UTC.
    moment = document.generated_at
    generated = moment.strftime("%Y-%m-%d %H:%M ") + (moment.strftime("%Z") or "UTC")
    template = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=20 * mm,
        title=f"{document.title} \u2013 {document.company}",
        author=document.company,
        creator="RPMA",
    )
    story: list[Flowable] = [*_title_page(document, style, generated), PageBreak()]
    if document.summary:
        story += [Paragraph("Summary", style["h1"]), _metrics(document.summary, style)]
    for chart in document.charts:
        story += [Spacer(1, 10), KeepTogether([chart_drawing(chart, _FRAME_WIDTH)])]
    for table in document.tables:
        story += [CondPageBreak(60 * mm), Paragraph(_escape(table.title), style["h2"])]
        story += list(_table_blocks(table, style))
    if len(story) == 2:
        story.append(Paragraph("This report holds no data for the period.", style["body"]))
    canvas = footer_canvas(f"{document.company} · {document.title}"[:90], f"Generated {generated}")
    template.build(story, canvasmaker=canvas)


def _title_page(
    document: ReportDocument, style: dict[str, ParagraphStyle], generated: str
) -> list[Flowable]:
    period = (
        f"{document.period_start:%d %B %Y}"
        if document.period_start == document.period_end
        else f"{document.period_start:%d %B %Y} \u2013 {document.period_end:%d %B %Y}"
    )
    band = Table([[""]], colWidths=[_FRAME_WIDTH], rowHeights=[4])
    band.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), BRAND)]))
    return [
        Spacer(1, 70 * mm),
        Paragraph(_escape(document.company), style["company"]),
        Spacer(1, 8),
        band,
        Paragraph(_escape(document.title), style["title"]),
        Paragraph(period, style["period"]),
        Spacer(1, 90 * mm),
        Paragraph(f"Generated {generated}", style["muted"]),
    ]


def _metrics(metrics: list[Metric], style: dict[str, ParagraphStyle]) -> Table:
    """Headline figures as cards, three per row."""
    cells = [
        [
            Paragraph(_escape(display(m.value, m.kind)), style["metric_value"]),
            Paragraph(_escape(m.label), style["metric_label"]),
        ]
        for m in metrics
    ]
    while len(cells) % _METRICS_PER_ROW:
        cells.append([Spacer(1, 1)])
    rows = [cells[i : i + _METRICS_PER_ROW] for i in range(0, len(cells), _METRICS_PER_ROW)]
    width = _FRAME_WIDTH / _METRICS_PER_ROW
    table = Table(rows, colWidths=[width] * _METRICS_PER_ROW)
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
    ]
    for index, _ in enumerate(metrics):
        row, col = divmod(index, _METRICS_PER_ROW)
        commands += [
            ("BACKGROUND", (col, row), (col, row), _ZEBRA),
            ("BOX", (col, row), (col, row), 2, colors.white),
        ]
    table.setStyle(TableStyle(commands))
    return table


def _table_blocks(table: ReportTable, style: dict[str, ParagraphStyle]) -> Iterator[Flowable]:
    if not table.rows:
        yield Paragraph("No rows in this period.", style["body"])
        return
    header = [
        Paragraph(_escape(c.title), _header_style(style, right=c.kind in NUMERIC_KINDS))
        for c in table.columns
    ]
    texts = [
        [display(v, c.kind) for v, c in zip(row, table.columns, strict=False)] for row in table.rows
    ]
    widths = _column_widths(table, texts)
    numeric = [i for i, c in enumerate(table.columns) if c.kind in NUMERIC_KINDS]
    for start in range(0, len(texts), _ROWS_PER_BLOCK):
        block = [_fitted(row, widths) for row in texts[start : start + _ROWS_PER_BLOCK]]
        flowable = Table([header, *block], colWidths=widths, repeatRows=1)
        flowable.setStyle(_table_style(len(block), numeric, zebra_offset=start))
        yield flowable


def _header_style(style: dict[str, ParagraphStyle], *, right: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        "th",
        parent=style["small"],
        fontName=BOLD,
        textColor=colors.white,
        alignment=TA_RIGHT if right else TA_LEFT,
    )


def _table_style(rows: int, numeric: list[int], *, zebra_offset: int) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 1), (-1, -1), FONT, 8),
        ("BACKGROUND", (0, 0), (-1, 0), BRAND),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, _RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
    ]
    for col in numeric:
        commands.append(("ALIGN", (col, 1), (col, -1), "RIGHT"))
    # Stripes counted from the table's first row, so they continue across blocks.
    for row in range(2 if zebra_offset % 2 == 0 else 1, rows + 1, 2):
        commands.append(("BACKGROUND", (0, row), (-1, row), _ZEBRA))
    return TableStyle(commands)


def _column_widths(table: ReportTable, texts: list[list[str]]) -> list[float]:
    """Each column as wide as its widest value (a sample of rows), shrunk in proportion
    when they do not fit the page; long text is then cut with an ellipsis."""
    sample = texts[:300]
    wanted = []
    for col, column in enumerate(table.columns):
        title = stringWidth(column.title, BOLD, 8) / 1.6  # titles wrap onto two lines
        values = [stringWidth(row[col], FONT, 8) for row in sample if col < len(row)]
        wanted.append(max([title, *values, 24.0]) + 2 * _CELL_PADDING + 1)
    total = sum(wanted)
    if total <= _FRAME_WIDTH:
        spare = (_FRAME_WIDTH - total) / len(wanted)
        return [w + spare for w in wanted]
    # Water-filling: columns narrower than an equal share of what is left keep their
    # width; the wide ones share the rest equally (long text is cut, short codes stay).
    widths = list(wanted)
    wide = set(range(len(wanted)))
    room = _FRAME_WIDTH
    while wide:
        share = room / len(wide)
        narrow = {i for i in wide if wanted[i] <= share}
        if not narrow:
            for i in wide:
                widths[i] = share
            break
        room -= sum(wanted[i] for i in narrow)
        wide -= narrow
    return widths


def _fitted(row: list[str], widths: list[float]) -> list[str]:
    return [_cut(text, width - 2 * _CELL_PADDING) for text, width in zip(row, widths, strict=False)]


def _cut(text: str, room: float, size: float = 8) -> str:
    # No glyph is wider than the font size: a short text fits without measuring it.
    if len(text) * size <= room or stringWidth(text, FONT, size) <= room:
        return text
    while text and stringWidth(text + "…", FONT, size) > room:
        text = text[:-1]
    return text + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
