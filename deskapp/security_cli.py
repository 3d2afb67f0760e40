"""The ``deskapp audit`` and ``deskapp admin`` commands (parsers and handlers).

cli.py registers them with ``add_commands`` and dispatches with ``handler_for``; they live
here so that the security work stays in modules of its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from deskapp.settings import Settings

Handler = Callable[[Settings, argparse.Namespace], int]


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``audit`` and ``admin`` to the ``deskapp`` command."""
    audit = commands.add_parser("audit", help="check the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION",
                                          required=True)
    audit_commands.add_parser(
        "verify", help="check every link of the hash chain (exit 1 at the first broken row)")


def handler_for(args: argparse.Namespace) -> Handler | None:
    """The handler of an ``audit`` or ``admin`` command line, or None for other commands."""
    if args.command == "audit":
        return _audit_verify
    return None


def _audit_verify(settings: Settings, _args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.audit import verify_chain

    database = open_database(settings.database_url, must_exist=True)
    try:
        result = verify_chain(database.uow_factory)
    finally:
        database.close()
    if result.broken is None:
        print(f"The audit trail holds: {result.rows:,} rows, every link verified.")
        return 0
    print(f"deskapp: error: the audit trail is broken at row {result.broken.entry_id}: "
          f"{result.broken.reason}", file=sys.stderr)
    return 1
