"""The ``deskapp`` command: the GUI by default, and subcommands for the database and demo data."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from deskapp import __version__, security_cli
from deskapp.domain.errors import DeskappError
from deskapp.settings import ENV_DATABASE_URL, ENV_USER, Settings

EXPORT_DEFAULT_COLUMNS = ("number", "priority", "short_description", "caller", "state",
                          "group", "assignee", "opened", "sla", "updated")
"""``exporting.TABLE_COLUMNS`` by name (importing that module here would slow every start)."""
EXPORT_OTHER_COLUMNS = ("impact", "urgency", "channel", "vip", "major", "breached",
                        "response_due", "configuration_item")
"""The other export columns, by name."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, but a word too long for the line (a column name, a URL) is
    moved whole to the next line, never cut in two ("numb / er")."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other error (exit code 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"deskapp: error: {message} (see: {self.prog} --help)\n")


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deskapp",
        description="Deskapp: a service desk for IT incident management. "
        "Without a command it opens the main window.",
    )
    parser.add_argument("--version", action="version", version=f"deskapp {__version__}")
    parser.add_argument("--smoke-test", action="store_true",
                        help="check this installation: open the main window offscreen on a "
                        "temporary database, load a queue, write a report; exit 0 if it works")
    parser.add_argument(
        "--database-url", metavar="URL",
        help="sqlite:///path/file.db or postgresql://user@host:port/db "
        f"(default: ${ENV_DATABASE_URL}, else a SQLite file in the user's data directory)",
    )
    parser.add_argument("--user", metavar="NAME", help=f"sign in as this user (${ENV_USER})")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("run", help="open the main window (the default)")

    db = commands.add_parser("db", help="look after the database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="migrate to the current schema (backs up SQLite first)")
    db_commands.add_parser("current", help="show the schema revision of the database")
    db_backup = db_commands.add_parser(
        "backup", help="copy a SQLite database while it is in use (PostgreSQL: pg_dump)")
    db_backup.add_argument("file", type=Path, metavar="FILE",
                           help="the backup file to write (replaced whole, or not at all)")
    db_restore = db_commands.add_parser(
        "restore", help="replace a SQLite database with a backup (the old one is kept aside)")
    db_restore.add_argument("file", type=Path, metavar="FILE", help="the backup to restore")

    demo = commands.add_parser("demo", help="fill the database with realistic demo data")
    demo.add_argument("--incidents", type=_positive, default=2000, metavar="N",
                      help="how many incidents to create (default 2000)")
    demo.add_argument("--seed", type=int, default=20260301, help="random seed (default fixed)")

    importing = commands.add_parser("import", help="import incident history from another tool")
    sources = importing.add_subparsers(dest="source", metavar="SOURCE", required=True)
    servicenow = sources.add_parser(
        "servicenow", help="a ServiceNow incident event log (a CSV file, or a zip holding it)")
    servicenow.add_argument("file", type=Path, metavar="FILE", help="the .csv or .zip file")
    servicenow.add_argument("--timezone", default="UTC", metavar="ZONE",
                            help="the IANA time zone the log's times are in, such as "
                            "Europe/Oslo (default UTC); they are stored in UTC")
    csv_import = sources.add_parser(
        "csv", help="callers or incidents from any CSV file, its columns mapped to fields")
    csv_import.add_argument("file", type=Path, metavar="FILE", help="the .csv (or .zip) file")
    csv_import.add_argument("--kind", required=True, choices=("callers", "incidents"),
                            help="what the rows are")
    csv_import.add_argument(
        "--map", metavar="MAPPING", dest="mapping",
        help="field=Column pairs, such as \"name=Full Name,email=E-mail\" (default: the "
        "columns named like the fields); callers: name, email, phone, department, location, "
        "vip; incidents: short_description, caller, caller_email, description, channel, "
        "impact, urgency, category, subcategory, service, group, assignee, opened_at, "
        "reference")
    csv_import.add_argument("--dry-run", action="store_true",
                            help="check the file and show what would be created; write nothing")
    csv_import.add_argument("--source", metavar="NAME", dest="source_name",
                            help="where the file comes from: imported incidents remember it "
                            "with their reference (default: the file's name)")
    csv_import.add_argument("--timezone", metavar="ZONE",
                            help="the IANA time zone of opened_at times that name none "
                            "(default: this computer's)")

    export = commands.add_parser(
        "export", help="export a queue or a search to a .csv or .xlsx file")
    which = export.add_mutually_exclusive_group(required=True)
    from deskapp.services.queues import BUILT_IN_QUEUES

    names = [q.key.split(":", 1)[1] for q in BUILT_IN_QUEUES]
    which.add_argument("--queue", metavar="QUEUE",
                       help=f"a built-in queue ({', '.join(n for n in names if n != 'all')}), "
                       "all (every incident), or a saved filter's name, for the --user given")
    which.add_argument("--search", metavar="TEXT",
                       help="the incidents whose number, descriptions or notes match")
    export.add_argument("--columns", metavar="LIST",
                        help="column names, comma-separated, in order (default: the queue "
                        f"table's: {', '.join(EXPORT_DEFAULT_COLUMNS)}; also "
                        f"{', '.join(EXPORT_OTHER_COLUMNS)})")
    export.add_argument("--sort", metavar="KEY",
                        choices=("number", "opened_at", "updated_at", "priority", "state",
                                 "short_description", "resolution_due_at", "caller", "group",
                                 "assignee"),
                        help="sort key, ascending unless --descending (default: opened_at, "
                        "newest first)")
    export.add_argument("--descending", action="store_true", help="sort in descending order")
    export.add_argument("--timezone", metavar="ZONE",
                        help="the IANA time zone to write times in (default: this computer's)")
    export.add_argument("file", type=Path, metavar="FILE",
                        help="the file to write; .csv or .xlsx picks the format")

    soak = commands.add_parser(
        "soak", help="many agent processes on one database at once, then check nothing was lost")
    soak.add_argument("--agents", type=_positive, default=8, metavar="N",
                      help="how many agent processes (default 8)")
    soak.add_argument("--seconds", type=_positive, default=60, metavar="S",
                      help="how long they work (default 60)")
    soak.add_argument("--database", metavar="URL", dest="soak_url",
                      help="the database to soak; it gets test users and incidents (default: "
                      "a new SQLite file in a temporary folder, never your desk's)")
    soak.add_argument("--seed", type=int, metavar="N", help="random seed (default: the time)")

    report = commands.add_parser("report", help="make a PDF report")
    reports = report.add_subparsers(dest="report_kind", metavar="KIND", required=True)
    review = reports.add_parser("review", help="the post-incident review of one incident")
    review.add_argument("number", metavar="NUMBER", help="the incident, such as INC0000123")
    period = reports.add_parser("period", help="a management report over a range of days")
    period.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD",
                        help="the first day of the period")
    period.add_argument("--to", dest="last_day", required=True, metavar="YYYY-MM-DD",
                        help="the last day of the period (included)")
    period.add_argument("--group", action="append", default=[], metavar="NAME",
                        help="only incidents of this assignment group (repeatable)")
    period.add_argument("--category", action="append", default=[], metavar="NAME",
                        help="only this category, or \"Category / Subcategory\" (repeatable)")
    period.add_argument("--service", action="append", default=[], metavar="NAME",
                        help="only incidents about this service (repeatable)")
    period.add_argument("--priority", action="append", default=[], metavar="P",
                        help="only this priority, such as 1 or P1 (repeatable)")

    for kind in (review, period):
        kind.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                          help="the PDF file to write (replaced whole, or not at all)")
        kind.add_argument("--timezone", metavar="ZONE",
                          help="the IANA time zone of the report's days and times "
                          "(default: this computer's)")

    # Detection channels: each channel adds its own subcommands to the one ``intake`` group
    # (monitoring's set ``intake_handler``; email is dispatched by _INTAKE_CHANNELS). Their
    # modules import the IMAP client, the mail parser and the alert listener: declared only
    # when the command line says ``intake``, not on every start of the GUI.
    intake = commands.add_parser(
        "intake", help="take incidents in from email and monitoring, without anyone typing")
    channels = intake.add_subparsers(dest="channel", metavar="CHANNEL", required=True)
    if "intake" in (sys.argv[1:] if argv is None else argv):
        from deskapp.intake.alerts_cli import add_alert_commands
        from deskapp.intake.email_command import add_email_parser

        add_email_parser(channels)
        add_alert_commands(channels)

    security_cli.add_commands(commands)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _run_gui(settings: Settings, _args: argparse.Namespace) -> int:
    from deskapp.app import run_gui

    exit_code: int = run_gui(settings)
    return exit_code


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from deskapp.persistence import migrate
    from deskapp.persistence.database import open_database

    database = open_database(settings.database_url, upgrade=False)
    try:
        before = migrate.current_revision(database.engine)
        backup = migrate.upgrade(database.engine)
        after = migrate.current_revision(database.engine)
    finally:
        database.close()
    if before == after:
        print(f"{database.display_name} is already at revision {after}.")
    else:
        print(f"Upgraded {database.display_name} from revision {before or 'none (empty)'} "
              f"to {after}.")
        if backup is not None:
            print(f"The previous file was saved as {backup}.")
    return EXIT_OK


