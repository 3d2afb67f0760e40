"""Queues: the built-in ones every agent has, the filters users save, and their counts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskapp.domain.enums import OPEN_STATES, State
from deskapp.domain.errors import ValidationError
from deskapp.domain.text import natural_sort_key
from deskapp.services.dto import StoredFilter
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as
from deskapp.services.queries import QueueFilter, SlaCondition, SortKey

NAME_LIMIT = 80
RECENTLY_RESOLVED_DAYS = 7


class QueueKind(StrEnum):
    """Where a queue comes from."""

    BUILT_IN = "built_in"
    SAVED = "saved"
    SEARCH = "search"


@dataclass(frozen=True)
class FilterConditions:
    """What a saved filter asks for, as the user set it up.

    Relative conditions ("assigned to me", "opened in the last 7 days") stay relative: they are
    resolved into a QueueFilter each time the queue is shown, so a saved filter never goes
    stale. Empty tuples and None mean "any".
    """

    states: tuple[State, ...] = ()
    priorities: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()
    in_my_groups: bool = False
    assignee_ids: tuple[int, ...] = ()
    assigned_to_me: bool = False
    unassigned: bool = False
    category_ids: tuple[int, ...] = ()
    service_ids: tuple[int, ...] = ()
    opened_within_days: int | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    """Inclusive: the whole day counts."""
    resolved_within_days: int | None = None
    sla: SlaCondition = SlaCondition.ANY
    major_only: bool = False
    escalated_only: bool = False
    """Only incidents escalated to another group or flagged to the lead."""
    text: str = ""

    def __post_init__(self) -> None:
        for name in ("opened_within_days", "resolved_within_days"):
            days = getattr(self, name)
            if days is not None and not 1 <= days <= 3660:
                raise ValidationError("A number of days runs from 1 to 3660.", field=name)
        if self.opened_from and self.opened_to and self.opened_from > self.opened_to:
            raise ValidationError("The 'opened from' date is after the 'opened to' date.",
                                  field="opened_from")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data, only the conditions that are set (so defaults can change)."""
        out: dict[str, Any] = {}
        defaults = FilterConditions()
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(defaults, f.name):
                continue
            if isinstance(value, tuple):
                value = [str(v) if isinstance(v, State) else v for v in value]
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, SlaCondition):
                value = value.value
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FilterConditions:
        """Read stored conditions; unknown keys (from a newer version) are ignored.

        Raises:
            ValidationError: the data does not describe a filter.
        """
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        try:
            for name, value in data.items():
                if name not in known:
                    continue
                if name == "states":
                    values[name] = tuple(State(v) for v in value)
                elif name in ("opened_from", "opened_to"):
                    values[name] = date.fromisoformat(value)
                elif name == "sla":
                    values[name] = SlaCondition(value)
                elif isinstance(value, list):
                    values[name] = tuple(int(v) for v in value)
                else:
                    values[name] = value
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"The saved filter cannot be read: {exc}") from exc

    def resolve(self, *, user_id: int, group_ids: Sequence[int], now: datetime,
                zone: tzinfo | None = None) -> QueueFilter:
        """The concrete filter for this user at this moment.

        Args:
            user_id: who "me" is.
            group_ids: the groups "my groups" are.
            now: the moment relative conditions count back from.
            zone: the time zone calendar days are in; None for this computer's own.
        """
        groups = tuple(group_ids) if self.in_my_groups else self.group_ids
        if self.in_my_groups and self.group_ids:
            groups = tuple(g for g in self.group_ids if g in set(group_ids))
        assignees = self.assignee_ids + ((user_id,) if self.assigned_to_me else ())
        opened_after = None
        if self.opened_within_days is not None:
            opened_after = now - timedelta(days=self.opened_within_days)
        if self.opened_from is not None:
            start = _start_of(self.opened_from, zone)
            opened_after = start if opened_after is None else max(opened_after, start)
        opened_before = None if self.opened_to is None else \
            _start_of(self.opened_to + timedelta(days=1), zone)
        resolved_after = None if self.resolved_within_days is None else \
            now - timedelta(days=self.resolved_within_days)
        return QueueFilter(
            states=self.states,
            group_ids=groups,
            assignee_ids=tuple(dict.fromkeys(assignees)),
            unassigned=self.unassigned,
            priorities=self.priorities,
            category_ids=self.category_ids,
            service_ids=self.service_ids,
            sla=self.sla,
            major_only=self.major_only,
            escalated_only=self.escalated_only,
            opened_after=opened_after,
            opened_before=opened_before,
            resolved_after=resolved_after,
            text=self.text,
            # "In my groups" for someone in none must show nothing, not everything.
            empty=self.in_my_groups and not groups,
        )


