"""Read-only text fields look read-only, and editable ones editable again."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from deskapp.qt.widgets.lookup import LookupEdit
from deskapp.qt.widgets.read_only import set_read_only
from tests.qt.forms import looks_read_only


def painted_as_input(field: QWidget) -> bool:
    """Whether the field is painted with the application's input-field background."""
    image = field.grab().toImage()
    base = QApplication.palette().color(QPalette.ColorRole.Base)
    return image.pixelColor(image.width() - 40, image.height() // 2) == base


def test_a_field_goes_read_only_and_back(qtbot: QtBot) -> None:
    line, text, lookup = QLineEdit("Printer jams"), QPlainTextEdit("On floor 3"), LookupEdit()
    lookup.setText("Grace Hopper")
    line.setClearButtonEnabled(True)
    for field in (line, text, lookup):
        qtbot.addWidget(field)
        field.resize(300, 60)
        field.show()
    assert all(painted_as_input(f) for f in (line, text, lookup))
    set_read_only(line, True)
    set_read_only(text, True)
    lookup.setReadOnly(True)
    assert all(looks_read_only(f) for f in (line, text, lookup))
    set_read_only(line, False)
    set_read_only(text, False)
    lookup.setReadOnly(False)
    assert all(painted_as_input(f) for f in (line, text, lookup))
    assert line.isClearButtonEnabled() and lookup.isClearButtonEnabled()


def test_a_greyed_out_lookup_offers_no_clear_button(qtbot: QtBot) -> None:
    box = QWidget()
    qtbot.addWidget(box)
    lookup = LookupEdit(box)
    lookup.setText("Grace Hopper")
    box.show()
    assert lookup.isClearButtonEnabled()
    lookup.setEnabled(False)
    assert not lookup.isClearButtonEnabled()
    lookup.setEnabled(True)
    assert lookup.isClearButtonEnabled()
    box.setEnabled(False)  # greyed out with the form around it
    assert not lookup.isClearButtonEnabled()
    lookup.setReadOnly(True)
    box.setEnabled(True)
    assert not lookup.isClearButtonEnabled()  # still read-only
    lookup.setReadOnly(False)
    assert lookup.isClearButtonEnabled()
