"""Unicode fonts for the PDFs: DejaVu Sans, with a CJK fallback drawn run by run.

reportlab's standard fonts know only Latin-1, and a TrueType font draws only its own glyphs:
reportlab has no font fallback. So text is split into runs, each drawn with the first font
that has its characters: DejaVu Sans (Latin, Greek, Cyrillic, Hebrew, Arabic...), else
WenQuanYi Micro Hei (Chinese, Japanese, Korean). Paragraph text gets ``<font>`` tags around the
fallback runs (``markup``); text drawn on the canvas goes through ``draw_string``.

The fallback font is large (5 MB) and takes a tenth of a second to read: it is loaded only
when some text needs it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from deskapp.resources import resource_path

FONT_DIR = resource_path("fonts")
"""Where the TrueType files ship (resources/fonts/ of the source tree, wheel or bundle)."""

SANS = "DeskSans"
SANS_BOLD = "DeskSans-Bold"
SANS_ITALIC = "DeskSans-Oblique"
FALLBACK = "DeskFallback"

_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    SANS_ITALIC: "DejaVuSans-Oblique.ttf",
}
_FALLBACK_FILE = "wqy-microhei.ttc"
_lock = threading.Lock()
_registered = False
_fallback_registered = False


class FontsMissingError(RuntimeError):
    """The report fonts are not installed where Deskapp looks for them."""


def register() -> None:
    """Register the report fonts with reportlab, once per process (thread-safe)."""
    global _registered
    with _lock:
        if _registered:
            return
        for name, file in _FILES.items():
            path = FONT_DIR / file
            if not path.is_file():
                raise FontsMissingError(f"The report font {path} is missing; reinstall "
                                        "Deskapp.")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        addMapping(SANS, 0, 0, SANS)
        addMapping(SANS, 1, 0, SANS_BOLD)
        addMapping(SANS, 0, 1, SANS_ITALIC)
        addMapping(SANS, 1, 1, SANS_BOLD)
        _registered = True


def _register_fallback() -> bool:
    global _fallback_registered
    if _fallback_registered:
        return True
    with _lock:
        if not _fallback_registered:
            path = FONT_DIR / _FALLBACK_FILE
            if not path.is_file():
                return False
            pdfmetrics.registerFont(TTFont(FALLBACK, str(path), subfontIndex=0))
            # Bold and italic CJK have no faces of their own: the same glyphs serve.
            for bold in (0, 1):
                for italic in (0, 1):
                    addMapping(FALLBACK, bold, italic, FALLBACK)
            _fallback_registered = True
    return True


@lru_cache(maxsize=1)
def _sans_coverage() -> frozenset[int]:
    register()
    font = pdfmetrics.getFont(SANS)
    return frozenset(font.face.charToGlyph)


def _fallback_coverage() -> frozenset[int]:
    if not _register_fallback():
        return frozenset()
    return _fallback_chars()


@lru_cache(maxsize=1)
def _fallback_chars() -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(FALLBACK).face.charToGlyph)


def covered(text: str) -> bool:
    """Whether DejaVu Sans alone draws every character of ``text``."""
    sans = _sans_coverage()
    return all(ord(c) in sans for c in text)


def runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (run, needs the fallback font) pieces, in order."""
    sans = _sans_coverage()
    if all(ord(c) in sans or c in "\n\r\t" for c in text):
        return [(text, False)] if text else []
    fallback = _fallback_coverage()
    pieces: list[tuple[str, bool]] = []
    for char in text:
        use_fallback = ord(char) not in sans and ord(char) in fallback
        if pieces and pieces[-1][1] == use_fallback:
            pieces[-1] = (pieces[-1][0] + char, use_fallback)
        else:
            pieces.append((char, use_fallback))
    return pieces


def markup(text: str | None, *, newlines: bool = True) -> str:
    """``text`` as Paragraph markup: escaped, fallback runs in their font, newlines kept."""
    if not text:
        return ""
    out = []
    for run, use_fallback in runs(text):
        escaped = escape(run)
        if newlines:
            escaped = escaped.replace("\r\n", "\n").replace("\n", "<br/>")
        out.append(f'<font face="{FALLBACK}">{escaped}</font>' if use_fallback else escaped)
    return "".join(out)


def string_width(text: str, font: str, size: float) -> float:
    """The width of ``text`` drawn with ``draw_string``."""
    return float(sum(pdfmetrics.stringWidth(run, FALLBACK if fb else font, size)
                     for run, fb in runs(text)))


def draw_string(canvas: Canvas, x: float, y: float, text: str, font: str = SANS,
                size: float = 8, *, align: str = "left") -> None:
    """Draw one line on the canvas, switching to the fallback font where needed."""
    width = string_width(text, font, size)
    if align == "right":
        x -= width
    elif align == "center":
        x -= width / 2
    for run, use_fallback in runs(text):
        name = FALLBACK if use_fallback else font
        canvas.setFont(name, size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, name, size)
