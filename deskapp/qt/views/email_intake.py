"""The email intake inside the app: the Settings dialog's "Email intake" tab, and the intake
that runs in a thread of the main window while "Run the email intake in this window" is on.

The poll is the command line's (``deskapp intake email``): same service, same mailbox code,
same keyring entry for the password. Its state is shown in the main window's status bar;
the incidents it opens reach the queues through the live refresh like anyone else's.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.views.main_window import MainWindow
from deskapp.services.ports import Clock, UnitOfWorkFactory
from deskapp.user_settings import EmailIntakeSettings

if TYPE_CHECKING:
    # The intake (imaplib, ssl, the mail parser, the keyring) loads when it starts or the
    # settings tab opens: most desks never run it in the window.
    from deskapp.intake.background import BackgroundEmailIntake, PollStatus

W = TypeVar("W", bound=QWidget)

KEPT_PLACEHOLDER = "Kept in the system keyring; type to change it"
SECURITY_LABELS = {False: "TLS from the start (port 993)",
                   True: "STARTTLS (port 143)"}


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)
    return widget


class EmailIntakeTab(QWidget):
    """The Settings dialog's "Email intake" tab: the mailbox, the interval, the switch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emailIntakeTab")
        self.hostEdit = _named(QLineEdit(), "imapHostEdit")
        self.hostEdit.setPlaceholderText("imap.example.com")
        self.portSpin = _named(QSpinBox(), "imapPortSpin")
        self.portSpin.setRange(1, 65535)
        self.securityCombo = _named(QComboBox(), "imapSecurityCombo")
        for starttls, label in SECURITY_LABELS.items():
            self.securityCombo.addItem(label, starttls)
        self.userEdit = _named(QLineEdit(), "imapUserEdit")
        self.userEdit.setPlaceholderText("servicedesk@example.com")
        self.passwordEdit = _named(QLineEdit(), "imapPasswordEdit")
        self.passwordEdit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passwordEdit.setToolTip("Saved in the system keyring, never in the settings file")
        self.folderEdit = _named(QLineEdit(), "imapFolderEdit")
        self.intervalSpin = _named(QSpinBox(), "imapIntervalSpin")
        self.intervalSpin.setRange(5, 24 * 3600)
        self.intervalSpin.setSuffix(" s")
        self.runCheck = QCheckBox("Run the email intake in this window")
        self.runCheck.setObjectName("imapRunCheck")
        note = QLabel(
            "New mail becomes incidents and replies naming an incident become caller "
            "comments, as with <i>deskapp intake email</i>. Run it in one window only, or "
            "as that command on a server.")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("IMAP &server:", self.hostEdit)
        form.addRow("&Port:", self.portSpin)
        form.addRow("S&ecurity:", self.securityCombo)
        form.addRow("Mailbox &user:", self.userEdit)
        form.addRow("Pass&word:", self.passwordEdit)
        form.addRow("&Folder:", self.folderEdit)
        form.addRow("Poll &every:", self.intervalSpin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.runCheck)
        layout.addWidget(note)
        layout.addStretch(1)
        self.securityCombo.currentIndexChanged.connect(self._security_changed)

    def show_settings(self, settings: EmailIntakeSettings) -> None:
        """Show ``settings``; the password field says whether the keyring keeps one."""
        self.hostEdit.setText(settings.host)
        self.securityCombo.setCurrentIndex(self.securityCombo.findData(settings.starttls))
        self.portSpin.setValue(settings.port)  # after the combo, which may have moved it
        self.userEdit.setText(settings.user)
        self.folderEdit.setText(settings.folder)
        self.intervalSpin.setValue(settings.interval)
        self.runCheck.setChecked(settings.run_in_window)
        self.passwordEdit.clear()
        from deskapp.intake.background import stored_mailbox_password

        kept = settings.host and settings.user and stored_mailbox_password(settings)
        self.passwordEdit.setPlaceholderText(KEPT_PLACEHOLDER if kept else "")

    def settings(self) -> EmailIntakeSettings:
        """The settings as shown (the password is not part of them)."""
        return EmailIntakeSettings(
            host=self.hostEdit.text().strip(), port=self.portSpin.value(),
            user=self.userEdit.text().strip(), folder=self.folderEdit.text().strip(),
            starttls=bool(self.securityCombo.currentData()),
            interval=self.intervalSpin.value(), run_in_window=self.runCheck.isChecked())

    def password(self) -> str:
        """What was typed as the password; empty keeps the stored one."""
        return str(self.passwordEdit.text())

    def _security_changed(self) -> None:
        # Follow the usual port for the security chosen, unless the user typed another.
        from deskapp.intake.imap_mailbox import IMPLICIT_TLS_PORT, STARTTLS_PORT

        starttls = bool(self.securityCombo.currentData())
        old, new = ((IMPLICIT_TLS_PORT, STARTTLS_PORT) if starttls
                    else (STARTTLS_PORT, IMPLICIT_TLS_PORT))
        if self.portSpin.value() == old:
            self.portSpin.setValue(new)


