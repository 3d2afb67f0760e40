"""Incidents dragged out of a queue: which ones, at which version, as MIME data.

The queue table packs the selected rows (id, version and number) into its MIME data; a
drop target (the workload view) unpacks them and reassigns exactly those versions, so a
row that changed since it was dragged is reported as a conflict, never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QMimeData

INCIDENTS_MIME_TYPE = "application/x-deskapp-incidents"
"""Our own type: a JSON list of {"id", "version", "number"} objects."""


@dataclass(frozen=True)
class DraggedIncident:
    """One incident as the queue showed it when it was dragged."""

    id: int
    version: int
    number: str


def pack_incidents(incidents: Iterable[DraggedIncident]) -> QMimeData:
    """MIME data carrying these incidents (and their numbers as plain text, for editors)."""
    items = list(incidents)
    data = QMimeData()
    payload = json.dumps([{"id": i.id, "version": i.version, "number": i.number}
                          for i in items])
    data.setData(INCIDENTS_MIME_TYPE, QByteArray(payload.encode("utf-8")))
    data.setText("\n".join(i.number for i in items))
    return data


def unpack_incidents(data: QMimeData | None) -> list[DraggedIncident]:
    """The incidents in MIME data; an empty list for anything else or anything malformed."""
    if data is None or not data.hasFormat(INCIDENTS_MIME_TYPE):
        return []
    try:
        raw = json.loads(bytes(data.data(INCIDENTS_MIME_TYPE).data()).decode("utf-8"))
        return [DraggedIncident(int(item["id"]), int(item["version"]), str(item["number"]))
                for item in raw]
    except (ValueError, TypeError, KeyError):
        return []
