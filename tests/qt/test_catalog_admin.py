"""The catalogue admin windows (Admin > Categories…, Admin > Services and CIs…), their models,
the Admin menu entries, and the forms' configuration item field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp import app
from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt import theme
from deskapp.qt.models.catalog_models import (
    CI_COLUMNS,
    SERVICE_COLUMNS,
    CatalogTableModel,
    CategoryTreeModel,
)
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.admin_menu import AdminMenu
from deskapp.qt.views.call_form import CallForm, caller_item
from deskapp.qt.views.catalog_admin import CategoriesAdmin, ServicesAdmin
from deskapp.qt.views.incident_form import IncidentForm
from deskapp.services.catalog import CatalogService
from deskapp.services.catalog_admin import (
    CatalogAdminService,
    CatalogAdminUnitOfWorkFactory,
    CategoryNode,
    CiEntry,
    ServiceEntry,
)
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import Await
from tests.qt.forms import OFFSCREEN_FORM_NOISE, FakeElapsed, Keyboard, key_target, screenshot

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)
Key = Qt.Key


@pytest.fixture
def catalog(database: Database, admin: User) -> CatalogAdminService:
    return CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, database.uow_factory),
                               admin.id)


@pytest.fixture
def filled(catalog: CatalogAdminService) -> dict[str, int]:
    """Categories with subcategories, services with configuration items, one of each off."""
    ids: dict[str, int] = {}
    for top, subs in (("Hardware", ("Laptop", "Printer")), ("Network", ("VPN", "Wi-Fi")),
                      ("Software", ("Email",))):
        ids[top] = catalog.add_category(top).id
        for sub in subs:
            ids[f"{top}/{sub}"] = catalog.add_category(sub, ids[top]).id
    for name, items in (("Email (Exchange Online)", ("exch-mbx-01", "exch-mbx-02")),
                        ("Remote access VPN", ("vpn-gw-01",)), ("Print service", ())):
        ids[name] = catalog.add_service(name, f"{name}, for everyone").id
        for item in items:
            ids[item] = catalog.add_configuration_item(item, "server", ids[name]).id
    old = catalog.add_service("Fax gateway")
    catalog.set_service_active(old.id, old.version, False)
    ids["Fax gateway"] = old.id
    retired = catalog.add_configuration_item("exch-mbx-00", "server",
                                             ids["Email (Exchange Online)"])
    catalog.set_configuration_item_active(retired.id, retired.version, False)
    ids["exch-mbx-00"] = retired.id
    return ids


def test_the_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    # One check, then every change below is watched by the tester as it happens.
    tree = CategoryTreeModel()
    qtmodeltester.check(tree, force_py=True)
    tree.set_nodes([CategoryNode(1, "Hardware", None, True, 1, 3),
                    CategoryNode(3, "Laptop", 1, True, 1, 2),
                    CategoryNode(4, "Printer", 1, False, 2, 1),
                    CategoryNode(2, "Network", None, False, 2, 0)])
    tree.upsert(CategoryNode(5, "Monitor", 1, True, 1, 0))
    tree.upsert(CategoryNode(2, "Networks", None, True, 3, 0))
    tree.upsert(CategoryNode(6, "Facilities", None, True, 1, 0))
    # New and renamed rows take their sorted place at once, not the end of the list.
    assert [tree.index(r, 0).data() for r in range(3)] == ["Facilities", "Hardware",
                                                           "Networks"]
    hardware = tree.index(1, 0)
    assert tree.rowCount(hardware) == 3
    assert [tree.index(r, 0, hardware).data() for r in range(3)] == ["Laptop", "Monitor",
                                                                     "Printer"]
    assert tree.index(2, 0, hardware).data(Qt.ItemDataRole.ForegroundRole) == \
        theme.colours().muted
    assert tree.index(0, 0, hardware).data(Qt.ItemDataRole.ForegroundRole) is None
    tree.upsert(CategoryNode(2, "Buildings", None, True, 4, 0))  # a rename moves it up
    tree.upsert(CategoryNode(3, "Tablet", 1, True, 2, 2))  # and down
    assert [tree.index(r, 0).data() for r in range(3)] == ["Buildings", "Facilities",
                                                           "Hardware"]
    hardware = tree.index(2, 0)
    assert [tree.index(r, 0, hardware).data() for r in range(3)] == ["Monitor", "Printer",
                                                                     "Tablet"]
    assert tree.parent(tree.index(2, 0, hardware)) == hardware

    services = CatalogTableModel[ServiceEntry](SERVICE_COLUMNS)
    services.set_rows([ServiceEntry(1, "Mail", "Exchange", True, 1, 1200),
                       ServiceEntry(2, "Fax", "", False, 2, 3)])
    qtmodeltester.check(services, force_py=True)
    assert services.index(1, 2).data() == "1,200"  # "Fax" sorts before "Mail"
    assert services.index(0, 3).data() == "Inactive"
    items = CatalogTableModel[CiEntry](CI_COLUMNS)
    items.set_rows([CiEntry(1, "mx-01", "server", 1, "Mail", "", True, 1, 0),
                    CiEntry(2, "sw-core", "network", None, "", "", False, 1, 4)])
    qtmodeltester.check(items, force_py=True)
    items.upsert(CiEntry(3, "ap-lobby", "network", None, "", "", True, 1, 0))
    items.upsert(CiEntry(1, "mx-01", "server", None, "", "Spare", True, 2, 0))
    assert items.rowCount() == 3 and items.index(1, 2).data() == "—"
    assert [items.index(2, c).data() for c in range(3)] == ["sw-core", "Network", "—"]
    assert [items.index(r, 0).data() for r in range(3)] == ["ap-lobby", "mx-01", "sw-core"]
    items.upsert(CiEntry(1, "zz-01", "server", None, "", "Spare", True, 3, 0))
    assert [items.index(r, 0).data() for r in range(3)] == ["ap-lobby", "sw-core", "zz-01"]


def test_names_sort_naturally_digits_by_value_in_any_case() -> None:
    services = CatalogTableModel[ServiceEntry](SERVICE_COLUMNS)
    names = ["cmdb_ci 19", "cmdb_ci 2", "CMDB_ci 10", "cmdb_ci 1", "Apps", "cmdb_ci 100"]
    services.set_rows([ServiceEntry(i, n, "", True, 1, 0) for i, n in enumerate(names, 1)])
    shown = [services.index(r, 0).data() for r in range(services.rowCount())]
    assert shown == ["Apps", "cmdb_ci 1", "cmdb_ci 2", "CMDB_ci 10", "cmdb_ci 19",
                     "cmdb_ci 100"]
    services.upsert(ServiceEntry(99, "cmdb_ci 3", "", True, 1, 0))
    assert services.index(3, 0).data() == "cmdb_ci 3"
    tree = CategoryTreeModel()
    tree.set_nodes([CategoryNode(1, "Category 10", None, True, 1, 0),
                    CategoryNode(2, "category 9", None, True, 1, 0),
                    CategoryNode(3, "Sub 12", 1, True, 1, 0),
                    CategoryNode(4, "Sub 3", 1, True, 1, 0)])
    assert [tree.index(r, 0).data() for r in range(2)] == ["category 9", "Category 10"]
    assert [tree.index(r, 0, tree.index(1, 0)).data() for r in range(2)] == ["Sub 3",
                                                                             "Sub 12"]


@pytest.fixture
def categories_window(qtbot: QtBot, run: Await, catalog: CatalogAdminService,
                      runner: DbRunner, filled: dict[str, int]) -> CategoriesAdmin:
    window = CategoriesAdmin(catalog, runner)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    run(window.load())
    return window


def test_categories_are_kept_with_the_keyboard_alone(
        qtbot: QtBot, categories_window: CategoriesAdmin, catalog: CatalogAdminService,
        filled: dict[str, int]) -> None:
    window = categories_window
    keys = Keyboard(qtbot)
    screenshot(window, "catalog-categories")
    assert window.model.rowCount() == 3
    assert "3 categories, 5 subcategories" in window.status.text()
    window.tree.setFocus()
    # Down to "Laptop" under "Hardware", rename it in place with F2.
    keys.press(Key.Key_Down)
    assert window.current is not None and window.current.name == "Laptop"
    keys.press(Key.Key_F2)
    keys.type("Laptops")
    keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: window.current is not None and window.current.name == "Laptops")
    assert "Renamed 'Laptop' to 'Laptops'" in window.status.text()
    # Esc while renaming leaves the name as it was, and the window open.
    keys.press(Key.Key_F2)
    keys.type("Oops")
    keys.press(Key.Key_Escape)
    assert window.isVisible() and window.current.name == "Laptops"
    assert window.tree.state() != window.tree.State.EditingState

    # A new subcategory of Hardware: Alt+N to the name field, type, Alt+S.
    keys.press(Key.Key_N, Qt.KeyboardModifier.AltModifier)
    assert key_target() is window.name_edit
    keys.type("Monitor")
    keys.press(Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.current is not None and window.current.name == "Monitor")
    assert window.current.parent_id == filled["Hardware"]
    # Enter adds a top category.
    window.name_edit.setFocus()
    keys.type("Facilities")
    keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: window.current is not None and window.current.name == "Facilities")
    assert window.name_edit.text() == ""
    keys.type("hardware")
    keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: "exists among the top categories" in window.status.text())

    # Deactivate Hardware: its subcategories go grey with it.
    window.tree.setCurrentIndex(window.model.index_of(filled["Hardware"]))
    assert window.deactivate_button.isEnabled() and not window.reactivate_button.isEnabled()
    keys.press(Key.Key_D, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "Deactivated 'Hardware' and its 3 subcategories" in
                    window.status.text())
    printer = window.model.index_of(filled["Hardware/Printer"])
    assert printer.data(Qt.ItemDataRole.ForegroundRole) == theme.colours().muted
    assert printer.siblingAtColumn(2).data() == "Inactive"
    assert window.reactivate_button.isEnabled() and not window.add_sub_button.isEnabled()
    screenshot(window, "catalog-categories-deactivated")
    assert {c.name for c in catalog.load().categories if not c.active} == {
        "Hardware", "Laptops", "Printer", "Monitor"}
    window.tree.setFocus()
    keys.press(Key.Key_Escape)  # closes the window
    assert not window.isVisible()


def test_a_category_changed_meanwhile_is_not_overwritten(
        qtbot: QtBot, categories_window: CategoriesAdmin, catalog: CatalogAdminService,
        filled: dict[str, int]) -> None:
    window = categories_window
    network = next(c for c in catalog.load().categories if c.id == filled["Network"])
    catalog.rename_category(network.id, network.version, "Networking")  # another admin
    window.tree.setCurrentIndex(window.model.index_of(filled["Network"]))
    window.set_active(False)
    qtbot.waitUntil(lambda: "was changed by another user" in window.status.text())
    assert all(c.active for c in catalog.load().categories)
    window.reload()
    qtbot.waitUntil(lambda: window.model.index_of(filled["Network"]).data() == "Networking")


def test_services_and_their_items_are_kept_in_two_linked_tables(
        qtbot: QtBot, run: Await, catalog: CatalogAdminService, runner: DbRunner,
        filled: dict[str, int]) -> None:
    window = ServicesAdmin(catalog, runner)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    run(window.load())
    keys = Keyboard(qtbot)
    screenshot(window, "catalog-services")
    assert [s.name for s in window.services.rows] == [
        "Email (Exchange Online)", "Fax gateway", "Print service", "Remote access VPN"]
    fax = window.services.index(1, 0)
    assert fax.data(Qt.ItemDataRole.ForegroundRole) == theme.colours().muted
    # The first service is current: its three items show (the inactive one greyed).
    assert window.items_proxy.rowCount() == 3
    window.service_table.setFocus()
    keys.ctrl(Key.Key_End)
    assert window.current_service is not None
    assert window.current_service.name == "Remote access VPN"
    assert [window.items_proxy.index(r, 0).data()
            for r in range(window.items_proxy.rowCount())] == ["vpn-gw-01"]
    window.all_items_check.setChecked(True)
    assert window.items_proxy.rowCount() == 4
    window.all_items_check.setChecked(False)

    # A new item of the current service, typed and entered.
    keys.press(Key.Key_I, Qt.KeyboardModifier.AltModifier)
    assert key_target() is window.item_name_edit
    keys.type("vpn-gw-02")
    keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: window.current_item is not None
                    and window.current_item.name == "vpn-gw-02")
    assert window.current_item.service_id == filled["Remote access VPN"]
    # Its class and service changed in place (as the list editor would).
    class_index = window.item_table.currentIndex().siblingAtColumn(1)
    window.item_table.model().setData(class_index, "network")
    qtbot.waitUntil(lambda: window.current_item is not None
                    and window.current_item.ci_class == "network")
    item = window.current_item
    assert item is not None and item.version == 2
    # A new service, and a description typed in place.
    window.service_name_edit.setFocus()
    keys.type("Badge readers")
    keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: window.current_service is not None
                    and window.current_service.name == "Badge readers")
    index = window.service_table.currentIndex().siblingAtColumn(1)
    window.services.setData(index, "Doors of all sites")
    qtbot.waitUntil(lambda: window.current_service is not None
                    and window.current_service.description == "Doors of all sites")
    keys.press(Key.Key_D, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "Deactivated the service 'Badge readers'" in window.status.text())
    screenshot(window, "catalog-services-edited")
    stored = {s.name: s for s in catalog.load().services}
    assert not stored["Badge readers"].active
    assert stored["Badge readers"].description == "Doors of all sites"


def test_an_item_is_never_added_out_of_sight(
        qtbot: QtBot, run: Await, catalog: CatalogAdminService, runner: DbRunner,
        filled: dict[str, int]) -> None:
    """An inactive current service refuses new items with a message (it used to store the
    item without a service, out of the table's sight); with no service, it says so."""
    window = ServicesAdmin(catalog, runner)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    run(window.load())
    window.service_table.setCurrentIndex(
        window.services.index(window.services.row_of(filled["Fax gateway"]), 0))
    assert window.current_service is not None and not window.current_service.active
    before = len(catalog.load().configuration_items)
    window.item_name_edit.setText("fax-01")
    window.add_item()
    qtbot.waitUntil(lambda: "inactive" in window.status.text())
    assert window.status.text() == ("'Fax gateway' is inactive; reactivate it before adding "
                                    "items to it.")
    assert window.item_name_edit.text() == "fax-01"  # kept, to add once reactivated
    assert len(catalog.load().configuration_items) == before
    assert "inactive" in window.add_item_button.toolTip()
    screenshot(window, "catalog-item-inactive-service")

    # No service at all (an empty services table): added without one, and shown.
    window.services.set_rows([])
    window._follow_service()
    window.item_name_edit.setText("spare-switch")
    window.add_item()
    qtbot.waitUntil(lambda: window.current_item is not None
                    and window.current_item.name == "spare-switch")
    assert window.status.text() == ("Added the configuration item 'spare-switch' without a "
                                    "service.")
    added = window.current_item
    assert added is not None and added.service_id is None


def test_an_added_category_takes_its_sorted_place_and_stays_current(
        qtbot: QtBot, categories_window: CategoriesAdmin, filled: dict[str, int]) -> None:
    window = categories_window
    window.name_edit.setText("Facilities")
    window.add(sub=False)
    qtbot.waitUntil(lambda: window.current is not None and window.current.name == "Facilities")
    assert [window.model.index(r, 0).data() for r in range(4)] == [
        "Facilities", "Hardware", "Network", "Software"]
    assert window.tree.currentIndex() == window.model.index(0, 0)
    window.tree.setCurrentIndex(window.model.index_of(filled["Hardware"]))
    window.name_edit.setText("Keyboard")
    window.add(sub=True)
    qtbot.waitUntil(lambda: window.current is not None and window.current.name == "Keyboard")
    hardware = window.model.index_of(filled["Hardware"])
    assert [window.model.index(r, 0, hardware).data() for r in range(3)] == [
        "Keyboard", "Laptop", "Printer"]
    assert window.tree.currentIndex() == window.model.index(0, 0, hardware)
    # A rename moves the row too, and the cursor goes with it.
    keyboard = window.current
    assert keyboard is not None
    window.rename(keyboard, "Zip drives")
    qtbot.waitUntil(lambda: window.current is not None and window.current.name == "Zip drives")
    assert window.tree.currentIndex() == window.model.index(2, 0, hardware)


def test_the_admin_menu_offers_the_catalog_to_admins_only(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    lead = add_user(database, "lena", Role.LEAD)
    for user, visible in ((admin, True), (lead, False)):
        window = app.build_main_window(database, user, runner, window_settings=window_settings,
                                       clock=clock, live_updates=False)
        qtbot.addWidget(window)
        menu = window.findChild(AdminMenu)
        assert menu is not None
        for name in ("categoriesAdminAction", "servicesAdminAction"):
            action = menu.menu.findChild(type(menu.audit_action), name)
            assert action is not None and action.isVisible() is visible
    opened = menu.open_catalog_admin("categoriesAdminAction")  # the lead's: refused
    qtbot.waitUntil(lambda: "may not manage catalog" in opened.status.text())


# --- the forms' configuration item field ---------------------------------------------------


@pytest.fixture
def call_form(qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
              clock: FakeClock, filled: dict[str, int]) -> Iterator[CallForm]:
    form = CallForm(incidents=IncidentService(database.uow_factory, admin.id, clock),
                    catalog=CatalogService(database.uow_factory), runner=runner, user=admin,
                    clock=clock, elapsed=FakeElapsed())
    form.resize(1180, 760)
    form.show()
    qtbot.waitExposed(form)
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.ui.callerEdit)
    with qtbot.waitSignal(form.ready):
        run(form.start())
    yield form
    form.discard()
    form.deleteLater()


def _assert_columns_line_up(form: QWidget, firsts: list[QWidget], labels: list[QWidget],
                            seconds: list[QWidget]) -> None:
    """The rows "field, label, field" share their columns: the first fields end at one x, the
    second fields start at one x, and each second label keeps a gap from the field before it
    (the wider "Configuration item:" label used to push its row's columns out of line)."""
    def left(widget: QWidget) -> int:
        return widget.mapTo(form, QPoint(0, 0)).x()

    assert len({left(w) + w.width() for w in firsts}) == 1, [
        (w.objectName(), left(w) + w.width()) for w in firsts]
    assert len({left(w) for w in seconds}) == 1, [(w.objectName(), left(w)) for w in seconds]
    first_right = left(firsts[0]) + firsts[0].width()
    for label in labels:
        assert left(label) - first_right >= 4, label.objectName()
        assert left(label) + label.width() <= left(seconds[0]), label.objectName()


def test_the_call_form_offers_the_services_items_after_the_service(
        qtbot: QtBot, call_form: CallForm, service: IncidentService,
        filled: dict[str, int]) -> None:
    ui = call_form.ui
    keys = Keyboard(qtbot)
    caller = service.add_caller("Grace Hopper")
    ui.callerEdit.set_item(caller_item(caller))
    # Inactive rows are not offered for a new call.
    offered = {i.text for i in ui.serviceEdit._items}
    assert "Fax gateway" not in offered and "Remote access VPN" in offered
    ui.shortDescriptionEdit.setFocus()
    keys.type("Mailbox full")
    ui.descriptionEdit.setFocus()
    keys.tab()
    assert key_target() is ui.serviceEdit
    keys.type("email")
    keys.tab()
    assert ui.serviceEdit.item_id == filled["Email (Exchange Online)"]
    assert key_target() is ui.configurationItemEdit  # right after the service
    assert [i.text for i in ui.configurationItemEdit._items] == [
        "exch-mbx-01", "exch-mbx-02"]
    keys.type("exch-mbx-02")
    keys.tab()
    assert ui.configurationItemEdit.item_id == filled["exch-mbx-02"]
    assert key_target() is ui.categoryEdit
    screenshot(call_form, "catalog-call-form")
    _assert_columns_line_up(call_form, [ui.serviceEdit, ui.categoryEdit, ui.groupEdit],
                            [ui.configurationItemLabel, ui.subcategoryLabel, ui.urgencyLabel,
                             ui.assigneeLabel],
                            [ui.configurationItemEdit, ui.subcategoryEdit, ui.urgencyCombo,
                             ui.assigneeEdit])
    # A service without items: Tab passes the field by.
    ui.serviceEdit.setFocus()
    ui.serviceEdit.set_item(None)
    keys.type("print")
    keys.tab()
    assert ui.serviceEdit.item_id == filled["Print service"]
    assert ui.configurationItemEdit.item is None  # the other service's item went
    assert not ui.configurationItemEdit.isEnabled()
    assert key_target() is ui.categoryEdit
    # Choosing an item first fills its service in.
    ui.serviceEdit.set_item(None)
    ui.configurationItemEdit.setFocus()
    keys.type("vpn-gw")
    keys.tab()
    assert ui.serviceEdit.item_id == filled["Remote access VPN"]
    assert ui.configurationItemEdit.item_id == filled["vpn-gw-01"]
    task = call_form.save()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result()
    detail = service.get(call_form._last_saved.id)
    assert detail.configuration_item_id == filled["vpn-gw-01"]


def test_the_incident_form_keeps_an_inactive_item_and_shows_it_marked(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        clock: FakeClock, service: IncidentService, catalog: CatalogAdminService,
        filled: dict[str, int]) -> None:
    caller = service.add_caller("Grace Hopper")
    detail, _ = service.log_call(LogCallRequest(
        caller.id, "Mailbox full", 2, 2, service_id=filled["Email (Exchange Online)"],
        configuration_item_id=filled["exch-mbx-01"]))
    item = next(c for c in catalog.load().configuration_items if c.id == filled["exch-mbx-01"])
    catalog.set_configuration_item_active(item.id, item.version, False)
    form = IncidentForm(detail.id, incidents=service, catalog=CatalogService(
        database.uow_factory), runner=runner, user=admin, clock=clock)
    qtbot.addWidget(form)
    form.show()
    with qtbot.waitSignal(form.loaded):
        run(form.start())
    ui = form.ui
    assert ui.configurationItemEdit.item_id == filled["exch-mbx-01"]
    assert ui.configurationItemEdit.text() == "exch-mbx-01 (inactive)"
    screenshot(form, "catalog-incident-form")
    _assert_columns_line_up(form, [ui.serviceEdit, ui.categoryEdit],
                            [ui.configurationItemLabel, ui.subcategoryLabel, ui.urgencyLabel,
                             ui.assigneeLabel],
                            [ui.configurationItemEdit, ui.subcategoryEdit, ui.urgencyCombo,
                             ui.assigneeCombo])
    assert [i.text for i in ui.configurationItemEdit._items] == [
        "exch-mbx-01 (inactive)", "exch-mbx-02"]
    assert form.changes() == {}
    assert form.value_text("configuration_item_id", filled["exch-mbx-02"]) == "exch-mbx-02"
    ui.configurationItemEdit.set_item_id(filled["exch-mbx-02"])
    assert form.changes() == {"configuration_item_id": filled["exch-mbx-02"]}


def test_item_names_and_classes_show_in_full_beside_a_wide_description(
        qtbot: QtBot, catalog: CatalogAdminService, runner: DbRunner) -> None:
    """Name and Class fit their text and Description takes the room left, also for an item
    added below many others (the tester saw "exc…" and "Da…": the header had sized the
    columns to the rows shown before and not again)."""
    for n in range(40):
        catalog.add_configuration_item(f"ci {n}", "other")
    window = ServicesAdmin(catalog, runner)
    qtbot.addWidget(window)
    window.resize(1100, 600)
    window.show()
    qtbot.waitExposed(window)
    window.reload()
    qtbot.waitUntil(lambda: "40 configuration items" in window.status.text())
    window.item_name_edit.setText("exch-mbx-db01")
    window.item_class_combo.setCurrentIndex(window.item_class_combo.findText("Database"))
    window.add_item()
    qtbot.waitUntil(lambda: window.current_item is not None
                    and window.current_item.name == "exch-mbx-db01")
    qtbot.wait(50)
    table = window.item_table
    metrics = table.fontMetrics()
    row = table.currentIndex().row()
    for column, text in ((0, "exch-mbx-db01"), (1, "Database")):
        assert table.model().index(row, column).data() == text
        assert table.columnWidth(column) > metrics.horizontalAdvance(text), text
    assert table.columnWidth(3) > table.columnWidth(0)  # the description takes the rest
    screenshot(window, "catalog-items-columns")
