"""Incidents, their activity and their queues, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from deskapp.domain.activity import ActivityEntry
from deskapp.domain.enums import (
    OPEN_STATES,
    ActivityKind,
    Channel,
    Escalation,
    HoldReason,
    ResolutionCode,
    State,
)
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident, format_number, typed_number
from deskapp.domain.sla import AT_RISK_SHARE
from deskapp.persistence import live, search
from deskapp.persistence.repositories import sort_key
from deskapp.persistence.tables import (
    ActivityRecord,
    CallerRecord,
    CategoryRecord,
    ConfigurationItemRecord,
    CounterRecord,
    GroupRecord,
    IncidentRecord,
    PriorityRecord,
    UserRecord,
)
from deskapp.services.dto import ActivityView, IncidentRow
from deskapp.services.matrix_dto import CellCount
from deskapp.services.queries import QueueFilter, QueueQuery, SlaCondition, SortKey

_INCIDENT_FIELDS = [f.name for f in fields(Incident) if f.name != "pending"]
INCIDENT_FIELDS = tuple(_INCIDENT_FIELDS)
"""The aggregate's stored fields: the incidents table's columns of the same names."""
_COLUMNS = [name for name in _INCIDENT_FIELDS if name != "id"]
ACTIVE_STATES = (State.NEW, State.IN_PROGRESS)
"""States in which the resolution clock runs."""
JOINED_SORTS = frozenset({SortKey.CALLER, SortKey.GROUP, SortKey.ASSIGNEE})
"""Orders by a joined table's column: no index on incidents can give them."""


def in_states(states: Iterable[State]) -> ColumnElement[bool]:
    """``state IN ('new', ...)`` with the values written into the SQL, in the enum's order.

    Literal values, not parameters: SQLite uses a partial index (the open-incident indexes)
    only when it can see that the query's condition is the index's own, value for value.
    """
    order = list(State)
    values = sorted({State(s) for s in states}, key=order.index)
    return IncidentRecord.state.in_(
        bindparam(None, [v.value for v in values], expanding=True, literal_execute=True,
                  unique=True))

Assignee = aliased(UserRecord, name="assignee")
Named = aliased(IncidentRecord, name="named")
"""The incident a search names by its number, looked up beside the search's hits (made once:
an alias of the incidents table costs milliseconds to build)."""


def to_domain(record: IncidentRecord) -> Incident:
    """Build the aggregate from its row."""
    values: dict[str, Any] = {name: getattr(record, name) for name in _INCIDENT_FIELDS}
    values["channel"] = Channel(record.channel)
    values["state"] = State(record.state)
    values["hold_reason"] = HoldReason(record.hold_reason) if record.hold_reason else None
    values["resolution_code"] = (
        ResolutionCode(record.resolution_code) if record.resolution_code else None
    )
    values["escalation"] = Escalation(record.escalation) if record.escalation else None
    return Incident(**values)


def column_values(incident: Incident) -> dict[str, Any]:
    """The row values of an aggregate (enums as their stored text)."""
    values = {name: getattr(incident, name) for name in _COLUMNS}
    for name in ("channel", "state", "hold_reason", "resolution_code", "escalation"):
        if values[name] is not None:
            values[name] = str(values[name])
    return values


def activity_values(incident_id: int, entry: ActivityEntry) -> dict[str, Any]:
    """The row values of one activity entry."""
    return {
        "incident_id": incident_id, "kind": entry.kind.value, "at": entry.at,
        "actor_id": entry.actor_id, "field": entry.field, "old_value": entry.old_value,
        "new_value": entry.new_value, "body": entry.body,
        "call_started_at": entry.call_started_at, "call_seconds": entry.call_seconds,
    }


def reserve_numbers(session: Session, count: int) -> int:
    """Reserve ``count`` incident numbers; returns the first.

    The counter row is locked until commit (the write lock on SQLite, a row lock on
    PostgreSQL), so concurrent creators never share a number.
    """
    last = session.execute(
        update(CounterRecord)
        .where(CounterRecord.name == "incident")
        .values(value=CounterRecord.value + count)
        .returning(CounterRecord.value)
    ).scalar_one()
    return int(last) - count + 1


