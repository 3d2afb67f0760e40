"""The ``deskapp`` command: the GUI by default, and subcommands for the database and demo data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from deskapp import __version__
from deskapp.domain.errors import DeskappError
from deskapp.settings import ENV_DATABASE_URL, ENV_USER, Settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskapp",
        description="Deskapp: a service desk for IT incident management. "
        "Without a command it opens the main window.",
    )
    parser.add_argument("--version", action="version", version=f"deskapp {__version__}")
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

    demo = commands.add_parser("demo", help="fill the database with realistic demo data")
    demo.add_argument("--incidents", type=_positive, default=2000, metavar="N",
                      help="how many incidents to create (default 2000)")
    demo.add_argument("--seed", type=int, default=20260301, help="random seed (default fixed)")
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

    database = open_database(settings.database_url, upgrade=False)
    try:
        current = migrate.current_revision(database.engine)
    finally:
        database.close()
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind (current schema is {head})"
    print(f"{database.display_name}: revision {current or 'none (empty)'}, {state}.")
    return EXIT_OK


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.demo import generate_demo

    database = open_database(settings.database_url)
    try:
        def progress(done: int, total: int) -> None:
            print(f"\r{done:,} of {total:,} incidents", end="", file=sys.stderr, flush=True)

        summary = generate_demo(database.uow_factory, incidents=args.incidents, seed=args.seed,
                                progress=progress if sys.stderr.isatty() else None)
    finally:
        database.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Created {summary.incidents:,} incidents with {summary.activity:,} activity entries "
          f"in {summary.seconds:.1f} s in {database.display_name}.")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run; errors become one readable line and a non-zero exit."""
    args = _parser().parse_args(argv)
    handlers: dict[str | None, Callable[[Settings, argparse.Namespace], int]] = {
        None: _run_gui, "run": _run_gui, "demo": _demo,
        "db": _db_upgrade if getattr(args, "db_command", None) == "upgrade" else _db_current,
    }
    handler = handlers[args.command]
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