class InWindowEmailIntake(QObject):
    """Runs the email intake while the setting is on and the window is open.

    A child of the main window (``findChild``); its state is a permanent label in the
    status bar. Stops (finishing the message in hand) when the window closes or the
    setting is switched off.

    Signals:
        status_changed(str): the status bar's line changed (from any thread; queued).
    """

    status_changed = Signal(str)

    def __init__(self, window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                 cafile: Path | None = None, clock: Clock | None = None) -> None:
        super().__init__(window)
        self.setObjectName("inWindowEmailIntake")
        self._uow = uow_factory
        self._clock = clock
        self._cafile = cafile
        self._settings = EmailIntakeSettings()
        self._intake: BackgroundEmailIntake | None = None
        self.label = _named(QLabel(), "emailIntakeStatus")
        self.label.hide()
        window.statusBar().addPermanentWidget(self.label)
        self.status_changed.connect(self._on_status)
        window.closed.connect(self.stop)

    @property
    def running(self) -> bool:
        return self._intake is not None and self._intake.running

    @property
    def text(self) -> str:
        return str(self.label.text())

    def apply(self, settings: EmailIntakeSettings) -> None:
        """Start, stop or restart the intake for ``settings``."""
        if settings == self._settings and (self.running or not settings.run_in_window):
            return
        self.stop()
        self._settings = settings
        if not settings.run_in_window:
            return
        problem = settings.problem()
        if problem is not None:
            self._show(f"Email intake: {problem}")
            return
        self._show(f"Email intake: checking {settings.user}@{settings.host}…")
        from deskapp.intake.background import BackgroundEmailIntake

        self._intake = BackgroundEmailIntake(self._uow, settings, self._report,
                                             stamp_clock=self._clock, cafile=self._cafile)
        self._intake.start()

    def stop(self) -> None:
        """Stop polling and wait for the message in hand; hide the status."""
        intake, self._intake = self._intake, None
        if intake is not None:
            intake.stop()
        self.label.hide()
        self.label.clear()

    def _report(self, status: PollStatus) -> None:
        # In the intake's thread: the signal carries the line to the GUI thread.
        with contextlib.suppress(RuntimeError):  # the window is gone; nobody to tell
            self.status_changed.emit(status.text())

    def _on_status(self, text: str) -> None:
        if self._intake is not None:  # else a late report from an intake already stopped
            self._show(text)

    def _show(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(plain_tooltip(text))
        self.label.show()


def install_email_intake(window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                         settings: EmailIntakeSettings, cafile: Path | None = None,
                         clock: Clock | None = None) -> InWindowEmailIntake:
    """Give ``window`` its in-window email intake, started now if ``settings`` say so;
    what it writes is stamped by ``clock`` (by default the service's own)."""
    intake = InWindowEmailIntake(window, uow_factory=uow_factory, cafile=cafile, clock=clock)
    intake.apply(settings)
    return intake
