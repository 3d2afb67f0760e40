"""``deskapp intake alerts`` and ``deskapp intake alert-rules``: monitoring intake commands.

cli.py adds these to its ``intake`` group with ``add_alert_commands``; each subcommand sets
``intake_handler``, which cli.py calls with the settings and the parsed arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from deskapp.domain.enums import ResolutionCode
from deskapp.domain.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from deskapp.services.intake.alert_rules import Choice, RuleEditorData
    from deskapp.services.intake.alerts import AlertIntakeService
    from deskapp.settings import Settings

ENV_ALERTS_SECRET = "DESKAPP_ALERTS_SECRET"
"""The shared secret the listener requires (or --secret-file)."""
EXIT_OK = 0


def add_alert_commands(channels: argparse._SubParsersAction[Any]) -> None:
    """Add ``alerts`` and ``alert-rules`` to the ``intake`` subcommands."""
    from deskapp.intake.alert_listener import MAX_BODY

    alerts = channels.add_parser(
        "alerts", help="record Prometheus Alertmanager notifications as incidents",
        description="Record Alertmanager webhook notifications (JSON, version 4) as "
        "incidents: one incident per firing alert; repeats add notes; resolved alerts add a "
        "note and resolve the incident when the mapping says so.")
    source = alerts.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", metavar="FILE",
                        help="a notification saved as JSON, or - for standard input")
    source.add_argument("--listen", metavar="HOST:PORT",
                        help="serve Alertmanager's webhook here until stopped, such as "
                        "127.0.0.1:9095 (any other address than loopback needs a secret)")
    alerts.add_argument("--secret-file", type=Path, metavar="FILE",
                        help="the file holding the shared secret senders must present as "
                        f"'Authorization: Bearer <secret>' (default: ${ENV_ALERTS_SECRET})")
    alerts.add_argument("--max-body", type=int, default=MAX_BODY, metavar="BYTES",
                        help=f"the largest notification accepted (default {MAX_BODY:,})")
    alerts.set_defaults(intake_handler=run_alerts)

    rules = channels.add_parser(
        "alert-rules", help="show or change how alert labels map to incident fields")
    actions = rules.add_subparsers(dest="rules_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the rules, first match wins")
    add = actions.add_parser("add", help="add a rule")
    add.add_argument("--name", required=True, help="what the rule is for")
    add.add_argument("--match", action="append", default=[], metavar="MATCHER",
                     help='a label condition: label=value, label!=value, label=~regex or '
                     'label!~regex, such as severity=critical (repeatable; none matches '
                     'every alert)')
    add.add_argument("--impact", type=int, required=True, help="the impact level")
    add.add_argument("--urgency", type=int, required=True, help="the urgency level")
    add.add_argument("--service", metavar="NAME", help="the affected service")
    add.add_argument("--group", metavar="NAME", help="the assignment group")
    add.add_argument("--no-auto-resolve", action="store_true",
                     help="a resolved alert only adds a note; a person resolves the incident")
    add.add_argument("--resolution-code", default=ResolutionCode.SOLVED_REMOTELY.value,
                     choices=[c.value for c in ResolutionCode],
                     help="the code of automatic resolutions (default solved_remotely)")
    add.add_argument("--position", type=int, metavar="N", help="insert as rule N (default last)")
    remove = actions.add_parser("remove", help="remove a rule by its position")
    remove.add_argument("position", type=int, metavar="N", help="the rule's position in list")
    export = actions.add_parser("export", help="write the rules as JSON")
    export.add_argument("file", nargs="?", default="-", metavar="FILE",
                        help="where to write (default: standard output)")
    load = actions.add_parser("import", help="replace the rules by a JSON file from export")
    load.add_argument("file", metavar="FILE", help="the JSON file, or - for standard input")
    rules.set_defaults(intake_handler=run_alert_rules)


def _read(name: str, limit: int | None = None) -> bytes:
    try:
        if name == "-":
            data = sys.stdin.buffer.read(limit + 1 if limit else -1)
        else:
            with open(name, "rb") as handle:
                data = handle.read(limit + 1 if limit else -1)
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {name}: {exc.strerror or exc}.") from None
    if limit is not None and len(data) > limit:
        raise ValidationError(f"{'The input' if name == '-' else name} is larger than "
                              f"{limit:,} bytes; an Alertmanager notification is not.")
    return data


def _secret(args: argparse.Namespace) -> str | None:
    if args.secret_file is not None:
        try:
            secret: str = args.secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot read {args.secret_file}: {exc.strerror or exc}.") from None
        if not secret:
            raise ConfigurationError(f"{args.secret_file} is empty; it must hold the secret.")
        return secret
    from_env = os.environ.get(ENV_ALERTS_SECRET, "").strip()
    return from_env or None


def run_alerts(settings: Settings, args: argparse.Namespace) -> int:
    """Record one notification from a file, or serve the webhook until stopped."""
    from deskapp.intake.alert_listener import parse_address
    from deskapp.persistence.database import open_database
    from deskapp.services.intake.alerts import AlertIntakeService, parse_notification

    if args.max_body < 1:
        raise ConfigurationError("--max-body must be at least 1.")
    if args.listen is None:
        # Everything is checked before the database is opened.
        notification = parse_notification(_read(args.file, args.max_body))
        database = open_database(settings.database_url)
        try:
            result = AlertIntakeService(database.uow_factory, database.clock).receive(notification)
        finally:
            database.close()
        print(result.summary())
        return EXIT_OK
    address = parse_address(args.listen)
    secret = _secret(args)
    database = open_database(settings.database_url)
    try:
        return _serve(AlertIntakeService(database.uow_factory, database.clock), address, secret,
                      args.max_body)
    finally:
        database.close()


def _serve(service: AlertIntakeService, address: tuple[str, int], secret: str | None,
           max_body: int) -> int:
    from deskapp.intake.alert_listener import AlertListener, is_loopback
    from deskapp.services.intake.alerts import IntakeResult

    def report(result: IntakeResult) -> None:
        print(f"{datetime.now():%Y-%m-%d %H:%M:%S} {result.summary()}", flush=True)

    listener = AlertListener(address, service, secret, max_body=max_body, on_result=report)
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.2},
                              name="alert-listener", daemon=True)
    thread.start()
    try:
        if secret is None and is_loopback(address[0]):
            print("deskapp: warning: no shared secret: any program on this computer can "
                  f"record alerts (set {ENV_ALERTS_SECRET} or --secret-file).",
                  file=sys.stderr, flush=True)
        print(f"Listening on {listener.url} for Alertmanager notifications; "
              "Ctrl+C stops.", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(5)
        for number, handler in previous.items():
            signal.signal(number, handler)
    print(f"Stopped; {listener.stored:,} notifications recorded.", flush=True)
    return EXIT_OK


def _find(choices: Sequence[Choice], name: str | None, what: str) -> int | None:
    if name is None or not name.strip():
        return None
    wanted = name.strip().casefold()
    for choice in choices:
        if choice.name.casefold() == wanted:
            return choice.id
    raise ValidationError(f"There is no {what} named '{name.strip()}'.")


def describe_rules(data: RuleEditorData) -> list[str]:
    """The rules as lines for ``alert-rules list``."""
    from deskapp.services.intake.alert_rules import format_matchers

    services = {c.id: c.name for c in data.services}
    groups = {c.id: c.name for c in data.groups}
    lines = []
    for n, rule in enumerate(data.rules.rules, 1):
        priority = data.matrix.priority_for(rule.impact, rule.urgency).label \
            if (rule.impact, rule.urgency) in data.matrix.cells else "no priority"
        parts = [f"{n}. {rule.name}: {format_matchers(rule.matchers) or 'every alert'}",
                 f"impact {rule.impact}, urgency {rule.urgency} ({priority})"]
        if rule.service_id is not None:
            parts.append(f"service {services.get(rule.service_id, rule.service_id)}")
        if rule.group_id is not None:
            parts.append(f"group {groups.get(rule.group_id, rule.group_id)}")
        parts.append(f"auto-resolve ({rule.resolution_code.value})" if rule.auto_resolve
                     else "no auto-resolve")
        lines.append(" -> ".join(parts[:2]) + ("; " + "; ".join(parts[2:])))
    return lines


def run_alert_rules(settings: Settings, args: argparse.Namespace) -> int:
    """List, add, remove, export or import the alert mapping."""
    from deskapp.persistence.database import open_database
    from deskapp.services.intake.alert_rules import AlertRule, AlertRuleService, parse_matchers
    from deskapp.services.setup import sign_in

    action = args.rules_action
    matchers = parse_matchers(", ".join(args.match)) if action == "add" else ()
    text = _read(args.file).decode("utf-8", "replace") if action == "import" else ""
    database = open_database(settings.database_url)
    try:
        user = sign_in(database.uow_factory, settings.username)
        service = AlertRuleService(database.uow_factory, user.id)
        if action == "list":
            lines = describe_rules(service.load()) or ["No rules: every alert gets impact 3, "
                                                        "urgency 3 and no auto-resolve."]
            print("\n".join(lines))
        elif action == "add":
            data = service.load()
            rule = AlertRule(args.name, matchers, args.impact, args.urgency,
                             _find(data.services, args.service, "service"),
                             _find(data.groups, args.group, "assignment group"),
                             not args.no_auto_resolve, ResolutionCode(args.resolution_code))
            rules = service.add(rule, args.position)
            print(f"Added rule {args.position or len(rules.rules)}: {rule.name}.")
        elif action == "remove":
            removed = service.remove(args.position)
            print(f"Removed rule {args.position}: {removed.name}.")
        elif action == "export":
            output = service.export_json()
            if args.file == "-":
                sys.stdout.write(output)
            else:
                Path(args.file).write_text(output, encoding="utf-8")
                print(f"Wrote the alert mapping to {args.file}.")
        else:
            rules = service.import_json(text)
            print(f"Imported {len(rules.rules)} alert rules.")
    finally:
        database.close()
    return EXIT_OK
