"""Incidents written in bulk for tests that need hundreds of them (quicker than as many calls)."""

from __future__ import annotations

from datetime import datetime

from deskapp.domain.enums import Channel
from deskapp.domain.incident import Incident, format_number
from deskapp.persistence.database import Database


def bulk_open(database: Database, count: int, opened_at: datetime, *, caller_id: int,
              short: str = "Laptop {n} slow", impact: int = 2, urgency: int = 2,
              channel: Channel = Channel.PHONE, group_id: int | None = None) -> list[int]:
    """``count`` new incidents of the caller (``short`` formatted with ``n``), their ids."""
    with database.uow_factory(write=True) as uow:
        matrix = uow.matrix.current()
        ids = uow.bulk.reserve_ids(count)
        first = uow.bulk.reserve_numbers(count)
        incidents = []
        for n, incident_id in enumerate(ids):
            incident = Incident.open(
                caller_id=caller_id, channel=channel, short_description=short.format(n=n),
                impact=impact, urgency=urgency, matrix=matrix, opened_at=opened_at,
                opened_by_id=None, assignment_group_id=group_id)
            incident.id, incident.number, incident.version = \
                incident_id, format_number(first + n), 1
            incidents.append(incident)
        uow.bulk.add_incidents(incidents)
        uow.commit()
    return ids
