"""Team leads' and agents' assignment work: reassign (one or hundreds at once), take and hand
back, escalate, mark people away.

Every call is one transaction at the versions the caller read: a bulk reassignment writes all
of its incidents or none, and names every incident that changed under the caller's feet.
Permissions are checked here, against the one table in services.permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from deskapp.domain.enums import Escalation
from deskapp.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TransitionError,
    ValidationError,
)
from deskapp.domain.incident import Incident
from deskapp.domain.people import User
from deskapp.domain.text import natural_sort_key
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.incidents import utc_now
from deskapp.services.permissions import (
    Permission,
    Scope,
    may_manage_group,
    reaches,
    require,
    require_reach,
    scope,
)
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as

MAX_BULK = 5000
"""At most this many incidents in one reassignment: one transaction holds them all."""


@dataclass(frozen=True)
class IncidentRef:
    """An incident as the caller last read it: its id and the version it had then."""

    incident_id: int
    version: int


@dataclass(frozen=True)
class StaleIncident:
    """An incident of a bulk change that someone changed after the caller read it."""

    incident_id: int
    number: str
    reason: str
    """Readable: "changed by Ann Lee at 10:42 UTC", "resolved meanwhile by ..."."""
    changed_by: str | None = None
    changed_at: datetime | None = None


class BulkConflictError(ConflictError):
    """Some incidents of a bulk change were changed meanwhile; nothing was written."""

    def __init__(self, stale: Sequence[StaleIncident], total: int) -> None:
        stale = tuple(stale)
        first = stale[0]
        super().__init__(f"Incident {first.number}", first.changed_by, first.changed_at, None)
        shown = "; ".join(f"{s.number} ({s.reason})" for s in stale[:10])
        more = f"; and {len(stale) - 10} more" if len(stale) > 10 else ""
        what = "incident was" if len(stale) == 1 else "incidents were"
        them = "it" if total == 1 else "them"
        # The base class's message speaks of one record; this one names them all.
        self.args = (f"{len(stale)} of {total} {what} changed after you selected {them}, so "
                     f"nothing was changed: {shown}{more}. Reload the queue and try again.",)
        self.stale = stale
        self.total = total

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class AgentChoice:
    """An agent who can be picked in a reassignment."""

    user_id: int
    full_name: str
    away: bool


@dataclass(frozen=True)
class GroupChoice:
    """A group that can be picked in a reassignment, with its active agents by name."""

    group_id: int
    name: str
    members: tuple[AgentChoice, ...]


@dataclass
class _Context:
    """The actor and what their permissions reach, read once per call."""

    actor: User
    group_ids: frozenset[int]


class AssignmentService:
    """Assignment, escalation and availability, as the signed-in user."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock

    @property
    def actor_id(self) -> int:
        return self._actor_id

    # --- reassignment -------------------------------------------------------------------

    def reassign(self, refs: Sequence[IncidentRef], group_id: int, assignee_id: int | None,
                 reason: str) -> Change:
        """Move incidents to a group (and one of its agents), all or none.

        Each changed incident counts a reassignment and gets the old and new group and
        agent and the reason in its activity. Incidents already there are left alone.

        Raises:
            BulkConflictError: some incidents changed since ``refs`` were read (or are gone,
                or were resolved); nothing was written, every such incident is named.
            PermissionDeniedError: the actor may not move some of them; nothing was written.
            ValidationError: no reason, an unknown group, an agent outside the group.
        """
        reason = _required(reason, "Give a reason for the reassignment.", "reason")
        now = self._clock()
        with self._uow(write=True) as uow:
            ctx = self._context(uow, Permission.REASSIGN)
            self._check_target(uow, group_id, assignee_id)
            incidents = self._load_fresh(uow, refs, bulk=True)
            self._require_reach(ctx, Permission.REASSIGN, incidents)
            _require_workable(incidents, "reassigned")
            changed = [i for i in incidents
                       if i.assign(group_id, assignee_id, self._actor_id, now,
                                   note=f"Reassigned: {reason}")]
            return self._write(uow, changed, refs, ChangeKind.ASSIGNMENT)

    def assign_to_me(self, ref: IncidentRef) -> Change:
        """Take an unassigned incident of one of the actor's groups.

        Raises:
            ConflictError: it changed since it was read (taken by someone else, say).
            PermissionDeniedError: it belongs to a group the actor is not a member of.
            ValidationError: it is assigned to someone already.
        """
        now = self._clock()
        with self._uow(write=True) as uow:
            ctx = self._context(uow, Permission.REASSIGN)
            [incident] = self._load_fresh(uow, [ref])
            if incident.assignee_id == self._actor_id:
                return Change(frozenset(), frozenset(), self._actor_id)
            if incident.assignee_id is not None:
                name = uow.assignment.user_names([incident.assignee_id]).get(
                    incident.assignee_id, "someone else")
                raise ValidationError(f"{incident.number} is already assigned to {name}.")
            group_id = incident.assignment_group_id
            members = uow.assignment.members([group_id]).get(group_id, []) \
                if group_id is not None else []
            if group_id is None or self._actor_id not in {m.id for m in members}:
                raise PermissionDeniedError(
                    f"{ctx.actor.full_name} may take only unassigned incidents of their own "
                    f"groups; {incident.number} is "
                    f"{'in no group' if group_id is None else 'in a group they are not in'}.")
            incident.assign(group_id, self._actor_id, self._actor_id, now)
            return self._write(uow, [incident], [ref], ChangeKind.ASSIGNMENT)

    def hand_back(self, ref: IncidentRef, note: str) -> Change:
        """Give an incident back to its group, unassigned, saying why in its activity.

        The assignee hands back their own; leads, managers and admins may do it for them.
        """
        note = _required(note, "Say why you hand the incident back.", "note")
        now = self._clock()
        with self._uow(write=True) as uow:
            ctx = self._context(uow, Permission.REASSIGN)
            [incident] = self._load_fresh(uow, [ref])
            if incident.assignee_id is None:
                raise ValidationError(f"{incident.number} is not assigned to anyone.")
            if incident.assignment_group_id is None:
                raise ValidationError(f"{incident.number} has no group to hand it back to; "
                                      "reassign it instead.")
            self._require_reach(ctx, Permission.REASSIGN, [incident])
            incident.assign(incident.assignment_group_id, None, self._actor_id, now,
                            note=f"Handed back to the group: {note}")
            return self._write(uow, [incident], [ref], ChangeKind.ASSIGNMENT)

    # --- escalation ---------------------------------------------------------------------

    def escalate_functional(self, refs: Sequence[IncidentRef], group_id: int,
                            reason: str) -> Change:
        """Send incidents to another group with more skill or authority, unassigned there,
        marked escalated, with the reason; all or none, as ``reassign``."""
        reason = _required(reason, "Give a reason for the escalation.", "reason")
        now = self._clock()
        with self._uow(write=True) as uow:
            ctx = self._context(uow, Permission.REASSIGN)
            require(ctx.actor, Permission.ESCALATE)
            group = uow.groups.get(group_id)
            incidents = self._load_fresh(uow, refs, bulk=True)
            self._require_reach(ctx, Permission.REASSIGN, incidents)
            _require_workable(incidents, "escalated")
            for incident in incidents:
                if incident.assignment_group_id == group_id:
                    raise ValidationError(f"{incident.number} is in {group.name} already; "
                                          "escalate it to another group.", field="group_id")
            for incident in incidents:
                incident.assign(group_id, None, self._actor_id, now)
                incident.escalate(Escalation.FUNCTIONAL, self._actor_id, now,
                                  f"Escalated to {group.name}: {reason}")
            return self._write(uow, incidents, refs, ChangeKind.ASSIGNMENT, ChangeKind.FIELDS)

    def escalate_hierarchical(self, ref: IncidentRef, reason: str) -> Change:
        """Flag an incident to its group's lead (or, without one, to the managers).

        Raises:
            ValidationError: no reason.
            PermissionDeniedError: agents escalate only incidents of their groups or their
                own.
        """
        reason = _required(reason, "Give a reason for the escalation.", "reason")
        now = self._clock()
        with self._uow(write=True) as uow:
            ctx = self._context(uow, Permission.ESCALATE)
            [incident] = self._load_fresh(uow, [ref])
            self._require_reach(ctx, Permission.ESCALATE, [incident])
            lead_id = (uow.groups.get(incident.assignment_group_id).lead_id
                       if incident.assignment_group_id is not None else None)
            if lead_id == self._actor_id:
                lead_id = None  # the lead escalates to the managers
            whom = (uow.assignment.user_names([lead_id]).get(lead_id, "the lead")
                    if lead_id is not None else "the managers")
            incident.escalate(Escalation.HIERARCHICAL, self._actor_id, now,
                              f"Escalated to {whom}: {reason}", to_id=lead_id)
            return self._write(uow, [incident], [ref], ChangeKind.FIELDS)

    def clear_escalation(self, ref: IncidentRef, note: str) -> Change:
        """Take the escalation flag off, saying what was done about it.

        Leads (of the incident's group), managers and admins may; agents may not.
        """
        note = _required(note, "Say how the escalation was dealt with.", "note")
        now = self._clock()
        with self._uow(write=True) as uow:
            actor = uow.users.get(self._actor_id)
            [incident] = self._load_fresh(uow, [ref])
            group_id = incident.assignment_group_id
            # Incidents without a group are anyone's with the permission, as for reassigning.
            if scope(actor, Permission.CLEAR_ESCALATION) is None or (
                    group_id is not None and not may_manage_group(
                        actor, Permission.CLEAR_ESCALATION,
                        frozenset(uow.assignment.groups_of(self._actor_id)), group_id)):
                raise PermissionDeniedError(
                    f"{actor.full_name} ({actor.role.value}) may not clear the escalation of "
                    f"{incident.number}: only its group's lead, a manager or an admin may.")
            if not incident.clear_escalation(self._actor_id, now, note):
                return Change(frozenset(), frozenset(), self._actor_id)
            return self._write(uow, [incident], [ref], ChangeKind.FIELDS)

    # --- people -------------------------------------------------------------------------

    def set_away(self, user_id: int, away: bool) -> None:
        """Mark someone away (assignment rules skip them) or back.

        Anyone may mark themselves; leads the members of their groups; managers and admins
        anyone.
        """
        with self._uow(write=True) as uow:
            actor = uow.users.get(self._actor_id)
            if not actor.active:
                raise PermissionDeniedError(f"{actor.full_name} is no longer active.")
            if user_id != self._actor_id:
                target = uow.users.get(user_id)
                reach = scope(actor, Permission.SET_AWAY)
                theirs = set(uow.groups.ids_of_member(user_id))
                mine = set(uow.assignment.groups_of(self._actor_id))
                if not (reach == Scope.ANY or (reach == Scope.GROUPS and theirs & mine)):
                    raise PermissionDeniedError(
                        f"{actor.full_name} ({actor.role.value}) may not mark "
                        f"{target.full_name} away or back: leads may for the members of "
                        "their groups, managers and admins for anyone.")
            uow.assignment.set_away(user_id, away)
            uow.commit()

    def reassign_targets(self) -> list[GroupChoice]:
        """Every active group, in reading order, with its active agents by name (away ones
        marked).

        Work may be sent to any group: the permission limits which incidents the actor
        moves, not where to.
        """
        with self._uow() as uow:
            members = uow.assignment.members(None)
            groups = sorted((g for g in uow.groups.all() if g.active),
                            key=lambda g: natural_sort_key(g.name))
            return [GroupChoice(g.id, g.name, tuple(
                AgentChoice(m.id, m.full_name, m.away)
                for m in sorted(members.get(g.id, []),
                                key=lambda m: (natural_sort_key(m.full_name), m.id))))
                for g in groups]

    def my_group_ids(self) -> list[int]:
        """The groups the actor belongs to or leads: how far a lead's permissions reach
        (services.permissions.reaches takes them)."""
        with self._uow() as uow:
            return uow.assignment.groups_of(self._actor_id)

    # --- helpers ------------------------------------------------------------------------

    def _context(self, uow: UnitOfWork, permission: Permission) -> _Context:
        actor = uow.users.get(self._actor_id)
        require(actor, permission)
        return _Context(actor, frozenset(uow.assignment.groups_of(self._actor_id)))

    def _check_target(self, uow: UnitOfWork, group_id: int, assignee_id: int | None) -> None:
        group = uow.groups.get(group_id)
        if not group.active:
            raise ValidationError(f"{group.name} is no longer active.", field="group_id")
        if assignee_id is None:
            return
        agent = uow.users.get(assignee_id)
        if not agent.active:
            raise ValidationError(f"{agent.full_name} is no longer active.", field="assignee_id")
        if assignee_id not in uow.groups.member_ids(group_id):
            raise ValidationError(f"{agent.full_name} is not a member of {group.name}.",
                                  field="assignee_id")

    def _load_fresh(self, uow: UnitOfWork, refs: Sequence[IncidentRef], *,
                    bulk: bool = False) -> list[Incident]:
        """The incidents, in the refs' order, if every one is still at its version.

        Raises BulkConflictError for a bulk change (whatever its size), else ConflictError
        or NotFoundError.
        """
        if not refs:
            raise ValidationError("Select at least one incident.")
        if len(refs) > MAX_BULK:
            raise ValidationError(f"At most {MAX_BULK} incidents can be changed at once; "
                                  f"{len(refs)} are selected.")
        versions: dict[int, int] = {}
        for ref in refs:
            if versions.setdefault(ref.incident_id, ref.version) != ref.version:
                raise ValidationError(f"Incident {ref.incident_id} is selected twice with "
                                      "different versions.")
        found = uow.assignment.load_many(list(versions))
        stale_ids = [i for i, v in versions.items() if i not in found or found[i].version != v]
        if stale_ids:
            if not bulk and stale_ids[0] in found:
                incident = found[stale_ids[0]]
                raise ConflictError(f"Incident {incident.number}",
                                    self._name(uow, incident.updated_by_id),
                                    incident.updated_at, incident.version)
            if not bulk:
                raise NotFoundError(f"Incident {stale_ids[0]} no longer exists.")
            raise BulkConflictError(self._stale(uow, stale_ids, found), len(versions))
        return [found[i] for i in versions]

    def _stale(self, uow: UnitOfWork, ids: Sequence[int],
               found: dict[int, Incident]) -> list[StaleIncident]:
        names = uow.assignment.user_names(
            {found[i].updated_by_id for i in ids  # type: ignore[misc]
             if i in found and found[i].updated_by_id is not None})
        stale = []
        for incident_id in ids:
            incident = found.get(incident_id)
            if incident is None:
                stale.append(StaleIncident(incident_id, f"id {incident_id}", "deleted"))
                continue
            who = names.get(incident.updated_by_id or -1)
            at = incident.updated_at
            by = f" by {who}" if who else ""
            when = f" at {at:%H:%M} UTC" if at else ""
            if incident.state.is_open:
                reason = f"changed{by}{when}"
            else:
                reason = f"{incident.state.label.lower()} meanwhile{by}{when}"
            stale.append(StaleIncident(incident_id, incident.number or f"id {incident_id}",
                                       reason, who, at))
        return stale

    def _require_reach(self, ctx: _Context, permission: Permission,
                       incidents: Sequence[Incident]) -> None:
        denied = [i for i in incidents if not _reaches(ctx, permission, i)]
        if not denied:
            return
        what = ", ".join(i.number or "?" for i in denied[:5])
        if len(denied) > 5:
            what += f" and {len(denied) - 5} more"
        first = denied[0]
        require_reach(ctx.actor, permission, ctx.group_ids, first.assignment_group_id,
                      first.assignee_id, what)

    def _write(self, uow: UnitOfWork, changed: Sequence[Incident],
               refs: Sequence[IncidentRef], *kinds: ChangeKind) -> Change:
        if not changed:
            return Change(frozenset(), frozenset(), self._actor_id)
        expected = {r.incident_id: r.version for r in refs}
        versions = uow.assignment.save_assignments(
            changed, [expected[i.id] for i in changed if i.id is not None])
        for incident, version in zip(changed, versions, strict=True):
            incident.version = version
        uow.commit()
        return Change(frozenset(i.id for i in changed if i.id is not None),
                      frozenset({*kinds, ChangeKind.ACTIVITY}), self._actor_id)

    @staticmethod
    def _name(uow: UnitOfWork, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return uow.assignment.user_names([user_id]).get(user_id)


def _reaches(ctx: _Context, permission: Permission, incident: Incident) -> bool:
    return reaches(ctx.actor, permission, ctx.group_ids, incident.assignment_group_id,
                   incident.assignee_id)


def _required(text: str, message: str, field: str) -> str:
    value = (text or "").strip()
    if not value:
        raise ValidationError(message, field=field)
    return value



def _require_workable(incidents: Sequence[Incident], action: str) -> None:
    """TransitionError naming every incident that is no longer open (nothing is written)."""
    done = [i for i in incidents if not i.state.is_open]
    if done:
        names = ", ".join(f"{i.number} ({i.state.label.lower()})" for i in done[:10])
        more = f" and {len(done) - 10} more" if len(done) > 10 else ""
        raise TransitionError(f"Only open incidents can be {action}: {names}{more}. "
                              "Reopen a resolved one first.")