_SORT_COLUMNS: dict[SortKey, Any] = {
    SortKey.NUMBER: IncidentRecord.number,
    SortKey.OPENED_AT: IncidentRecord.opened_at,
    SortKey.UPDATED_AT: IncidentRecord.updated_at,
    SortKey.PRIORITY: IncidentRecord.priority,
    SortKey.STATE: IncidentRecord.state,
    SortKey.SHORT_DESCRIPTION: IncidentRecord.short_description,
    SortKey.RESOLUTION_DUE_AT: IncidentRecord.resolution_due_at,
    # The natural sort keys (case-folded, numbers by value): "Caller 2" before "Caller 10",
    # "Group 9" before "Group 80"; no group or assignee sorts as "", before every name.
    SortKey.CALLER: CallerRecord.sort_key,
    SortKey.GROUP: func.coalesce(GroupRecord.sort_key, ""),
    SortKey.ASSIGNEE: func.coalesce(Assignee.sort_key, ""),
}


_SORT_JOINS: dict[SortKey, tuple[Any, Any, bool]] = {
    SortKey.CALLER: (CallerRecord, CallerRecord.id == IncidentRecord.caller_id, False),
    SortKey.GROUP: (GroupRecord, GroupRecord.id == IncidentRecord.assignment_group_id, True),
    SortKey.ASSIGNEE: (Assignee, Assignee.id == IncidentRecord.assignee_id, True),
}
"""The one join each joined order needs (outer for the optional ones)."""


_NAME_WALKS: dict[SortKey, tuple[str, str, bool]] = {
    SortKey.CALLER: ("callers", "caller_id", False),
    SortKey.GROUP: ("assignment_groups", "assignment_group_id", True),
    SortKey.ASSIGNEE: ("users", "assignee_id", True),
}
"""Joined orders walked name by name on the open queue: (table, foreign key, whether it may
be empty). Each table's natural sort key has an index on (sort_key, id)."""
_OPEN_SQL = "('new', 'in_progress', 'on_hold')"
"""The open states as the partial indexes spell them (tables.OPEN_CONDITION)."""


def _only_open(f: QueueFilter) -> bool:
    """True for the plain open queue: the open states and no other condition."""
    return set(f.states) == set(OPEN_STATES) and replace(f, states=()) == QueueFilter()


def _only_text(f: QueueFilter) -> bool:
    """True for a filter made of words and nothing else (the search queue)."""
    return bool(f.text.strip()) and replace(f, text="") == QueueFilter()


