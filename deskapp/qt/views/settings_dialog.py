"""The Settings dialog (File > Settings…, Ctrl+,): database connection, theme, notifications,
call form defaults, email intake.

The settings go to the user's settings file (:mod:`deskapp.user_settings`); a PostgreSQL
password goes to the system keyring or nowhere ("ask each time"), never to that file. A
changed connection is used from the next start; the theme changes at once.

"Test connection" runs in a thread of its own: a server that does not answer takes seconds
to give up, and neither the window nor the database runner waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QWidget

from deskapp import user_settings
from deskapp.domain.enums import Channel
from deskapp.qt import theme
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.generated.settings_dialog_ui import Ui_SettingsDialog
from deskapp.qt.views.email_intake import EmailIntakeTab
from deskapp.qt.views.main_window import MainWindow
from deskapp.user_settings import (
    SSL_MODES,
    AppearanceSettings,
    CallFormDefaults,
    ConnectionSettings,
    DatabaseKind,
    NotificationSettings,
    NotifyWhere,
    PasswordMode,
    PasswordStoreError,
    ThemeChoice,
    UserSettings,
)

log = logging.getLogger(__name__)

CheckConnection = Callable[[str], str]
"""Opens a database URL and returns one line about it, or raises with the reason."""

THEME_LABELS = {ThemeChoice.SYSTEM: "Follow the system", ThemeChoice.LIGHT: "Light",
                ThemeChoice.DARK: "Dark"}
PASSWORD_LABELS = {PasswordMode.KEYRING: "Keep it in the system keyring",
                   PasswordMode.ASK: "Ask for it each time Deskapp starts"}
KEPT_PLACEHOLDER = "Kept in the system keyring; type to change it"
SHORTCUT = "Ctrl+,"


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class SettingsDialog(QDialog):
    """Edits :class:`UserSettings`; OK saves them, Cancel forgets the changes.

    Signals:
        applied(object): the settings were saved; the argument is the new UserSettings.
        tested(bool, str): "Test connection" finished: whether it worked, and one line.
    """

    applied = Signal(object)
    tested = Signal(bool, str)

    def __init__(self, settings: UserSettings, *, check_connection: CheckConnection,
                 settings_file: Path | None = None, parent: QWidget | None = None) -> None:
        """Show ``settings`` for editing.

        Args:
            settings: what is saved now.
            check_connection: tries a database URL (off the GUI thread).
            settings_file: where OK saves (default: the user's settings file).
            parent: the Qt parent.
        """
        super().__init__(parent)
        self._settings = settings
        self._check = check_connection
        self._file = settings_file
        self._testing = False
        self.ui = Ui_SettingsDialog()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        ui = self.ui
        self.emailTab = EmailIntakeTab()
        ui.tabs.addTab(self.emailTab, "&Email intake")
        for choice, label in THEME_LABELS.items():
            ui.themeCombo.addItem(label, choice)
        for mode, label in PASSWORD_LABELS.items():
            ui.passwordModeCombo.addItem(label, mode)
        for ssl in SSL_MODES:
            ui.sslCombo.addItem(ssl, ssl)
        for channel in Channel:
            ui.channelCombo.addItem(channel.label, channel.value)
        ui.pathEdit.setPlaceholderText(f"Default: {_default_file()}")
        ui.localRadio.toggled.connect(self._update_enabled)
        ui.passwordModeCombo.currentIndexChanged.connect(self._update_enabled)
        ui.browseButton.clicked.connect(self._browse)
        ui.testButton.clicked.connect(self.test_connection)
        ui.buttonBox.accepted.connect(self.accept)
        ui.buttonBox.rejected.connect(self.reject)
        self.tested.connect(self._show_test_result)
        self._show(settings)

    # --- in and out ---------------------------------------------------------------------

    def _show(self, settings: UserSettings) -> None:
        ui = self.ui
        c = settings.connection
        (ui.postgresRadio if c.kind is DatabaseKind.POSTGRESQL else ui.localRadio
         ).setChecked(True)
        ui.pathEdit.setText(c.path)
        ui.hostEdit.setText(c.host)
        ui.portSpin.setValue(c.port)
        ui.databaseEdit.setText(c.database)
        ui.userEdit.setText(c.user)
        ui.sslCombo.setCurrentIndex(max(ui.sslCombo.findData(c.sslmode), 0))
        ui.passwordModeCombo.setCurrentIndex(ui.passwordModeCombo.findData(c.password_mode))
        ui.passwordEdit.clear()
        if c.kind is DatabaseKind.POSTGRESQL and c.password_mode is PasswordMode.KEYRING \
                and user_settings.stored_password(c) is not None:
            ui.passwordEdit.setPlaceholderText(KEPT_PLACEHOLDER)
        ui.themeCombo.setCurrentIndex(ui.themeCombo.findData(settings.appearance.theme))
        n = settings.notifications
        ui.assignmentCheck.setChecked(n.on_assignment)
        (ui.trayRadio if n.where is NotifyWhere.TRAY else ui.inWindowRadio).setChecked(True)
        d = settings.call_form
        ui.channelCombo.setCurrentIndex(max(ui.channelCombo.findData(d.channel), 0))
        ui.impactSpin.setValue(d.impact)
        ui.urgencySpin.setValue(d.urgency)
        self.emailTab.show_settings(settings.email_intake)
        self._update_enabled()

    def connection(self) -> ConnectionSettings:
        """The connection as the dialog shows it now."""
        ui = self.ui
        postgres = ui.postgresRadio.isChecked()
        return ConnectionSettings(
            kind=DatabaseKind.POSTGRESQL if postgres else DatabaseKind.LOCAL,
            path=ui.pathEdit.text().strip(),
            host=ui.hostEdit.text().strip(),
            port=ui.portSpin.value(),
            database=ui.databaseEdit.text().strip(),
            user=ui.userEdit.text().strip(),
            sslmode=str(ui.sslCombo.currentData()),
            password_mode=self._password_mode(),
        )

    def settings(self) -> UserSettings:
        """Everything as the dialog shows it now (the password is not part of it)."""
        ui = self.ui
        # Qt hands a StrEnum back as a plain str: convert it again.
        choice = ThemeChoice(str(ui.themeCombo.currentData() or ThemeChoice.SYSTEM))
        return replace(
            self._settings,
            connection=self.connection(),
            appearance=AppearanceSettings(theme=choice),
            notifications=NotificationSettings(
                on_assignment=ui.assignmentCheck.isChecked(),
                where=NotifyWhere.TRAY if ui.trayRadio.isChecked() else NotifyWhere.IN_WINDOW),
            call_form=CallFormDefaults(channel=str(ui.channelCombo.currentData()),
                                       impact=ui.impactSpin.value(),
                                       urgency=ui.urgencySpin.value()),
            email_intake=self.emailTab.settings(),
        )

    def _password_mode(self) -> PasswordMode:
        return PasswordMode(str(self.ui.passwordModeCombo.currentData() or PasswordMode.KEYRING))

    def _password(self, connection: ConnectionSettings) -> str | None:
        typed = self.ui.passwordEdit.text()
        if typed:
            return typed
        if connection.password_mode is PasswordMode.KEYRING:
            return user_settings.stored_password(connection)
        return None

    def accept(self) -> None:
        """Save (the password to the keyring, or forget it) and close; stay on a problem."""
        new = self.settings()
        connection = new.connection
        problem = connection.problem()
        if problem is not None:
            self._show_error(problem)
            self.ui.tabs.setCurrentWidget(self.ui.databaseTab)
            return
        problem = new.email_intake.problem()
        if problem is not None:
            self._show_error(problem)
            self.ui.tabs.setCurrentWidget(self.emailTab)
            return
        try:
            if self.emailTab.password():
                if not (new.email_intake.host and new.email_intake.user):
                    self._show_error("Enter the IMAP server and mailbox user the password "
                                     "is for.")
                    self.ui.tabs.setCurrentWidget(self.emailTab)
                    return
                from deskapp.intake.background import store_mailbox_password

                store_mailbox_password(new.email_intake, self.emailTab.password())
            if connection.kind is DatabaseKind.POSTGRESQL:
                if connection.password_mode is PasswordMode.KEYRING:
                    if self.ui.passwordEdit.text():
                        user_settings.store_password(connection, self.ui.passwordEdit.text())
                else:
                    user_settings.forget_password(connection)
            user_settings.save(new, self._file)
        except (PasswordStoreError, OSError) as exc:
            self._show_error(f"Could not save the settings: {_one_line(exc)}")
            return
        self._settings = new
        self.applied.emit(new)
        super().accept()

    def _show_error(self, message: str) -> None:
        self.ui.errorLabel.setText(message)
        self.ui.errorLabel.setStyleSheet(theme.text_style(theme.colours().error))

    # --- the connection -----------------------------------------------------------------

    @property
    def testing(self) -> bool:
        """True while "Test connection" waits for an answer."""
        return self._testing

    def test_connection(self) -> None:
        """Try the connection shown, in a thread; ``tested`` says how it went."""
        if self._testing:
            return
        connection = self.connection()
        problem = connection.problem()
        if problem is not None:
            self.tested.emit(False, problem)
            return
        url = connection.url(self._password(connection)) or _default_url()
        self._testing = True
        self.ui.testButton.setEnabled(False)
        self.ui.testResultLabel.setStyleSheet("")
        self.ui.testResultLabel.setText("Connecting…")
        check, report = self._check, self.tested

        def work() -> None:
            try:
                result = (True, check(url))
            except Exception as exc:  # the reason is what the user needs, whatever it is
                result = (False, _one_line(exc))
            # RuntimeError: the dialog was closed and deleted meanwhile; nobody to tell.
            with contextlib.suppress(RuntimeError):
                report.emit(*result)

        threading.Thread(target=work, name="test connection", daemon=True).start()

    def _show_test_result(self, ok: bool, message: str) -> None:
        self._testing = False
        label = self.ui.testResultLabel
        self.ui.testButton.setEnabled(True)
        colours = theme.colours()
        label.setText(("✔ " if ok else "✘ ") + message)
        label.setToolTip(plain_tooltip(message))
        label.setStyleSheet(theme.text_style(colours.success if ok else colours.error))

    # --- behaviour ----------------------------------------------------------------------

    def _update_enabled(self) -> None:
        ui = self.ui
        postgres = ui.postgresRadio.isChecked()
        ui.postgresBox.setEnabled(postgres)
        ui.pathEdit.setEnabled(not postgres)
        ui.browseButton.setEnabled(not postgres)
        asks = self._password_mode() is PasswordMode.ASK
        ui.passwordEdit.setToolTip(
            "Used for Test connection only; Deskapp asks for it at each start" if asks
            else "Saved in the system keyring, never in the settings file")

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Database file", self.ui.pathEdit.text()
                             or str(_default_file().parent))
        dialog.setNameFilters(["Deskapp database (*.db)", "All files (*)"])
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontConfirmOverwrite)
        dialog.setDefaultSuffix("db")
        dialog.fileSelected.connect(self.ui.pathEdit.setText)
        dialog.open()


def _default_file() -> Path:
    # settings imports no Qt; it owns where the default database lives.
    from deskapp.settings import data_dir

    return data_dir() / "deskapp.db"


def _default_url() -> str:
    return f"sqlite:///{_default_file()}"


class SettingsMenu(QObject):
    """File > Settings… (Ctrl+,) on the main window; a child of it (``findChild``).

    Signals:
        applied(object): settings were saved (the new UserSettings).
    """

    applied = Signal(object)

    def __init__(self, window: MainWindow, *, check_connection: CheckConnection,
                 settings_file: Path | None = None) -> None:
        super().__init__(window)
        self.setObjectName("settingsMenu")
        self._window = window
        self._check = check_connection
        self._file = settings_file
        self.dialog: SettingsDialog | None = None
        self.action = QAction("Se&ttings…", window)
        self.action.setObjectName("actionSettings")
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setStatusTip("Database connection, theme, notifications, call form "
                                 "defaults")
        self.action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.action.triggered.connect(self.open_dialog)
        file_menu = window.findChild(QMenu, "menuFile")
        quit_action = window.action("actionQuit")
        if isinstance(file_menu, QMenu):
            file_menu.insertAction(quit_action, self.action)
            file_menu.insertSeparator(quit_action)
        else:
            window.addAction(self.action)

    def open_dialog(self) -> SettingsDialog:
        """Show the dialog with the settings saved now (not modal: the loop keeps running)."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = SettingsDialog(user_settings.load(self._file), check_connection=self._check,
                                settings_file=self._file, parent=self._window)
        dialog.applied.connect(self._on_applied)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_applied(self, settings: UserSettings) -> None:
        manager = theme.manager()
        if manager is not None:
            manager.set_choice(settings.appearance.theme)
        self._window.statusBar().showMessage("Settings saved.", 5000)
        self.applied.emit(settings)


def install_settings_menu(window: MainWindow, *, check_connection: CheckConnection,
                          settings_file: Path | None = None) -> SettingsMenu:
    """Add File > Settings… (Ctrl+,) to ``window``."""
    return SettingsMenu(window, check_connection=check_connection, settings_file=settings_file)
