"""Post-incident reviews: drafted and edited by several people, then marked final.

A review belongs to one incident (usually a major one). Like an incident, it carries the
version it was read at: a save from an older version is a ConflictError that names who saved
in between and when, never a silent overwrite. A final review is read-only until someone
allowed to sign reviews off makes it a draft again.
"""

from __future__ import annotations

from deskapp.domain.errors import PermissionDeniedError, TransitionError, ValidationError
from deskapp.domain.people import User
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.incidents import utc_now
from deskapp.services.permissions import Permission, allowed
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as
from deskapp.services.report_dto import (
    ActionItem,
    ActionState,
    ReviewContent,
    ReviewFormData,
    ReviewStatus,
    ReviewView,
)

MAX_TEXT = 32_000
MAX_ACTION = 1_000
MAX_OWNER = 120
MAX_ACTIONS = 200

FIELD_LABELS = {
    "summary": "Summary",
    "customer_impact": "Customer impact",
    "business_impact": "Business impact",
    "detection": "Detection",
    "root_cause": "Root cause",
    "contributing_factors": "Contributing factors",
    "resolution": "Resolution and recovery",
    "went_well": "What went well",
    "went_badly": "What went badly",
    "lessons_learned": "Lessons learned",
}
"""The review's text fields in the order the form and the PDF show them."""

EDIT_PERMISSIONS = (Permission.EDIT, Permission.EXPORT_REPORTS)
"""Agents who worked the incident draft reviews; leads and managers run them."""
SIGN_OFF_PERMISSION = Permission.EXPORT_REPORTS
"""Marking a review final (or a draft again) is for leads, managers and admins."""


def clean_content(content: ReviewContent) -> ReviewContent:
    """The content trimmed and checked.

    Raises:
        ValidationError: a text is too long, or an action item has no description or too
            long an owner.
    """
    texts: dict[str, str] = {}
    for name, label in FIELD_LABELS.items():
        value = (getattr(content, name) or "").strip()
        if len(value) > MAX_TEXT:
            raise ValidationError(f"{label} is {len(value):,} characters long; at most "
                                  f"{MAX_TEXT:,} are allowed.", field=name)
        texts[name] = value
    if len(content.action_items) > MAX_ACTIONS:
        raise ValidationError(f"A review holds at most {MAX_ACTIONS} action items.",
                              field="action_items")
    items = []
    for number, item in enumerate(content.action_items, start=1):
        description = " ".join(item.description.split())
        owner = " ".join(item.owner.split())
        if not description:
            raise ValidationError(f"Action item {number} needs a description.",
                                  field="action_items")
        if len(description) > MAX_ACTION:
            raise ValidationError(f"Action item {number} is longer than {MAX_ACTION:,} "
                                  "characters.", field="action_items")
        if len(owner) > MAX_OWNER:
            raise ValidationError(f"The owner of action item {number} is longer than "
                                  f"{MAX_OWNER} characters.", field="action_items")
        items.append(ActionItem(description, owner, item.due, ActionState(item.state)))
    return ReviewContent(**texts, detected_at=content.detected_at, action_items=tuple(items))


class ReviewService:
    """Everything done to post-incident reviews, as the signed-in user."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock

    def _actor(self, uow: UnitOfWork, *permissions: Permission) -> User:
        actor = uow.users.get(self._actor_id)
        if permissions and not any(allowed(actor, p) for p in permissions):
            raise PermissionDeniedError(
                f"{actor.full_name} ({actor.role.value}) may not "
                f"{'sign off' if permissions == (SIGN_OFF_PERMISSION,) else 'edit'} "
                "post-incident reviews.")
        return actor

    def can_edit(self) -> bool:
        """Whether the signed-in user may draft and edit reviews."""
        with self._uow() as uow:
            actor = uow.users.get(self._actor_id)
        return any(allowed(actor, p) for p in EDIT_PERMISSIONS)

    def can_sign_off(self) -> bool:
        """Whether the signed-in user may mark reviews final, or draft again."""
        with self._uow() as uow:
            actor = uow.users.get(self._actor_id)
        return allowed(actor, SIGN_OFF_PERMISSION)

    def load(self, incident_id: int) -> ReviewFormData:
        """The incident and its review (None if nobody has begun one), read at once."""
        with self._uow() as uow:
            rows = uow.incidents.rows([incident_id])
            if not rows:
                uow.incidents.get(incident_id)  # raises NotFoundError
            return ReviewFormData(rows[0], uow.reviews.for_incident(incident_id))

    def save(self, incident_id: int, content: ReviewContent, *, review_id: int | None = None,
             version: int | None = None) -> tuple[ReviewView, Change]:
        """Begin the incident's review (``review_id`` None) or save it at ``version``.

        Raises:
            ConflictError: someone saved the review after ``version`` (or began it while this
                user was writing the first draft); nothing was written.
            TransitionError: the review is final.
            ValidationError, PermissionDeniedError: nothing was written.
        """
        content = clean_content(content)
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, *EDIT_PERMISSIONS)
            if review_id is None:
                uow.incidents.get(incident_id)  # NotFoundError before anything is written
                view = uow.reviews.add(incident_id, content, self._actor_id, now)
            else:
                if version is None:
                    raise ValueError("Saving an existing review needs the version it was "
                                     "read at.")
                current = self._current(uow, incident_id, review_id)
                if current.status == ReviewStatus.FINAL and current.version == version:
                    raise TransitionError(f"The review of {current.incident_number} is final; "
                                          "make it a draft again to change it.")
                view = uow.reviews.save(review_id, version, content, self._actor_id, now)
            uow.commit()
        return view, self._change(incident_id)

    def mark_final(self, incident_id: int, review_id: int,
                   version: int) -> tuple[ReviewView, Change]:
        """Sign the review off: it becomes read-only, and the final version for reports.

        Raises:
            ValidationError: the review has no summary or no root cause yet.
            ConflictError: it changed after ``version``.
        """
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, SIGN_OFF_PERMISSION)
            current = self._current(uow, incident_id, review_id)
            if current.version == version:
                missing = [FIELD_LABELS[name] for name in ("summary", "root_cause")
                           if not getattr(current.content, name)]
                if missing:
                    raise ValidationError("A review needs " + " and ".join(
                        m.lower() for m in missing) + " before it is final.", field="summary")
            view = uow.reviews.set_status(review_id, version, ReviewStatus.FINAL,
                                          self._actor_id, now)
            uow.commit()
        return view, self._change(incident_id)

    def reopen_draft(self, incident_id: int, review_id: int,
                     version: int) -> tuple[ReviewView, Change]:
        """Make a final review a draft again, so that it can be corrected."""
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, SIGN_OFF_PERMISSION)
            self._current(uow, incident_id, review_id)
            view = uow.reviews.set_status(review_id, version, ReviewStatus.DRAFT,
                                          self._actor_id, now)
            uow.commit()
        return view, self._change(incident_id)

    @staticmethod
    def _current(uow: UnitOfWork, incident_id: int, review_id: int) -> ReviewView:
        current = uow.reviews.for_incident(incident_id)
        if current is None or current.id != review_id:
            raise ValidationError("That review does not belong to this incident.")
        return current

    def _change(self, incident_id: int) -> Change:
        # A review is not part of the incident: no incident field changed, so no kinds; the
        # id still tells views that show the incident's review to reload it.
        return Change(frozenset({incident_id}), frozenset({ChangeKind.REVIEW}), self._actor_id)