class SqlIncidentRepository:
    """IncidentRepository over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # --- aggregates ---------------------------------------------------------------------

    def get(self, incident_id: int) -> Incident:
        record = self._session.get(IncidentRecord, incident_id)
        if record is None:
            raise NotFoundError(f"There is no incident with id {incident_id}.")
        return to_domain(record)

    def get_by_number(self, number: str) -> Incident:
        record = self._session.execute(
            select(IncidentRecord).where(IncidentRecord.number == number)
        ).scalar_one_or_none()
        if record is None:
            raise NotFoundError(f"There is no incident {number}.")
        return to_domain(record)

    def numbers(self, incident_ids: Collection[int]) -> dict[int, str]:
        if not incident_ids:
            return {}
        rows = self._session.execute(select(IncidentRecord.id, IncidentRecord.number)
                                     .where(IncidentRecord.id.in_(sorted(incident_ids))))
        return {row.id: row.number for row in rows}

    def add(self, incident: Incident) -> Incident:
        incident.number = format_number(reserve_numbers(self._session, 1))
        incident.version = 1
        values = column_values(incident)
        incident.id = self._session.execute(
            insert(IncidentRecord).values(**values).returning(IncidentRecord.id)
        ).scalar_one()
        # The index row must exist before notes (e.g. a logged call's) are appended to it.
        search.index_new(self._session, incident.id, incident.number,
                         incident.short_description, incident.description, incident.caller_id)
        self._write_activity(incident)
        live.note_changed(self._session, (incident.id,))
        return incident

    def save(self, incident: Incident, expected_version: int) -> int:
        assert incident.id is not None
        values = column_values(incident)
        values["version"] = expected_version + 1
        result = self._session.execute(
            update(IncidentRecord)
            .where(IncidentRecord.id == incident.id, IncidentRecord.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise self._conflict(incident.id)
        live.note_changed(self._session, (incident.id,))
        entries = self._write_activity(incident)
        if any(e.field in ("short_description", "description") for e in entries):
            search.reindex_text(self._session, incident.id, incident.short_description,
                                incident.description)
        if any(e.field == "caller_id" for e in entries):
            search.reindex_caller(self._session, incident.id)
        return expected_version + 1

    def append_activity(self, incident: Incident) -> None:
        assert incident.id is not None
        live.note_changed(self._session, (incident.id,))
        if incident.first_response_at is not None:
            # Only ever sets a first response that is still missing: it cannot undo anyone's.
            self._session.execute(
                update(IncidentRecord)
                .where(IncidentRecord.id == incident.id,
                       IncidentRecord.first_response_at.is_(None))
                .values(first_response_at=incident.first_response_at,
                        response_breached=incident.response_breached)
                .execution_options(synchronize_session=False)
            )
        self._write_activity(incident)

    def _write_activity(self, incident: Incident) -> list[ActivityEntry]:
        assert incident.id is not None
        entries = incident.take_pending()
        if entries:
            self._session.execute(insert(ActivityRecord),
                                  [activity_values(incident.id, e) for e in entries])
        notes = " ".join(e.body for e in entries
                         if e.body and e.kind in (ActivityKind.WORK_NOTE, ActivityKind.COMMENT,
                                                  ActivityKind.CALL))
        if notes:
            search.append_notes(self._session, incident.id, notes)
        return entries

    def _conflict(self, incident_id: int) -> Exception:
        row = self._session.execute(
            select(IncidentRecord.number, IncidentRecord.version, IncidentRecord.updated_at,
                   UserRecord.full_name)
            .outerjoin(UserRecord, UserRecord.id == IncidentRecord.updated_by_id)
            .where(IncidentRecord.id == incident_id)
        ).one_or_none()
        if row is None:
            return NotFoundError(f"Incident {incident_id} no longer exists.")
        return ConflictError(f"Incident {row.number}", row.full_name, row.updated_at, row.version)

    # --- queues -------------------------------------------------------------------------

    def _row_select(self) -> Select[Any]:
        return (
            select(
                IncidentRecord.id, IncidentRecord.number, IncidentRecord.short_description,
                IncidentRecord.state, IncidentRecord.priority, IncidentRecord.impact,
                IncidentRecord.urgency, IncidentRecord.channel,
                CallerRecord.name.label("caller_name"), CallerRecord.vip.label("caller_vip"),
                GroupRecord.name.label("group_name"),
                Assignee.full_name.label("assignee_name"),
                IncidentRecord.opened_at, IncidentRecord.updated_at,
                IncidentRecord.response_due_at, IncidentRecord.resolution_due_at,
                IncidentRecord.sla_paused_since, IncidentRecord.resolution_breached,
                IncidentRecord.is_major, IncidentRecord.version, IncidentRecord.escalation,
                IncidentRecord.assignment_group_id, IncidentRecord.assignee_id,
                ConfigurationItemRecord.name.label("configuration_item_name"),
            )
            .join(CallerRecord, CallerRecord.id == IncidentRecord.caller_id)
            .outerjoin(GroupRecord, GroupRecord.id == IncidentRecord.assignment_group_id)
            .outerjoin(Assignee, Assignee.id == IncidentRecord.assignee_id)
            # By primary key, for the page's rows only: as cheap as the group's name.
            .outerjoin(ConfigurationItemRecord,
                       ConfigurationItemRecord.id == IncidentRecord.configuration_item_id)
        )

    def _conditions(self, f: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
        if f.empty:
            return [false()]
        conditions: list[ColumnElement[bool]] = []
        if f.states:
            conditions.append(in_states(f.states))
        if f.group_ids:
            conditions.append(IncidentRecord.assignment_group_id.in_(f.group_ids))
        if f.assignee_ids and f.unassigned:
            conditions.append(or_(IncidentRecord.assignee_id.in_(f.assignee_ids),
                                  IncidentRecord.assignee_id.is_(None)))
        elif f.assignee_ids:
            conditions.append(IncidentRecord.assignee_id.in_(f.assignee_ids))
        elif f.unassigned:
            conditions.append(IncidentRecord.assignee_id.is_(None))
        if f.priorities:
            conditions.append(IncidentRecord.priority.in_(f.priorities))
        if f.category_ids:
            conditions.append(self._in_categories(f.category_ids))
        if f.service_ids:
            conditions.append(IncidentRecord.service_id.in_(f.service_ids))
        if f.sla == SlaCondition.BREACHED:
            conditions.append(self._breached(now))
        elif f.sla == SlaCondition.ATTENTION:
            conditions.append(or_(self._breached(now), self._at_risk(now)))
        if f.major_only:
            conditions.append(IncidentRecord.is_major.is_(True))
        if f.escalated_only:
            conditions.append(IncidentRecord.escalation.is_not(None))
        if f.opened_after is not None:
            conditions.append(IncidentRecord.opened_at >= f.opened_after)
        if f.opened_before is not None:
            conditions.append(IncidentRecord.opened_at < f.opened_before)
        if f.resolved_after is not None:
            conditions.append(IncidentRecord.resolved_at >= f.resolved_after)
        if f.text.strip():
            conditions.append(self._matching_text(f.text))
        return conditions

    def _matching_text(self, text_query: str) -> ColumnElement[bool]:
        """Incidents whose words match ``text_query``, and the one it names by number.

        One IN over a UNION ALL of the hits and the named incident's id, never an OR of the
        two: PostgreSQL cannot turn an IN inside an OR into a join, so it walked the whole
        table in the sort's index testing each row against the hashed hits ("INC112" sorted
        by priority). As one IN both databases start from the hits and look the rows up.
        """
        hits = search.matching_ids(self._dialect, text_query)
        number = typed_number(text_query)
        if hits is None:
            # Text without a word (only punctuation) matches nothing, as it does alone.
            return false()
        if number is None:
            return IncidentRecord.id.in_(hits)
        # Its own FROM (never correlated with the outer incidents); first, as a compound
        # select must start with a Select.
        by_number = select(Named.id).where(Named.number == number).correlate(None)
        return IncidentRecord.id.in_(union_all(by_number, hits))

    def _in_categories(self, category_ids: Sequence[int]) -> ColumnElement[bool]:
        # An incident filed under a subcategory carries its parent as its category (the
        # services check it), so a top-level category needs one column and one index, not
        # an OR over both that no index can order.
        parents = dict(self._session.execute(
            select(CategoryRecord.id, CategoryRecord.parent_id)
            .where(CategoryRecord.id.in_(category_ids))).tuples().all())
        tops = [c for c in category_ids if parents.get(c) is None]
        subs = [c for c in category_ids if parents.get(c) is not None]
        parts: list[ColumnElement[bool]] = []
        if tops:
            parts.append(IncidentRecord.category_id.in_(tops))
        if subs:
            parts.append(IncidentRecord.subcategory_id.in_(subs))
        return parts[0] if len(parts) == 1 else or_(*parts)

    @staticmethod
    def _breached(now: datetime) -> ColumnElement[bool]:
        # The stored flag covers clocks that stopped (on hold, resolved) past their due time.
        return or_(
            IncidentRecord.resolution_breached.is_(True),
            and_(in_states(ACTIVE_STATES), IncidentRecord.resolution_due_at < now),
        )

    def _at_risk(self, now: datetime) -> ColumnElement[bool]:
        # The domain's rule (sla.AT_RISK_SHARE of the priority's target left), one range per
        # priority so that the (state, resolution_due_at) index still serves it.
        targets = self._session.execute(
            select(PriorityRecord.rank, PriorityRecord.resolution_minutes)).all()
        per_priority = [
            and_(IncidentRecord.priority == rank,
                 IncidentRecord.resolution_due_at
                 < now + timedelta(minutes=minutes * AT_RISK_SHARE))
            for rank, minutes in targets
        ]
        return and_(in_states(ACTIVE_STATES), or_(*per_priority) if per_priority else false())

    def list_queue(self, query: QueueQuery, now: datetime) -> list[IncidentRow]:
        if query.sort == SortKey.NUMBER and _only_text(query.filter):
            return self._text_queue(query)
        key = _SORT_COLUMNS[query.sort]
        if self._dialect == "sqlite" and query.sort in _NAME_WALKS and \
                _only_open(query.filter):
            return self._open_by_name(query, *_NAME_WALKS[query.sort])
        conditions = self._conditions(query.filter, now)
        if query.after is not None:
            value, last_id = query.after
            if query.sort in JOINED_SORTS:
                value = sort_key(str(value))  # the cursor holds the name as shown
            # Typed like the sort column, so datetimes are bound the way they are stored.
            boundary = tuple_(literal(value, key.type), literal(last_id))
            keys = tuple_(key, IncidentRecord.id)
            conditions.append(keys < boundary if query.descending else keys > boundary)
        order = [key.desc(), IncidentRecord.id.desc()] if query.descending else \
            [key.asc(), IncidentRecord.id.asc()]
        # A deferred join: choose the page's ids over incidents alone (and the one table a
        # name sort needs), then join the shown names onto those ids only. When the order
        # needs a sort of every match (a filter with no index in that order), the databases
        # join before they sort: a group with 12,700 open incidents at a million took 104 ms
        # that way, 39 ms this way (SQLite, loaded machine). An indexed order costs the same.
        page = select(IncidentRecord.id).select_from(IncidentRecord)
        if query.sort in JOINED_SORTS:
            page = page.join(*_SORT_JOINS[query.sort][:2], isouter=_SORT_JOINS[query.sort][2])
        page = page.where(*conditions).order_by(*order).limit(query.limit)
        stmt = self._row_select().where(IncidentRecord.id.in_(page))
        rows = self._session.execute(stmt.order_by(*order)).all()
        return [_row(r) for r in rows]

    def _open_by_name(self, query: QueueQuery, table_name: str, foreign_key: str,
                      optional: bool) -> list[IncidentRow]:
        """All open incidents by caller, group or assignee: walk the names' index in order
        and probe each one's incidents.

        Sorting every open incident by a joined name costs 100+ ms at a million; reading the
        names in order stops after a page. Only for the unfiltered open queue: with more
        conditions most names would be probed for nothing, and the planner's own choice
        (sort the few matches) is the right one. Incidents without a group (or assignee)
        are a section of their own: first when ascending (their sort value is ""), last
        when descending. CROSS JOIN is SQLite's way of fixing the join order.
        """
        descending = query.descending
        direction, compare = ("DESC", "<") if descending else ("ASC", ">")
        shown = None if query.after is None else str(query.after[0])
        # The cursor holds the name as shown; the walk compares stored sort keys.
        after_value = None if shown is None else sort_key(shown)
        after_id = None if query.after is None else int(query.after[1])
        sections = ["named", "none"] if descending else ["none", "named"]
        if not optional:
            sections.remove("none")  # every incident has a caller
        if shown is not None:
            # Sections before the cursor's are done; the keyset applies within its own.
            sections = sections[sections.index("none" if shown == "" else "named"):]
        ids: list[int] = []
        for section in sections:
            wanted = query.limit - len(ids)
            if wanted <= 0:
                break
            params: dict[str, Any] = {"limit": wanted}
            resumes = after_value is not None and section == sections[0]
            if section == "none":
                keyset = f"AND i.id {compare} :after_id " if resumes else ""
                sql = (f"SELECT i.id FROM incidents AS i WHERE i.{foreign_key} IS NULL "
                       f"AND i.state IN {_OPEN_SQL} {keyset}ORDER BY i.id {direction} "
                       "LIMIT :limit")
            else:
                keyset = (f"AND (t.sort_key, i.id) {compare} (:after_value, :after_id) "
                          if resumes else "")
                sql = (f"SELECT i.id FROM {table_name} AS t CROSS JOIN incidents AS i "
                       f"ON i.{foreign_key} = t.id WHERE i.state IN {_OPEN_SQL} {keyset}"
                       f"ORDER BY t.sort_key {direction}, i.id {direction} LIMIT :limit")
            if resumes:
                params.update(after_value=after_value, after_id=after_id)
            ids.extend(r[0] for r in self._session.execute(text(sql), params))
        return self._rows_in_order(ids)

    def _rows_in_order(self, ids: list[int]) -> list[IncidentRow]:
        if not ids:
            return []
        rows = {r.id: _row(r) for r in self._session.execute(
            self._row_select().where(IncidentRecord.id.in_(ids)))}
        return [rows[i] for i in ids]

    def _text_queue(self, query: QueueQuery) -> list[IncidentRow]:
        """A search by words alone, newest (or oldest) number first: read in index order.

        The full-text index yields its hits in id order, and ids follow numbers (both are
        handed out in the same transaction, under the counter's lock), so a page is read
        straight off the index instead of sorting every hit. Text that is a number without
        its padding ("INC112", "112") adds the incident it names, found by its number.
        """
        q = search.engine_query(self._dialect, query.filter.text)
        if q is None:
            return []
        after = None if query.after is None else int(query.after[1])
        ids = [r[0] for r in self._session.execute(
            text(search.hits_page_sql(self._dialect, descending=query.descending,
                                      after=after is not None)),
            {"q": q, "limit": query.limit, "after": after})]
        named = self._numbered(query.filter.text)
        if named is not None and (after is None or (
                named < after if query.descending else named > after)):
            ids = sorted({*ids, named}, reverse=query.descending)[:query.limit]
        return self._rows_by_id(ids, descending=query.descending)

    def _numbered(self, text_query: str) -> int | None:
        """The id of the incident ``text_query`` names by number (padding forgiven), if any:
        one look-up in the numbers' unique index."""
        number = typed_number(text_query)
        if number is None:
            return None
        return self._session.execute(
            select(IncidentRecord.id).where(IncidentRecord.number == number)
        ).scalar_one_or_none()

    def _rows_by_id(self, ids: list[int], *, descending: bool = True) -> list[IncidentRow]:
        if not ids:
            return []
        order = IncidentRecord.id.desc() if descending else IncidentRecord.id.asc()
        rows = self._session.execute(
            self._row_select().where(IncidentRecord.id.in_(ids)).order_by(order)).all()
        return [_row(r) for r in rows]

    def count(self, queue_filter: QueueFilter, now: datetime) -> int:
        if _only_text(queue_filter):
            q = search.engine_query(self._dialect, queue_filter.text)
            if q is None:
                return 0
            hits = int(self._session.execute(text(search.count_sql(self._dialect)),
                                              {"q": q}).scalar_one())
            named = self._numbered(queue_filter.text)
            if named is not None and self._session.execute(
                    text(search.is_hit_sql(self._dialect)), {"q": q, "id": named}
            ).first() is None:
                hits += 1  # named by its number, not by its words
            return hits
        stmt = select(func.count()).select_from(IncidentRecord).where(
            *self._conditions(queue_filter, now))
        return int(self._session.execute(stmt).scalar_one())

    def search(self, text_query: str, limit: int) -> list[IncidentRow]:
        q = search.engine_query(self._dialect, text_query)
        if q is None:
            return []
        ids = [r[0] for r in self._session.execute(
            text(search.newest_hits_sql(self._dialect)), {"q": q, "limit": limit})]
        named = self._numbered(text_query)
        if named is not None:
            ids = sorted({*ids, named}, reverse=True)[:limit]
        return self._rows_by_id(ids)

    def activity(self, incident_id: int) -> list[ActivityView]:
        rows = self._session.execute(
            select(ActivityRecord, UserRecord.full_name)
            .outerjoin(UserRecord, UserRecord.id == ActivityRecord.actor_id)
            .where(ActivityRecord.incident_id == incident_id)
            # By time: a call is stamped when it started, before the incident it led to was
            # saved; the id keeps entries of one moment in the order they were written.
            .order_by(ActivityRecord.at, ActivityRecord.id)
        ).all()
        return [
            ActivityView(a.id, a.kind, a.at, name, a.field, a.old_value, a.new_value, a.body,
                         a.call_started_at, a.call_seconds)
            for a, name in rows
        ]

    # --- the call form and the detail form ------------------------------------------------

    def for_caller(self, caller_id: int, open_only: bool, limit: int) -> list[IncidentRow]:
        stmt = self._row_select().where(IncidentRecord.caller_id == caller_id)
        if open_only:
            stmt = stmt.where(IncidentRecord.state.in_(_open_values()))
        # SQLite's caller_id index holds rowids in order: ORDER BY id needs no sort. On
        # PostgreSQL it does not, and the planner may walk the primary key backwards past
        # every newer incident of other callers instead; "id + 0" keeps it on the caller's
        # own rows (an index on (caller_id, id) would make both orders cheap).
        order = IncidentRecord.id if self._dialect == "sqlite" else IncidentRecord.id + 0
        rows = self._session.execute(stmt.order_by(order.desc()).limit(limit))
        return [_row(r) for r in rows]

    def open_on_service(self, service_id: int, limit: int) -> list[IncidentRow]:
        stmt = (self._row_select()
                .where(IncidentRecord.service_id == service_id,
                       IncidentRecord.state.in_(_open_values()))
                .order_by(IncidentRecord.id.desc()).limit(limit))
        return [_row(r) for r in self._session.execute(stmt)]

    def open_matching(self, words: Sequence[str], limit: int) -> list[IncidentRow]:
        query = self._any_word_query(words)
        if query is None:
            return []
        if self._dialect == "sqlite":
            sql = "SELECT rowid FROM incident_search WHERE incident_search MATCH :similar_q"
        else:
            sql = ("SELECT incident_id FROM incident_search "
                   "WHERE document @@ to_tsquery('simple', :similar_q)")
        hits = text(sql).bindparams(similar_q=query).columns(column("id", Integer))
        # Open incidents are a small share of all: the planner walks them and probes the
        # hits, rather than ranking every hit of a common word.
        stmt = (self._row_select()
                .where(IncidentRecord.state.in_(_open_values()), IncidentRecord.id.in_(hits))
                .order_by(IncidentRecord.id.desc()).limit(limit))
        return [_row(r) for r in self._session.execute(stmt)]

    def _any_word_query(self, words: Sequence[str]) -> str | None:
        terms = [t for w in words for t in search.terms(w)][:search.MAX_TERMS]
        if not terms:
            return None
        if self._dialect == "sqlite":
            quoted = [f'"{t}"' for t in terms]
            quoted[-1] += "*"  # the word being typed
            return " OR ".join(quoted)
        parts = [f"'{t}'" for t in terms]
        parts[-1] += ":*"
        return " | ".join(parts)

    def rows(self, incident_ids: Sequence[int]) -> list[IncidentRow]:
        if not incident_ids:
            return []
        stmt = (self._row_select().where(IncidentRecord.id.in_(list(incident_ids)))
                .order_by(IncidentRecord.id.desc()))
        return [_row(r) for r in self._session.execute(stmt)]

    def children(self, parent_id: int) -> list[IncidentRow]:
        stmt = (self._row_select().where(IncidentRecord.parent_id == parent_id)
                .order_by(IncidentRecord.id.desc()))
        return [_row(r) for r in self._session.execute(stmt)]

    def external_ref(self, incident_id: int) -> str | None:
        return self._session.execute(
            select(IncidentRecord.external_ref).where(IncidentRecord.id == incident_id)
        ).scalar_one_or_none()

    def open_cell_counts(self) -> list[CellCount]:
        stmt = (
            select(IncidentRecord.impact, IncidentRecord.urgency, IncidentRecord.priority,
                   func.count())
            .where(in_states(OPEN_STATES))
            .group_by(IncidentRecord.impact, IncidentRecord.urgency, IncidentRecord.priority)
            .order_by(IncidentRecord.impact, IncidentRecord.urgency, IncidentRecord.priority)
        )
        return [CellCount(int(i), int(u), int(p), int(n))
                for i, u, p, n in self._session.execute(stmt)]

    def open_ids_in_cell(self, impact: int, urgency: int) -> list[int]:
        stmt = (select(IncidentRecord.id)
                .where(in_states(OPEN_STATES), IncidentRecord.impact == impact,
                       IncidentRecord.urgency == urgency)
                .order_by(IncidentRecord.id))
        return list(self._session.execute(stmt).scalars())


def _row(r: Any) -> IncidentRow:
    return IncidentRow(
        id=r.id, number=r.number, short_description=r.short_description, state=State(r.state),
        priority=r.priority, impact=r.impact, urgency=r.urgency, channel=Channel(r.channel),
        caller_name=r.caller_name, caller_vip=r.caller_vip, group_name=r.group_name,
        assignee_name=r.assignee_name, opened_at=r.opened_at, updated_at=r.updated_at,
        response_due_at=r.response_due_at, resolution_due_at=r.resolution_due_at,
        sla_paused_since=r.sla_paused_since, resolution_breached=r.resolution_breached,
        is_major=r.is_major, version=r.version,
        escalation=Escalation(r.escalation) if r.escalation else None,
        assignment_group_id=r.assignment_group_id, assignee_id=r.assignee_id,
        configuration_item_name=r.configuration_item_name,
    )


def _open_values() -> list[str]:
    return [s.value for s in State if s.is_open]
