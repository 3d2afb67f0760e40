"""Realistic demo data, fast: people, teams, a catalogue, and months of incident history.

Every incident is driven through the domain (``Incident.open``, ``assign``, ``transition``,
``reopen``, notes, comments, calls) with historical timestamps, so priorities, SLA clocks,
reassignment and reopen counts obey the same rules as in real use. Histories are cut off at
``now``: whatever would happen later has not happened yet, which leaves the recent incidents
(and a few long-running ones) open. Incidents are generated and written in batches, each in
its own transaction, through the bulk writer, so memory stays flat at any count.

Reference data (agents, teams, categories, services, callers) comes from a fixed seed and is
matched by natural key (user name, group name, category path, service name, the demo email
domain for callers): running the demo again on the same database reuses it and only adds
incidents. The ``seed`` shapes the incidents alone.

The shapes of the history (calls by hour and weekday, how often incidents are reassigned and
reopened, how long they take) follow roughly those of a real ServiceNow event log: Amaral,
Fantinato, Peres, "Incident management process enriched event log", UCI Machine Learning
Repository, DOI 10.24432/C57S4H, CC BY 4.0.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import math
import random
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deskapp.domain.credentials import Credential
from deskapp.domain.enums import Channel, HoldReason, ResolutionCode, Role, State
from deskapp.domain.errors import ValidationError
from deskapp.domain.incident import Incident, format_number
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import PriorityMatrix
from deskapp.services import demo_data as data
from deskapp.services.accounts import default_hasher
from deskapp.services.ports import UnitOfWork, UnitOfWorkFactory

BATCH_SIZE = 5_000
"""Incidents per transaction: big enough to amortise a commit, small enough to keep memory
flat and to let other writers in between."""
HISTORY_DAYS = 182
"""How far back the history goes."""
AUTO_CLOSE = timedelta(days=3)
"""Resolved incidents nobody confirms are closed by the system after this long."""
PEOPLE_SEED = 20_260_101
"""Reference data is the same whatever the seed, so that a second run finds it again."""

MONITORING_EMAIL = f"monitoring@{data.DOMAIN}"

# Calls by hour of the day (UTC) and by weekday, Monday first.
_HOUR_WEIGHTS = (3, 2, 2, 1, 1, 2, 4, 7, 30, 36, 35, 30, 16, 20, 27, 26, 22, 13, 6, 4, 3, 4, 3, 2)
_WEEKDAY_WEIGHTS = (100, 85, 83, 75, 65, 11, 9)

_CHANNELS = (Channel.PHONE, Channel.EMAIL, Channel.WEB_PORTAL, Channel.CHAT, Channel.WALK_IN)
_CHANNEL_CUM = tuple(itertools.accumulate((45, 20, 22, 8, 5)))
_LIVE_CHANNELS = frozenset({Channel.PHONE, Channel.CHAT, Channel.WALK_IN})

# How many times an incident changes hands after its first assignment (the real log: about
# half never, a quarter once, then a long tail).
_REASSIGN_CUM = tuple(itertools.accumulate((58, 24, 9, 5, 2, 1, 1)))

MAJOR_SHARE = 1 / 700
"""Share of arrivals that are a major incident (an outage), each bringing in child calls..."""
MAX_MAJORS = 40
"""...but no more than about this many per run: outages come every few days, not hourly,
however big the company; a bigger one gets more calls per outage instead."""
CANCEL_SHARE = 0.025
REOPEN_SHARE = 0.035
HOLD_SHARE = 0.45
RECLASSIFY_SHARE = 0.05
CALLBACK_SHARE = 0.12
CONFIRMED_CLOSE_SHARE = 0.35

# Work time as a share of the priority's resolution target: log-normal, with the long tail
# a real desk has (a few incidents take months), narrower for the urgent priorities that
# everyone watches. Together with the holds this leaves about 5% of the incidents open.
_WORK_MEDIAN = 0.7
_WORK_SIGMA = {1: 1.0, 2: 1.5}
_WORK_SIGMA_DEFAULT = 1.8
_WORK_CAP = timedelta(days=120)

# How long holds last, log-normal: (median hours, sigma).
_HOLD_HOURS: dict[HoldReason, tuple[float, float]] = {
    HoldReason.AWAITING_CALLER: (72.0, 1.0),
    HoldReason.AWAITING_VENDOR: (300.0, 0.8),
    HoldReason.AWAITING_CHANGE: (360.0, 0.6),
}


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run created, and how long it took."""

    incidents: int
    activity: int
    """Activity entries written for the new incidents."""
    callers: int
    """Demo callers in the database (created by this run or an earlier one)."""
    agents: int
    """Demo agents, leads and managers in the database."""
    groups: int
    """Demo assignment groups in the database."""
    seconds: float


