"""Light and dark themes: the Fusion style with a palette of ours, following the system.

Fusion everywhere, so a desk looks the same on Windows, macOS and Linux, and so that a dark
palette is honoured (native styles partly draw with their own colours). The user chooses
"System" (follow Qt's colour scheme, Qt 6.5+, and its changes while running), "Light" or
"Dark".

Colours that mean something (overdue red, at-risk amber, muted grey, the sidebar's count
pills, tinted timeline notes) come from :func:`colours`, one set per scheme, each checked to
read at 4.5:1 or better (WCAG 2) on the backgrounds it is drawn on. Text on a colour chosen
by the data (a priority's badge) is black or white by contrast: :func:`text_on`.

Style sheets written for a light window in Designer are rewritten for dark by
:func:`adapt_style_sheet`; views call :func:`follow` once after ``setupUi``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

from deskapp.user_settings import ThemeChoice

log = logging.getLogger(__name__)

MIN_CONTRAST = 4.5
"""WCAG 2 AA for normal text."""

BLACK_TEXT = QColor("#000000")
WHITE_TEXT = QColor("#ffffff")

_STYLE_PROPERTY = "deskappLightStyleSheet"
"""Where a widget keeps the style sheet it was designed with (the light one)."""
_APPLIED_PROPERTY = "deskappAppliedStyleSheet"


class Scheme(Enum):
    """The colour scheme in force."""

    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True)
class Colours:
    """Colours with a meaning, for one scheme. Text colours read on ``base``/``window``."""

    error: QColor
    """Overdue, failures, messages in red."""
    warning: QColor
    """At risk, VIP marks."""
    success: QColor
    """Connected, met."""
    muted: QColor
    """Hints, "Unassigned", paused clocks."""
    major: QColor
    """The major-incident mark."""
    pill: QColor
    """The background of a count in the sidebar."""
    pill_text: QColor
    attention: QColor
    """The background of a count that is a warning."""
    attention_text: QColor
    heading: QColor
    """The sidebar's small headings."""
    sla_track: QColor
    """The empty part of the SLA bar."""
    work_note: QColor
    """Timeline backgrounds, by kind of entry; the palette's text colour reads on them."""
    comment: QColor
    call: QColor


LIGHT_COLOURS = Colours(
    error=QColor("#b91c1c"), warning=QColor("#a04a06"), success=QColor("#276b2b"),
    muted=QColor("#5f6673"), major=QColor("#b91c1c"),
    pill=QColor("#e5e7eb"), pill_text=QColor("#374151"),
    attention=QColor("#c62828"), attention_text=QColor("#ffffff"),
    heading=QColor("#5f6673"), sla_track=QColor("#e5e7eb"),
    work_note=QColor("#fff8e1"), comment=QColor("#e3f2fd"), call=QColor("#e8f5e9"),
)
DARK_COLOURS = Colours(
    error=QColor("#f87171"), warning=QColor("#fbbf24"), success=QColor("#4ade80"),
    muted=QColor("#a3aab5"), major=QColor("#f87171"),
    pill=QColor("#3f4652"), pill_text=QColor("#e5e7eb"),
    attention=QColor("#c62828"), attention_text=QColor("#ffffff"),
    heading=QColor("#a3aab5"), sla_track=QColor("#464b53"),
    work_note=QColor("#3d3421"), comment=QColor("#1f3447"), call=QColor("#1f3a28"),
)

_current: Scheme = Scheme.LIGHT


def colours() -> Colours:
    """The meaningful colours of the scheme in force (light until a theme is applied)."""
    return DARK_COLOURS if _current is Scheme.DARK else LIGHT_COLOURS


def base_colour() -> QColor:
    """The background of lists and text fields in the scheme in force."""
    return palette_for(_current).color(QPalette.ColorRole.Base)


def current_scheme() -> Scheme:
    """The scheme last applied by :class:`ThemeManager` (light before any)."""
    return _current


# --- contrast ----------------------------------------------------------------------------

