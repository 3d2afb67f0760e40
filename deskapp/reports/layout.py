"""What both reports share: page frame, header and footer ("page 3 of 7"), styles, tables,
and the way times and durations are written."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    LongTable,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)

from deskapp.reports.fonts import (
    SANS,
    SANS_BOLD,
    SANS_ITALIC,
    covered,
    draw_string,
    markup,
    register,
)

PAGE = A4
MARGIN = 16 * mm
TOP = 20 * mm
BOTTOM = 18 * mm
WIDTH = PAGE[0] - 2 * MARGIN
CELL_PAD = 4

INK = colors.HexColor("#212121")
MUTED = colors.HexColor("#616161")
RULE = colors.HexColor("#bdbdbd")
HEAD_FILL = colors.HexColor("#eceff1")
STRIPE = colors.HexColor("#fafafa")
GOOD = colors.HexColor("#2e7d32")
BAD = colors.HexColor("#c62828")
LINK = colors.HexColor("#1565c0")


class Styles:
    """The paragraph styles of both reports (built once fonts are registered)."""

    def __init__(self) -> None:
        register()
        base = ParagraphStyle("body", fontName=SANS, fontSize=9, leading=12, textColor=INK)
        self.body = base
        self.small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
        self.cell = ParagraphStyle("cell", parent=base, fontSize=8, leading=10)
        self.cell_bold = ParagraphStyle("cellBold", parent=self.cell, fontName=SANS_BOLD)
        self.cell_right = ParagraphStyle("cellRight", parent=self.cell, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", parent=self.cell, fontName=SANS_BOLD)
        self.head_right = ParagraphStyle("headRight", parent=self.head, alignment=TA_RIGHT)
        self.muted = ParagraphStyle("muted", parent=base, fontName=SANS_ITALIC,
                                    textColor=MUTED)
        self.title = ParagraphStyle("title", parent=base, fontName=SANS_BOLD, fontSize=17,
                                    leading=21, spaceAfter=3)
        self.subtitle = ParagraphStyle("subtitle", parent=base, fontSize=11, leading=14,
                                       textColor=MUTED, spaceAfter=8)
        self.h1 = ParagraphStyle("h1", parent=base, fontName=SANS_BOLD, fontSize=12.5,
                                 leading=16, spaceBefore=10, spaceAfter=4, keepWithNext=1)
        self.h2 = ParagraphStyle("h2", parent=base, fontName=SANS_BOLD, fontSize=10,
                                 leading=13, spaceBefore=6, spaceAfter=2, keepWithNext=1)


def p(text: str | None, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped; other scripts in their font)."""
    return Paragraph(markup(text), style)


def cell(text: str | None, style: ParagraphStyle, width: float) -> str | Paragraph:
    """A table cell: the bare string when it fits on one line in the table's own font (far
    cheaper to lay out, which long timelines need), else a wrapping paragraph.

    ``style`` must use the font and size the table sets for its cells (SANS, 8 pt).
    """
    text = text or ""
    if ("\n" not in text and covered(text)
            and stringWidth(text, style.fontName, style.fontSize) <= width - 2 * CELL_PAD):
        return text
    return p(text, style)


