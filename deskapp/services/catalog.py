"""What the call form and the detail form pick from: the catalogue, groups, agents, the matrix.

One call at form start-up loads the small, slowly changing lists (categories, services,
groups, agents, the priority matrix); the priority and due times are then previewed in the
GUI thread from the matrix, with no database call per keystroke.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from deskapp.domain import sla
from deskapp.domain.errors import ValidationError
from deskapp.domain.priority import PriorityMatrix
from deskapp.domain.text import natural_sort_key
from deskapp.services.dto import CategoryView, ConfigurationItemView, ServiceView
from deskapp.services.ports import CatalogRepository, UnitOfWorkFactory


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


_Named = TypeVar("_Named", bound=_HasId)


def _by_name(rows: Iterable[_Named], name: Callable[[_Named], str]) -> tuple[_Named, ...]:
    """``rows`` in natural order of their names (digits by value, case ignored), then id."""
    return tuple(sorted(rows, key=lambda r: (natural_sort_key(name(r)), r.id)))


@dataclass(frozen=True)
class GroupView:
    """An assignment group, for the assignment pickers."""

    id: int
    name: str
    active: bool = True
    """Inactive groups are named on existing incidents but offered for no new work."""


@dataclass(frozen=True)
class AgentView:
    """Someone who can be assigned incidents."""

    id: int
    full_name: str
    active: bool
    away: bool


@dataclass(frozen=True)
class FormCatalog:
    """The reference data a form picks from, read once when it opens."""

    categories: tuple[CategoryView, ...]
    services: tuple[ServiceView, ...]
    groups: tuple[GroupView, ...]
    """Every group (inactive ones too, to name them); ``active_groups`` are offered."""
    agents: tuple[AgentView, ...]
    """Every person of the desk, so that any assignee or author can be named."""
    matrix: PriorityMatrix
    configuration_items: tuple[ConfigurationItemView, ...] = ()

    def active_groups(self) -> list[GroupView]:
        """The groups new work may go to."""
        return [g for g in self.groups if g.active]

    # The pickers offer active rows only, plus ``keep``: what an incident already holds stays
    # visible (and kept) even after an admin deactivated it.

    def top_categories(self, keep: int | None = None) -> list[CategoryView]:
        """The categories a new choice may take (and ``keep``)."""
        return [c for c in self.categories
                if c.parent_id is None and (c.active or c.id == keep)]

    def subcategories(self, category_id: int | None,
                      keep: int | None = None) -> list[CategoryView]:
        """The subcategories of ``category_id`` a new choice may take (and ``keep``)."""
        if category_id is None:
            return []
        return [c for c in self.categories
                if c.parent_id == category_id and (c.active or c.id == keep)]

    def active_services(self, keep: int | None = None) -> list[ServiceView]:
        """The services a new choice may take (and ``keep``)."""
        return [s for s in self.services if s.active or s.id == keep]

    def configuration_items_for(self, service_id: int | None,
                                keep: int | None = None) -> list[ConfigurationItemView]:
        """The configuration items a new choice may take: those of the service when one is
        chosen, all otherwise (and ``keep``)."""
        return [ci for ci in self.configuration_items
                if ci.id == keep or (ci.active and (service_id is None
                                                    or ci.service_id == service_id))]

    def configuration_item_name(self, ci_id: int | None) -> str:
        return next((ci.name for ci in self.configuration_items if ci.id == ci_id), "")

    def category_name(self, category_id: int | None) -> str:
        return next((c.name for c in self.categories if c.id == category_id), "")

    def service_name(self, service_id: int | None) -> str:
        return next((s.name for s in self.services if s.id == service_id), "")

    def group_name(self, group_id: int | None) -> str:
        return next((g.name for g in self.groups if g.id == group_id), "")

    def agent_name(self, agent_id: int | None) -> str:
        return next((a.full_name for a in self.agents if a.id == agent_id), "")


def require_in_use(catalog: CatalogRepository, *, categories: Collection[int] = (),
                   services: Collection[int] = (), items: Collection[int] = (),
                   field: str) -> None:
    """Refuse newly chosen catalogue rows that an admin has deactivated.

    Raises:
        ValidationError: naming them ("The service 'Fax' is no longer in use...").
    """
    inactive = catalog.inactive_names(categories, services, items)
    if inactive:
        names = ", ".join(inactive)
        raise ValidationError(f"{names[0].upper()}{names[1:]} "
                              f"{'is' if len(inactive) == 1 else 'are'} no longer in use; "
                              "choose another.", field=field)


@dataclass(frozen=True)
class PriorityPreview:
    """The priority an impact and urgency give, and the due times it sets."""

    rank: int
    label: str
    colour: str
    response_due_at: datetime
    resolution_due_at: datetime
    response_minutes: int
    resolution_minutes: int


def preview_priority(matrix: PriorityMatrix, impact: int, urgency: int, opened_at: datetime,
                     paused: timedelta = timedelta(0)) -> PriorityPreview:
    """What the matrix says for ``impact`` x ``urgency``, exactly as saving will compute it.

    Raises:
        ValidationError: the levels are not in the matrix.
    """
    priority = matrix.priority_for(impact, urgency)
    return PriorityPreview(
        rank=priority.rank,
        label=priority.label,
        colour=priority.colour,
        response_due_at=sla.response_due(opened_at, priority),
        resolution_due_at=sla.resolution_due(opened_at, priority, paused),
        response_minutes=priority.response_minutes,
        resolution_minutes=priority.resolution_minutes,
    )


class CatalogService:
    """Read-only look-ups for the forms; any signed-in user may read them."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def form_catalog(self) -> FormCatalog:
        """Everything a form picks from, in one read."""
        with self._uow() as uow:
            # Every list in natural order ("Group 2" before "Group 10"), as people read it:
            # the database orders names by code point.
            return FormCatalog(
                categories=_by_name(uow.catalog.list_categories(), lambda c: c.name),
                services=_by_name(uow.catalog.list_services(), lambda s: s.name),
                configuration_items=_by_name(uow.catalog.list_configuration_items(),
                                             lambda ci: ci.name),
                groups=_by_name((GroupView(g.id, g.name, g.active) for g in uow.groups.all()),
                                lambda g: g.name),
                agents=_by_name((AgentView(u.id, u.full_name, u.active, u.away)
                                 for u in uow.users.all()), lambda a: a.full_name),
                matrix=uow.matrix.current(),
            )

    def current_matrix(self) -> PriorityMatrix:
        """The priority matrix saving uses now (a form's copy may be older)."""
        with self._uow() as uow:
            return uow.matrix.current()

    def group_members(self, group_id: int) -> list[AgentView]:
        """The active members of a group, by name: who an incident of the group can go to."""
        with self._uow() as uow:
            members = set(uow.groups.member_ids(group_id))
            return list(_by_name((AgentView(u.id, u.full_name, u.active, u.away)
                                  for u in uow.users.all() if u.id in members and u.active),
                                 lambda a: a.full_name))
