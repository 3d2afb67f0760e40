"""The soak run: several agent processes on one database, then a check that nothing was lost.

``deskapp soak --agents 8 --seconds 60 --database URL`` sets up agents, groups and a few
shared incidents, starts one process per agent (each a desk of its own, with its own
connections), waits, and then checks the database against the agents' journals:

- every committed change is in the database and in the activity log, by its author;
- no change was overwritten without a ConflictError to its author: each version of each
  incident was committed by exactly one agent, the versions follow on without a gap, and
  the newest committed facts are the ones stored; each matrix version was built on the one
  before it;
- incident numbers are unique; the reassignment and reopen counters match the activity;
- the SLA fields agree with the state changes replayed from the activity log;
- on SQLite, ``PRAGMA integrity_check`` says ok.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from deskapp.domain import sla
from deskapp.domain.enums import Role, State
from deskapp.domain.people import Group, User
from deskapp.services.dto import ActivityView, IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService
from deskapp.soak.agent import START_TIMEOUT, AgentPlan, read_journal, run_agent

HOT_INCIDENTS = 6
STATE_OPS = frozenset({"hold", "work", "resolve", "reopen", "close"})


@dataclass
class Check:
    """One of the run's checks: what it looked at and the problems it found."""

    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class SoakReport:
    """The figures and checks of one run."""

    database: str
    agents: int
    seconds: float
    ops: int = 0
    conflicts: int = 0
    conflict_retries: int = 0
    lock_retries: int = 0
    refused: int = 0
    unavailable: int = 0
    by_op: Counter[str] = field(default_factory=Counter)
    checks: list[Check] = field(default_factory=list)
    incidents_checked: int = 0
    wall: float = 0.0
    """Seconds from starting the processes to the last one ending (start-up included)."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        """The report as printed."""
        ops = ", ".join(f"{name} {count:,}" for name, count in sorted(self.by_op.items()))
        out = [f"Soak run on {self.database}: {self.agents} agents for {self.seconds:.0f} s "
               f"({self.wall:.1f} s with starting the processes)",
               f"  {self.ops:,} committed operations, {self.ops_per_second:,.1f} per second "
               f"({ops})",
               f"  {self.conflicts:,} conflicts ({self.conflict_retries:,} retried after a "
               f"reload), {self.lock_retries:,} waits again for the write lock, "
               f"{self.refused:,} refusals (the incident moved on, or out of reach, meanwhile), "
               f"{self.unavailable:,} database unavailable",
               f"  {self.incidents_checked:,} incidents checked against the journals:"]
        for check in self.checks:
            mark = "ok" if check.ok else f"FAILED ({len(check.problems)})"
            out.append(f"    {check.name}: {mark}")
            out += [f"      - {problem}" for problem in check.problems[:5]]
        out.append("Soak run passed." if self.ok else "Soak run FAILED.")
        return out


@dataclass(frozen=True)
class SoakSetup:
    """Who the agents are and what they share."""

    users: tuple[User, ...]
    caller_id: int
    hot_ids: tuple[int, ...]
    groups: tuple[tuple[int, tuple[int, ...]], ...]


def soak(url: str, *, agents: int = 8, seconds: float = 60.0, journal_dir: Path | None = None,
         seed: int | None = None, progress: Callable[[str], None] | None = None) -> SoakReport:
    """Run ``agents`` processes on ``url`` for ``seconds``, then check; returns the report."""
    from deskapp.persistence.database import open_database

    say = progress or (lambda _text: None)
    seed = seed if seed is not None else int(time.time())
    database = open_database(url)
    try:
        setup = set_up(database.uow_factory, agents)
        display = database.display_name
    finally:
        database.close()
    with tempfile.TemporaryDirectory(prefix="deskapp-soak-") as scratch:
        folder = journal_dir or Path(scratch)
        plans = [AgentPlan(url, n, setup.users[n].id, setup.caller_id, setup.hot_ids,
                           setup.groups, str(folder / f"agent-{n}.jsonl"), seconds,
                           edits_matrix=n < 2, seed=seed)
                 for n in range(agents)]
        say(f"{agents} agents working for {seconds:.0f} s on {display}...")
        started = time.monotonic()
        exit_codes, _worked = run_processes(plans, timeout=seconds + 120)
        elapsed = time.monotonic() - started
        journals = [read_journal(Path(p.journal)) if Path(p.journal).exists() else []
                    for p in plans]
    say("Checking the database against the journals...")
    report = SoakReport(display, agents, float(seconds), wall=elapsed)
    processes = Check("every agent process ended normally")
    for n, code in enumerate(exit_codes):
        if code != 0:
            processes.problems.append(f"agent {n} exited with {code}")
    report.checks.append(processes)
    for entries in journals:
        tally = next((e for e in reversed(entries) if e.get("op") == "tally"), None)
        if tally is None:
            continue
        report.ops += tally["ops"]
        report.conflicts += tally["conflicts"]
        report.conflict_retries += tally["conflict_retries"]
        report.lock_retries += tally["lock_retries"]
        report.refused += tally["refused"]
        report.unavailable += tally["unavailable"]
        report.by_op.update(tally["by_op"])
        if tally["errors"]:
            processes.problems += [f"agent {tally['index']}: {e}" for e in tally["errors"]]
    if report.unavailable:
        processes.problems.append(f"{report.unavailable} operations found the database "
                                  "unavailable")
    database = open_database(url, upgrade=False)
    try:
        report.incidents_checked, checks = verify(
            database, setup, [e for entries in journals for e in entries], complete=True)
        report.checks += checks
    finally:
        database.close()
    return report


def run_processes(plans: Sequence[AgentPlan], timeout: float) -> tuple[list[int], float]:
    """Start one spawned process per plan, start them working together, wait for all.

    Returns their exit codes (-9: killed) and the seconds they worked from the common start.
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(plans) + 1)
    processes = [context.Process(target=run_agent, args=(plan, start),
                                 name=f"soak agent {plan.index}") for plan in plans]
    for process in processes:
        process.start()
    # An agent that died while starting breaks the barrier: its exit code says so.
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(START_TIMEOUT)
    started = time.monotonic()
    deadline = started + timeout
    for process in processes:
        process.join(max(deadline - time.monotonic(), 0.1))
        if process.is_alive():
            process.kill()
            process.join()
    return ([p.exitcode if p.exitcode is not None else -1 for p in processes],
            time.monotonic() - started)


