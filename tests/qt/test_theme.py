"""Themes: the palettes applied, the system followed, every meaningful colour readable."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QStyleOptionViewItem, QTableView, QWidget
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import ActivityKind
from deskapp.domain.priority import DEFAULT_PRIORITIES
from deskapp.qt import theme
from deskapp.qt.delegates.priority import PriorityDelegate
from deskapp.qt.models.activity_model import _background
from deskapp.qt.roles import ItemRole
from deskapp.qt.theme import (
    DARK_COLOURS,
    LIGHT_COLOURS,
    Colours,
    Scheme,
    ThemeManager,
    adapt_style_sheet,
    contrast_ratio,
    dark_palette,
    legible,
    light_palette,
    text_on,
)
from deskapp.user_settings import ThemeChoice

SCHEMES = {Scheme.LIGHT: (light_palette, LIGHT_COLOURS), Scheme.DARK: (dark_palette, DARK_COLOURS)}
PRIORITY_COLOURS = [QColor(p.colour) for p in DEFAULT_PRIORITIES]


def backgrounds(palette: QPalette) -> list[QColor]:
    role = QPalette.ColorRole
    return [palette.color(role.Base), palette.color(role.AlternateBase),
            palette.color(role.Window)]


@pytest.mark.parametrize("scheme", list(Scheme))
def test_priority_badges_read_at_4_5_to_1_on_both_themes(scheme: Scheme) -> None:
    make_palette, _colours = SCHEMES[scheme]
    palette = make_palette()
    for colour in PRIORITY_COLOURS:
        # The code on the badge (the badge keeps the matrix's colour in both themes).
        assert contrast_ratio(text_on(colour), colour) >= 4.5, colour.name()
        # The priority's name beside it, in the palette's text colour, selected or not.
        for background in backgrounds(palette):
            assert contrast_ratio(palette.color(QPalette.ColorRole.Text), background) >= 4.5
        assert contrast_ratio(palette.color(QPalette.ColorRole.HighlightedText),
                              palette.color(QPalette.ColorRole.Highlight)) >= 4.5
        # A priority's colour used as text (major incidents in the caller's lists).
        base = palette.color(QPalette.ColorRole.Base)
        assert contrast_ratio(legible(colour, base), base) >= 4.5, colour.name()


def test_text_on_picks_the_better_of_black_and_white() -> None:
    assert text_on(QColor("#fbc02d")) == QColor("#000000")  # P3's yellow: black
    assert text_on(QColor("#1976d2")) == QColor("#ffffff")  # P5's blue: white
    # The old rule (perceived luminance > 0.6) wrote white on P2's orange: 2.6:1.
    assert contrast_ratio(QColor("white"), QColor("#f57c00")) < 3
    assert text_on(QColor("#f57c00")) == QColor("#000000")
    for grey in range(0, 256, 5):
        colour = QColor(grey, grey, grey)
        assert contrast_ratio(text_on(colour), colour) >= 4.5


@pytest.mark.parametrize("scheme", list(Scheme))
def test_every_meaningful_colour_reads_where_it_is_drawn(scheme: Scheme) -> None:
    make_palette, colours = SCHEMES[scheme]
    palette = make_palette()
    text = palette.color(QPalette.ColorRole.Text)
    for name in ("error", "warning", "success", "muted", "major", "heading"):
        colour: QColor = getattr(colours, name)
        for background in backgrounds(palette):
            assert contrast_ratio(colour, background) >= 4.5, (name, background.name())
    assert contrast_ratio(colours.pill_text, colours.pill) >= 4.5
    assert contrast_ratio(colours.attention_text, colours.attention) >= 4.5
    for tint in (colours.work_note, colours.comment, colours.call):
        assert contrast_ratio(text, tint) >= 4.5, tint.name()


def test_the_colours_declared_are_the_same_set_in_both_schemes() -> None:
    fields = Colours.__dataclass_fields__
    assert all(isinstance(getattr(DARK_COLOURS, f), QColor) for f in fields)
    assert all(getattr(DARK_COLOURS, f) != getattr(LIGHT_COLOURS, f) for f in
               ("error", "muted", "pill", "work_note"))


def test_dark_and_light_are_applied_with_fusion(qtbot: QtBot, app_theme: QApplication) -> None:
    manager = theme.install(app_theme, ThemeChoice.DARK)
    assert app_theme.style().name().lower() == "fusion"
    assert manager.scheme is Scheme.DARK and theme.current_scheme() is Scheme.DARK
    window = app_theme.palette().color(QPalette.ColorRole.Window)
    assert window.lightnessF() < 0.25
    assert theme.colours() is DARK_COLOURS
    with qtbot.waitSignal(manager.changed) as changed:
        manager.set_choice(ThemeChoice.LIGHT)
    assert changed.args == [Scheme.LIGHT]
    assert app_theme.palette().color(QPalette.ColorRole.Window).lightnessF() > 0.85
    assert theme.colours() is LIGHT_COLOURS
    assert theme.install(app_theme, ThemeChoice.DARK) is manager  # one per application


def test_system_follows_the_desktop_and_its_changes(
        qtbot: QtBot, app_theme: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    desktop = {"scheme": Scheme.LIGHT}
    monkeypatch.setattr(theme, "system_scheme", lambda: desktop["scheme"])
    manager = theme.install(app_theme, ThemeChoice.SYSTEM)
    assert manager.scheme is Scheme.LIGHT
    desktop["scheme"] = Scheme.DARK
    with qtbot.waitSignal(manager.changed):
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert manager.scheme is Scheme.DARK
    # A user who chose Light keeps it whatever the desktop does.
    manager.set_choice(ThemeChoice.LIGHT)
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert manager.scheme is Scheme.LIGHT


def test_designer_style_sheets_are_made_readable_in_dark() -> None:
    sheet = ("QLabel[role=\"hint\"] { color: #6b7280; }\n"
             "QLabel#linkLabel { background: #fff8e1; border: 1px solid #ffe082; }\n"
             "QLabel#majorLabel { background: #c62828; color: white; }\n"
             "QLabel#vipLabel { color: #b45309; font-weight: bold; }")
    assert adapt_style_sheet(sheet, Scheme.LIGHT) == sheet
    dark = adapt_style_sheet(sheet, Scheme.DARK)
    window = dark_palette().color(QPalette.ColorRole.Window)
    hint = QColor(dark.split("color: ")[1][:7])
    assert contrast_ratio(hint, window) >= 4.5
    assert "#fff8e1" not in dark and "#ffe082" not in dark
    link_background = QColor(dark.split("background: ")[1][:7])
    assert contrast_ratio(dark_palette().color(QPalette.ColorRole.WindowText),
                          link_background) >= 4.5
    assert "QLabel#majorLabel { background: #c62828; color: white; }" in dark  # strong chip
    assert "font-weight: bold" in dark
    assert adapt_style_sheet("color: #c62828;", Scheme.DARK) != "color: #c62828;"


def test_a_widget_follows_the_theme_and_back(qtbot: QtBot, app_theme: QApplication) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    label = QLabel("Hint", widget)
    label.setStyleSheet("color: #6b7280;")
    theme.follow(widget)
    assert label.styleSheet() == "color: #6b7280;"  # light: as designed
    manager = theme.install(app_theme, ThemeChoice.DARK)
    dark = label.styleSheet()
    assert dark != "color: #6b7280;"
    assert contrast_ratio(QColor(dark[7:14]), dark_palette().color(QPalette.ColorRole.Window)) \
        >= 4.5
    manager.set_choice(ThemeChoice.LIGHT)
    assert label.styleSheet() == "color: #6b7280;"


def test_timeline_tints_follow_the_theme(app_theme: QApplication) -> None:
    assert _background(ActivityKind.WORK_NOTE) == LIGHT_COLOURS.work_note
    theme.install(app_theme, ThemeChoice.DARK)
    assert _background(ActivityKind.WORK_NOTE) == DARK_COLOURS.work_note
    assert _background(ActivityKind.FIELD_CHANGE) is None


@pytest.mark.parametrize("choice", [ThemeChoice.LIGHT, ThemeChoice.DARK])
def test_the_priority_badge_is_painted_with_readable_text(
        qtbot: QtBot, app_theme: QApplication, choice: ThemeChoice) -> None:
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    theme.install(app_theme, choice)
    model = QStandardItemModel(1, 1)
    item = QStandardItem("P3 - Moderate")
    item.setData(QColor("#fbc02d"), ItemRole.PRIORITY_COLOUR)
    model.setItem(0, 0, item)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = PriorityDelegate(view)
    image = QImage(QSize(160, 24), QImage.Format.Format_ARGB32)
    image.fill(app_theme.palette().color(QPalette.ColorRole.Base))
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = QRect(0, 0, 160, 24)
    index: QModelIndex | QPersistentModelIndex = model.index(0, 0)
    try:
        delegate.paint(painter, option, index)
    finally:
        painter.end()
    colours = {image.pixelColor(x, y).name() for x in range(4, 30) for y in range(2, 22)}
    assert "#fbc02d" in colours  # the badge
    darkest = min((QColor(c) for c in colours), key=theme.relative_luminance)
    assert contrast_ratio(darkest, QColor("#fbc02d")) >= 4.5  # its code, black on yellow


def test_manager_is_found_on_the_application(app_theme: QApplication) -> None:
    assert theme.manager(app_theme) is None
    installed = theme.install(app_theme, ThemeChoice.LIGHT)
    assert isinstance(installed, ThemeManager)
    assert theme.manager(app_theme) is installed