def _hsl(colour: QColor) -> tuple[float, float, float, float]:
    """Hue (0..1; greys 0), saturation, lightness, alpha."""
    hue, saturation, lightness, alpha = (colour.hslHueF(), colour.hslSaturationF(),
                                         colour.lightnessF(), colour.alphaF())
    return max(hue, 0.0), saturation, lightness, alpha


def relative_luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance: 0 for black, 1 for white."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF())
            + 0.0722 * linear(colour.blueF()))


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio, from 1 (the same) to 21 (black on white)."""
    a, b = relative_luminance(first), relative_luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background: QColor) -> QColor:
    """Black or white, whichever has the higher contrast on ``background``.

    Every opaque colour reaches at least 4.58:1 with one of the two.
    """
    if contrast_ratio(BLACK_TEXT, background) >= contrast_ratio(WHITE_TEXT, background):
        return QColor(BLACK_TEXT)
    return QColor(WHITE_TEXT)


def legible(colour: QColor, background: QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """``colour`` made lighter or darker, keeping its hue, until it reads on ``background``.

    Used where the data chooses a text colour (a priority's colour as text) and where a
    light theme's text colour must serve on a dark background.
    """
    if contrast_ratio(colour, background) >= minimum:
        return QColor(colour)
    towards_white = relative_luminance(background) < 0.18
    hue, saturation, lightness, alpha = _hsl(colour)
    step = 0.02 if towards_white else -0.02
    while 0.0 <= lightness <= 1.0:
        lightness += step
        candidate = QColor.fromHslF(hue, saturation, min(max(lightness, 0.0), 1.0), alpha)
        if contrast_ratio(candidate, background) >= minimum:
            return candidate
    return text_on(background)


# --- palettes ----------------------------------------------------------------------------

def light_palette() -> QPalette:
    """A light palette for Fusion: dark text on white, blue selection."""
    p = QPalette()
    _fill(p, window="#efefef", window_text="#111111", base="#ffffff", alternate="#f5f6f7",
          text="#111111", button="#e9e9e9", button_text="#111111", highlight="#2f65ca",
          highlighted_text="#ffffff", link="#1a56db", link_visited="#6b2fb3",
          tooltip_base="#ffffdc", tooltip_text="#111111", placeholder="#6b6b6b",
          bright_text="#ffffff", disabled_text="#8a8a8a")
    p.setColor(QPalette.ColorRole.Light, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Midlight, QColor("#e3e3e3"))
    p.setColor(QPalette.ColorRole.Mid, QColor("#b8b8b8"))
    p.setColor(QPalette.ColorRole.Dark, QColor("#9f9f9f"))
    p.setColor(QPalette.ColorRole.Shadow, QColor("#767676"))
    return p


def dark_palette() -> QPalette:
    """A dark palette for Fusion: light text on near-black, the same blue selection."""
    p = QPalette()
    _fill(p, window="#2b2b2b", window_text="#e8e8e8", base="#1e1e1e", alternate="#262626",
          text="#e8e8e8", button="#353535", button_text="#e8e8e8", highlight="#2f65ca",
          highlighted_text="#ffffff", link="#7aa7ff", link_visited="#c39bff",
          tooltip_base="#3c3c3c", tooltip_text="#f0f0f0", placeholder="#9a9a9a",
          bright_text="#ff6b6b", disabled_text="#808080")
    p.setColor(QPalette.ColorRole.Light, QColor("#4a4a4a"))
    p.setColor(QPalette.ColorRole.Midlight, QColor("#3c3c3c"))
    p.setColor(QPalette.ColorRole.Mid, QColor("#262626"))
    p.setColor(QPalette.ColorRole.Dark, QColor("#1a1a1a"))
    p.setColor(QPalette.ColorRole.Shadow, QColor("#0d0d0d"))
    return p


def _fill(p: QPalette, *, window: str, window_text: str, base: str, alternate: str, text: str,
          button: str, button_text: str, highlight: str, highlighted_text: str, link: str,
          link_visited: str, tooltip_base: str, tooltip_text: str, placeholder: str,
          bright_text: str, disabled_text: str) -> None:
    role = QPalette.ColorRole
    for r, value in ((role.Window, window), (role.WindowText, window_text), (role.Base, base),
                     (role.AlternateBase, alternate), (role.Text, text),
                     (role.Button, button), (role.ButtonText, button_text),
                     (role.Highlight, highlight), (role.HighlightedText, highlighted_text),
                     (role.Link, link), (role.LinkVisited, link_visited),
                     (role.ToolTipBase, tooltip_base), (role.ToolTipText, tooltip_text),
                     (role.PlaceholderText, placeholder), (role.BrightText, bright_text)):
        p.setColor(r, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor(disabled_text))
    p.setColor(disabled, role.Highlight, QColor("#5a5a5a" if base != "#ffffff" else "#c8c8c8"))
    # Inactive windows keep the selection's colour: a selected row must stay readable
    # while another window (an incident form) has the focus.
    inactive = QPalette.ColorGroup.Inactive
    p.setColor(inactive, role.Highlight, QColor(highlight))
    p.setColor(inactive, role.HighlightedText, QColor(highlighted_text))


def palette_for(scheme: Scheme) -> QPalette:
    return dark_palette() if scheme is Scheme.DARK else light_palette()


# --- style sheets ------------------------------------------------------------------------

_DECLARATION = re.compile(
    r"(?P<prop>[a-z-]+)\s*:\s*(?P<value>[^;{}]*#[0-9a-fA-F]{6}[^;{}]*)(?=;|}|$)")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_RULE = re.compile(r"\{(?P<body>[^{}]*)\}")

_DARK_TEXT_REFERENCE = QColor("#3d3d3d")
"""The lightest background a dark window draws text on (tinted banners included)."""


def _dark_background(colour: QColor) -> QColor:
    hue, saturation, lightness, alpha = _hsl(colour)
    if lightness < 0.75:
        return QColor(colour)  # a strong colour (a red chip) stays what it is
    return QColor.fromHslF(hue, min(saturation, 0.35), 0.19, alpha)


def _dark_border(colour: QColor) -> QColor:
    hue, saturation, lightness, alpha = _hsl(colour)
    if lightness < 0.6:
        return QColor(colour)
    return QColor.fromHslF(hue, min(saturation, 0.45), 0.34, alpha)


def _dark_text(colour: QColor) -> QColor:
    return legible(colour, _DARK_TEXT_REFERENCE)


def _adapt_block(body: str) -> str:
    backgrounds = [m for m in _DECLARATION.finditer(body) if m["prop"].startswith("background")]
    strong_background = any(
        _dark_background(QColor(h)) == QColor(h)
        for m in backgrounds for h in _HEX.findall(m["value"]))

    def replace(match: re.Match[str]) -> str:
        prop, value = match["prop"], match["value"]
        change: Callable[[QColor], QColor]
        if prop.startswith("background"):
            change = _dark_background
        elif "border" in prop:
            change = _dark_border
        elif prop == "color" and not strong_background:
            change = _dark_text
        else:
            return match.group(0)
        return f"{prop}: " + _HEX.sub(lambda h: change(QColor(h.group(0))).name(), value)

    return _DECLARATION.sub(replace, body)


def adapt_style_sheet(sheet: str, scheme: Scheme) -> str:
    """A style sheet written for a light window, made readable in ``scheme``.

    Light: unchanged. Dark: pale backgrounds become dark tints of their hue, pale borders
    darker, and text colours lighter until they read on a dark background; a rule with a
    strong background of its own (white on red) is left as it is.
    """
    if scheme is Scheme.LIGHT or "#" not in sheet:
        return sheet
    if "{" not in sheet:
        return _adapt_block(sheet)
    return _RULE.sub(lambda m: "{" + _adapt_block(m["body"]) + "}", sheet)


def _restyle(widget: QWidget, scheme: Scheme) -> None:
    sheet = widget.styleSheet()
    applied = widget.property(_APPLIED_PROPERTY)
    original = widget.property(_STYLE_PROPERTY)
    if not isinstance(original, str) or sheet != applied:
        original = sheet  # new, or set again by the view since: that is the light one
        widget.setProperty(_STYLE_PROPERTY, original)
    if not original:
        return
    adapted = adapt_style_sheet(original, scheme)
    widget.setProperty(_APPLIED_PROPERTY, adapted)
    if adapted != sheet:
        widget.setStyleSheet(adapted)


def follow(root: QWidget) -> None:
    """Make ``root``'s Designer style sheets (and its children's) fit the scheme in force.

    Call once after ``setupUi``; a later change of theme restyles every widget.
    """
    for widget in (root, *root.findChildren(QWidget)):
        if widget.styleSheet() or widget.property(_STYLE_PROPERTY):
            _restyle(widget, _current)


def text_style(colour: QColor, *, bold: bool = False) -> str:
    """A style sheet for a label's text in ``colour`` (one of :func:`colours`)."""
    return f"color: {colour.name()};" + (" font-weight: bold;" if bold else "")


