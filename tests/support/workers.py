"""Functions run in child processes by the concurrency tests (importable by 'spawn')."""

from __future__ import annotations

from deskapp.persistence.database import open_database
from deskapp.services.incidents import IncidentService, LogCallRequest


def log_calls(url: str, user_id: int, caller_id: int, count: int, tag: str) -> list[str]:
    """Log ``count`` incidents as fast as possible; return their numbers."""
    database = open_database(url, upgrade=False)
    try:
        service = IncidentService(database.uow_factory, user_id)
        numbers = []
        for i in range(count):
            detail, _ = service.log_call(LogCallRequest(caller_id, f"{tag} call {i}", 2, 2))
            numbers.append(detail.number)
        return numbers
    finally:
        database.close()
