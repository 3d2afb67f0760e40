"""Admin > Groups…: assignment groups, their lead and members; new groups, renaming, and
deactivation (an inactive group keeps its incidents and history but gets no new work).

Each save states the version of the group it showed; another admin's newer edit is never
overwritten (the service refuses and the window says who changed it).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import DeskappError
from deskapp.domain.text import isolate
from deskapp.qt.formatting import natural_key
from deskapp.qt.models.people_models import GroupColumn, GroupsModel
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.admin_table_window import (
    ERROR_STYLE,
    AdminTableWindow,
    CreateDialog,
    check_list,
    checked_ids,
    fill_check_list,
)
from deskapp.services.people_admin import MAX_GROUP_DESCRIPTION, MAX_GROUP_NAME, PeopleAdminService
from deskapp.services.people_dto import GroupAdminRow, UserAdminRow

NO_LEAD = "(no lead)"


class NewGroupDialog(CreateDialog):
    """Name and description of a new group; stays open on a refusal (a duplicate name)."""

    def __init__(self, service: PeopleAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newGroupDialog")
        self.setWindowTitle("New group")
        self._service = service
        self._runner = runner
        self.created_id: int | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)
        self.name = QLineEdit(self)
        self.name.setObjectName("nameEdit")
        self.name.setMaxLength(MAX_GROUP_NAME)
        form.addRow("&Name:", self.name)
        self.description = QLineEdit(self)
        self.description.setObjectName("descriptionEdit")
        self.description.setMaxLength(MAX_GROUP_DESCRIPTION)
        form.addRow("&Description:", self.description)
        self.error = QLabel("", self)
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Create")
        self.buttons.accepted.connect(lambda: runner.spawn(self.submit(), name="new group"))
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name.setFocus()
        self.setMinimumWidth(400)

    async def submit(self) -> None:
        """Create the group; close with ``created_id`` set, or say why not."""
        self.ok_button.setEnabled(False)
        try:
            self.created_id = await self._runner.db(
                self._service.create_group, self.name.text(), self.description.text(),
                None, ())
        except DeskappError as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.name.setFocus()
            return
        except Exception as exc:
            self.error.setText(describe_error(exc))
            self.error.show()
            return
        finally:
            self.ok_button.setEnabled(True)
        self.accept()


class GroupsWindow(AdminTableWindow):
    """Admin > Groups…; load with ``load()`` (a coroutine run by the runner)."""

    def __init__(self, service: PeopleAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        self.service = service
        super().__init__(GroupsModel(), runner, name="groupsWindow", title="Assignment groups",
                         noun="group", stretch_column=GroupColumn.DESCRIPTION, parent=parent)
        self.model.setParent(self)
        self._users: list[UserAdminRow] = []
        self.dialog = None
        self.name = QLineEdit(self.panel)
        self.name.setObjectName("nameEdit")
        self.name.setMaxLength(MAX_GROUP_NAME)
        self.form.addRow("&Name:", self.name)
        self.description = QLineEdit(self.panel)
        self.description.setObjectName("descriptionEdit")
        self.description.setMaxLength(MAX_GROUP_DESCRIPTION)
        self.form.addRow("&Description:", self.description)
        self.lead = QComboBox(self.panel)
        self.lead.setObjectName("leadCombo")
        self.form.addRow("&Lead:", self.lead)
        self.members = check_list("membersList", self.panel)
        self.members.setToolTip("Space ticks or unticks the current person")
        self.form.addRow("&Members:", self.members)
        self.open_label = QLabel("", self.panel)
        self.open_label.setObjectName("openLabel")
        self.form.addRow("Open incidents:", self.open_label)
        self.new_button.clicked.connect(self.open_new_group)
        self.active_button = self.add_button("&Deactivate", "activeButton",
                                             lambda: self.spawn(self.toggle_active(), "active"))
        self.finish_buttons()
        self.saves_on_enter(self.name, self.description)
        self.setTabOrder(self.filter_edit, self.table)
        self.setTabOrder(self.table, self.name)
        self.setTabOrder(self.name, self.description)
        self.setTabOrder(self.description, self.lead)
        self.setTabOrder(self.lead, self.members)
        self.setTabOrder(self.members, self.save_button)
        self.filter_edit.setFocus()
        self.show_record(None)

    def first_field(self) -> QWidget:
        return self.name

    def edited(self, row: GroupAdminRow) -> bool:
        return (self.name.text(), self.description.text(), self.lead.currentData(),
                checked_ids(self.members)) != (row.name, row.description, row.lead_id,
                                               set(row.member_ids))

    async def fetch(self) -> None:
        groups = await self._runner.db(self.service.groups)
        self._users = await self._runner.db(self.service.users)
        self.model.set_rows(groups)

    def show_record(self, row: GroupAdminRow | None) -> None:
        for widget in (self.name, self.description, self.lead, self.members, self.save_button,
                       self.active_button):
            widget.setEnabled(row is not None)
        self.lead.clear()
        if row is None:
            self.name.clear()
            self.description.clear()
            self.members.clear()
            self.open_label.setText("")
            return
        self.name.setText(row.name)
        self.description.setText(row.description)
        self.lead.addItem(NO_LEAD, None)
        for user in sorted(self._users, key=lambda u: natural_key(u.full_name)):
            if user.active or user.id == row.lead_id:
                self.lead.addItem(user.full_name + ("" if user.active else " (inactive)"),
                                  user.id)
        self.lead.setCurrentIndex(max(self.lead.findData(row.lead_id), 0))
        # Active people are offered; an inactive member stays shown until unticked.
        entries = [(u.id, f"{u.full_name} ({u.role.value})" + ("" if u.active
                                                               else " (inactive)"))
                   for u in self._users if u.active or u.id in row.member_ids]
        fill_check_list(self.members, entries, set(row.member_ids))
        self.open_label.setText(f"{row.open_incidents:,}")
        self.active_button.setText("&Reactivate" if not row.active else "&Deactivate")
        self.panel.setTitle(isolate(row.name) + ("" if row.active else " (inactive)"))

    async def save(self, row: GroupAdminRow) -> int | None:
        result = await self.call(self._save_group, row, self.name.text(),
                                 self.description.text(), self.lead.currentData(),
                                 checked_ids(self.members))
        if result is None:
            return None
        self.say(result)
        return row.id

    def _save_group(self, row: GroupAdminRow, name: str, description: str,
                    lead_id: int | None, member_ids: set[int]) -> str:
        # One call, one transaction: a refused member change leaves the name alone too.
        return self.service.update_group(row.id, row.version, name=name,
                                         description=description, lead_id=lead_id,
                                         member_ids=member_ids).message

    async def toggle_active(self) -> None:
        """Deactivate (warning about the open incidents still in it) or reactivate."""
        row = self.current()
        if row is None:
            return
        await self.toggle_row_active(
            row, reactivate=self.service.reactivate_group,
            deactivate=self.service.deactivate_group, open_count=self.service.open_in_group,
            title="Deactivate group",
            question=f"Deactivate {isolate(row.name)}? It will be offered for no new work; its "
                     "incidents and history stay.",
            held=lambda count: (f"{count:,} open incident{'s' if count != 1 else ''} still in "
                                "it: move them to another group." if count
                                else "It holds no open incidents."))

    def open_new_group(self) -> NewGroupDialog:
        return self.open_create_dialog(NewGroupDialog(self.service, self._runner, self),
                                       self._created)

    async def _created(self, group_id: int | None) -> None:
        await self.load(group_id)
        self.say("Created; choose its lead and members and save.")
        self.lead.setFocus()
