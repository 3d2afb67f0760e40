"""The composition root: settings -> database -> services -> runner -> main window -> loop.

The only module that knows every layer. It opens (and migrates) the database, signs the user
in, fills a brand-new default database with demo data, and runs the Qt event loop through
qasync so coroutines and Qt share one thread.
"""

from __future__ import annotations

# First, before anything imports PySide6 through qasync: see deskapp/qt/__init__.py.
import deskapp.qt  # noqa: F401

# isort: split
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox
from sqlalchemy.exc import SQLAlchemyError

from deskapp import __version__, user_settings
from deskapp.domain.errors import DeskappError, NotFoundError
from deskapp.domain.people import User
from deskapp.logging_setup import configure_logging, log_file_path, stop_logging
from deskapp.persistence.connection_check import check_connection
from deskapp.persistence.database import Database, open_database
from deskapp.qt import theme
from deskapp.qt.crash import CrashHandler
from deskapp.qt.drafts import DraftStore
from deskapp.qt.permission_gate import install_permission_gate
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.about_dialog import install_about
from deskapp.qt.views.admin_menu import install_admin_menu
from deskapp.qt.views.callers_review import install_callers_review
from deskapp.qt.views.data_menu import install_data_menu
from deskapp.qt.views.email_intake import install_email_intake
from deskapp.qt.views.form_host import FormHost
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.password_dialog import ask_new_password_at_sign_in, install_change_password
from deskapp.qt.views.reports_menu import install_reports_menu
from deskapp.qt.views.settings_dialog import install_settings_menu
from deskapp.qt.views.shortcuts_dialog import install_shortcuts_menu
from deskapp.qt.views.sign_in_dialog import SignInAnswer, SignInDialog, SignInMode
from deskapp.qt.views.team_menu import install_team_menu
from deskapp.resources import app_icon_path
from deskapp.services.accounts import AccountService
from deskapp.services.catalog import CatalogService
from deskapp.services.incidents import IncidentService
from deskapp.services.ports import Clock
from deskapp.services.queries import QueueFilter
from deskapp.services.queues import QueueService
from deskapp.services.reference import ReferenceService
from deskapp.services.setup import sign_in
from deskapp.settings import APP_NAME, Settings

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_STARTUP_FAILED = 2
"""The database could not be opened or the user could not sign in."""

ORGANIZATION = "Deskapp"
APP_ICON = app_icon_path()


@dataclass
class Session:
    """What one run of the GUI holds open, closed in reverse order."""

    database: Database
    user: User
    runner: DbRunner
    window: MainWindow


def build_main_window(
    database: Database,
    user: User,
    runner: DbRunner,
    *,
    window_settings: QSettings | None = None,
    clock: Clock | None = None,
    live_updates: bool = True,
    log_file: Path | None = None,
    preferences: user_settings.UserSettings | None = None,
) -> MainWindow:
    """Wire the services of ``database`` into a main window acting as ``user``.

    Nothing is loaded yet: call ``window.refresh()`` (or ``start_refresh()``) once an event
    loop runs. Tests use this to build the window without starting the application.

    Args:
        database: the open database.
        user: the signed-in user.
        runner: runs service calls off the GUI thread; the caller closes it.
        window_settings: where window layout is kept (default: the user's QSettings).
        clock: "now" for the services and the SLA column (default: the database's:
            the server's clock on PostgreSQL).
        live_updates: follow changes made by others as they are committed.
        log_file: where the log is written, for Help → About.
        preferences: the user's settings (default: read from the settings file).
    """
    preferences = preferences if preferences is not None else user_settings.load()
    clock = clock if clock is not None else database.clock
    incidents = IncidentService(database.uow_factory, user.id, clock)
    reference = ReferenceService(database.uow_factory)
    window = MainWindow(
        incidents=incidents,
        reference=reference,
        queues=QueueService(database.uow_factory, user.id, clock),
        open_change_feed=database.open_change_feed if live_updates else None,
        runner=runner,
        user=user,
        database_name=database.display_name,
        window_settings=window_settings if window_settings is not None else QSettings(),
        clock=clock,
    )
    host = wire_forms(window, incidents, CatalogService(database.uow_factory), runner, user,
                      clock, drafts=DraftStore(f"{user.username}@{database.display_name}"),
                      call_defaults=preferences.call_form)
    install_data_menu(window, uow_factory=database.uow_factory, runner=runner, user=user,
                      clock=clock)
    install_callers_review(window, uow_factory=database.uow_factory, runner=runner, user=user,
                           clock=clock)
    install_reports_menu(window, uow_factory=database.uow_factory, runner=runner, user=user,
                         clock=clock)
    install_admin_menu(window, uow_factory=database.uow_factory, runner=runner, user=user,
                       clock=clock, logins=database.logins)
    team = install_team_menu(window, uow_factory=database.uow_factory, runner=runner,
                             user=user, clock=clock, settings=window_settings)
    notifier = team.notifier
    notifier.set_settings(preferences.notifications)
    settings_menu = install_settings_menu(window, check_connection=check_connection)
    settings_menu.applied.connect(
        lambda saved: host.set_call_defaults(saved.call_form))
    settings_menu.applied.connect(
        lambda saved: notifier.set_settings(saved.notifications))
    email_intake = install_email_intake(window, uow_factory=database.uow_factory,
                                        settings=preferences.email_intake, clock=clock)
    settings_menu.applied.connect(lambda saved: email_intake.apply(saved.email_intake))
    install_change_password(window, AccountService(database.uow_factory, database.logins,
                                                   clock), runner, user)
    install_about(window, database.display_name, log_file)
    install_shortcuts_menu(window)  # it lists every other menu's keys
    # Last: it walks every action the menus above added.
    install_permission_gate(window, user=user, runner=runner,
                            load_group_ids=team.assignment.my_group_ids)
    return window