def _start_of(day: date, zone: tzinfo | None) -> datetime:
    if zone is None:
        # The computer's own rules for that very day (summer time included): a naive time's
        # astimezone() asks the operating system, a fixed offset from today would not.
        return datetime.combine(day, time(0)).astimezone()
    return datetime.combine(day, time(0), tzinfo=zone)


@dataclass(frozen=True)
class QueueView:
    """One entry of the sidebar: a queue the user can open."""

    key: str
    """Stable across sessions: "built_in:<name>", "saved:<id>" or "search"."""
    title: str
    description: str
    kind: QueueKind
    conditions: FilterConditions = field(default_factory=FilterConditions)
    saved_filter_id: int | None = None
    order: tuple[SortKey, bool] | None = None
    """The order the queue is best read in (sort key, descending), if it has one: the SLA
    queue most urgent first, a search newest first. None keeps the user's order."""


def _built_in(name: str, title: str, description: str, *,
              order: tuple[SortKey, bool] | None = None, **conditions: Any) -> QueueView:
    return QueueView(f"built_in:{name}", title, description, QueueKind.BUILT_IN,
                     FilterConditions(**conditions), order=order)


BUILT_IN_QUEUES: tuple[QueueView, ...] = (
    _built_in("my_open", "My open incidents", "Open incidents assigned to you",
              states=OPEN_STATES, assigned_to_me=True),
    _built_in("unassigned_mine", "Unassigned in my groups",
              "Open incidents of your assignment groups that nobody has taken yet",
              states=OPEN_STATES, in_my_groups=True, unassigned=True),
    _built_in("all_open", "All open", "Every incident that is not resolved or closed",
              states=OPEN_STATES),
    _built_in("sla_attention", "SLA breached or at risk",
              "Open incidents past their resolution time, or with under a quarter of it left",
              states=OPEN_STATES, sla=SlaCondition.ATTENTION,
              order=(SortKey.RESOLUTION_DUE_AT, False)),
    _built_in("on_hold", "On hold", "Incidents waiting for the caller, a vendor or a change",
              states=(State.ON_HOLD,)),
    _built_in("major", "Major incidents", "Open major incidents",
              states=OPEN_STATES, major_only=True),
    _built_in("escalated", "Escalated",
              "Open incidents escalated to another group or flagged to the lead",
              states=OPEN_STATES, escalated_only=True),
    _built_in("resolved_recently", f"Resolved in the last {RECENTLY_RESOLVED_DAYS} days",
              "Resolved or closed in the last week, newest first",
              resolved_within_days=RECENTLY_RESOLVED_DAYS),
    _built_in("all", "All incidents", "Every incident, open, resolved or closed"),
)

DEFAULT_QUEUE_KEY = "built_in:all_open"


def search_queue(text: str) -> QueueView:
    """The pseudo-queue of a search: every incident, open or not, that matches ``text``."""
    return QueueView("search", f"Search: {text.strip()}",
                     "Incidents whose number, descriptions, notes or caller match",
                     QueueKind.SEARCH,
                     FilterConditions(text=text), order=(SortKey.NUMBER, True))


@dataclass(frozen=True)
class Choice:
    """Something a filter condition can pick: its id and what the user reads."""

    id: int
    label: str


@dataclass(frozen=True)
class FilterChoices:
    """Everything the filter editor offers, by name."""

    groups: list[Choice]
    agents: list[Choice]
    categories: list[Choice]
    """Top-level categories and subcategories ("Hardware / Printer")."""
    services: list[Choice]


def natural_key(choice: Choice) -> str:
    """Order labels as people read them: "Group 2" before "Group 10", any case together."""
    return natural_sort_key(choice.label)


def saved_queue(stored: StoredFilter) -> QueueView:
    """The sidebar entry of a stored filter."""
    return QueueView(f"saved:{stored.id}", stored.name, "A filter you saved", QueueKind.SAVED,
                     FilterConditions.from_json(dict(stored.conditions)), stored.id)


def local_zone() -> tzinfo:
    """This computer's time zone, with its summer-time rules where they can be found.

    The IANA name comes from ``TZ`` or the /etc/localtime link (Linux, macOS); elsewhere the
    current offset is the best there is, right except across a summer-time change.
    """
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        link = Path("/etc/localtime")
        if link.is_symlink():
            name = str(link.resolve()).partition("zoneinfo/")[2]
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


