"""Tells the agent when incidents are newly assigned to them (Settings > Notifications).

It watches the count of "My open incidents", which the main window reloads on every change
it hears (live updates) or makes: when the count goes up, that many more incidents are
assigned to the agent. The message goes to the window's status bar (and the taskbar entry
is asked to draw attention), or to the system tray where there is one.

A count cannot tell one incident assigned and another resolved in the same moment; the
message is a nudge to look at the queue, not a log.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from deskapp.qt.views.main_window import MainWindow
from deskapp.user_settings import NotificationSettings, NotifyWhere

MY_OPEN_KEY = "built_in:my_open"
MESSAGE_MS = 15_000


def assignment_message(added: int) -> str:
    """"1 more incident is assigned to you" (or how many)."""
    noun = "incident is" if added == 1 else "incidents are"
    return f"{added} more {noun} assigned to you: see My open incidents."


class AssignmentNotifier(QObject):
    """Watches the window's "My open incidents" count; a child of the window.

    Signals:
        notified(str): the agent was told this (in the window or the tray).
    """

    notified = Signal(str)

    def __init__(self, window: MainWindow, settings: NotificationSettings) -> None:
        super().__init__(window)
        self.setObjectName("assignmentNotifier")
        self._window = window
        self._settings = settings
        self._last: int | None = None
        self._tray: QSystemTrayIcon | None = None
        model = window.queue_model
        model.dataChanged.connect(self._check)
        model.modelReset.connect(self._check)

    @property
    def settings(self) -> NotificationSettings:
        return self._settings

    def set_settings(self, settings: NotificationSettings) -> None:
        """Use ``settings`` from now on (the Settings dialog was saved)."""
        self._settings = settings
        if settings.where is not NotifyWhere.TRAY and self._tray is not None:
            self._tray.hide()

    def _check(self, *_args: QModelIndex | object) -> None:
        count = self._window.queue_model.count_of(MY_OPEN_KEY)
        if count is None:
            return
        last, self._last = self._last, count
        if last is None or count <= last or not self._settings.on_assignment:
            return  # the first count is where we start; fewer is work done
        self._tell(assignment_message(count - last))

    def _tell(self, message: str) -> None:
        if self._settings.where is NotifyWhere.TRAY and QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(QApplication.windowIcon(), self)
                self._tray.setToolTip("Deskapp")
            self._tray.show()
            self._tray.showMessage("Deskapp", message,
                                   QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS)
        else:
            self._window.statusBar().showMessage(f"🔔 {message}", MESSAGE_MS)
            QApplication.alert(self._window)
        self.notified.emit(message)


def install_notifications(window: MainWindow,
                          settings: NotificationSettings) -> AssignmentNotifier:
    """Start telling the agent about new assignments, as ``settings`` say."""
    return AssignmentNotifier(window, settings)
