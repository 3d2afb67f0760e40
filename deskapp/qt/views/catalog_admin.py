"""Admin > Categories… and Admin > Services and CIs…: the catalogue admin windows.

Both are keyboard-first: type a name in the "New" field and press Enter to add; F2 renames
the current row in place; Deactivate and Reactivate act on the current row; F5 reloads; Esc
closes. Nothing is deleted: deactivated rows stay (greyed) because incidents point at them.
Every change goes to the database through the runner at the version the row was read; a row
someone else changed meanwhile is refused with a message, never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.catalog import CiClass
from deskapp.domain.errors import ConflictError
from deskapp.qt import theme
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.models.catalog_models import (
    CI_CLASS_COLUMN,
    CI_COLUMNS,
    CI_SERVICE_COLUMN,
    SERVICE_COLUMNS,
    CatalogTableModel,
    CategoryTreeModel,
)
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.catalog_admin import (
    CatalogAdminService,
    CategoryNode,
    CiEntry,
    ServiceEntry,
)

log = logging.getLogger(__name__)
AnyIndex = QModelIndex | QPersistentModelIndex
NO_SERVICE = "(no service)"


class CatalogAdminWindow(QWidget):
    """What both windows share: the runner, a status line, F5 and Esc, and running a call."""

    def __init__(self, service: CatalogAdminService, runner: DbRunner, name: str, title: str,
                 parent: QWidget | None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self._service = service
        self._runner = runner
        self.status = QLabel("", self)
        self.status.setObjectName("statusLabel")
        self.status.setWordWrap(True)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.reload)

    def reload(self) -> None:
        """Read everything again (F5)."""
        self._runner.spawn(self.load(), name=f"{self.objectName()}-load")

    async def load(self) -> None:
        """Read the catalogue afresh."""
        raise NotImplementedError

    def _button(self, text: str, name: str, slot: Callable[[], object],
                layout: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    def _run(self, call: Awaitable[Any], done: Callable[[Any], None]) -> None:
        """Run a service call; show its refusal in the status line, or hand on its result."""
        async def run() -> None:
            try:
                result = await call
            except ConflictError as exc:
                self.show_problem(f"{exc} (F5 reloads.)")
                return
            except Exception as exc:  # shown, not raised: the window stays usable
                log.info("Catalogue admin call refused", exc_info=exc)
                self.show_problem(describe_error(exc))
                return
            done(result)
        self._runner.spawn(run(), name=f"{self.objectName()}-call")

    def show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.colours().error.name()};")

    def show_info(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")


def _new_name_row(window: QWidget, label: str, name: str,
                  placeholder: str) -> tuple[QHBoxLayout, QLineEdit]:
    row = QHBoxLayout()
    edit = QLineEdit(window)
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    caption = QLabel(label, window)
    caption.setBuddy(edit)
    row.addWidget(caption)
    row.addWidget(edit, 1)
    return row, edit


class CategoriesAdmin(CatalogAdminWindow):
    """The category tree: add, add subcategory, rename in place, deactivate, reactivate."""

    def __init__(self, service: CatalogAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(service, runner, "categoriesAdmin", "Categories", parent)
        self.model = CategoryTreeModel(self)
        layout = QVBoxLayout(self)
        intro = QLabel("Categories and their subcategories. F2 renames the current one; "
                       "deactivated ones (grey) are no longer offered for new incidents, and "
                       "old incidents keep them.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tree = QTreeView(self)
        self.tree.setObjectName("categoryTree")
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.DoubleClicked)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.tree, 1)
        row, self.name_edit = _new_name_row(self, "&New:", "newCategoryName",
                                            "Name of a new category or subcategory")
        self.add_button = self._button("&Add category", "addCategoryButton",
                                       lambda: self.add(sub=False), row)
        self.add_sub_button = self._button("Add &subcategory", "addSubcategoryButton",
                                           lambda: self.add(sub=True), row)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        self.rename_button = self._button("&Rename", "renameCategoryButton", self._rename,
                                          buttons)
        self.deactivate_button = self._button("&Deactivate", "deactivateCategoryButton",
                                              lambda: self.set_active(False), buttons)
        self.reactivate_button = self._button("Rea&ctivate", "reactivateCategoryButton",
                                              lambda: self.set_active(True), buttons)
        buttons.addStretch(1)
        self._button("Re&load", "reloadButton", self.reload, buttons)
        self._button("Close", "closeButton", self.close, buttons)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.name_edit.returnPressed.connect(lambda: self.add(sub=False))
        self.model.edit_requested.connect(self.rename)
        self.tree.selectionModel().currentChanged.connect(lambda *_: self._update_buttons())
        self.model.dataChanged.connect(lambda *_: self._update_buttons())
        self.resize(640, 560)
        self._update_buttons()

    @property
    def current(self) -> CategoryNode | None:
        """The category the cursor is on."""
        return self.model.node(self.tree.currentIndex())

    async def load(self) -> None:
        try:
            data = await self._runner.db(self._service.load)
        except Exception as exc:
            self.show_problem(f"Could not load the categories: {describe_error(exc)}")
            return
        keep = self.current.id if self.current else None
        self.model.set_nodes(data.categories)
        self.tree.expandAll()
        index = self.model.index_of(keep) if keep is not None else self.model.index(0, 0)
        if index.isValid():
            self.tree.setCurrentIndex(index)
        tops = sum(1 for c in data.categories if c.parent_id is None)
        inactive = sum(1 for c in data.categories if not c.active)
        self.show_info(f"{tops} categories, {len(data.categories) - tops} subcategories"
                       + (f" ({inactive} inactive)." if inactive else "."))
        self._update_buttons()

    def _parent_for_sub(self) -> CategoryNode | None:
        node = self.current
        if node is not None and node.parent_id is not None:
            return self.model.node(self.model.index_of(node.parent_id))
        return node

    def add(self, *, sub: bool) -> None:
        """Add the typed name as a top category, or as a subcategory of the current one."""
        name = self.name_edit.text()
        parent = self._parent_for_sub() if sub else None
        if sub and parent is None:
            self.show_problem("Choose the category the subcategory belongs to.")
            return

        def done(node: CategoryNode) -> None:
            index = self.model.upsert(node)
            if parent is not None:
                self.tree.expand(self.model.index_of(parent.id))
            self.tree.setCurrentIndex(index)
            self.name_edit.clear()
            self.show_info(f"Added '{node.name}'" + (f" under '{parent.name}'."
                                                     if parent else "."))
        self._run(self._runner.db(self._service.add_category, name,
                                  parent.id if parent else None), done)

    def _rename(self) -> None:
        index = self.tree.currentIndex()
        if index.isValid():
            self.tree.setFocus()
            self.tree.edit(index.siblingAtColumn(0))

    def rename(self, node: CategoryNode, name: str) -> None:
        """Store a name typed in place."""
        def done(renamed: CategoryNode) -> None:
            self.model.upsert(renamed)
            self.show_info(f"Renamed '{node.name}' to '{renamed.name}'.")
        self._run(self._runner.db(self._service.rename_category, node.id, node.version, name),
                  done)

    def set_active(self, active: bool) -> None:
        """Deactivate (with its subcategories) or reactivate the current category."""
        node = self.current
        if node is None or node.active == active:
            return

        def done(changed: list[CategoryNode]) -> None:
            for each in changed:
                self.model.upsert(each)
            verb = "Reactivated" if active else "Deactivated"
            more = len(changed) - 1
            self.show_info(f"{verb} '{node.name}'" + (
                f" and its {more} subcategor{'y' if more == 1 else 'ies'}." if more else "."))
            self._update_buttons()
        self._run(self._runner.db(self._service.set_category_active, node.id, node.version,
                                  active), done)

    def _update_buttons(self) -> None:
        node = self.current
        self.rename_button.setEnabled(node is not None)
        self.deactivate_button.setEnabled(node is not None and node.active)
        self.reactivate_button.setEnabled(node is not None and not node.active)
        parent = self._parent_for_sub()
        self.add_sub_button.setEnabled(parent is not None and parent.active)


class ChoiceDelegate(QStyledItemDelegate):
    """A list for the columns that take one of a few values (a CI's class and service)."""

    def __init__(self, choices: dict[int, Callable[[], Sequence[tuple[Any, str]]]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._choices = choices

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: AnyIndex) -> QWidget:
        if index.column() not in self._choices:
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.setObjectName("catalogChoice")
        for value, text in self._choices[index.column()]():
            combo.addItem(text, value)
        return combo

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        if isinstance(editor, QComboBox):
            found = editor.findData(index.data(Qt.ItemDataRole.EditRole))
            editor.setCurrentIndex(max(found, 0))
            return
        super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel,
                     index: AnyIndex) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
            return
        super().setModelData(editor, model, index)


class ServiceItemsProxy(QSortFilterProxyModel):
    """The configuration items of one service (or all of them)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service_id: int | None = None
        self.show_all = True

    def show_service(self, service_id: int | None, show_all: bool) -> None:
        """Show the items of ``service_id`` (all when ``show_all`` or no service)."""
        self.beginFilterChange()
        self.service_id, self.show_all = service_id, show_all
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if self.show_all or self.service_id is None:
            return True
        entry = self.sourceModel().index(source_row, 0, source_parent).data(ItemRole.ROW)
        return isinstance(entry, CiEntry) and entry.service_id == self.service_id


def _table(parent: QWidget, name: str, model: QAbstractItemModel,
           stretch: int) -> QTableView:
    """A table of rows; column ``stretch`` (the description) takes the room left."""
    table = QTableView(parent)
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                          | QAbstractItemView.EditTrigger.DoubleClicked)
    table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it
    table.verticalHeader().hide()
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    # The header sizes its columns when the view lays out, not when rows arrive or change:
    # an item added or renamed showed as "exc…" / "Da…". Size them again once the model
    # settles (once per burst of changes).
    resize = QTimer(table)
    resize.setSingleShot(True)
    resize.setInterval(0)
    resize.timeout.connect(header.resizeSections)
    for signal in (model.rowsInserted, model.rowsRemoved, model.dataChanged,
                   model.modelReset, model.layoutChanged):
        signal.connect(resize.start)
    return table


class ServicesAdmin(CatalogAdminWindow):
    """Services (left) and the configuration items of the current service (right)."""

    def __init__(self, service: CatalogAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(service, runner, "servicesAdmin", "Services and configuration items",
                         parent)
        self.services = CatalogTableModel[ServiceEntry](SERVICE_COLUMNS, self)
        self.items = CatalogTableModel[CiEntry](CI_COLUMNS, self)
        self.items_proxy = ServiceItemsProxy(self)
        self.items_proxy.setSourceModel(self.items)
        layout = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        layout.addWidget(splitter, 1)

        left = QGroupBox("Services", splitter)
        left_layout = QVBoxLayout(left)
        self.service_table = _table(left, "serviceTable", self.services, 1)
        left_layout.addWidget(self.service_table, 1)
        row, self.service_name_edit = _new_name_row(left, "New ser&vice:", "newServiceName",
                                                    "Name, then Enter")
        self.add_service_button = self._button("&Add", "addServiceButton", self.add_service,
                                               row)
        left_layout.addLayout(row)
        buttons = QHBoxLayout()
        self.deactivate_service_button = self._button(
            "&Deactivate", "deactivateServiceButton",
            lambda: self.set_service_active(False), buttons)
        self.reactivate_service_button = self._button(
            "Rea&ctivate", "reactivateServiceButton",
            lambda: self.set_service_active(True), buttons)
        buttons.addStretch(1)
        left_layout.addLayout(buttons)

        right = QGroupBox("Configuration items", splitter)
        right_layout = QVBoxLayout(right)
        self.all_items_check = QCheckBox("S&how all configuration items", right)
        self.all_items_check.setObjectName("allItemsCheck")
        right_layout.addWidget(self.all_items_check)
        self.item_table = _table(right, "itemTable", self.items_proxy, 3)
        self.item_table.setItemDelegate(ChoiceDelegate({
            CI_CLASS_COLUMN: lambda: [(c.value, c.label) for c in CiClass],
            CI_SERVICE_COLUMN: self._service_choices}, self.item_table))
        right_layout.addWidget(self.item_table, 1)
        row, self.item_name_edit = _new_name_row(right, "New &item:", "newItemName",
                                                 "Name, then Enter")
        self.item_class_combo = QComboBox(right)
        self.item_class_combo.setObjectName("newItemClass")
        for ci_class in CiClass:
            self.item_class_combo.addItem(ci_class.label, ci_class.value)
        row.addWidget(self.item_class_combo)
        self.add_item_button = self._button("Add i&tem", "addItemButton", self.add_item, row)
        right_layout.addLayout(row)
        buttons = QHBoxLayout()
        self.deactivate_item_button = self._button(
            "D&eactivate item", "deactivateItemButton",
            lambda: self.set_item_active(False), buttons)
        self.reactivate_item_button = self._button(
            "Reactivate ite&m", "reactivateItemButton",
            lambda: self.set_item_active(True), buttons)
        buttons.addStretch(1)
        right_layout.addLayout(buttons)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)

        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        self._button("Re&load", "reloadButton", self.reload, bottom)
        self._button("Close", "closeButton", self.close, bottom)
        layout.addLayout(bottom)

        self.service_name_edit.returnPressed.connect(self.add_service)
        self.item_name_edit.returnPressed.connect(self.add_item)
        self.services.edit_requested.connect(self._edit_service)
        self.items.edit_requested.connect(self._edit_item)
        self.service_table.selectionModel().currentRowChanged.connect(
            lambda *_: self._follow_service())
        self.item_table.selectionModel().currentRowChanged.connect(
            lambda *_: self._update_buttons())
        self.all_items_check.toggled.connect(lambda _on: self._follow_service())
        for model in (self.services, self.items):
            model.dataChanged.connect(lambda *_: self._update_buttons())
        self.resize(1180, 600)
        self._update_buttons()

    # --- reading ------------------------------------------------------------------------

    @property
    def current_service(self) -> ServiceEntry | None:
        index = self.service_table.currentIndex()
        return self.services.row_at(index.row()) if index.isValid() else None

    @property
    def current_item(self) -> CiEntry | None:
        index = self.item_table.currentIndex()
        entry = index.data(ItemRole.ROW) if index.isValid() else None
        return entry if isinstance(entry, CiEntry) else None

    async def load(self) -> None:
        try:
            data = await self._runner.db(self._service.load)
        except Exception as exc:
            self.show_problem(f"Could not load the services: {describe_error(exc)}")
            return
        keep = self.current_service.id if self.current_service else None
        self.services.set_rows(data.services)
        self.items.set_rows(data.configuration_items)
        row = self.services.row_of(keep) if keep is not None else 0
        if self.services.rowCount():
            self.service_table.setCurrentIndex(self.services.index(max(row, 0), 0))
        self._follow_service()
        self.show_info(f"{len(data.services)} services, {len(data.configuration_items)} "
                       "configuration items.")

    def _service_choices(self) -> list[tuple[int | None, str]]:
        item = self.current_item
        return [(None, NO_SERVICE), *((s.id, s.name) for s in self.services.rows
                                      if s.active or (item and s.id == item.service_id))]

    def _follow_service(self) -> None:
        service = self.current_service
        self.items_proxy.show_service(service.id if service else None,
                                      self.all_items_check.isChecked())
        # Size the columns to the rows now shown (the header waits for a layout otherwise).
        self.item_table.horizontalHeader().resizeSections()
        if self.items_proxy.rowCount() and not self.item_table.currentIndex().isValid():
            self.item_table.setCurrentIndex(self.items_proxy.index(0, 0))
        self._update_buttons()

    # --- services -----------------------------------------------------------------------

    def add_service(self) -> None:
        """Add the typed name as a service."""
        def done(entry: ServiceEntry) -> None:
            row = self.services.upsert(entry)
            self.service_table.setCurrentIndex(self.services.index(row, 0))
            self.service_name_edit.clear()
            self.show_info(f"Added the service '{entry.name}'.")
        self._run(self._runner.db(self._service.add_service,
                                  self.service_name_edit.text(), ""), done)

    def _edit_service(self, entry: ServiceEntry, field: str, value: Any) -> None:
        values = {"name": entry.name, "description": entry.description, field: value}

        def done(stored: ServiceEntry) -> None:
            self.services.upsert(stored)
            self.show_info(f"Saved the service '{stored.name}'.")
        self._run(self._runner.db(self._service.update_service, entry.id, entry.version,
                                  str(values["name"]), str(values["description"])), done)

    def set_service_active(self, active: bool) -> None:
        """Deactivate or reactivate the current service."""
        entry = self.current_service
        if entry is None or entry.active == active:
            return

        def done(stored: ServiceEntry) -> None:
            self.services.upsert(stored)
            self.show_info(f"{'Reactivated' if active else 'Deactivated'} the service "
                           f"'{stored.name}'.")
        self._run(self._runner.db(self._service.set_service_active, entry.id, entry.version,
                                  active), done)

    # --- configuration items ------------------------------------------------------------

    def add_item(self) -> None:
        """Add the typed name as a configuration item of the current service.

        An inactive current service is refused rather than silently dropped: the item would
        be stored without a service and vanish from the table that shows that service.
        """
        service = self.current_service
        if service is not None and not service.active:
            self.show_problem(f"'{service.name}' is inactive; reactivate it before adding "
                              "items to it.")
            return

        def done(entry: CiEntry) -> None:
            self.items.upsert(entry)
            if not self.items_proxy.mapFromSource(
                    self.items.index(self.items.row_of(entry.id), 0)).isValid():
                self.all_items_check.setChecked(True)  # never added out of sight
            self._select_item(entry.id)
            self.item_name_edit.clear()
            self.show_info(f"Added the configuration item '{entry.name}'"
                           + (f" to '{entry.service_name}'." if entry.service_name
                              else " without a service."))
        self._run(self._runner.db(self._service.add_configuration_item,
                                  self.item_name_edit.text(),
                                  str(self.item_class_combo.currentData()),
                                  service.id if service is not None else None, ""),
                  done)

    def _select_item(self, ci_id: int) -> None:
        source = self.items.index(self.items.row_of(ci_id), 0)
        index = self.items_proxy.mapFromSource(source)
        if index.isValid():
            self.item_table.setCurrentIndex(index)

    def _edit_item(self, entry: CiEntry, field: str, value: Any) -> None:
        values: dict[str, Any] = {"name": entry.name, "ci_class": entry.ci_class,
                                  "service_id": entry.service_id,
                                  "description": entry.description, field: value}

        def done(stored: CiEntry) -> None:
            self.items.upsert(stored)
            self._follow_service()
            self.show_info(f"Saved the configuration item '{stored.name}'.")
        self._run(self._runner.db(self._save_item, entry, values), done)

    def _save_item(self, entry: CiEntry, values: dict[str, Any]) -> CiEntry:
        # Runs in the worker: one service call with the whole row.
        return self._service.update_configuration_item(
            entry.id, entry.version, name=values["name"], ci_class_name=values["ci_class"],
            service_id=values["service_id"], description=values["description"])

    def set_item_active(self, active: bool) -> None:
        """Deactivate or reactivate the current configuration item."""
        entry = self.current_item
        if entry is None or entry.active == active:
            return

        def done(stored: CiEntry) -> None:
            self.items.upsert(stored)
            self.show_info(f"{'Reactivated' if active else 'Deactivated'} the configuration "
                           f"item '{stored.name}'.")
        self._run(self._runner.db(self._service.set_configuration_item_active, entry.id,
                                  entry.version, active), done)

    def _update_buttons(self) -> None:
        service = self.current_service
        item = self.current_item
        self.deactivate_service_button.setEnabled(service is not None and service.active)
        self.reactivate_service_button.setEnabled(service is not None and not service.active)
        self.deactivate_item_button.setEnabled(item is not None and item.active)
        self.reactivate_item_button.setEnabled(item is not None and not item.active)
        self.add_item_button.setToolTip(plain_tooltip(
            "Add without a service" if service is None
            else f"Add to '{service.name}'" if service.active
            else f"'{service.name}' is inactive: reactivate it to add items to it"))