# --- the manager -------------------------------------------------------------------------

def system_scheme() -> Scheme:
    """What the desktop asks for; light where the platform does not say (offscreen, X11)."""
    hints = QGuiApplication.styleHints()
    return Scheme.DARK if hints.colorScheme() == Qt.ColorScheme.Dark else Scheme.LIGHT


def resolve(choice: ThemeChoice, system: Scheme) -> Scheme:
    """The scheme a choice means on a system that asks for ``system``."""
    if choice is ThemeChoice.LIGHT:
        return Scheme.LIGHT
    if choice is ThemeChoice.DARK:
        return Scheme.DARK
    return system


class ThemeManager(QObject):
    """Applies the user's choice to the application and follows the system's changes.

    Signals:
        changed(object): a new scheme is in force (the argument is a :class:`Scheme`);
            widgets that cache colours repaint.
    """

    changed = Signal(object)

    def __init__(self, app: QApplication, choice: ThemeChoice = ThemeChoice.SYSTEM) -> None:
        super().__init__(app)
        self.setObjectName("themeManager")
        self._app = app
        self._choice = choice
        self._scheme: Scheme | None = None
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_changed)
        self.apply()

    @property
    def choice(self) -> ThemeChoice:
        return self._choice

    @property
    def scheme(self) -> Scheme:
        """The scheme in force."""
        return self._scheme if self._scheme is not None else Scheme.LIGHT

    def set_choice(self, choice: ThemeChoice) -> None:
        """Use ``choice`` from now on (the Settings dialog)."""
        self._choice = choice
        self.apply()

    def apply(self) -> None:
        """Put the chosen scheme's style, palette and style sheets in force."""
        global _current
        scheme = resolve(self._choice, system_scheme())
        first = self._scheme is None
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None and first:
            self._app.setStyle(fusion)
        self._app.setPalette(palette_for(scheme))
        if scheme is self._scheme:
            return
        self._scheme = scheme
        _current = scheme
        for widget in QApplication.allWidgets():
            if widget.styleSheet() or widget.property(_STYLE_PROPERTY):
                _restyle(widget, scheme)
        for widget in QApplication.topLevelWidgets():
            widget.update()
        log.info("Theme: %s (%s)", scheme.value, self._choice.value)
        self.changed.emit(scheme)

    def _on_system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._choice is ThemeChoice.SYSTEM:
            self.apply()


def install(app: QApplication, choice: ThemeChoice) -> ThemeManager:
    """Apply ``choice`` to ``app`` now and keep following it (the app's child)."""
    existing = app.findChild(ThemeManager, "themeManager")
    if isinstance(existing, ThemeManager):
        existing.set_choice(choice)
        return existing
    return ThemeManager(app, choice)


def manager(app: QApplication | None = None) -> ThemeManager | None:
    """The application's theme manager, if one was installed."""
    instance = app if app is not None else QApplication.instance()
    found = instance.findChild(ThemeManager, "themeManager") if instance is not None else None
    return found if isinstance(found, ThemeManager) else None
