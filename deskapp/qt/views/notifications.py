"""Telling agents what someone else assigned to them: in the window, and in the tray.

The check runs with the main window's live refresh (a change heard or made), so news arrives
within the live-update delay. It asks the activity for assignments to the signed-in agent by
others since the last entry seen: nothing is missed between checks, nothing shown twice.
"""

from __future__ import annotations

import asyncio
import html
import logging

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStyle,
    QSystemTrayIcon,
    QToolButton,
)

from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.services.workload import WorkloadService
from deskapp.services.workload_dto import AssignmentNotice
from deskapp.user_settings import NotificationSettings, NotifyWhere

log = logging.getLogger(__name__)

SHOWN_NOTICES = 5
"""Notices listed in the popup; more are summed up."""
POPUP_SECONDS = 30
"""The popup goes by itself after this long (the tray keeps its own message)."""
_LINK = "incident:"


class NotificationPopup(QFrame):
    """A card at the bottom right of the window listing incidents assigned to the agent.

    Each number is a link; clicking the card of a single notice opens that incident too.

    Signals:
        incident_clicked(int): the agent clicked an incident; the argument is its id.
    """

    incident_clicked = Signal(int)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("assignmentPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#assignmentPopup { background: #eff6ff; border: 1px solid #60a5fa;"
                           " border-radius: 6px; }")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 6, 8)
        self.label = QLabel(self)
        self.label.setObjectName("notificationLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse |
                                           Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.label.linkActivated.connect(self._on_link)
        layout.addWidget(self.label, 1)
        close = QToolButton(self)
        close.setObjectName("closeNotification")
        close.setAutoRaise(True)
        close.setText("\u2715")  # a cross, as on other dismissible cards
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._notices: list[AssignmentNotice] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(POPUP_SECONDS * 1000)
        self._timer.timeout.connect(self.hide)
        self._window = window
        window.installEventFilter(self)
        self.hide()

    @property
    def notices(self) -> list[AssignmentNotice]:
        """What the popup lists, oldest first."""
        return list(self._notices)

    def show_notices(self, notices: list[AssignmentNotice]) -> None:
        """List these (with any still shown) and show the card."""
        self._notices = (self._notices if self.isVisible() else []) + notices
        shown = self._notices[-SHOWN_NOTICES:]
        lines = [_line(n) for n in reversed(shown)]
        more = len(self._notices) - len(shown)
        if more:
            lines.append(f"… and {more} more")
        heading = "Assigned to you" if len(self._notices) == 1 else \
            f"{len(self._notices)} incidents assigned to you"
        self.label.setText(f"<b>{heading}</b><br>" + "<br>".join(lines))
        self.setToolTip("Click a number to open the incident")
        self.setFixedWidth(380)
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start()

    def _on_link(self, link: str) -> None:
        if link.startswith(_LINK):
            self._open(int(link.removeprefix(_LINK)))

    def _open(self, incident_id: int) -> None:
        self.hide()
        self.incident_clicked.emit(incident_id)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # The whole card is the target when it names one incident.
        if event.button() == Qt.MouseButton.LeftButton and len(self._notices) == 1:
            self._open(self._notices[0].incident_id)
            return
        super().mousePressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Resize and \
                self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        area = self._window.centralWidget()
        if area is None:
            return
        corner = area.mapTo(self._window, QPoint(area.width(), area.height()))
        self.move(max(0, corner.x() - self.width() - 16), max(0, corner.y() - self.height() - 16))


def _line(notice: AssignmentNotice) -> str:
    by = f" by {html.escape(notice.by_name)}" if notice.by_name else ""
    return (f"<a href='{_LINK}{notice.incident_id}'>{html.escape(notice.number)}</a> "
            f"P{notice.priority} — {html.escape(notice.short_description)}"
            f"<span style='color:#6b7280'>{by}</span>")


class AssignmentNotifier(QObject):
    """Checks for incidents others assigned to the signed-in agent and shows them.

    Signals:
        notified(list): notices were shown (a list of AssignmentNotice, oldest first).
    """

    notified = Signal(list)

    def __init__(self, window: MainWindow, service: WorkloadService, runner: DbRunner,
                 *, use_tray: bool | None = None,
                 settings: NotificationSettings | None = None) -> None:
        """Create the notifier; ``start()`` sets where the news begins.

        Args:
            window: shows the popup; its ``incident_activated`` signal opens incidents.
            service: reads the notices, as the signed-in agent.
            runner: runs the reads off the GUI thread.
            use_tray: whether the desktop has a tray (default: ask Qt).
            settings: whether to tell the agent, and where (Settings > Notifications).
        """
        super().__init__(window)
        self.setObjectName("assignmentNotifier")
        self._window = window
        self._service = service
        self._runner = runner
        self._cursor: int | None = None
        self._task: asyncio.Task[list[AssignmentNotice]] | None = None
        self._again = False
        self._settings = settings or NotificationSettings()
        self.popup = NotificationPopup(window)
        self.popup.incident_clicked.connect(self._open)
        self._tray_available = (QSystemTrayIcon.isSystemTrayAvailable() if use_tray is None
                                else use_tray)
        self.tray: QSystemTrayIcon | None = None
        self._latest: AssignmentNotice | None = None

    @property
    def settings(self) -> NotificationSettings:
        return self._settings

    def set_settings(self, settings: NotificationSettings) -> None:
        """Use ``settings`` from now on (the Settings dialog was saved)."""
        self._settings = settings
        if not self._uses_tray() and self.tray is not None:
            self.tray.hide()

    def _uses_tray(self) -> bool:
        return self._settings.where is NotifyWhere.TRAY and self._tray_available

    def _tray_icon(self) -> QSystemTrayIcon:
        if self.tray is None:
            icon = self._window.windowIcon()
            if icon.isNull():
                icon = self._window.style().standardIcon(
                    QStyle.StandardPixmap.SP_MessageBoxInformation)
            self.tray = QSystemTrayIcon(QIcon(icon), self)
            self.tray.setToolTip("Deskapp")
            self.tray.messageClicked.connect(self._open_latest)
        self.tray.show()
        return self.tray

    @property
    def started(self) -> bool:
        return self._cursor is not None

    async def start(self) -> None:
        """Begin with what is new from now on (older assignments are not news)."""
        try:
            self._cursor = await self._runner.db(self._service.notification_start)
        except Exception as exc:
            log.warning("Could not start assignment notifications", exc_info=exc)

    def check_soon(self) -> None:
        """Check in the background; a request during a check runs after it."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self._runner.spawn(self.check(), name="assignment notifications")

    async def check(self) -> list[AssignmentNotice]:
        """Show what was assigned to the agent by others since the last check."""
        try:
            if self._cursor is None:
                await self.start()
                return []
            notices = await self._runner.db(self._service.assigned_to_me_since, self._cursor)
        except Exception as exc:
            # News can wait for the next change; the queue shows the errors that matter.
            log.warning("Checking for new assignments failed", exc_info=exc)
            return []
        finally:
            if self._again:
                self._again = False
                asyncio.get_running_loop().call_soon(self.check_soon)
        if not notices:
            return []
        self._cursor = notices[-1].activity_id
        if not self._settings.on_assignment:
            return []  # read past them all the same: switching back on is not a flood
        self._latest = notices[-1]
        if self._uses_tray():
            first = notices[-1]
            title = "Assigned to you" if len(notices) == 1 else \
                f"{len(notices)} incidents assigned to you"
            by = f" (by {first.by_name})" if first.by_name else ""
            self._tray_icon().showMessage(
                title, f"{first.number}: {first.short_description}{by}",
                QSystemTrayIcon.MessageIcon.Information, 10_000)
        else:
            self.popup.show_notices(notices)
        self.notified.emit(notices)
        return notices

    def _open_latest(self) -> None:
        if self._latest is not None:
            self._open(self._latest.incident_id)

    def _open(self, incident_id: int) -> None:
        self._window.incident_activated.emit(incident_id)