def _db_current(settings: Settings, _args: argparse.Namespace) -> int:
    from deskapp.persistence import migrate
    from deskapp.persistence.database import open_database

    database = open_database(settings.database_url, upgrade=False, must_exist=True)
    try:
        current = migrate.current_revision(database.engine)
    finally:
        database.close()
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind (current schema is {head})"
    print(f"{database.display_name}: revision {current or 'none (empty)'}, {state}.")
    return EXIT_OK


def _db_backup(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.backup import backup

    result = backup(settings.database_url, args.file)
    print(f"Backed up {result.incidents:,} incidents (revision {result.revision or 'none'}) "
          f"to {result.path} ({result.size / 1024:,.0f} KiB) in {result.seconds:.1f} s.")
    return EXIT_OK


def _db_restore(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.backup import restore

    result = restore(settings.database_url, args.file)
    print(f"Restored {result.database} from {args.file}: {result.incidents:,} incidents, "
          f"revision {result.revision}"
          + (f" (migrated from {result.upgraded_from})" if result.upgraded_from else "") + ".")
    if result.previous is not None:
        print(f"The database as it was is kept as {result.previous}.")
    return EXIT_OK


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.demo import generate_demo
    from deskapp.services.permissions import Permission, require
    from deskapp.services.ports import acting_as
    from deskapp.services.setup import sign_in

    database = open_database(settings.database_url)
    try:
        # A new desk gets its admin, as on a first start; a desk with people must say who
        # acts (sign_in refuses otherwise). The demo makes people with a published password
        # and may make a matrix: only someone who may manage people may add them.
        user = sign_in(database.uow_factory, settings.username)
        require(user, Permission.MANAGE_PEOPLE)

        def progress(done: int, total: int) -> None:
            print(f"\r{done:,} of {total:,} incidents", end="", file=sys.stderr, flush=True)

        summary = generate_demo(acting_as(database.uow_factory, user.id),
                                incidents=args.incidents, seed=args.seed,
                                progress=progress if sys.stderr.isatty() else None)
    finally:
        database.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Created {summary.incidents:,} incidents with {summary.activity:,} activity entries "
          f"in {summary.seconds:.1f} s in {database.display_name}.")
    return EXIT_OK


def _import_servicenow(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.importing import ImportStage, import_servicenow
    from deskapp.services.setup import sign_in

    tty = sys.stderr.isatty()

    def progress(stage: ImportStage, done: int, total: int) -> None:
        if stage == ImportStage.READING:
            text = f"Reading: {done * 100 // max(total, 1)}%"
        else:
            text = f"Writing: {done:,} of {total:,} incidents"
        print(f"\r{text}    ", end="", file=sys.stderr, flush=True)

    database = open_database(settings.database_url)
    try:
        # Without --user the import runs as the system (the trail says so); with one, as them.
        actor = sign_in(database.uow_factory, settings.username) if settings.username \
            else None
        report = import_servicenow(database.uow_factory, args.file, timezone=args.timezone,
                                   progress=progress if tty else None,
                                   actor_id=None if actor is None else actor.id)
    finally:
        database.close()
        if tty:
            print(file=sys.stderr)
    if not report.ok:
        # The summary first, then every row that stopped the import.
        print(f"deskapp: error: {report.summary()}", file=sys.stderr)
        errors = [problem for problem in report.problems if problem.is_error]
        for problem in errors:
            print(f"  {problem}", file=sys.stderr)
        if report.errors > len(errors):
            print(f"  ... and {report.errors - len(errors):,} more", file=sys.stderr)
        return EXIT_ERROR
    print(report.summary(database.display_name))
    if report.imported:
        print(f"Created {report.groups_created:,} groups, {report.agents_created:,} agents, "
              f"{report.callers_created:,} callers, {report.categories_created:,} categories "
              f"and {report.configuration_items_created:,} configuration items.")
    if report.matrix_replaced:
        print(f"The priority matrix was replaced by the log's (now version "
              f"{report.matrix_version}), so that every imported incident keeps its priority: "
              f"{'; '.join(report.matrix_changes)}.")
    for problem in report.problems:
        print(f"deskapp: {problem}", file=sys.stderr)
    if report.warnings > len(report.problems):
        print(f"deskapp: ... and {report.warnings - len(report.problems):,} more warnings",
              file=sys.stderr)
    return EXIT_OK


def _import_csv(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.importing.csv_import import CsvKind, import_csv, parse_mapping
    from deskapp.services.importing.servicenow_log import time_zone
    from deskapp.services.setup import sign_in

    mapping = parse_mapping(args.mapping) if args.mapping else None
    zone = time_zone(args.timezone) if args.timezone else None
    database = open_database(settings.database_url)
    try:
        user = sign_in(database.uow_factory, settings.username)
        report = import_csv(database.uow_factory, args.file, CsvKind(args.kind), mapping,
                            dry_run=args.dry_run, source=args.source_name, zone=zone,
                            clock=database.clock, actor_id=user.id)
    finally:
        database.close()
    if not report.ok:
        print(f"deskapp: error: {report.summary()}", file=sys.stderr)
        errors = [problem for problem in report.problems if problem.is_error]
        for problem in errors:
            print(f"  {problem}", file=sys.stderr)
        if report.errors > len(errors):
            print(f"  ... and {report.errors - len(errors):,} more", file=sys.stderr)
        return EXIT_ERROR
    if args.dry_run:
        for line in report.planned:
            print(f"  {line}")
        if report.created > len(report.planned):
            print(f"  ... and {report.created - len(report.planned):,} more")
    print(report.summary())
    for problem in report.problems:
        print(f"deskapp: {problem}", file=sys.stderr)
    return EXIT_OK


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.exporting import (
        TABLE_COLUMNS,
        ExportFormat,
        ExportRequest,
        ExportService,
        find_queue,
        parse_columns,
    )
    from deskapp.services.importing.servicenow_log import time_zone
    from deskapp.services.queries import SortKey
    from deskapp.services.queues import QueueService, search_queue
    from deskapp.services.setup import sign_in

    # Every argument is checked before the database is opened (or a file made).
    fmt = ExportFormat.for_path(args.file)
    columns = parse_columns(args.columns) if args.columns else TABLE_COLUMNS
    zone = time_zone(args.timezone) if args.timezone else None
    if args.search is not None and not args.search.strip():
        raise DeskappError("--search needs some text to look for.")
    sort = SortKey(args.sort) if args.sort else SortKey.OPENED_AT
    descending = args.descending or args.sort is None
    tty = sys.stderr.isatty()

    def progress(done: int, total: int | None) -> None:
        of = f" of {total:,}" if total is not None else ""
        print(f"\rExported {done:,}{of} incidents    ", end="", file=sys.stderr, flush=True)

    database = open_database(settings.database_url, must_exist=True)
    try:
        user = sign_in(database.uow_factory, settings.username)
        queues = QueueService(database.uow_factory, user.id, database.clock)
        queue = (search_queue(args.search) if args.search is not None
                 else find_queue(queues.queues(), args.queue))
        request = ExportRequest(queues.resolve(queue), sort, descending, columns, queue.title)
        # The user named is checked as in the GUI: the README's role table holds here too.
        exports = ExportService(database.uow_factory, database.clock, zone, actor_id=user.id)
        report = exports.export(request, args.file, fmt, progress if tty else None)
    finally:
        database.close()
        if tty:
            print(file=sys.stderr)
    print(report.summary())
    return EXIT_OK


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.importing.servicenow_log import time_zone
    from deskapp.services.report_data import (
        PeriodFilters,
        ReportService,
        check_writable,
        normalise_number,
        parse_day,
        parse_priority,
        save_atomically,
    )
    from deskapp.services.setup import sign_in

    # Everything the command line says is checked before the database is opened.
    output: Path = args.output
    check_writable(output)
    zone = time_zone(args.timezone) if args.timezone else None
    if args.report_kind == "review":
        number = normalise_number(args.number)
    else:
        first, last = parse_day(args.first_day, "--from"), parse_day(args.last_day, "--to")
        priorities = tuple(parse_priority(text) for text in args.priority)
        PeriodFilters(first, last)  # refuses a reversed or too long range now
    database = open_database(settings.database_url, must_exist=True)
    try:
        user = sign_in(database.uow_factory, settings.username)
        service = ReportService(database.uow_factory, user.id, database.clock, zone)
        if args.report_kind == "review":
            from deskapp.reports.review_pdf import review_pdf

            data = review_pdf(service.review_report(number))
            what = f"the post-incident review of {number}"
        else:
            from deskapp.reports.period_pdf import period_pdf

            groups, categories, services = service.find_ids(
                groups=args.group, categories=args.category, services=args.service)
            data = period_pdf(service.period_report(PeriodFilters(
                first, last, groups, categories, services, priorities)))
            what = f"the report for {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    finally:
        database.close()
    save_atomically(output, data)
    print(f"Wrote {what} to {output} ({len(data) / 1024:,.0f} KiB).")
    return EXIT_OK


def _intake_email(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.intake.email_command import configure_logging, imap_settings, run_email_intake
    from deskapp.persistence.database import open_database
    from deskapp.services.intake.email_intake import ensure_intake_user
    from deskapp.services.setup import sign_in

    mailbox = imap_settings(args)  # checked before the database is opened
    database = open_database(settings.database_url)
    try:
        actor = (sign_in(database.uow_factory, settings.username) if settings.username
                 else ensure_intake_user(database.uow_factory))
        configure_logging()
        return run_email_intake(database.uow_factory, actor.id, args, mailbox,
                                clock=database.clock)
    finally:
        database.close()


_INTAKE_CHANNELS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "email": _intake_email,
}


def _intake(settings: Settings, args: argparse.Namespace) -> int:
    handler = getattr(args, "intake_handler", None)
    if handler is not None:
        return int(handler(settings, args))
    return _INTAKE_CHANNELS[args.channel](settings, args)


def _soak(_settings: Settings, args: argparse.Namespace) -> int:
    import tempfile

    from deskapp.soak.run import default_url, soak

    with tempfile.TemporaryDirectory(prefix="deskapp-soak-db-") as folder:
        url = args.soak_url or default_url(Path(folder))
        report = soak(url, agents=args.agents, seconds=args.seconds, seed=args.seed,
                      progress=lambda text: print(text, file=sys.stderr, flush=True))
    for line in report.lines():
        print(line)
    return EXIT_OK if report.ok else EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run; errors become one readable line and a non-zero exit."""
    args = _parser(argv).parse_args(argv)
    if args.smoke_test:
        from deskapp.smoke import run_smoke_test

        return run_smoke_test()
    handlers: dict[str | None, Callable[[Settings, argparse.Namespace], int]] = {
        None: _run_gui, "run": _run_gui, "demo": _demo,
        "db": {"upgrade": _db_upgrade, "backup": _db_backup, "restore": _db_restore}.get(
            str(getattr(args, "db_command", "")), _db_current),
        "import": _import_csv if getattr(args, "source", None) == "csv" else _import_servicenow,
        "export": _export, "report": _report, "soak": _soak,
        "intake": _intake,
    }
    handler = security_cli.handler_for(args) or handlers[args.command]
    try:
        settings = Settings.load(args.database_url, args.user)
        return handler(settings, args)
    except DeskappError as exc:
        print(f"deskapp: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("deskapp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
