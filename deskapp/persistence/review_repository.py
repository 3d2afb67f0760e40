"""Post-incident reviews in SQL: one row per incident, action items beside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.persistence import live
from deskapp.persistence.tables import (
    IncidentRecord,
    ReviewActionRecord,
    ReviewRecord,
    UserRecord,
)
from deskapp.services.report_dto import (
    ActionItem,
    ActionState,
    ReviewContent,
    ReviewStatus,
    ReviewView,
)

_TEXT_FIELDS = ("summary", "customer_impact", "business_impact", "detection", "root_cause",
                "contributing_factors", "resolution", "went_well", "went_badly",
                "lessons_learned")

Author = aliased(UserRecord, name="author")
Editor = aliased(UserRecord, name="editor")
Finalizer = aliased(UserRecord, name="finalizer")


def _content_values(content: ReviewContent) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(content, name) for name in _TEXT_FIELDS}
    values["detected_at"] = content.detected_at
    return values


class SqlReviewRepository:
    """ReviewRepository over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _select(self) -> Any:
        return (
            select(ReviewRecord, IncidentRecord.number, Author.full_name, Editor.full_name,
                   Finalizer.full_name)
            .join(IncidentRecord, IncidentRecord.id == ReviewRecord.incident_id)
            .join(Author, Author.id == ReviewRecord.author_id)
            .join(Editor, Editor.id == ReviewRecord.updated_by_id)
            .outerjoin(Finalizer, Finalizer.id == ReviewRecord.finalized_by_id)
        )

    def _views(self, rows: Sequence[Any]) -> list[ReviewView]:
        if not rows:
            return []
        ids = [row[0].id for row in rows]
        items: dict[int, list[ActionItem]] = {i: [] for i in ids}
        for a in self._session.execute(
            select(ReviewActionRecord).where(ReviewActionRecord.review_id.in_(ids))
            .order_by(ReviewActionRecord.review_id, ReviewActionRecord.position)
        ).scalars():
            items[a.review_id].append(ActionItem(a.description, a.owner, a.due,
                                                 ActionState(a.state)))
        views = []
        for record, number, author, editor, finalizer in rows:
            content = ReviewContent(
                **{name: getattr(record, name) for name in _TEXT_FIELDS},
                detected_at=record.detected_at,
                action_items=tuple(items[record.id]),
            )
            views.append(ReviewView(
                id=record.id, incident_id=record.incident_id, incident_number=number,
                status=ReviewStatus(record.status), content=content, version=record.version,
                author_name=author, created_at=record.created_at,
                updated_at=record.updated_at, updated_by_name=editor,
                finalized_at=record.finalized_at, finalized_by_name=finalizer,
            ))
        return views

    def get(self, review_id: int) -> ReviewView:
        rows = self._session.execute(self._select().where(ReviewRecord.id == review_id)).all()
        if not rows:
            raise NotFoundError(f"There is no review with id {review_id}.")
        return self._views(rows)[0]

    def for_incident(self, incident_id: int) -> ReviewView | None:
        rows = self._session.execute(
            self._select().where(ReviewRecord.incident_id == incident_id)).all()
        views = self._views(rows)
        return views[0] if views else None

    def for_incidents(self, incident_ids: Sequence[int]) -> list[ReviewView]:
        if not incident_ids:
            return []
        rows = self._session.execute(
            self._select().where(ReviewRecord.incident_id.in_(list(incident_ids)))).all()
        return self._views(rows)

    def add(self, incident_id: int, content: ReviewContent, author_id: int,
            now: datetime) -> ReviewView:
        values = _content_values(content)
        try:
            # A savepoint: a review begun meanwhile by someone else must not end the
            # whole transaction, so that the conflict can be explained.
            with self._session.begin_nested():
                review_id = self._session.execute(
                    insert(ReviewRecord).values(
                        incident_id=incident_id, status=ReviewStatus.DRAFT.value,
                        author_id=author_id, created_at=now, updated_at=now,
                        updated_by_id=author_id, version=1, **values)
                    .returning(ReviewRecord.id)
                ).scalar_one()
        except IntegrityError:
            existing = self.for_incident(incident_id)
            if existing is None:
                raise
            raise ConflictError(f"The review of {existing.incident_number}",
                                existing.updated_by_name, existing.updated_at,
                                existing.version) from None
        self._write_items(review_id, content)
        live.note_changed(self._session, (incident_id,))
        return self.get(review_id)

    def save(self, review_id: int, expected_version: int, content: ReviewContent,
             actor_id: int, now: datetime) -> ReviewView:
        self._claim(review_id, expected_version, actor_id, now, _content_values(content))
        self._session.execute(
            delete(ReviewActionRecord).where(ReviewActionRecord.review_id == review_id))
        self._write_items(review_id, content)
        return self.get(review_id)

    def set_status(self, review_id: int, expected_version: int, status: ReviewStatus,
                   actor_id: int, now: datetime) -> ReviewView:
        final = status == ReviewStatus.FINAL
        self._claim(review_id, expected_version, actor_id, now, {
            "status": status.value,
            "finalized_at": now if final else None,
            "finalized_by_id": actor_id if final else None,
        })
        return self.get(review_id)

    def _claim(self, review_id: int, expected_version: int, actor_id: int, now: datetime,
               values: dict[str, Any]) -> None:
        # The version test and the write are one statement: two saves from the same
        # version cannot both succeed, on either database.
        result = self._session.execute(
            update(ReviewRecord)
            .where(ReviewRecord.id == review_id, ReviewRecord.version == expected_version)
            .values(version=expected_version + 1, updated_at=now, updated_by_id=actor_id,
                    **values)
            .returning(ReviewRecord.incident_id)
        ).scalar_one_or_none()
        if result is None:
            current = self.get(review_id)  # NotFoundError if it is gone
            raise ConflictError(f"The review of {current.incident_number}",
                                current.updated_by_name, current.updated_at, current.version)
        live.note_changed(self._session, (result,))

    def _write_items(self, review_id: int, content: ReviewContent) -> None:
        if content.action_items:
            self._session.execute(insert(ReviewActionRecord), [
                {"review_id": review_id, "position": i, "description": item.description,
                 "owner": item.owner, "due": item.due, "state": item.state.value}
                for i, item in enumerate(content.action_items)
            ])