def needs_demo_data(settings: Settings, database: Database, user: User) -> bool:
    """A brand-new default database is filled with demo data so there is something to see."""
    if not settings.is_default_database or settings.demo_incidents_on_first_start <= 0:
        return False
    service = IncidentService(database.uow_factory, user.id, database.clock)
    return service.count(QueueFilter()) == 0


def fill_demo_data(settings: Settings, database: Database) -> None:
    """Create the first-start demo incidents (blocking; run it in the runner)."""
    # Imported here: demo data is an optional first-start extra, not part of the GUI's
    # wiring, and the module must not be loaded on every start.
    from deskapp.services.demo import generate_demo  # type: ignore[import-not-found,unused-ignore]

    generate_demo(database.uow_factory, incidents=settings.demo_incidents_on_first_start)


def authenticate(settings: Settings, database: Database) -> User | None:
    """Sign in at start; None if the person cancelled.

    - PostgreSQL: the server checked the login's password (SCRAM) when the database was
      opened; the login maps to its users row. The database's owner (or a superuser), who
      can change anything anyway, acts as ``settings.username`` (the admin by default;
      a desk with people but no admin account needs DESKAPP_USER).
    - SQLite, DESKAPP_USER and DESKAPP_PASSWORD set: a local sign-in without a dialog.
    - SQLite, no local account has a password yet (a new desk): the first-start dialog
      asks for the admin account.
    - Otherwise the sign-in dialog, until the password is right or the person cancels.
    """
    accounts = AccountService(database.uow_factory, database.logins, database.clock)
    logins = database.logins
    if logins is not None:
        if logins.is_owner() and not _has_user(database, logins.current_login()):
            user = sign_in(database.uow_factory, settings.username)
            accounts.record_owner_sign_in(user)
            return user
        return accounts.sign_in_database()
    if settings.username and settings.password:
        return accounts.sign_in(settings.username, settings.password)
    if accounts.needs_first_admin():
        return SignInDialog.ask(
            SignInMode.FIRST_RUN,
            lambda a: accounts.create_first_admin(a.username, a.full_name, a.password),
            desk=database.display_name)
    typed: list[str] = []

    def attempt(answer: SignInAnswer) -> User:
        user = accounts.sign_in(answer.username, answer.password)
        typed[:] = [answer.password]  # kept only for the password change just below
        return user

    signed = SignInDialog.ask(SignInMode.SIGN_IN, attempt, username=settings.username or "",
                              desk=database.display_name)
    # An admin reset (or created) the account: the person chooses their own first.
    if signed is not None and accounts.must_change_password(signed.id) \
            and not ask_new_password_at_sign_in(accounts, signed, typed[0]):
        return None
    return signed


def _has_user(database: Database, username: str) -> bool:
    with database.uow_factory() as uow:
        try:
            uow.users.by_username(username)
        except NotFoundError:
            return False
        return True


def _application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app.setApplicationDisplayName("Deskapp")
    # Wayland compositors and docks find the icon through the installed deskapp.desktop.
    app.setDesktopFileName("deskapp")
    if APP_ICON.is_file():
        app.setWindowIcon(QIcon(str(APP_ICON)))
    # The window's closing ends the main coroutine, which ends the loop; Qt quitting on its
    # own would stop the loop under a coroutine that has not finished.
    app.setQuitOnLastWindowClosed(False)
    return app


