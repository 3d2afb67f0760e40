"""The team lead's workload view, and "assigned to me by someone else" notifications.

Read-only: what each agent of a group holds open (by priority, breached, at risk, on hold),
who is away, and the group's unassigned pile. The database does the counting
(``WorkloadQueries.open_loads``, one GROUP BY); this module only arranges the counts by group
and agent and decides which groups the reader sees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError, ValidationError
from deskapp.domain.people import Group, User
from deskapp.domain.text import natural_sort_key
from deskapp.services.dto import IncidentRow
from deskapp.services.incidents import utc_now
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as
from deskapp.services.workload_dto import (
    AgentLoad,
    AssignmentNotice,
    GroupLoad,
    LoadCount,
    MemberInfo,
    Workload,
)

UNASSIGNED_NAME = "Unassigned"
TOTAL_NAME = "Total"
MAX_NOTICES = 50
"""The most notifications one check returns; a flood beyond it is summed up by the view."""

SEES_ALL_GROUPS = frozenset({Role.MANAGER, Role.ADMIN})
"""Roles whose workload view holds every group; leads see the groups they run or are in,
agents the groups they are in."""


class WorkloadService:
    """Reads the workload of the groups the signed-in user may see."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        """Create the service.

        Args:
            uow_factory: opens units of work.
            actor_id: the signed-in user.
            clock: "now" for the breached and at-risk counts.
        """
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock

    @property
    def actor_id(self) -> int:
        """The signed-in user this service reads for."""
        return self._actor_id

    def workload(self) -> Workload:
        """Each visible group's agents with their open incidents, and its unassigned pile.

        Raises:
            PermissionDeniedError: the user is no longer active.
        """
        now = self._clock()
        with self._uow() as uow:
            actor = self._active_actor(uow)
            groups, all_groups = self._visible_groups(uow, actor)
            ranks = tuple(sorted(p.rank for p in uow.matrix.current().priorities))
            if not groups:
                return Workload(ranks, (), now, all_groups)
            group_ids = [g.id for g in groups]
            counts = uow.workload.open_loads(None if all_groups else group_ids, now)
            members = uow.workload.members(group_ids)
            known = {m.user_id for m in members}
            strangers = {c.assignee_id for c in counts
                         if c.assignee_id is not None and c.assignee_id not in known}
            names = uow.workload.names(sorted(strangers))
            leads = uow.workload.names(sorted({g.lead_id for g in groups
                                               if g.lead_id is not None}))
        return Workload(ranks, tuple(_group_loads(groups, counts, members, names, leads)),
                        now, all_groups)

    def notification_start(self) -> int:
        """Where notifications begin: the newest activity entry now (older news is old)."""
        with self._uow() as uow:
            self._active_actor(uow)
            return uow.workload.last_activity_id()

    def assigned_to_me_since(self, after_activity_id: int,
                             limit: int = MAX_NOTICES) -> list[AssignmentNotice]:
        """Incidents someone else assigned to the signed-in user after that activity entry.

        Only the ones still open and still theirs, oldest first; the last one's
        ``activity_id`` is where the next check starts.
        """
        if after_activity_id < 0 or limit <= 0:
            raise ValidationError("Notifications start at an activity entry, and at least "
                                  "one must be asked for.")
        with self._uow() as uow:
            self._active_actor(uow)
            return uow.workload.assigned_by_others(self._actor_id, after_activity_id, limit)

    def current_rows(self, incident_ids: Sequence[int]) -> list[IncidentRow]:
        """These incidents as they are now (their versions above all), for "reload and
        retry" after a conflict; incidents gone meanwhile are left out."""
        with self._uow() as uow:
            self._active_actor(uow)
            return uow.incidents.rows(list(incident_ids))

    def _active_actor(self, uow: UnitOfWork) -> User:
        actor = uow.users.get(self._actor_id)
        if not actor.active:
            raise PermissionDeniedError(f"{actor.full_name} is no longer an active user.")
        return actor

    def _visible_groups(self, uow: UnitOfWork, actor: User) -> tuple[list[Group], bool]:
        groups = uow.groups.all()
        if actor.role in SEES_ALL_GROUPS:
            return groups, True
        mine = set(uow.groups.ids_of_member(actor.id))
        if actor.role == Role.LEAD:
            mine |= {g.id for g in groups if g.lead_id == actor.id}
        return [g for g in groups if g.id in mine], False


def _group_loads(groups: Iterable[Group], counts: Iterable[LoadCount],
                 members: Iterable[MemberInfo], strangers: dict[int, tuple[str, bool]],
                 leads: dict[int, tuple[str, bool]]) -> list[GroupLoad]:
    # Counts by group, then by assignee: one pass, whatever the number of groups.
    by_group: dict[int, dict[int | None, list[LoadCount]]] = defaultdict(
        lambda: defaultdict(list))
    for count in counts:
        by_group[count.group_id][count.assignee_id].append(count)
    members_of: dict[int, list[MemberInfo]] = defaultdict(list)
    for member in members:
        members_of[member.group_id].append(member)
    result = []
    for group in sorted(groups, key=lambda g: (natural_sort_key(g.name), g.id)):
        loads = by_group.get(group.id, {})
        known = {m.user_id for m in members_of[group.id]}
        agents = [_agent_load(group.id, m.user_id, m.full_name, m.away, True,
                              loads.get(m.user_id, ()))
                  for m in sorted(members_of[group.id],
                                  key=lambda m: (natural_sort_key(m.full_name), m.user_id))]
        others = sorted((u for u in loads if u is not None and u not in known),
                        key=lambda u: (natural_sort_key(strangers.get(u, ("", False))[0]), u))
        for user_id in others:
            name, away = strangers.get(user_id, (f"User {user_id}", False))
            agents.append(_agent_load(group.id, user_id, name, away, False, loads[user_id]))
        unassigned = _agent_load(group.id, None, UNASSIGNED_NAME, False, True,
                                 loads.get(None, ()))
        total = _agent_load(group.id, None, TOTAL_NAME, False, False,
                            [c for cs in loads.values() for c in cs])
        if not group.active and total.open == 0:
            continue  # deactivated and emptied: nothing left to watch or move
        lead_entry = leads.get(group.lead_id) if group.lead_id is not None else None
        lead = lead_entry[0] if lead_entry is not None else None
        # A deactivated group still holding work stays in view, named so, until it is moved.
        name = group.name if group.active else f"{group.name} (inactive)"
        result.append(GroupLoad(group.id, name, lead, tuple(agents), unassigned, total))
    # Busy groups first, the busiest on top: a lead watching many groups sees where the work
    # is without scrolling past empty ones; equally busy groups in natural name order.
    result.sort(key=lambda g: -g.total.open)
    return result


def _agent_load(group_id: int, user_id: int | None, name: str, away: bool, member: bool,
                counts: Iterable[LoadCount]) -> AgentLoad:
    by_priority: dict[int, int] = defaultdict(int)
    open_ = on_hold = breached = at_risk = 0
    for c in counts:
        by_priority[c.priority] += c.open
        open_ += c.open
        on_hold += c.on_hold
        breached += c.breached
        at_risk += c.at_risk
    return AgentLoad(group_id=group_id, user_id=user_id, name=name, away=away, member=member,
                     by_priority=dict(by_priority), open=open_, on_hold=on_hold,
                     breached=breached, at_risk=at_risk)
