"""The Data menu on both databases: export what the window shows, import a log or a CSV file."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QMenu, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp.app import build_main_window
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.models.incident_table_model import Column
from deskapp.qt.runner import DbRunner
from deskapp.qt.views import import_dialog as import_module
from deskapp.qt.views.csv_mapping_dialog import CsvMappingDialog, mapping_key
from deskapp.qt.views.data_menu import EXPORT_COLUMNS, DataMenu, visible_columns
from deskapp.qt.views.import_dialog import ImportDialog
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.services.exporting import ExportColumn
from deskapp.services.importing.csv_import import CsvKind
from tests.conftest import FakeClock, table_count
from tests.qt.conftest import OFFSCREEN_NOISE, OPEN_INCIDENTS, Await
from tests.qt.forms import screenshot
from tests.unit.test_servicenow_parsing import event, good_rows, write_log

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def window(qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock, live_updates=False)
    qtbot.addWidget(main)
    main.resize(1400, 700)
    main.show()
    yield main


@pytest.fixture
def menu(window: MainWindow, window_settings: QSettings) -> DataMenu:
    found = window.findChild(DataMenu)
    assert isinstance(found, DataMenu)
    found._settings = window_settings  # the last folder and format: each test its own
    return found


def wait_idle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=15_000)


def answer_file_dialog(monkeypatch: pytest.MonkeyPatch, path: Path | None) -> list[dict[str, Any]]:
    """Make PathDialog.ask return ``path`` at once; returns what it was asked."""
    asked: list[dict[str, Any]] = []

    async def ask(cls: type, parent: object, **kwargs: Any) -> Path | None:
        asked.append(kwargs)
        return path

    monkeypatch.setattr(PathDialog, "ask", classmethod(ask))
    return asked


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def test_the_data_menu_is_in_the_menu_bar(window: MainWindow, menu: DataMenu) -> None:
    titles = [a.text() for a in window.menuBar().actions()]
    assert "&Data" in titles
    data = window.menuBar().findChild(QMenu, "dataMenu")
    assert isinstance(data, QMenu)
    assert [a.text() for a in data.actions() if not a.isSeparator()] == [
        "&Export…", "Import &ServiceNow log…", "Import &CSV…", "Callers to &review…"]
    assert menu.export_action.shortcut().toString() == "Ctrl+E"
    # Every column of the table has an export counterpart, by the same name.
    assert set(EXPORT_COLUMNS) == set(Column)


def test_export_writes_the_visible_columns_in_their_order_and_the_sort(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, incidents: int,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    header = window.table.horizontalHeader()
    header.setSectionHidden(Column.CALLER, True)
    header.setSectionHidden(Column.UPDATED, False)
    header.moveSection(header.visualIndex(Column.STATE), 0)  # State first
    window.table.sortByColumn(Column.NUMBER, Qt.SortOrder.AscendingOrder)
    wait_idle(qtbot, window)
    assert visible_columns(window) == (
        ExportColumn.STATE, ExportColumn.NUMBER, ExportColumn.PRIORITY,
        ExportColumn.SHORT_DESCRIPTION, ExportColumn.GROUP, ExportColumn.ASSIGNEE,
        ExportColumn.OPENED, ExportColumn.SLA, ExportColumn.UPDATED)
    target = tmp_path / "open.csv"
    asked = answer_file_dialog(monkeypatch, target)

    menu.export_action.trigger()
    qtbot.waitUntil(lambda: "Exported" in window.statusBar().currentMessage(), timeout=15_000)

    assert window.statusBar().currentMessage().startswith(
        f"Exported {OPEN_INCIDENTS} incidents to open.csv")
    assert asked[0]["title"] == "Export “All open”"
    assert asked[0]["save"] is True
    assert str(asked[0]["start"]).endswith(".xlsx")  # the first export suggests a workbook
    rows = read_csv(target)
    assert rows[0] == ["State", "Number", "Priority", "Short description", "Assignment group",
                       "Assigned to", "Opened", "Resolution due", "Updated"]
    numbers = [r[1] for r in rows[1:]]
    assert numbers == [f"INC{i:07d}" for i in range(1, OPEN_INCIDENTS + 1)]  # all, in order
    assert menu.export_action.isEnabled() and menu.progress is None


def test_the_configuration_item_column_is_hidden_at_first_and_exported_once_shown(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, database: Database,
        incidents: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with database.uow_factory(write=True) as uow:
        item = uow.catalog.add_configuration_item("exch-mbx-db01", "database", None)
        uow.commit()
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE incidents SET configuration_item_id = :c "
                                "WHERE number = 'INC0000250'"), {"c": item})
    run(window.refresh())
    wait_idle(qtbot, window)
    header = window.table.horizontalHeader()
    assert header.isSectionHidden(Column.CONFIGURATION_ITEM)
    assert ExportColumn.CONFIGURATION_ITEM not in visible_columns(window)
    header.setSectionHidden(Column.CONFIGURATION_ITEM, False)
    model = window.model
    newest = model.index(0, Column.CONFIGURATION_ITEM)
    assert model.row_at(0).number == "INC0000250" and newest.data() == "exch-mbx-db01"
    assert model.index(1, Column.CONFIGURATION_ITEM).data() == "\u2014"
    header.moveSection(header.visualIndex(Column.CONFIGURATION_ITEM), 1)  # after Number
    screenshot(window.table, "queue_configuration_item_column")
    target = tmp_path / "open.csv"
    answer_file_dialog(monkeypatch, target)

    menu.export_action.trigger()
    qtbot.waitUntil(lambda: "Exported" in window.statusBar().currentMessage(), timeout=15_000)

    rows = read_csv(target)
    assert rows[0][:3] == ["Number", "Configuration item", "Priority"]
    by_number = {r[0]: r[1] for r in rows[1:]}
    assert by_number["INC0000250"] == "exch-mbx-db01"
    assert by_number["INC0000249"] == ""
    assert len(by_number) == OPEN_INCIDENTS


def test_export_through_the_file_dialog_to_xlsx(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, incidents: int,
        tmp_path: Path) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    task = menu._runner.spawn(menu.export_current())
    qtbot.waitUntil(lambda: window.findChild(PathDialog) is not None
                    and window.findChild(PathDialog).isVisible())
    dialog = window.findChild(PathDialog)
    assert isinstance(dialog, PathDialog)
    assert dialog.acceptMode() == PathDialog.AcceptMode.AcceptSave
    screenshot(dialog, "export_file_dialog")
    assert dialog.selectedNameFilter() == "Excel workbook (*.xlsx)"
    dialog.setDirectory(str(tmp_path))
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert isinstance(name, QLineEdit)
    assert name.text().startswith("All open ") and name.text().endswith(".xlsx")
    name.setText("open queue")  # no extension: the chosen format's is added
    dialog.accept()
    qtbot.waitUntil(task.done, timeout=15_000)
    report = task.result()
    assert report is not None and report.path == tmp_path / "open queue.xlsx"
    sheet = openpyxl.load_workbook(report.path).active
    assert sheet.max_row == OPEN_INCIDENTS + 1
    assert sheet["A1"].value == "Number"
    assert sheet["A2"].value == "INC0000250"  # newest first, as the queue shows


def test_an_export_can_be_cancelled_and_leaves_no_file(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, incidents: int,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    menu._exports.page_size = 10
    pages = 0
    original = menu._exports._page
    go_on = threading.Event()

    def slow_page(*args: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 3:
            go_on.wait(10)  # the user presses Cancel while the third page is read
        return original(*args)

    monkeypatch.setattr(menu._exports, "_page", slow_page)
    target = tmp_path / "never.xlsx"
    answer_file_dialog(monkeypatch, target)
    task = menu._runner.spawn(menu.export_current())
    qtbot.waitUntil(lambda: menu.progress is not None and pages == 3, timeout=15_000)
    assert menu.exporting and not menu.export_action.isEnabled()
    cancel = menu.progress.findChild(QPushButton)
    assert isinstance(cancel, QPushButton) and cancel.text() == "Cancel"
    cancel.click()
    go_on.set()
    qtbot.waitUntil(task.done, timeout=15_000)
    assert task.result() is None
    assert pages == 3
    assert "Export cancelled" in window.statusBar().currentMessage()
    assert list(tmp_path.iterdir()) == [p for p in tmp_path.iterdir() if p.suffix != ".xlsx"
                                        and not p.name.endswith(".part")]
    assert not target.exists() and menu.export_action.isEnabled()


def test_an_export_to_an_unwritable_place_says_why(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, incidents: int,
        tmp_path: Path) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    assert run(menu.export_to(tmp_path / "no" / "such" / "folder.csv")) is None
    box = window.findChild(QDialog, "exportError")
    assert box is not None and box.isVisible()
    assert "Cannot write" in box.informativeText()  # type: ignore[attr-defined]
    box.close()


# --- the ServiceNow import -----------------------------------------------------------------


def test_servicenow_import_shows_progress_and_a_summary_and_refreshes(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, database: Database,
        tmp_path: Path) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    log = write_log(tmp_path / "incident_event_log.csv", good_rows())
    menu.servicenow_action.trigger()
    dialog = window.findChild(ImportDialog)
    assert isinstance(dialog, ImportDialog) and dialog.isVisible()
    assert not dialog.ui.importButton.isEnabled()
    assert not dialog.ui.problemList.isVisible()
    dialog.set_file(log)
    dialog.set_time_zone("Europe/Oslo")
    screenshot(dialog, "servicenow_import_ready")
    values: list[int] = []
    dialog.ui.progressBar.valueChanged.connect(values.append)
    refreshes: list[object] = []
    original = window.start_refresh

    def counting_refresh() -> Any:
        refreshes.append(None)
        return original()

    window.start_refresh = counting_refresh  # type: ignore[method-assign]
    dialog.ui.importButton.click()
    assert dialog.running and dialog.ui.closeButton.text() == "Cancel"
    task = dialog.task
    assert task is not None
    qtbot.waitUntil(task.done, timeout=15_000)

    assert not dialog.running
    assert dialog.report is not None and dialog.report.imported == 2
    assert "Imported 2 incidents" in dialog.ui.summaryLabel.text()
    assert dialog.ui.progressBar.value() == dialog.ui.progressBar.maximum()
    assert values  # the worker's progress reached the bar
    assert refreshes  # the window reloads to show them
    assert table_count(database, "incidents") == 2
    screenshot(dialog, "servicenow_import_done")
    with qtbot.waitSignal(dialog.finished):
        dialog.ui.closeButton.click()


def test_a_refused_log_lists_its_problems(
        qtbot: QtBot, window: MainWindow, menu: DataMenu, database: Database,
        tmp_path: Path) -> None:
    rows = [*good_rows(), event(number="INC0000003", state="Lost", at="5/2/2016 10:00"),
            event(number="INC0000004", at="31/2/2016 10:00")]
    log = write_log(tmp_path / "broken.csv", rows)
    dialog = menu.open_servicenow_import()
    dialog.set_file(log)
    task = dialog.start_import()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=15_000)
    assert dialog.report is not None and not dialog.report.ok
    assert "Nothing was imported from broken.csv: 2 problems" in dialog.ui.summaryLabel.text()
    problems = [dialog.ui.problemList.item(i).text()
                for i in range(dialog.ui.problemList.count())]
    assert any(p.startswith("line 13 (INC0000003): incident_state 'Lost'") for p in problems)
    assert any(p.startswith("line 14 (INC0000004): sys_updated_at") for p in problems)
    assert dialog.ui.problemList.isVisible()
    assert table_count(database, "incidents") == 0
    screenshot(dialog, "servicenow_import_refused")
    dialog.close()


def test_closing_during_an_import_stops_it_and_changes_nothing(
        qtbot: QtBot, window: MainWindow, menu: DataMenu, database: Database,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = write_log(tmp_path / "incident_event_log.csv", good_rows())
    release = threading.Event()
    real = import_module._run_import

    def held(*args: Any) -> Any:
        release.wait(10)  # the user closes the dialog while the worker is busy
        return real(*args)

    monkeypatch.setattr(import_module, "_run_import", held)
    dialog = menu.open_servicenow_import()
    dialog.set_file(log)
    task = dialog.start_import()
    assert task is not None
    dialog.close()  # the window's close button: refused while the import runs...
    assert dialog.isVisible()
    assert "Stopping the import" in dialog.ui.stageLabel.text()
    assert not dialog.ui.closeButton.isEnabled()
    with qtbot.waitSignal(dialog.finished, timeout=15_000):
        release.set()  # ...and the dialog closes once the worker has stopped
    qtbot.waitUntil(task.done)
    assert table_count(database, "incidents") == 0
    assert table_count(database, "assignment_groups") == 0


# --- the CSV import ------------------------------------------------------------------------


def write_people(path: Path) -> Path:
    rows = [["Nom complet", "Courriel", "Téléphone", "Service", "VIP"],
            ["Ada Lovelace", "ada@example.com", "+44 20 7946 0001", "Engineering", "oui"],
            ["Grace Hopper", "grace@example.com", "", "Navy", "non"],
            ["Linus", "not-an-address", "", "", ""]]
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=";").writerows(rows)
    return path


def test_csv_import_previews_maps_dry_runs_and_imports(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, database: Database,
        tmp_path: Path, window_settings: QSettings) -> None:
    path = write_people(tmp_path / "personnel.csv")
    menu.csv_action.trigger()
    dialog = window.findChild(CsvMappingDialog)
    assert isinstance(dialog, CsvMappingDialog) and dialog.isVisible()
    dialog._settings = window_settings
    assert not dialog.ui.dryRunButton.isEnabled()  # no file yet
    assert run(dialog.load_file(path))
    table = dialog.ui.previewTable
    assert (table.columnCount(), table.rowCount()) == (5, 3)
    assert table.horizontalHeaderItem(0).text() == "Nom complet"
    assert table.item(0, 0).text() == "Ada Lovelace"
    assert dialog.source == "personnel"
    # Nothing guessable but VIP: the required name is not mapped, so nothing can start.
    assert dialog.mapping() == {"vip": "VIP"}
    assert not dialog.ui.dryRunButton.isEnabled()
    for field, column in (("name", "Nom complet"), ("email", "Courriel"),
                          ("phone", "Téléphone"), ("department", "Service")):
        combo = dialog.combo(field)
        combo.setCurrentIndex(combo.findText(column))
    assert dialog.ui.dryRunButton.isEnabled()

    dialog.ui.dryRunButton.click()
    qtbot.waitUntil(lambda: not dialog.running and dialog.report is not None, timeout=15_000)
    report_lines = [dialog.ui.reportList.item(i).text()
                    for i in range(dialog.ui.reportList.count())]
    assert report_lines[0] == "line 4: email 'not-an-address' is not an email address"
    assert report_lines[1].startswith("Would create: line 2: caller Ada Lovelace")
    assert "Nothing would be imported" in dialog.ui.summaryLabel.text()
    screenshot(dialog, "csv_import_dry_run")
    assert table_count(database, "callers") == 0

    # Fix the file; the dry run is clean and the import writes both callers... and Linus.
    path.write_text(path.read_text(encoding="utf-8").replace("not-an-address", ""),
                    encoding="utf-8")
    dialog.ui.importButton.click()
    qtbot.waitUntil(lambda: not dialog.running and dialog.report is not None
                    and not dialog.report.dry_run, timeout=15_000)
    assert dialog.report.ok and dialog.report.created == 3
    assert "Imported 3 callers" in dialog.ui.summaryLabel.text()
    assert table_count(database, "callers") == 3
    screenshot(dialog, "csv_import_done")
    saved = json.loads(str(window_settings.value(mapping_key("personnel"))))
    assert saved == {"kind": "callers", "mapping": {
        "name": "Nom complet", "email": "Courriel", "phone": "Téléphone",
        "department": "Service", "vip": "VIP"}}
    with qtbot.waitSignal(dialog.finished):
        dialog.ui.closeButton.click()

    # The next file from the same source maps itself.
    again = CsvMappingDialog(database.uow_factory, menu._runner, actor_id=None,
                             settings=window_settings, parent=window)
    again.ui.sourceEdit.setText("personnel")
    assert run(again.load_file(write_people(tmp_path / "more.csv")))
    assert again.mapping()["name"] == "Nom complet"
    assert again.kind == CsvKind.CALLERS
    again.close()


def test_csv_import_of_incidents_in_the_dialog(
        qtbot: QtBot, run: Await, window: MainWindow, menu: DataMenu, database: Database,
        tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["Summary", "Caller", "Impact", "Urgency"],
                                    ["Printer jams", "Ada Lovelace", "1", "2"],
                                    ["VPN drops", "Grace Hopper", "3", "3"]])
    dialog = menu.open_csv_import()
    dialog.set_kind(CsvKind.INCIDENTS)
    assert run(dialog.load_file(path))
    assert dialog.mapping() == {"short_description": "Summary", "caller": "Caller",
                                "impact": "Impact", "urgency": "Urgency"}
    screenshot(dialog, "csv_import_incidents_mapping")
    task = dialog.start(dry_run=False)
    assert task is not None
    qtbot.waitUntil(task.done, timeout=15_000)
    assert dialog.report is not None and dialog.report.ok
    assert (dialog.report.created, dialog.report.callers_created) == (2, 2)
    assert table_count(database, "incidents") == 2
    dialog.close()