def _startup_error(message: str) -> int:
    log.error("Start-up failed: %s", message)
    QMessageBox.critical(None, "Deskapp cannot start", message)
    return EXIT_STARTUP_FAILED


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_gui(settings: Settings) -> int:
    """Open the database, sign in, show the main window and run until it closes.

    Everything is logged to the rotating file in ``settings.log_dir`` meanwhile.

    Returns:
        The process exit code: 0, or 2 when the database cannot be opened or the user
        cannot sign in (after telling the user in a message box).
    """
    log_file = configure_logging(settings.log_dir)
    log.info("Deskapp %s starting (log: %s)", __version__, log_file)
    try:
        return _run_gui(settings)
    finally:
        log.info("Deskapp stopped")
        stop_logging()


def _run_gui(settings: Settings) -> int:
    app = _application()
    theme.install(app, user_settings.load().appearance.theme)
    if settings.needs_password:
        asked = _ask_password(settings)
        if asked is None:
            return EXIT_STARTUP_FAILED
        settings = asked
    try:
        database = open_database(settings.database_url)
    except (DeskappError, SQLAlchemyError) as exc:
        return _startup_error(_one_line(exc))
    try:
        try:
            signed_in = authenticate(settings, database)
            if signed_in is None:
                return EXIT_OK
            user = signed_in
            demo = needs_demo_data(settings, database, user)
        except (DeskappError, SQLAlchemyError) as exc:
            return _startup_error(_one_line(exc))
        result: int = qasync.run(_main(settings, database, user, demo))
        return result
    finally:
        database.close()


def _ask_password(settings: Settings) -> Settings | None:
    """Ask for the saved PostgreSQL connection's password (before the loop runs)."""
    connection = settings.connection
    who = connection.keyring_account if connection is not None else settings.database_url
    password, ok = QInputDialog.getText(
        None, "Deskapp: sign in to the database", f"Password for {who}:",
        QLineEdit.EchoMode.Password)
    if not ok:
        log.info("Start-up cancelled at the password question")
        return None
    return settings.with_password(password)


async def _main(settings: Settings, database: Database, user: User, demo: bool) -> int:
    """The application's coroutine: runs while the main window is open."""
    runner = DbRunner.for_dialect(database.dialect)
    log_file: Path | None = log_file_path(settings.log_dir)
    if log_file is not None and not log_file.is_file():
        log_file = None  # configure_logging could not create it
    window = build_main_window(database, user, runner, log_file=log_file)
    closed = asyncio.get_running_loop().create_future()

    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(on_closed)
    # Bugs from here on are logged and shown in a dialog rather than lost.
    crash = CrashHandler(log_file, window, on_quit=window.close)
    loop = asyncio.get_running_loop()
    crash.install(loop)
    try:
        window.show()
        if demo:
            runner.spawn(_first_start(settings, database, runner, window), name="first start")
        else:
            window.start_refresh()
        host = window.findChild(FormHost)
        if isinstance(host, FormHost):
            runner.spawn(host.offer_drafts(), name="offer drafts")
        await closed
    finally:
        crash.uninstall(loop)
        await runner.aclose()
        window.deleteLater()
    return EXIT_OK


async def _first_start(settings: Settings, database: Database, runner: DbRunner,
                       window: MainWindow) -> None:
    """Fill a new database with demo incidents, then show them."""
    window.statusBar().showMessage(
        f"Creating {settings.demo_incidents_on_first_start:,} demo incidents…")
    window.begin_busy()
    try:
        await runner.db(fill_demo_data, settings, database)
    except Exception as exc:
        # Demo data is a convenience: an empty desk is still a working desk.
        log.exception("Creating demo data failed")
        window.show_error(f"Could not create the demo data: {_one_line(exc)}")
    else:
        window.statusBar().clearMessage()
    finally:
        window.end_busy()
    await window.refresh()


def wire_forms(window: MainWindow, incidents: IncidentService, catalog: CatalogService,
               runner: DbRunner, user: User, clock: Clock, *, drafts: DraftStore | None = None,
               call_defaults: user_settings.CallFormDefaults | None = None) -> FormHost:
    """Open the call form (Ctrl+N) and incident forms (Enter in the queue) from the window.

    The host is a child of the window (``window.findChild(FormHost)``); its forms close
    with the window. What a form saves reaches the window as the service's Change; what
    the window hears changed (or changes itself) reaches the open incident forms.
    """
    host = FormHost(incidents=incidents, catalog=catalog, runner=runner, user=user,
                    window=window, clock=clock, drafts=drafts, call_defaults=call_defaults)
    window.incident_activated.connect(host.open_incident)
    window.log_call_requested.connect(host.open_call_form)
    host.changed.connect(window.apply_change)
    # Live updates reach the open incident forms through the window's refresh: one path.
    window.live_refresh_started.connect(host.check_open_incidents)
    window.closed.connect(host.close_all)
    return host