def generate_demo(
    uow_factory: UnitOfWorkFactory,
    *,
    incidents: int,
    seed: int = 20260301,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill the database with demo data: reference data once, then ``incidents`` incidents.

    Args:
        uow_factory: Opens the units of work; each batch of incidents is one transaction.
        incidents: How many incidents to add (0 creates the reference data only).
        seed: Decides the incidents; the same seed, count, ``now`` and starting database give
            the same incidents.
        now: The end of the history (timezone-aware); the current time by default.
        progress: Called with (incidents written, incidents wanted) after every batch.

    Returns:
        The counts of what was created and the time it took.

    Raises:
        ValidationError: If ``incidents`` is negative or ``now`` is naive.
    """
    if incidents < 0:
        raise ValidationError("The number of demo incidents cannot be negative.",
                              field="incidents")
    if now is not None and now.tzinfo is None:
        raise ValidationError("The demo's 'now' must carry a time zone.", field="now")
    started = time.perf_counter()
    end = (now or datetime.now(UTC)).astimezone(UTC)
    reference, matrix = _ensure_reference(uow_factory, incidents)
    teller = _Storyteller(random.Random(seed), reference, matrix, end, incidents)
    activity = 0
    done = 0
    while done < incidents:
        size = min(BATCH_SIZE, incidents - done)
        with uow_factory(write=True) as uow:
            # Numbers first: their counter's lock then orders the ids too, so that ids
            # follow numbers even with other desks writing (search pages by id).
            first_number = uow.bulk.reserve_numbers(size)
            ids = uow.bulk.reserve_ids(size)
            batch = [teller.next(ids[k], format_number(first_number + k)) for k in range(size)]
            activity += uow.bulk.add_incidents(batch)
            uow.commit()
        done += size
        del batch
        if progress is not None:
            progress(done, incidents)
    with uow_factory(write=True) as uow:
        uow.bulk.refresh_statistics()
        uow.commit()
    return DemoSummary(
        incidents=incidents, activity=activity, callers=len(reference.callers) + 1,
        agents=reference.agent_count, groups=len(reference.teams),
        seconds=time.perf_counter() - started,
    )


# --- reference data -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Team:
    id: int
    name: str
    lead_id: int
    members: tuple[int, ...]
    """Everyone who takes incidents, the lead included."""


@dataclass(frozen=True)
class _Reference:
    callers: tuple[Caller, ...]
    """The people who call, the monitoring system excluded."""
    greetings: tuple[str, ...]
    """How each caller is greeted in a comment, parallel to ``callers``."""
    callers_by_site: dict[str, tuple[int, ...]]
    """Indexes into ``callers`` by location."""
    monitoring: Caller
    teams: dict[str, _Team]
    agent_count: int
    categories: dict[tuple[str | None, str], int]
    services: dict[str, int]


@dataclass(frozen=True)
class _Person:
    name: str
    slug: str
    """first.last in ASCII, for user names and email addresses."""
    site: data.Site


_ASCII_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE",
                             "ß": "ss", "\u0131": "i", "đ": "d", "'": ""})


def ascii_name(text: str) -> str:
    """A name as lower-case ASCII for an email address: ``Łukasz`` -> ``lukasz``."""
    if text in data.ROMANISED:
        return data.ROMANISED[text]
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


def _greeting(name: str) -> str:
    # Western names are greeted by the first name; Chinese names, written without a space,
    # by the whole name.
    return name.split(" ", 1)[0] if " " in name else name


def _pick_site(rng: random.Random) -> data.Site:
    return rng.choices(data.SITES, weights=[s.weight for s in data.SITES])[0]


def _person(rng: random.Random, site: data.Site) -> _Person:
    cultures = [c for c, _ in site.cultures]
    culture = rng.choices(cultures, weights=[w for _, w in site.cultures])[0]
    pool = data.NAMES[culture]
    first, family = rng.choice(pool.first), rng.choice(pool.family)
    name = f"{family}{first}" if pool.family_first else f"{first} {family}"
    return _Person(name, f"{ascii_name(first)}.{ascii_name(family)}", site)


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}{n}"
    taken.add(candidate)
    return candidate


@dataclass(frozen=True)
class _PlannedUser:
    username: str
    full_name: str
    role: Role
    team: str | None
    lead: bool = False


def _planned_staff() -> list[_PlannedUser]:
    """The IT department: a lead and members per team, and a few managers."""
    rng = random.Random(PEOPLE_SEED)
    taken: set[str] = set()
    staff = []
    for team in data.TEAMS:
        for k in range(team.size + 1):
            person = _person(rng, _pick_site(rng))
            lead = k == 0
            staff.append(_PlannedUser(_unique(person.slug, taken), person.name,
                                      Role.LEAD if lead else Role.AGENT, team.name, lead))
    for _title in data.MANAGERS:
        person = _person(rng, _pick_site(rng))
        staff.append(_PlannedUser(_unique(person.slug, taken), person.name, Role.MANAGER,
                                  None))
    return staff


def caller_count_for(incidents: int) -> int:
    """How many callers a first run creates: enough that few call every day."""
    return min(20_000, max(300, incidents // 20))


def _planned_callers(count: int) -> list[Caller]:
    rng = random.Random(PEOPLE_SEED + 1)
    taken: set[str] = set()
    departments = [d for d, _ in data.DEPARTMENTS]
    department_weights = [w for _, w in data.DEPARTMENTS]
    callers = []
    for _ in range(count):
        site = _pick_site(rng)
        person = _person(rng, site)
        if rng.random() < 0.022:
            department, vip = data.EXECUTIVE_OFFICE, True
        else:
            department = rng.choices(departments, weights=department_weights)[0]
            vip = rng.random() < 0.009
        digits = rng.randrange(10 ** site.phone_digits)
        phone = site.phone.format(f"{digits:0{site.phone_digits}d}")
        if rng.random() < 0.05:
            phone = ""
        email = f"{_unique(person.slug, taken)}@{data.DOMAIN}"
        callers.append(Caller(0, person.name, email, phone, department, site.name, vip))
    return callers


def _ensure_reference(uow_factory: UnitOfWorkFactory,
                      incidents: int) -> tuple[_Reference, PriorityMatrix]:
    """Create whatever demo reference data is missing; return all of it and the matrix."""
    with uow_factory(write=True) as uow:
        users = _ensure_staff(uow)
        teams = _ensure_teams(uow, users)
        categories = _ensure_categories(uow)
        services = uow.bulk.services()
        for name in data.SERVICES:
            if name not in services:
                services[name] = uow.catalog.add_service(name)
        items = {c.name for c in uow.catalog.list_configuration_items()}
        for name, ci_class, service in data.CONFIGURATION_ITEMS:
            if name not in items:
                uow.catalog.add_configuration_item(name, ci_class, services[service])
        callers = uow.bulk.callers_by_email_domain(data.DOMAIN)
        if not callers:
            planned = _planned_callers(caller_count_for(incidents))
            planned.append(Caller(0, "IT Monitoring", MONITORING_EMAIL, "", "IT",
                                  data.SITES[0].name))
            callers = uow.bulk.add_callers(planned)
        matrix = uow.matrix.current()
        uow.commit()
    monitoring = next((c for c in callers if c.email == MONITORING_EMAIL), None)
    people = tuple(c for c in callers if c.email != MONITORING_EMAIL)
    if monitoring is None or not people:
        raise ValidationError(
            f"The database holds callers at {data.DOMAIN} that the demo did not create; "
            "it cannot add demo data to it.")
    by_site: dict[str, list[int]] = {}
    for index, caller in enumerate(people):
        by_site.setdefault(caller.location, []).append(index)
    reference = _Reference(
        callers=people, greetings=tuple(_greeting(c.name) for c in people),
        callers_by_site={site: tuple(ix) for site, ix in by_site.items()},
        monitoring=monitoring, teams=teams, agent_count=len(users),
        categories=categories, services=services,
    )
    return reference, matrix


def _ensure_staff(uow: UnitOfWork) -> dict[str, tuple[_PlannedUser, User]]:
    existing = {u.username: u for u in uow.users.all()}
    users = {}
    for planned in _planned_staff():
        user = existing.get(planned.username)
        if user is None:
            user = uow.users.add(User(0, planned.username, planned.full_name,
                                      f"{planned.username}@{data.DOMAIN}", planned.role))
            # Known to everyone who reads the README: a demo desk is for trying things.
            uow.credentials.put(demo_credential(user.id))
        users[planned.username] = (planned, user)
    return users


DEMO_PASSWORD = "deskapp-demo"
"""Every demo person's password (README.md lists them)."""


def demo_credential(user_id: int) -> Credential:
    """The demo password (DEMO_PASSWORD), hashed once per run and shared by demo staff."""
    return Credential(user_id, _demo_hash(), 0, None, datetime.now(UTC))


@functools.cache
def _demo_hash() -> str:
    return default_hasher().hash(DEMO_PASSWORD)


def _ensure_teams(uow: UnitOfWork,
                  users: dict[str, tuple[_PlannedUser, User]]) -> dict[str, _Team]:
    existing = {g.name: g for g in uow.groups.all()}
    teams = {}
    for team in data.TEAMS:
        members = [u for p, u in users.values() if p.team == team.name]
        lead = next(u for p, u in users.values() if p.team == team.name and p.lead)
        group = existing.get(team.name)
        if group is None:
            group = uow.groups.add(Group(0, team.name, team.description, lead.id),
                                   [m.id for m in members])
            member_ids = tuple(m.id for m in members)
        else:
            member_ids = tuple(uow.groups.member_ids(group.id)) or (lead.id,)
        lead_id = group.lead_id if group.lead_id in member_ids else member_ids[0]
        assert lead_id is not None
        teams[team.name] = _Team(group.id, team.name, lead_id, member_ids)
    return teams


def _ensure_categories(uow: UnitOfWork) -> dict[tuple[str | None, str], int]:
    categories = uow.bulk.categories()
    for parent, children in data.CATEGORIES.items():
        parent_id = categories.get((None, parent))
        if parent_id is None:
            parent_id = categories[(None, parent)] = uow.catalog.add_category(parent)
        for child in children:
            if (parent, child) not in categories:
                categories[(parent, child)] = uow.catalog.add_category(child, parent_id)
    return categories


# --- when incidents arrive ----------------------------------------------------------------


class _Arrivals:
    """Arrival times spread over the history with the desk's daily and weekly rhythm.

    The i-th of n arrivals lands at the inverse of the cumulative call rate at (i + u) / n
    (u uniform): times come out in order, one at a time, with no list of n datetimes.
    """

    def __init__(self, now: datetime, count: int) -> None:
        start = (now - timedelta(days=HISTORY_DAYS)).replace(minute=0, second=0,
                                                              microsecond=0)
        self._start = start
        self._count = max(count, 1)
        hours = math.ceil((now - start).total_seconds() / 3600)
        self._last_hour = (now - (start + timedelta(hours=hours - 1))).total_seconds()
        weights = []
        for h in range(hours):
            moment = start + timedelta(hours=h)
            weights.append(float(_WEEKDAY_WEIGHTS[moment.weekday()] * _HOUR_WEIGHTS[moment.hour]))
        weights[-1] *= self._last_hour / 3600
        self._weights = weights
        self._cumulative = list(itertools.accumulate(weights))

    def at(self, index: int, jitter: float) -> datetime:
        """The time of arrival ``index`` (of ``count``); ``jitter`` in [0, 1)."""
        total = self._cumulative[-1]
        target = (index + jitter) / self._count * total
        hour = min(bisect_right(self._cumulative, target), len(self._cumulative) - 1)
        before = self._cumulative[hour - 1] if hour else 0.0
        share = min(max((target - before) / self._weights[hour], 0.0), 0.999999)
        length = self._last_hour if hour == len(self._weights) - 1 else 3600.0
        return self._start + timedelta(seconds=int(hour * 3600 + share * length))


# --- the incidents' stories ---------------------------------------------------------------


class _PastNowError(Exception):
    """The story has reached the present: what comes next has not happened yet."""


@dataclass(frozen=True)
class _Major:
    id: int
    number: str
    outage: data.Outage
    site: str
    resolved_at: datetime
    team: _Team


@dataclass
class _Case:
    """A regular incident while its story is told: who has it now, and who should."""

    incident: Incident
    problem: data.Problem
    fill: _Fill
    owner: _Team
    """The team that owns the problem."""
    team: _Team
    assignee: int
    monitored: bool
    """Raised by monitoring: nobody to comment to."""
    handovers: int = 0
    """Handovers still to come."""


class _Fill(dict[str, str]):
    """Template fill-ins, drawn when first asked for, then kept for the whole incident."""

    def __init__(self, rng: random.Random, known: dict[str, str]) -> None:
        super().__init__(known)
        self._rng = rng

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        self[key] = value
        return value

    def _draw(self, key: str) -> str:
        rng = self._rng
        options = data.FILL_INS.get(key)
        if options is not None:
            return rng.choice(options)
        if key == "minutes":
            return str(rng.choice((2, 5, 10, 15, 20, 30)))
        if key == "floor":
            return str(rng.randint(1, 9))
        if key == "printer":
            return f"PRN-{self['site_code']}-{self['floor']}{rng.choice('ABCD')}"
        if key == "asset":
            return f"LT{rng.randint(100_000, 999_999)}"
        if key == "case":
            return str(rng.randint(10_000_000, 99_999_999))
        if key == "change":
            return f"CHG{rng.randint(1_000, 99_999):07d}"
        if key in ("mb", "n"):
            return str(rng.randint(25, 180))
        if key == "quota":
            return str(rng.randint(88, 99))
        if key == "days":
            return str(rng.randint(5, 30))
        raise KeyError(key)


class _Storyteller:
    """Makes incidents one after another, in order of arrival, each with its history.

    Each story drives the aggregate step by step on its own clock (``self.t``); a step
    that would pass ``now`` ends the story there.
    """

    def __init__(self, rng: random.Random, reference: _Reference, matrix: PriorityMatrix,
                 now: datetime, count: int) -> None:
        self.rng = rng
        self.ref = reference
        self.matrix = matrix
        self.now = now
        self.t = now
        self.saves = 0
        """Versioned changes of the incident being told (notes and comments claim none)."""
        self._arrivals = _Arrivals(now, count)
        self._major_share = min(MAJOR_SHARE, MAX_MAJORS / max(count, 1))
        self._calls_per_outage = (3 * max(1, count // 100_000), 12 * max(1, count // 100_000))
        self._slot = 0
        self._children: list[tuple[datetime, int, _Major]] = []
        self._sequence = itertools.count()
        self._problem_cum = list(itertools.accumulate(p.weight for p in data.PROBLEMS))
        self._desk = reference.teams[data.SERVICE_DESK]
        self._resolvers = [t for t in reference.teams.values() if t.name != data.SERVICE_DESK]
        self._impacts = sorted(lvl.value for lvl in matrix.impact_levels)
        self._urgencies = sorted(lvl.value for lvl in matrix.urgency_levels)
        self._sites = {s.name: s for s in data.SITES}
        self._recent: list[str] = []

    def next(self, incident_id: int, number: str) -> Incident:
        """The next incident to arrive, with its history up to now."""
        arrival = self._arrivals.at(self._slot, self.rng.random())
        self._slot += 1
        self.saves = 0
        if self._children and self._children[0][0] <= arrival:
            # A call about an ongoing outage takes the place of the next ordinary call.
            opened_at, _, major = heapq.heappop(self._children)
            incident = self._child(incident_id, number, opened_at, major)
        elif self.rng.random() < self._major_share:
            incident = self._major(incident_id, number, arrival)
        else:
            incident = self._regular(incident_id, number, arrival)
        incident.version = 1 + self.saves
        self._recent.append(number)
        if len(self._recent) > 64:
            del self._recent[:32]
        return incident

    # --- steps --------------------------------------------------------------------------

    def _tick(self, seconds: float) -> datetime:
        """Move the clock on, at least a second so that every step has a time of its own."""
        self.t += timedelta(seconds=max(1, int(seconds)))
        if self.t > self.now:
            raise _PastNowError
        return self.t

    def _lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0.0, sigma))

    def _level(self, levels: list[int], weights: tuple[int, int, int], shift: int) -> int:
        """A level from the high, medium and low bands; ``shift`` moves it up a band."""
        rng = self.rng
        roll = rng.random() * sum(weights)
        band = 0 if roll < weights[0] else 1 if roll < weights[0] + weights[1] else 2
        band = max(0, band - shift)
        if band == 0:
            return levels[0]
        if band == 2:
            return levels[-1]
        middle = levels[1:-1] or levels
        return middle[0] if len(middle) == 1 else rng.choice(middle)

    def _caller(self, site: str | None = None) -> int:
        rng = self.rng
        if site is not None and site in self.ref.callers_by_site:
            return rng.choice(self.ref.callers_by_site[site])
        # A skewed draw: some people call the desk far more often than others.
        return int(len(self.ref.callers) * rng.random() ** 1.8)

    def _fill(self, caller_index: int, **known: str) -> _Fill:
        caller = self.ref.callers[caller_index]
        site = self._sites.get(caller.location, data.SITES[0])
        return _Fill(self.rng, {
            "first": self.ref.greetings[caller_index], "site": site.name,
            "site_code": site.code, "dept": caller.department,
            "phone": caller.phone or "the mobile", **known,
        })

    def _assign(self, incident: Incident, team: _Team, assignee: int, actor: int | None) -> None:
        if incident.assign(team.id, assignee, actor, self.t):
            self.saves += 1

    def _move(self, incident: Incident, target: State, actor: int | None, *,
              hold_reason: HoldReason | None = None,
              resolution_code: ResolutionCode | None = None,
              resolution_notes: str | None = None) -> None:
        incident.transition(target, actor, self.t, hold_reason=hold_reason,
                            resolution_code=resolution_code, resolution_notes=resolution_notes,
                            matrix=self.matrix)
        self.saves += 1

    def _call(self, incident: Incident, actor: int | None, body: str = "") -> None:
        # Saved at the end of the call, so the call started a few minutes before.
        seconds = int(self._lognormal(240, 0.6))
        incident.log_call(self.t - timedelta(seconds=seconds), seconds, body, actor)

    # --- regular incidents --------------------------------------------------------------

    def _regular(self, incident_id: int, number: str, opened_at: datetime) -> Incident:
        rng = self.rng
        self.t = opened_at
        problem = data.PROBLEMS[bisect_right(self._problem_cum,
                                             rng.random() * self._problem_cum[-1])]
        monitored = problem.monitoring and rng.random() < 0.7
        channel = (Channel.MONITORING if monitored
                   else _CHANNELS[bisect_right(_CHANNEL_CUM, rng.random() * _CHANNEL_CUM[-1])])
        index = self._caller()
        caller = self.ref.monitoring if monitored else self.ref.callers[index]
        service = rng.choice(problem.services)
        fill = self._fill(index, number=number, service=service)
        short = rng.choice(problem.shorts).format_map(fill)
        parts = [rng.choice(problem.details).format_map(fill)]
        if not monitored:
            parts.append(rng.choice(data.TRIED))
            if channel in _LIVE_CHANNELS:
                parts.append(rng.choice(data.CONTACT).format_map(fill))
        # VIPs tend to get a higher urgency.
        shift = 1 if caller.vip and rng.random() < 0.7 else 0
        desk = self._desk
        opener = None if monitored else rng.choice(desk.members)
        first_line = channel in _LIVE_CHANNELS and rng.random() < problem.first_line
        incident = Incident.open(
            caller_id=caller.id, channel=channel, short_description=short,
            description=" ".join(p for p in parts if p),
            impact=self._level(self._impacts, problem.impact, 0),
            urgency=self._level(self._urgencies, problem.urgency, shift),
            matrix=self.matrix, opened_at=opened_at, opened_by_id=opener,
            category_id=self.ref.categories[(None, problem.category)],
            subcategory_id=self.ref.categories[(problem.category, problem.subcategory)],
            service_id=self.ref.services[service],
            assignment_group_id=desk.id if first_line else None,
            assignee_id=opener if first_line else None,
        )
        incident.id, incident.number = incident_id, number
        if channel == Channel.PHONE:
            self._call(incident, opener)
        owner = self.ref.teams[problem.group]
        case = _Case(incident, problem, fill, owner, owner, opener or desk.lead_id, monitored)
        with contextlib.suppress(_PastNowError):
            if first_line:
                # Solved while the caller was still on the line.
                self._tick(rng.uniform(60, 600))
                self._resolve(case)
                self._close(case)
            else:
                self._route(case)
        return incident

    def _route(self, case: _Case) -> None:
        """Triage to a team, the first response, then the work."""
        rng = self.rng
        incident = case.incident
        priority = self.matrix.definition(incident.priority)
        response = priority.response_minutes * 60 * self._lognormal(0.4, 0.8)
        desk_agent = incident.opened_by_id or rng.choice(self._desk.members)
        self._tick(response * 0.4)
        if rng.random() < CANCEL_SHARE * 0.7:
            self._cancel(case, desk_agent)
            return
        handovers = case.handovers = bisect_right(_REASSIGN_CUM,
                                                  rng.random() * _REASSIGN_CUM[-1])
        if handovers and rng.random() < 0.5:
            # Misrouted at triage: the first handover brings it to the team that owns it.
            case.team = rng.choice([t for t in self._resolvers if t is not case.owner])
        case.assignee = rng.choice(case.team.members)
        self._assign(incident, case.team, case.assignee, desk_agent)
        self._tick(response * 0.6)
        self._move(incident, State.IN_PROGRESS, case.assignee)
        if rng.random() < 0.55:
            self._tick(rng.uniform(30, 900))
            self._tell_caller(case, rng.choice(data.GREETING_COMMENTS))
        if rng.random() < CANCEL_SHARE * 0.3:
            self._tick(rng.uniform(600, 86_400))
            self._cancel(case, case.assignee)
            return
        self._work(case, handovers, priority.resolution_minutes)

    def _work(self, case: _Case, handovers: int, target_minutes: int) -> None:
        """Notes, handovers and a hold spread over the work, then resolution and closure."""
        rng = self.rng
        incident = case.incident
        sigma = _WORK_SIGMA.get(incident.priority, _WORK_SIGMA_DEFAULT)
        work = min(target_minutes * 60 * self._lognormal(_WORK_MEDIAN, sigma),
                   _WORK_CAP.total_seconds())
        events: list[tuple[float, str]] = []
        notes = bisect_right((30, 65, 85, 95, 100), rng.random() * 100)
        events += [(rng.random(), "note") for _ in range(notes)]
        events += [(rng.random(), "handover") for _ in range(handovers)]
        if rng.random() < HOLD_SHARE:
            events.append((rng.random(), "hold"))
        if rng.random() < RECLASSIFY_SHARE:
            events.append((rng.random() * 0.3, "classify"))
        if rng.random() < CALLBACK_SHARE and not case.monitored:
            events.append((rng.random(), "callback"))
        events.sort()
        done = 0.0
        for position, kind in events:
            self._tick((position - done) * work)
            done = position
            if kind == "note":
                incident.add_work_note(self._note(case), case.assignee, self.t)
            elif kind == "handover":
                self._handover(case)
            elif kind == "classify":
                self._reclassify(case)
            elif kind == "callback":
                self._call(incident, rng.choice(self._desk.members),
                           rng.choice(data.CALLBACK_NOTES).format_map(case.fill))
            elif self._hold(case):
                self._close(case)
                return
        self._tick((1.0 - done) * work)
        self._resolve(case)
        reopens = 0
        while reopens < 2 and rng.random() < (REOPEN_SHARE if reopens == 0 else 0.1):
            # The caller (or the alert) comes back before the resolution is closed.
            self._tick(min(self._lognormal(8 * 3600, 1.0), 2.5 * 86_400))
            reasons = data.ALERT_AGAIN if case.monitored else data.REOPEN_REASONS
            incident.reopen(case.assignee, self.t, rng.choice(reasons).format_map(case.fill),
                            self.matrix)
            self.saves += 1
            reopens += 1
            if rng.random() < 0.6:
                self._tick(rng.uniform(600, 4 * 3600))
                incident.add_work_note(self._note(case), case.assignee, self.t)
            self._tick(work * rng.uniform(0.1, 0.5))
            self._resolve(case)
        self._close(case)

    def _tell_caller(self, case: _Case, template: str) -> None:
        """A comment to the caller; for a monitoring alert, a note to the team instead."""
        if case.monitored:
            return
        case.incident.add_comment(template.format_map(case.fill), case.assignee, self.t)

    def _note(self, case: _Case) -> str:
        notes = case.problem.notes if self.rng.random() < 0.65 else data.GENERIC_NOTES
        if case.monitored:
            notes = case.problem.notes
        return self.rng.choice(notes).format_map(case.fill)

    def _handover(self, case: _Case) -> None:
        """Pass the incident to the team that owns it, to a colleague, or to another team
        (only when a later handover can bring it back: the owner resolves it in the end)."""
        rng = self.rng
        case.handovers -= 1
        if case.team is not case.owner:
            team, notes = case.owner, data.ROUTE_BACK_NOTES
        elif case.handovers == 0 or rng.random() < 0.5:
            team, notes = case.team, data.TRANSFER_NOTES
        else:
            team = rng.choice([t for t in self._resolvers if t is not case.team])
            notes = data.ESCALATION_NOTES
        case.fill["team"] = team.name
        case.incident.add_work_note(rng.choice(notes).format_map(case.fill), case.assignee,
                                    self.t)
        assignee = rng.choice([m for m in team.members if m != case.assignee] or team.members)
        self._tick(rng.uniform(5, 120))
        self._assign(case.incident, team, assignee, case.assignee)
        case.team, case.assignee = team, assignee

    def _reclassify(self, case: _Case) -> None:
        incident = case.incident
        levels = self._urgencies
        position = levels.index(incident.urgency)
        up = position == len(levels) - 1 or (position > 0 and self.rng.random() < 0.5)
        urgency = levels[position - 1 if up else position + 1]
        incident.add_work_note(
            f"Urgency reassessed: {self.matrix.urgency_name(urgency).lower()}.",
            case.assignee, self.t)
        self._tick(self.rng.uniform(5, 60))
        incident.classify(incident.impact, urgency, self.matrix, case.assignee, self.t)
        self.saves += 1

    def _hold(self, case: _Case) -> bool:
        """Wait for the caller, a vendor or a change; True if resolved while waiting."""
        rng = self.rng
        incident, assignee = case.incident, case.assignee
        holds = [h for h in case.problem.holds
                 if not (case.monitored and h == HoldReason.AWAITING_CALLER)]
        reason = rng.choice(holds or [HoldReason.AWAITING_VENDOR])
        self._move(incident, State.ON_HOLD, assignee, hold_reason=reason)
        self._tick(rng.uniform(10, 300))
        text = rng.choice(data.HOLD_COMMENTS[reason])
        if reason == HoldReason.AWAITING_CALLER:
            self._tell_caller(case, text)
        else:
            incident.add_work_note(text.format_map(case.fill), assignee, self.t)
        median, sigma = _HOLD_HOURS[reason]
        self._tick(min(self._lognormal(median * 3600, sigma), 90 * 86_400))
        if reason == HoldReason.AWAITING_CALLER and rng.random() < 0.15:
            self._move(incident, State.RESOLVED, assignee,
                       resolution_code=ResolutionCode.CLOSED_BY_CALLER,
                       resolution_notes="No reply from the caller after three reminders; "
                                        "resolving. The caller may reopen it.")
            return True
        self._move(incident, State.IN_PROGRESS, assignee)
        incident.add_work_note(rng.choice(data.RESUME_NOTES[reason]).format_map(case.fill),
                               assignee, self.t)
        return False

    def _resolve(self, case: _Case) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.06:
            code = ResolutionCode.NOT_SOLVED_NOT_REPRODUCIBLE
            notes = rng.choice(data.NOT_REPRODUCIBLE_NOTES)
        elif roll < 0.09 and not case.monitored:
            code, notes = ResolutionCode.CLOSED_BY_CALLER, rng.choice(data.CALLER_CLOSED_NOTES)
        elif roll < 0.11 and self._recent:
            code = ResolutionCode.DUPLICATE
            notes = f"Duplicate of {rng.choice(self._recent)}."
        else:
            code, template = rng.choice(case.problem.fixes)
            notes = template.format_map(case.fill)
        self._move(case.incident, State.RESOLVED, case.assignee, resolution_code=code,
                   resolution_notes=notes)

    def _close(self, case: _Case) -> None:
        self._close_resolved(case.incident, case.fill, case.assignee, quiet=case.monitored)

    def _close_resolved(self, incident: Incident, fill: _Fill, actor: int | None, *,
                        quiet: bool = False) -> None:
        """The caller confirms the resolution, or the nightly job closes it days later."""
        rng = self.rng
        if not quiet and rng.random() < CONFIRMED_CLOSE_SHARE:
            self._tick(min(self._lognormal(5 * 3600, 1.0), 2.5 * 86_400))
            incident.add_comment(rng.choice(data.CLOSE_COMMENTS).format_map(fill), actor,
                                 self.t)
            self._tick(rng.uniform(5, 120))
            self._move(incident, State.CLOSED, actor)
            return
        self._tick(AUTO_CLOSE.total_seconds() + rng.uniform(0, 3600))
        self._move(incident, State.CLOSED, None)

    def _cancel(self, case: _Case, actor: int) -> None:
        case.incident.add_work_note(self.rng.choice(data.CANCEL_NOTES).format_map(case.fill),
                                    actor, self.t)
        self._tick(self.rng.uniform(5, 60))
        self._move(case.incident, State.CANCELLED, actor)

    # --- major incidents and their children ---------------------------------------------

    def _major(self, incident_id: int, number: str, opened_at: datetime) -> Incident:
        rng = self.rng
        self.t = opened_at
        outage = rng.choice(data.OUTAGES)
        monitored = rng.random() < 0.4
        index = self._caller()
        caller = self.ref.monitoring if monitored else self.ref.callers[index]
        fill = self._fill(index, time=f"{opened_at:%H:%M} UTC", number=number)
        fill["site"] = _pick_site(rng).name
        opener = None if monitored else rng.choice(self._desk.members)
        incident = Incident.open(
            caller_id=caller.id,
            channel=Channel.MONITORING if monitored else Channel.PHONE,
            short_description=outage.short.format_map(fill),
            description=outage.description.format_map(fill),
            impact=self._impacts[0], urgency=self._urgencies[0], matrix=self.matrix,
            opened_at=opened_at, opened_by_id=opener,
            category_id=self.ref.categories[(None, outage.category)],
            subcategory_id=self.ref.categories[(outage.category, outage.subcategory)],
            service_id=self.ref.services[outage.service],
        )
        incident.id, incident.number = incident_id, number
        if not monitored:
            self._call(incident, opener)
        team = self.ref.teams[outage.group]
        duration = min(max(self._lognormal(2.5 * 3600, 0.6), 40 * 60), 12 * 3600)
        resolve_at = opened_at + timedelta(seconds=int(duration))
        major = _Major(incident_id, number, outage, fill["site"], resolve_at, team)
        # The calls the outage will bring in while it lasts.
        for _ in range(rng.randint(*self._calls_per_outage)):
            at = opened_at + timedelta(seconds=int(rng.uniform(180, duration * 0.9)))
            heapq.heappush(self._children, (at, next(self._sequence), major))
        with contextlib.suppress(_PastNowError):
            self._major_history(incident, fill, major, opener)
        return incident

    def _major_history(self, incident: Incident, fill: _Fill, major: _Major,
                       opener: int | None) -> None:
        rng = self.rng
        lead = major.team.lead_id
        self._tick(rng.uniform(120, 480))
        self._assign(incident, major.team, lead, opener or rng.choice(self._desk.members))
        self._tick(rng.uniform(60, 300))
        incident.edit(lead, self.t, is_major=True)
        self.saves += 1
        self._tick(rng.uniform(30, 180))
        self._move(incident, State.IN_PROGRESS, lead)
        self._tick(rng.uniform(60, 300))
        incident.add_comment("We are aware of the outage and are working on it with top "
                             "priority. Next update in 30 minutes.", lead, self.t)
        updates = major.outage.updates
        step = (major.resolved_at - self.t).total_seconds() / (len(updates) + 1)
        for update in updates:
            self._tick(step)
            incident.add_work_note(update.format_map(fill), lead, self.t)
        self._tick((major.resolved_at - self.t).total_seconds())
        self._move(incident, State.RESOLVED, lead,
                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                   resolution_notes=major.outage.fix.format_map(fill))
        self._tick(rng.uniform(1, 2.5) * 86_400)
        incident.add_work_note("Post-incident review held; a problem record tracks the root "
                               "cause.", lead, self.t)
        self._tick(rng.uniform(60, 3600))
        self._move(incident, State.CLOSED, lead)

    def _child(self, incident_id: int, number: str, opened_at: datetime,
               major: _Major) -> Incident:
        rng = self.rng
        self.t = opened_at
        outage = major.outage
        # A site's network outage brings calls from that site.
        index = self._caller(major.site if outage.subcategory == "LAN" else None)
        caller = self.ref.callers[index]
        fill = self._fill(index, parent=major.number, number=number)
        if outage.subcategory == "LAN":
            fill["site"] = major.site
        channel = Channel.PHONE if rng.random() < 0.7 else rng.choice(
            (Channel.CHAT, Channel.EMAIL, Channel.WEB_PORTAL))
        agent = rng.choice(self._desk.members)
        incident = Incident.open(
            caller_id=caller.id, channel=channel,
            short_description=rng.choice(outage.child_shorts),
            description=outage.child_detail.format_map(fill),
            impact=self._impacts[-1], urgency=self._level(self._urgencies, (30, 60, 10), 0),
            matrix=self.matrix, opened_at=opened_at, opened_by_id=agent,
            category_id=self.ref.categories[(None, outage.category)],
            subcategory_id=self.ref.categories[(outage.category, outage.child_subcategory)],
            service_id=self.ref.services[outage.service],
            assignment_group_id=self._desk.id, assignee_id=agent, parent_id=major.id,
        )
        incident.id, incident.number = incident_id, number
        if channel == Channel.PHONE:
            self._call(incident, agent)
        with contextlib.suppress(_PastNowError):
            self._tick(rng.uniform(30, 300))
            incident.add_work_note(rng.choice(data.MAJOR_CHILD_NOTES).format_map(fill), agent,
                                   self.t)
            self._tick(rng.uniform(10, 120))
            self._move(incident, State.IN_PROGRESS, agent)
            self._tick((major.resolved_at - self.t).total_seconds() + rng.uniform(120, 1800))
            self._move(incident, State.RESOLVED, agent,
                       resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                       resolution_notes=data.MAJOR_CHILD_FIX.format_map(fill))
            self._close_resolved(incident, fill, agent)
        return incident