def raw(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of markup that the caller built (and escaped) itself."""
    return Paragraph(text, style)


def text_block(text: str | None, styles: Styles, empty: str = "Not written yet.") -> list[
        Flowable]:
    """Free text as paragraphs (blank lines separate them); a muted note when empty."""
    text = (text or "").strip()
    if not text:
        return [p(empty, styles.muted)]
    parts = [part.strip() for part in text.replace("\r\n", "\n").split("\n\n")]
    return [p(part, styles.body) for part in parts if part]


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True,
          zebra: bool = True, extra: Sequence[tuple[Any, ...]] = (),
          row_heights: Sequence[float | None] | None = None) -> LongTable:
    """A table that splits across pages, repeating its header row on each."""
    t = LongTable([list(r) for r in rows], colWidths=list(widths),
                  rowHeights=list(row_heights) if row_heights else None,
                  repeatRows=1 if header else 0, splitByRow=1)
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 0), (-1, -1), SANS, 8),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE),
    ]
    if header:
        commands += [("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                     ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
                     ("FONT", (0, 0), (-1, 0), SANS_BOLD, 8)]
    if zebra and len(rows) > 2:
        commands.append(("ROWBACKGROUNDS", (0, 1 if header else 0), (-1, -1),
                         [colors.white, STRIPE]))
    t.setStyle(TableStyle([*commands, *extra]))
    return t


def spacer(height: float = 4) -> Spacer:
    return Spacer(1, height * mm)


# --- times, durations, shares -----------------------------------------------------------------


def when(value: datetime | None, zone: tzinfo, *, seconds: bool = False) -> str:
    """A time in the report's zone: 2026-10-04 14:05."""
    if value is None:
        return "\u2014"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if seconds
                                           else "%Y-%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    """3 d 4 h, 2 h 15 min, 12 min, 40 s."""
    if seconds is None:
        return "\u2014"
    sign = "\u2212" if seconds < 0 else ""
    total = round(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    elif minutes:
        text = f"{minutes} min"
    else:
        text = f"{secs} s"
    return sign + text


def share(part: int, whole: int) -> str:
    """A percentage with one decimal, or a dash for nothing out of nothing.

    A share too small for one decimal gets two ("0.02%", 2 of 8,995), or "<0.01%"; one that
    falls short of the whole never reads 100.0% (">99.9%"): a listed item is never "0.0%".
    """
    if whole <= 0:
        return "\u2014"
    percent = 100 * part / whole
    text = f"{percent:.1f}%"
    if part > 0 and text == "0.0%":
        return f"{percent:.2f}%" if percent >= 0.005 else "<0.01%"
    if part < whole and text == "100.0%":
        return ">99.9%"
    return text


# --- the document -----------------------------------------------------------------------------


def _numbered_canvas(header: str, footer: str) -> type[Canvas]:
    """A canvas that holds its pages back until the count is known, for "page 3 of 7"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
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
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            width, height = PAGE
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN, height - TOP + 6 * mm, width - MARGIN, height - TOP + 6 * mm)
            self.line(MARGIN, BOTTOM - 6 * mm, width - MARGIN, BOTTOM - 6 * mm)
            self.setFillColor(MUTED)
            draw_string(self, MARGIN, height - TOP + 7.5 * mm, header, SANS_BOLD, 8)
            draw_string(self, width - MARGIN, height - TOP + 7.5 * mm, "Deskapp", SANS, 8,
                        align="right")
            draw_string(self, MARGIN, BOTTOM - 10 * mm, footer, SANS, 7)
            draw_string(self, width - MARGIN, BOTTOM - 10 * mm,
                        f"page {self._pageNumber} of {total}", SANS, 7, align="right")
            self.restoreState()

    return NumberedCanvas


HEADING_ROOM = 30 * mm
"""Room a heading needs below it for a table's header and first rows (else: next page)."""


def _tables_start_under_their_headings(story: Sequence[Flowable]) -> list[Flowable]:
    """Headings keep with what follows (keepWithNext), except with a table that splits.

    Kept together, a heading and a long table move to the next page as one piece whenever
    the table does not fit in what is left, leaving a page nearly empty; the heading goes
    to the next page only when the room left cannot take it and the table's first rows.
    """
    out: list[Flowable] = []
    for flowable, following in zip(story, [*story[1:], None], strict=True):
        if isinstance(flowable, Paragraph) and flowable.getKeepWithNext() \
                and isinstance(following, LongTable):
            out.append(CondPageBreak(HEADING_ROOM))
            flowable.keepWithNext = 0  # the instance's setting wins over its style's
        out.append(flowable)
    return out


def build(story: list[Flowable], *, title: str, subject: str, author: str, header: str,
          footer: str, on_page: Callable[[Canvas, Any], None] | None = None) -> bytes:
    """Lay ``story`` out on A4 pages with header and footer; returns the PDF's bytes."""
    register()
    buffer = io.BytesIO()
    doc = BaseDocTemplate(buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=TOP, bottomMargin=BOTTOM, title=title, subject=subject,
                          author=author, creator="Deskapp",
                          # Not Helvetica: a font the PDF names but does not embed may print
                          # differently elsewhere.
                          initialFontName=SANS, initialFontSize=8)
    frame = Frame(MARGIN, BOTTOM, WIDTH, PAGE[1] - TOP - BOTTOM, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    template = (PageTemplate(id="page", frames=[frame], onPage=on_page) if on_page
                else PageTemplate(id="page", frames=[frame]))
    doc.addPageTemplates([template])
    doc.build(_tables_start_under_their_headings(story),
              canvasmaker=_numbered_canvas(header, footer))
    return buffer.getvalue()