def set_up(uow_factory: Any, agents: int) -> SoakSetup:
    """Agents (the first two team leads, who edit the matrix), two groups, a caller and the
    incidents every agent shares."""
    run = uuid.uuid4().hex[:6]
    with uow_factory(write=True) as uow:
        users = tuple(uow.users.add(User(
            0, f"soak-{run}-{n}", f"Soak Agent {run} {n}", f"soak-{run}-{n}@example.com",
            Role.LEAD if n < 2 else Role.AGENT)) for n in range(agents))
        ids = [u.id for u in users]
        halves = (ids[: max(1, len(ids) // 2 + 1)], ids[len(ids) // 2:])
        groups = tuple(
            (uow.groups.add(Group(0, f"Soak {run} {name}"), members).id, tuple(members))
            for name, members in zip(("Desk", "Network"), halves, strict=True))
        uow.commit()
    service = IncidentService(uow_factory, users[0].id)
    caller = service.add_caller(f"Soak Caller {run}")
    hot = tuple(service.log_call(LogCallRequest(caller.id, f"Shared soak incident {n}", 2, 2))
                [0].id for n in range(HOT_INCIDENTS))
    return SoakSetup(users, caller.id, hot, groups)


def verify(database: Any, setup: SoakSetup, entries: list[dict[str, Any]], *,
           complete: bool) -> tuple[int, list[Check]]:
    """Check the database against journal entries.

    Args:
        database: the open database.
        setup: who the agents were and which incidents they shared.
        entries: every agent's journal entries.
        complete: the journals name every commit (a normal run); False after processes were
            killed, when a commit may have happened just before a kill and never been
            journaled: then only what the journals name is required.
    """
    from deskapp.persistence import health

    names = {u.id: u.full_name for u in setup.users}
    reader = IncidentService(database.uow_factory, setup.users[0].id)
    matrix = MatrixAdminService(database.uow_factory, setup.users[0].id)
    current = matrix.load().matrix
    present = Check("every committed change is in the database and its activity log")
    overwrite = Check("no change overwritten without a ConflictError to its author")
    numbers = Check("incident numbers unique")
    counters = Check("reassignment and reopen counters match the activity")
    slas = Check("SLA fields agree with the state changes")
    integrity = Check("database integrity")
    by_incident: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        if "incident" in entry and entry["op"] != "conflict":
            by_incident[entry["incident"]].append(entry)
    ids = sorted(set(setup.hot_ids) | set(by_incident))
    for incident_id in ids:
        detail = reader.get(incident_id)
        activity = reader.activity(incident_id)
        mine = by_incident.get(incident_id, [])
        _check_present(detail, activity, mine, names, present)
        _check_versions(detail, mine, complete, overwrite)
        _check_counters(detail, activity, mine, complete, counters)
        _check_sla(detail, activity, current, slas)
    _check_matrix(matrix, [e for e in entries if e["op"] == "matrix"], complete, overwrite,
                  present)
    logged = [e["number"] for e in entries if e["op"] == "log_call"]
    if len(set(logged)) != len(logged):
        numbers.problems.append("two agents were given the same number")
    facts = health.check(database.engine)
    if facts.duplicate_numbers:
        numbers.problems.append(f"numbers used twice: {', '.join(facts.duplicate_numbers)}")
    if facts.counter < facts.incidents:
        numbers.problems.append(f"the counter ({facts.counter}) is behind the incidents "
                                f"({facts.incidents})")
    if not facts.intact:
        integrity.problems += list(facts.integrity)
    integrity.name += (": PRAGMA integrity_check ok" if facts.integrity else
                       " (PostgreSQL: checked by the server)")
    return len(ids), [present, overwrite, numbers, counters, slas, integrity]


def _check_present(detail: IncidentDetail, activity: list[ActivityView],
                   mine: list[dict[str, Any]], names: dict[int, str], check: Check) -> None:
    bodies = {(a.kind, a.body) for a in activity}
    fields = {(a.field, a.new_value) for a in activity}
    for entry in mine:
        op, where = entry["op"], f"{detail.number} {entry['op']}"
        if op == "log_call" and detail.number != entry["number"]:
            check.problems.append(f"{where}: stored as {detail.number}")
        if op == "note" and ("work_note", entry["body"]) not in bodies:
            check.problems.append(f"{where}: the note {entry['body']} is not in the activity")
        if op == "describe" and ("description", entry["text"]) not in fields:
            check.problems.append(f"{where}: {entry['text']} is not in the activity")
        if op == "reopen" and ("work_note", entry["text"]) not in bodies:
            check.problems.append(f"{where}: the reason {entry['text']} is not in the activity")
        if op in STATE_OPS and ("state", entry["state"]) not in fields:
            check.problems.append(f"{where}: no move to {entry['state']} in the activity")
    authors = {a.actor_name for a in activity}
    unknown = authors - set(names.values()) - {None}
    if unknown and mine:
        strangers = sorted(str(u) for u in unknown)
        check.problems.append(f"{detail.number}: activity by strangers {strangers}")


def _check_versions(detail: IncidentDetail, mine: list[dict[str, Any]], complete: bool,
                    check: Check) -> None:
    saves = [e for e in mine if "to" in e and e["op"] != "log_call"]
    versions = Counter(e["to"] for e in saves)
    twice = sorted(v for v, n in versions.items() if n > 1)
    if twice:
        check.problems.append(f"{detail.number}: versions {twice} were committed by two "
                              "authors (one overwrote the other)")
    for e in saves:
        if e["to"] != e["version"] + 1:
            check.problems.append(f"{detail.number}: a save from version {e['version']} "
                                  f"made version {e['to']}")
    if not saves:
        return
    newest = max(saves, key=lambda e: e["to"])
    if complete:
        expected = list(range(2, detail.version + 1))
        if sorted(versions) != expected:
            check.problems.append(f"{detail.number}: journaled versions "
                                  f"{_ranges(sorted(versions))} but the incident is at "
                                  f"{detail.version}")
        stored = {"state": detail.state.value, "group": detail.assignment_group_id,
                  "assignee": detail.assignee_id, "description": detail.description}
        written = {k: newest[k] for k in stored}
        if newest["to"] == detail.version and stored != written:
            check.problems.append(f"{detail.number}: stored {stored}, but the last commit "
                                  f"wrote {written}")
    elif newest["to"] > detail.version:
        check.problems.append(f"{detail.number}: version {newest['to']} was committed but "
                              f"the database holds version {detail.version}")


def _check_counters(detail: IncidentDetail, activity: list[ActivityView],
                    mine: list[dict[str, Any]], complete: bool, check: Check) -> None:
    moves = [(a.old_value, a.new_value) for a in activity if a.kind == "state_change"]
    reopens = moves.count(("resolved", "in_progress"))
    if detail.reopen_count != reopens:
        check.problems.append(f"{detail.number}: reopen_count {detail.reopen_count}, "
                              f"activity {reopens}")
    group = assignee = None
    reassignments = 0
    assignments = 0
    for _, batch in itertools.groupby((a for a in activity if a.kind == "assignment"),
                                      key=lambda a: (a.at, a.actor_name)):
        assignments += 1
        if group is not None or assignee is not None:
            reassignments += 1
        for a in batch:
            if a.field == "assignment_group_id":
                group = a.new_value
            else:
                assignee = a.new_value
    if detail.reassignment_count != reassignments:
        check.problems.append(f"{detail.number}: reassignment_count "
                              f"{detail.reassignment_count}, activity {reassignments}")
    if complete:
        journaled = Counter(e["op"] for e in mine)
        if journaled["reopen"] != reopens:
            check.problems.append(f"{detail.number}: {journaled['reopen']} reopenings "
                                  f"journaled, {reopens} in the activity")
        if sum(journaled[op] for op in STATE_OPS) != len(moves):
            check.problems.append(f"{detail.number}: journaled state changes "
                                  f"{sum(journaled[op] for op in STATE_OPS)}, activity "
                                  f"{len(moves)}")
        if journaled["assign"] != assignments:
            check.problems.append(f"{detail.number}: {journaled['assign']} assignments "
                                  f"journaled, {assignments} in the activity")


def _check_sla(detail: IncidentDetail, activity: list[ActivityView], matrix: Any,
               check: Check) -> None:
    """Replay the state changes: the clock stops on hold and when resolved, nowhere else."""
    paused = 0
    since: datetime | None = None
    state = State.NEW
    for a in activity:
        if a.kind != "state_change":
            continue
        new = State(a.new_value or "")
        if state == State.ON_HOLD or (state == State.RESOLVED and new == State.IN_PROGRESS):
            assert since is not None
            paused += max(int((a.at - since).total_seconds()), 0)
            since = None
        if new in (State.ON_HOLD, State.RESOLVED) and since is None:
            since = a.at
        if new == State.CANCELLED:
            since = None
        state = new
    where = detail.number
    if (detail.sla_paused_seconds, detail.sla_paused_since) != (paused, since):
        check.problems.append(f"{where}: paused {detail.sla_paused_seconds} s since "
                              f"{detail.sla_paused_since}; the activity says {paused} s since "
                              f"{since}")
    if (detail.sla_paused_since is not None) != (
            detail.state in (State.ON_HOLD, State.RESOLVED, State.CLOSED)):
        check.problems.append(f"{where}: {detail.state} with the clock paused since "
                              f"{detail.sla_paused_since}")
    due = sla.resolution_due(detail.opened_at, matrix.definition(detail.priority),
                             timedelta(seconds=detail.sla_paused_seconds))
    if detail.resolution_due_at != due:
        check.problems.append(f"{where}: resolution due {detail.resolution_due_at}, "
                              f"expected {due}")
    if detail.first_response_at is not None and detail.first_response_at < detail.opened_at:
        check.problems.append(f"{where}: first response before it was opened")


def _check_matrix(matrix: MatrixAdminService, saves: list[dict[str, Any]], complete: bool,
                  overwrite: Check, present: Check) -> None:
    saves = sorted(saves, key=lambda e: e["version"])
    bases = Counter(e["based_on"] for e in saves)
    for base, count in bases.items():
        if count > 1:
            overwrite.problems.append(f"{count} matrix saves were all built on version {base}: "
                                      "all but one overwrote another without a conflict")
    for before, after in itertools.pairwise(saves):
        if complete and after["based_on"] != before["version"]:
            overwrite.problems.append(f"matrix version {after['version']} was built on "
                                      f"{after['based_on']}, not on {before['version']}")
    for entry in saves:
        stored = matrix.version(entry["version"]).priorities[-1].colour
        if stored != entry["colour"]:
            present.problems.append(f"matrix version {entry['version']} holds colour {stored},"
                                    f" its author saved {entry['colour']}")


def _ranges(values: list[int]) -> str:
    if len(values) > 12:
        return f"{values[:6]}...{values[-6:]} ({len(values)})"
    return str(values)


def default_url(folder: Path) -> str:
    """A fresh SQLite file for a soak run given no database."""
    return f"sqlite:///{folder / f'soak-{os.getpid()}.db'}"