class QueueService:
    """The queues of the signed-in user: listing, resolving, counting, saving filters."""

    def __init__(self, uow_factory: UnitOfWorkFactory, user_id: int, clock: Clock,
                 zone: tzinfo | None = None) -> None:
        """Act for one user.

        Args:
            uow_factory: opens units of work.
            user_id: the signed-in user.
            clock: "now".
            zone: the time zone of dates in filters; None for this computer's own.
        """
        self._uow = acting_as(uow_factory, user_id)
        self._user_id = user_id
        self._clock = clock
        self._zone = zone

    def queues(self) -> list[QueueView]:
        """The built-in queues, then the user's saved filters in their order."""
        with self._uow() as uow:
            stored = uow.saved_filters.list_for(self._user_id)
        return [*BUILT_IN_QUEUES, *(saved_queue(s) for s in stored)]

    def resolve(self, queue: QueueView) -> QueueFilter:
        """The concrete filter behind a queue, for this user, now."""
        with self._uow() as uow:
            return self._resolve(uow, queue.conditions, self._clock())

    def count_matching(self, conditions: FilterConditions) -> int:
        """How many incidents a filter being edited would hold now."""
        now = self._clock()
        with self._uow() as uow:
            return uow.incidents.count(self._resolve(uow, conditions, now), now)

    def counts(self, queues: Sequence[QueueView]) -> dict[str, int]:
        """How many incidents each queue holds now, by key; one transaction for all."""
        now = self._clock()
        with self._uow() as uow:
            groups = uow.groups.ids_of_member(self._user_id)
            return {
                q.key: uow.incidents.count(
                    q.conditions.resolve(user_id=self._user_id, group_ids=groups, now=now,
                                         zone=self._zone), now)
                for q in queues
            }

    def _resolve(self, uow: UnitOfWork, conditions: FilterConditions,
                 now: datetime) -> QueueFilter:
        groups = uow.groups.ids_of_member(self._user_id) if conditions.in_my_groups else []
        return conditions.resolve(user_id=self._user_id, group_ids=groups, now=now,
                                  zone=self._zone)

    def save_filter(self, name: str, conditions: FilterConditions,
                    filter_id: int | None = None) -> QueueView:
        """Save a new filter, or redefine one of the user's; returns its sidebar entry.

        Raises:
            ValidationError: the name is empty, too long, or already used by another of the
                user's filters.
        """
        name = " ".join(name.split())
        if not name:
            raise ValidationError("Give the filter a name.", field="name")
        if len(name) > NAME_LIMIT:
            raise ValidationError(f"A filter name has at most {NAME_LIMIT} characters.",
                                  field="name")
        data = conditions.to_json()
        now = self._clock()
        with self._uow(write=True) as uow:
            taken = {s.name.casefold(): s.id for s in uow.saved_filters.list_for(self._user_id)}
            if taken.get(name.casefold(), filter_id) != filter_id:
                raise ValidationError(f"You already have a filter called “{name}”.",
                                      field="name")
            if filter_id is None:
                filter_id = uow.saved_filters.add(self._user_id, name, data, now)
            else:
                uow.saved_filters.update(filter_id, self._user_id, name, data, now)
            uow.commit()
        return QueueView(f"saved:{filter_id}", name, "A filter you saved", QueueKind.SAVED,
                         conditions, filter_id)

    def delete_filter(self, filter_id: int) -> None:
        """Remove one of the user's saved filters."""
        with self._uow(write=True) as uow:
            uow.saved_filters.delete(filter_id, self._user_id)
            uow.commit()

    def choices(self) -> FilterChoices:
        """The groups, agents, categories and services a filter can name."""
        with self._uow() as uow:
            groups = [Choice(g.id, g.name) for g in uow.groups.all()]
            agents = [Choice(u.id, u.full_name) for u in uow.users.all() if u.active]
            categories = uow.catalog.list_categories()
            services = uow.catalog.list_services()
        # Inactive rows stay offered, marked, so that old incidents can still be found.
        top = {c.id: c.name for c in categories if c.parent_id is None}
        labelled = [Choice(c.id, _marked(c.name if c.parent_id is None
                                         else f"{top[c.parent_id]} / {c.name}", c.active))
                    for c in categories if c.parent_id is None or c.parent_id in top]
        return FilterChoices(
            groups=sorted(groups, key=natural_key),
            agents=sorted(agents, key=natural_key),
            categories=sorted(labelled, key=natural_key),
            services=sorted((Choice(s.id, _marked(s.name, s.active)) for s in services),
                            key=natural_key),
        )


def _marked(name: str, active: bool) -> str:
    """A filter choice's label: inactive catalogue rows say so."""
    return name if active else f"{name} (inactive)"
