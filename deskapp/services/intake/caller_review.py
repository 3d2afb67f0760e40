"""Callers made from unknown email senders, for an agent to check and mark reviewed.

The email intake cannot know whether "j.smith@example.com" is an existing caller under
another address or someone new: it makes a caller and flags it. Agents look at the list,
fix or merge the caller if needed, and take the flag off here.
"""

from __future__ import annotations

from dataclasses import dataclass

from deskapp.services.permissions import Permission, allowed, require
from deskapp.services.ports import UnitOfWorkFactory, acting_as

CALLER_REVIEWED = "caller_reviewed"
"""The audit trail's action for a flag taken off."""
REVIEW_PERMISSION = Permission.EDIT
"""Who may clear the flag: those who may edit incidents (agents, leads, admins)."""


@dataclass(frozen=True)
class CallerToReview:
    """One flagged caller, with the incident that made it.

    Attributes:
        caller_id: The caller.
        name: As taken from the sender's display name (or the address).
        email: The sender's address.
        first_incident: Number of its first incident; empty if it has none (any more).
        first_subject: That incident's short description.
    """

    caller_id: int
    name: str
    email: str
    first_incident: str = ""
    first_subject: str = ""


class CallerReviewService:
    """Lists the callers to review and clears their flag, as ``actor_id``.

    Args:
        uow_factory: Opens units of work.
        actor_id: The signed-in user.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id

    def may_review(self) -> bool:
        """Whether the actor may mark callers reviewed (the dialog is read-only otherwise)."""
        with self._uow() as uow:
            return allowed(uow.users.get(self._actor_id), REVIEW_PERMISSION)

    def callers_to_review(self) -> list[CallerToReview]:
        """The flagged callers, oldest first."""
        with self._uow() as uow:
            callers = uow.email_intake.callers_for_review()
            first = uow.email_intake.first_incidents([c.id for c in callers])
        return [CallerToReview(c.id, c.name, c.email, *first.get(c.id, ("", "")))
                for c in callers]

    def mark_reviewed(self, caller_id: int) -> bool:
        """Take the flag off; False if someone else already had (nothing to do then).

        Raises:
            PermissionDeniedError: the actor may not edit.
        """
        with self._uow(write=True) as uow:
            require(uow.users.get(self._actor_id), REVIEW_PERMISSION)
            cleared = uow.email_intake.clear_review(caller_id)
            if cleared:
                uow.audit.record(CALLER_REVIEWED, actor_id=self._actor_id, entity="caller",
                                 entity_id=caller_id)
            uow.commit()
        return cleared
