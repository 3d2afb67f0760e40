"""The rules of the Incident aggregate, with SLA clocks and holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskapp.domain.activity import ActivityEntry, time_in_states
from deskapp.domain.enums import ActivityKind, Channel, HoldReason, ResolutionCode, State
from deskapp.domain.errors import TransitionError, ValidationError
from deskapp.domain.incident import MAX_SHORT_DESCRIPTION, Incident, format_number
from deskapp.domain.priority import default_matrix

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = 7


def new_incident(impact: int = 2, urgency: int = 2) -> Incident:
    return Incident.open(caller_id=1, channel=Channel.PHONE, short_description="VPN drops",
                         impact=impact, urgency=urgency, matrix=default_matrix(),
                         opened_at=T0, opened_by_id=AGENT)


def test_number_format() -> None:
    assert format_number(1) == "INC0000001"
    assert format_number(12345678) == "INC12345678"


def test_priority_and_due_times_come_from_the_matrix() -> None:
    incident = new_incident(1, 1)
    assert incident.priority == 1
    assert incident.response_due_at == T0 + timedelta(minutes=15)
    assert incident.resolution_due_at == T0 + timedelta(hours=4)
    assert [e.kind for e in incident.pending] == [ActivityKind.CREATED]


def test_short_description_is_required_and_bounded() -> None:
    with pytest.raises(ValidationError, match="required"):
        Incident.open(caller_id=1, channel=Channel.PHONE, short_description="  ", impact=1,
                      urgency=1, matrix=default_matrix(), opened_at=T0, opened_by_id=None)
    with pytest.raises(ValidationError, match=f"at most {MAX_SHORT_DESCRIPTION}"):
        Incident.open(caller_id=1, channel=Channel.PHONE,
                      short_description="x" * (MAX_SHORT_DESCRIPTION + 1), impact=1,
                      urgency=1, matrix=default_matrix(), opened_at=T0, opened_by_id=None)


def test_reclassifying_rederives_priority_and_due_times() -> None:
    incident = new_incident(3, 3)
    incident.take_pending()
    incident.classify(1, 1, default_matrix(), AGENT, T0 + timedelta(minutes=5))
    assert incident.priority == 1
    assert incident.resolution_due_at == T0 + timedelta(hours=4)
    fields = [e.field for e in incident.pending]
    assert fields == ["impact", "urgency", "priority"]


def test_hold_needs_a_reason_and_stops_the_clock() -> None:
    incident = new_incident(2, 2)  # P3: 24 h to resolve
    with pytest.raises(ValidationError, match="on hold"):
        incident.transition(State.ON_HOLD, AGENT, T0)
    incident.transition(State.ON_HOLD, AGENT, T0 + timedelta(hours=1),
                        hold_reason=HoldReason.AWAITING_CALLER)
    assert str(incident.hold_reason) == HoldReason.AWAITING_CALLER.value
    status = incident.sla_status(T0 + timedelta(days=5), default_matrix())
    assert status.remaining == timedelta(hours=23)
    assert not status.resolution_breached
    incident.transition(State.IN_PROGRESS, AGENT, T0 + timedelta(hours=11))
    assert incident.hold_reason is None
    assert incident.sla_paused_seconds == 10 * 3600
    assert incident.resolution_due_at == T0 + timedelta(hours=34)
    assert incident.sla_status(T0 + timedelta(hours=33), default_matrix()).at_risk
    assert incident.sla_status(T0 + timedelta(hours=35), default_matrix()).resolution_breached


def test_first_response_and_its_breach() -> None:
    incident = new_incident(1, 1)  # response due in 15 min
    incident.transition(State.IN_PROGRESS, AGENT, T0 + timedelta(minutes=20))
    assert incident.first_response_at == T0 + timedelta(minutes=20)
    assert incident.response_breached


def test_a_comment_is_a_first_response() -> None:
    incident = new_incident(1, 1)
    incident.add_comment("We are on it", AGENT, T0 + timedelta(minutes=5))
    assert incident.first_response_at == T0 + timedelta(minutes=5)
    assert not incident.response_breached


def test_resolving_requires_code_and_notes() -> None:
    incident = new_incident()
    with pytest.raises(ValidationError, match="resolution code"):
        incident.transition(State.RESOLVED, AGENT, T0, resolution_notes="done")
    with pytest.raises(ValidationError, match="Resolution notes is required"):
        incident.transition(State.RESOLVED, AGENT, T0,
                            resolution_code=ResolutionCode.SOLVED_REMOTELY, resolution_notes=" ")
    assert incident.state is State.NEW
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=2),
                        resolution_code=ResolutionCode.SOLVED_REMOTELY,
                        resolution_notes="Reset the VPN profile")
    assert incident.resolved_at == T0 + timedelta(hours=2)
    assert not incident.resolution_breached


def test_late_resolution_is_a_breach_fact() -> None:
    incident = new_incident(1, 1)
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=5),
                        resolution_code=ResolutionCode.SOLVED_PERMANENTLY, resolution_notes="ok")
    assert incident.resolution_breached


def test_reopening_counts_and_restarts_the_clock() -> None:
    incident = new_incident()
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=1),
                        resolution_code=ResolutionCode.SOLVED_PERMANENTLY, resolution_notes="ok")
    incident.reopen(AGENT, T0 + timedelta(hours=3), "Still broken")
    assert incident.state is State.IN_PROGRESS
    assert incident.reopen_count == 1
    assert incident.resolved_at is None
    assert incident.resolution_due_at == T0 + timedelta(hours=26)
    assert incident.pending[-1].body == "Still broken"


def test_reopen_needs_a_resolved_incident_and_a_reason() -> None:
    incident = new_incident()
    with pytest.raises(TransitionError, match="Only a resolved"):
        incident.reopen(AGENT, T0, "why")
    incident.transition(State.RESOLVED, AGENT, T0, resolution_code=ResolutionCode.DUPLICATE,
                        resolution_notes="dup")
    with pytest.raises(ValidationError):
        incident.reopen(AGENT, T0, "")


def test_closed_is_final() -> None:
    incident = new_incident()
    incident.transition(State.RESOLVED, AGENT, T0, resolution_code=ResolutionCode.DUPLICATE,
                        resolution_notes="dup")
    incident.transition(State.CLOSED, AGENT, T0 + timedelta(days=1))
    assert incident.closed_at == T0 + timedelta(days=1)
    with pytest.raises(TransitionError):
        incident.transition(State.IN_PROGRESS, AGENT, T0)
    with pytest.raises(TransitionError):
        incident.edit(AGENT, T0, short_description="new")
    with pytest.raises(TransitionError):
        incident.add_work_note("late", AGENT, T0)


def test_assignment_counts_reassignments_only() -> None:
    incident = new_incident()
    assert incident.assign(10, None, AGENT, T0)
    assert incident.reassignment_count == 0
    assert incident.assign(10, 5, AGENT, T0)
    assert incident.reassignment_count == 1
    assert not incident.assign(10, 5, AGENT, T0)
    assert incident.reassignment_count == 1
    assert incident.assign(11, None, AGENT, T0)
    assert incident.reassignment_count == 2
    kinds = {e.kind for e in incident.pending if e.field in ("assignee_id",
                                                              "assignment_group_id")}
    assert kinds == {ActivityKind.ASSIGNMENT}


def test_edit_records_old_and_new_values() -> None:
    incident = new_incident()
    incident.take_pending()
    changed = incident.edit(AGENT, T0, short_description="VPN drops hourly", description="")
    assert changed == ["short_description"]
    entry = incident.pending[0]
    assert (entry.field, entry.old_value, entry.new_value) == (
        "short_description", "VPN drops", "VPN drops hourly")


def test_edit_refuses_fields_with_their_own_rules() -> None:
    incident = new_incident()
    with pytest.raises(ValidationError, match="cannot be edited directly"):
        incident.edit(AGENT, T0, priority=1)
    with pytest.raises(ValidationError, match="cannot be edited directly"):
        incident.edit(AGENT, T0, state="closed")


def test_a_call_is_logged_with_start_and_duration() -> None:
    incident = new_incident()
    incident.log_call(T0 - timedelta(minutes=3), 180, "Caller on mobile", AGENT)
    entry = incident.pending[-1]
    assert entry.kind is ActivityKind.CALL
    assert (entry.call_started_at, entry.call_seconds) == (T0 - timedelta(minutes=3), 180)
    with pytest.raises(ValidationError):
        incident.log_call(T0, -1, "", AGENT)


def test_reopening_withdraws_the_resolution_and_records_it() -> None:
    incident = new_incident()
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=1),
                        resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                        resolution_notes="Reinstalled the client")
    incident.take_pending()
    incident.reopen(AGENT + 1, T0 + timedelta(hours=2), "Still drops")
    assert (incident.resolution_code, incident.resolution_notes) == (None, "")
    withdrawn = [(e.field, e.old_value, e.new_value, e.actor_id) for e in incident.pending
                 if e.field in ("resolution_code", "resolution_notes")]
    assert withdrawn == [("resolution_code", "solved_permanently", None, AGENT + 1),
                         ("resolution_notes", "Reinstalled the client", None, AGENT + 1)]


def test_closing_keeps_the_resolution() -> None:
    incident = new_incident()
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=1),
                        resolution_code=ResolutionCode.SOLVED_WORKAROUND, resolution_notes="Reboot")
    incident.transition(State.CLOSED, AGENT, T0 + timedelta(days=3))
    assert (incident.resolution_code, incident.resolution_notes) == (
        ResolutionCode.SOLVED_WORKAROUND, "Reboot")


def test_a_resolved_incidents_breach_flag_is_its_verdict() -> None:
    # Imported: resolved after its due time, but the other tool's clock said it met the SLA.
    incident = new_incident()  # P3: due T0 + 24 h
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=2),
                        resolution_code=ResolutionCode.SOLVED_PERMANENTLY, resolution_notes="x")
    incident.transition(State.CLOSED, AGENT, T0 + timedelta(days=2))
    incident.resolved_at = incident.sla_paused_since = T0 + timedelta(days=9)
    assert not incident.sla_status(T0 + timedelta(days=30), default_matrix()).resolution_breached
    incident.resolution_breached = True
    assert incident.sla_status(T0 + timedelta(days=30), default_matrix()).resolution_breached


def test_an_open_incidents_verdict_is_its_due_time() -> None:
    incident = new_incident()  # P3: due T0 + 24 h
    assert not incident.sla_status(T0 + timedelta(hours=23), default_matrix()) \
        .resolution_breached
    assert incident.sla_status(T0 + timedelta(hours=25), default_matrix()).resolution_breached


def test_time_on_hold_leaves_out_time_spent_resolved() -> None:
    incident = new_incident()
    incident.transition(State.ON_HOLD, AGENT, T0 + timedelta(hours=1),
                        hold_reason=HoldReason.AWAITING_CALLER)
    incident.transition(State.IN_PROGRESS, AGENT, T0 + timedelta(hours=3))
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=4),
                        resolution_code=ResolutionCode.SOLVED_PERMANENTLY, resolution_notes="x")
    incident.reopen(AGENT, T0 + timedelta(hours=9), "Back again")
    spent = time_in_states(T0, incident.pending, T0 + timedelta(hours=10))
    assert spent[State.ON_HOLD] == timedelta(hours=2)
    assert spent[State.RESOLVED] == timedelta(hours=5)
    assert spent[State.IN_PROGRESS] == timedelta(hours=2)
    # The SLA clock was paused for both: that is not time on hold.
    assert incident.sla_paused_seconds == 7 * 3600


def test_never_on_hold_has_no_time_on_hold() -> None:
    incident = new_incident()
    incident.transition(State.RESOLVED, AGENT, T0 + timedelta(hours=4),
                        resolution_code=ResolutionCode.SOLVED_PERMANENTLY, resolution_notes="x")
    incident.reopen(AGENT, T0 + timedelta(hours=4, seconds=20), "Back again")
    assert State.ON_HOLD not in time_in_states(T0, incident.pending, T0 + timedelta(hours=5))


def test_a_timeline_out_of_order_counts_no_negative_time() -> None:
    """Entries stamped by desktops whose clocks disagree: one before the opening, one
    before the entry it follows, and "now" before the last one. No state gets negative
    time (which would shrink the time on hold or in progress of a review)."""
    def moved(to: State, at: datetime) -> ActivityEntry:
        return ActivityEntry(ActivityKind.STATE_CHANGE, at, AGENT, "state", None, to.value)

    timeline = [moved(State.IN_PROGRESS, T0 - timedelta(minutes=5)),
                moved(State.ON_HOLD, T0 + timedelta(hours=1)),
                moved(State.IN_PROGRESS, T0 + timedelta(minutes=50))]
    spent = time_in_states(T0, timeline, T0 + timedelta(minutes=40))
    assert spent == {State.NEW: timedelta(0), State.ON_HOLD: timedelta(0),
                     State.IN_PROGRESS: timedelta(hours=1, minutes=5)}
