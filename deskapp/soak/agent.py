"""One soak agent: a process working incidents as one user, journaling what it committed.

The journal is a file of JSON lines, one per committed change (written after the commit
returned) and one per ConflictError received. With ``fsync`` each line is forced to disk
before the next action, so a process killed at any moment leaves a journal naming only
changes that were committed (at most the last commit may be missing from it).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from deskapp.domain.enums import HoldReason, ResolutionCode, State
from deskapp.domain.errors import (
    ConflictError,
    DatabaseUnavailableError,
    DeskappError,
    PermissionDeniedError,
    TransitionError,
    ValidationError,
)
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft

START_TIMEOUT = 300.0
"""How long agents wait for each other to start (spawning is slow on a loaded machine)."""
CONFLICT_RETRIES = 2
"""After a ConflictError the agent reloads and tries again, at most this many times."""


@dataclass(frozen=True)
class AgentPlan:
    """What one agent process does (plain data: it crosses to a spawned process)."""

    url: str
    index: int
    user_id: int
    caller_id: int
    hot_ids: tuple[int, ...]
    """Incidents every agent works on, to make them collide."""
    groups: tuple[tuple[int, tuple[int, ...]], ...]
    journal: str
    seconds: float
    edits_matrix: bool = False
    fsync: bool = False
    seed: int = 0
    think_ms: float = 2.0
    """Pause between reading an incident and saving it: the window for collisions."""


@dataclass
class AgentTally:
    """What one agent did, written as the journal's last line."""

    index: int
    ops: int = 0
    conflicts: int = 0
    conflict_retries: int = 0
    refused: int = 0
    unavailable: int = 0
    lock_retries: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Journal:
    """Appends JSON lines; flushed (and with ``fsync`` forced to disk) after each."""

    def __init__(self, path: str, fsync: bool) -> None:
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        self._fsync = fsync

    def write(self, **entry: Any) -> None:
        self._file.write(json.dumps(entry, default=str) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def run_agent(plan: AgentPlan, start: Any = None) -> None:
    """The process's body: work until the time is up, journaling every commit.

    Args:
        plan: what to do.
        start: a multiprocessing barrier the agents (and the run) meet at once connected,
            so that they all work in the same window however slowly each process started.
    """
    from deskapp.persistence.database import open_database
    from deskapp.persistence.unit_of_work import LOCK_STATS

    database = open_database(plan.url, upgrade=False)
    if start is not None:
        start.wait(START_TIMEOUT)
    journal = Journal(plan.journal, plan.fsync)
    agent = _Agent(plan, IncidentService(database.uow_factory, plan.user_id),
                   MatrixAdminService(database.uow_factory, plan.user_id), journal)
    try:
        agent.work()
    finally:
        agent.tally.lock_retries = LOCK_STATS.retries
        journal.write(op="tally", **asdict(agent.tally))
        journal.close()
        database.close()


class _Agent:
    def __init__(self, plan: AgentPlan, incidents: IncidentService,
                 matrix: MatrixAdminService, journal: Journal) -> None:
        self.plan = plan
        self.incidents = incidents
        self.matrix = matrix
        self.journal = journal
        self.random = random.Random(plan.seed * 1000 + plan.index)
        self.own: list[int] = []
        self.tally = AgentTally(plan.index)
        self.serial = 0

    def token(self, what: str) -> str:
        self.serial += 1
        return f"a{self.plan.index}-{what}-{self.serial}"

    def work(self) -> None:
        deadline = time.monotonic() + self.plan.seconds
        while time.monotonic() < deadline:
            try:
                self.step()
            except DatabaseUnavailableError:
                # Counted and carried on: a soak run reports it (and fails if asked to).
                self.tally.unavailable += 1
                time.sleep(0.05)
            except DeskappError as exc:  # a refusal the agent did not foresee: a finding
                self.tally.errors.append(f"{type(exc).__name__}: {exc}")

    def step(self) -> None:
        roll = self.random.random()
        if roll < 0.12 or not (self.own or self.plan.hot_ids):
            self.log_call()
        elif roll < 0.15 and self.plan.edits_matrix:
            self.edit_matrix()
        elif roll < 0.30:
            self.note(self.pick())
        else:
            self.change(self.pick())

    def pick(self) -> int:
        if self.own and (not self.plan.hot_ids or self.random.random() < 0.5):
            return self.random.choice(self.own[-20:])
        return self.random.choice(self.plan.hot_ids)

    def _count(self, op: str) -> None:
        self.tally.ops += 1
        self.tally.by_op[op] = self.tally.by_op.get(op, 0) + 1

    def log_call(self) -> None:
        text = self.token("call")
        detail, _ = self.incidents.log_call(LogCallRequest(
            self.plan.caller_id, text, self.random.randint(1, 3), self.random.randint(1, 3)))
        self.own.append(detail.id)
        self._count("log_call")
        self.journal.write(op="log_call", incident=detail.id, number=detail.number,
                           to=detail.version, text=text, **_facts(detail))

    def note(self, incident_id: int) -> None:
        body = self.token("note")
        try:
            self.incidents.add_work_note(incident_id, body)
        except TransitionError:
            self.tally.refused += 1  # closed meanwhile
            return
        self._count("note")
        self.journal.write(op="note", incident=incident_id, body=body)

    def change(self, incident_id: int) -> None:
        """Read, think, save; on a conflict, reload and decide again (a bounded number of
        times), as an agent does when the form says someone else saved first."""
        for attempt in range(CONFLICT_RETRIES + 1):
            detail = self.incidents.get(incident_id)
            action = self.choose(detail)
            if action is None:
                return
            op, call, extra = action
            time.sleep(self.random.uniform(0, self.plan.think_ms) / 1000)
            try:
                after, _ = call()
            except ConflictError:
                self.tally.conflicts += 1
                self.journal.write(op="conflict", incident=incident_id, version=detail.version)
                if attempt < CONFLICT_RETRIES:
                    self.tally.conflict_retries += 1
                    continue
                return
            except (TransitionError, ValidationError, PermissionDeniedError):
                # Moved on meanwhile: closed, or reassigned out of this agent's reach (the
                # permission rules at work, tested on their own elsewhere).
                self.tally.refused += 1
                return
            if after.version == detail.version:
                return  # nothing changed (the same assignment)
            self._count(op)
            self.journal.write(op=op, incident=incident_id, version=detail.version,
                               to=after.version, **extra, **_facts(after))
            return

    def choose(self, d: IncidentDetail) -> tuple[str, Any, dict[str, Any]] | None:
        """An action that fits the incident as just read."""
        s, i, v = self.incidents, d.id, d.version
        options: list[tuple[str, Any, dict[str, Any]]] = []
        if d.state in (State.NEW, State.IN_PROGRESS, State.ON_HOLD, State.RESOLVED):
            text = self.token("desc")
            options.append(("describe", lambda: s.update(i, v, description=text),
                            {"text": text}))
        if d.state in (State.NEW, State.IN_PROGRESS, State.ON_HOLD):
            group_id, members = self.random.choice(self.plan.groups)
            assignee = self.random.choice([None, *members])
            options.append(("assign", lambda: s.assign(i, v, group_id, assignee), {}))
            options.append(("resolve", lambda: s.transition(
                i, v, State.RESOLVED, resolution_code=ResolutionCode.SOLVED_WORKAROUND,
                resolution_notes=self.token("fix")), {}))
        if d.state in (State.NEW, State.IN_PROGRESS):
            options.append(("hold", lambda: s.transition(
                i, v, State.ON_HOLD, hold_reason=HoldReason.AWAITING_CALLER), {}))
        if d.state in (State.NEW, State.ON_HOLD):
            options.append(("work", lambda: s.transition(i, v, State.IN_PROGRESS), {}))
        if d.state == State.RESOLVED:
            reason = self.token("reopen")
            options.append(("reopen", lambda: s.reopen(i, v, reason), {"text": reason}))
            options.append(("reopen", lambda: s.reopen(i, v, reason), {"text": reason}))
            if d.id in self.own:  # the shared incidents stay open for the others
                options.append(("close", lambda: s.transition(i, v, State.CLOSED), {}))
        return self.random.choice(options) if options else None

    def edit_matrix(self) -> None:
        data = self.matrix.load()
        draft = MatrixDraft.of(data.matrix)
        colour = f"#{self.random.randrange(0x1000000):06x}"
        lowest = draft.priorities[-1]
        priorities = (*draft.priorities[:-1], type(lowest)(
            lowest.rank, lowest.code, lowest.name, colour, lowest.response_minutes,
            lowest.resolution_minutes, lowest.business_hours))
        draft = MatrixDraft(draft.impact_levels, draft.urgency_levels, draft.cells,
                            priorities, draft.calendar, draft.based_on)
        time.sleep(self.random.uniform(0, self.plan.think_ms) / 1000)
        try:
            result = self.matrix.save(draft, recompute_open=False, comment=self.token("matrix"))
        except ConflictError:
            self.tally.conflicts += 1
            self.journal.write(op="matrix_conflict", based_on=draft.based_on)
            return
        self._count("matrix")
        self.journal.write(op="matrix", based_on=draft.based_on, version=result.version,
                           colour=colour)


def _facts(d: IncidentDetail) -> dict[str, Any]:
    return {"state": d.state.value, "group": d.assignment_group_id, "assignee": d.assignee_id,
            "description": d.description}


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's entries; a line cut short by a kill is left out."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries
