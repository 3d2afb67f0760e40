"""Administering the catalogue: categories (a two-level tree), services, configuration items.

Nothing is deleted: incidents point at these rows, so an admin deactivates them instead;
inactive rows are no longer offered for new choices while old incidents keep their names.
Every edit carries the version the admin's screen read: a stale one is refused with a
ConflictError, never a silent overwrite. Every act is written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from deskapp.domain.catalog import (
    MAX_CATEGORY_NAME,
    MAX_CI_NAME,
    MAX_SERVICE_NAME,
    catalog_description,
    catalog_name,
    ci_class,
)
from deskapp.domain.errors import NotFoundError, ValidationError
from deskapp.services import audit
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import UnitOfWork, acting_as


@dataclass(frozen=True)
class CategoryNode:
    """A category (``parent_id`` None) or a subcategory, with how many incidents use it."""

    id: int
    name: str
    parent_id: int | None
    active: bool
    version: int
    incident_count: int


@dataclass(frozen=True)
class ServiceEntry:
    """A service, with how many incidents name it."""

    id: int
    name: str
    description: str
    active: bool
    version: int
    incident_count: int


@dataclass(frozen=True)
class CiEntry:
    """A configuration item, with its service's name and how many incidents name it."""

    id: int
    name: str
    ci_class: str
    service_id: int | None
    service_name: str
    description: str
    active: bool
    version: int
    incident_count: int


@dataclass(frozen=True)
class CatalogAdminData:
    """The whole catalogue as the admin screens show it."""

    categories: tuple[CategoryNode, ...]
    services: tuple[ServiceEntry, ...]
    configuration_items: tuple[CiEntry, ...]


class CatalogAdminRepository(Protocol):
    """The catalogue's rows for administration (persistence.catalog_admin_repository)."""

    def categories(self, ids: Collection[int] | None = None) -> list[CategoryNode]:
        """Categories and subcategories (all, or those of ``ids``), by name, with counts."""
        ...

    def services(self, ids: Collection[int] | None = None) -> list[ServiceEntry]:
        """Services (all, or those of ``ids``), by name, with counts."""
        ...

    def configuration_items(self, ids: Collection[int] | None = None) -> list[CiEntry]:
        """Configuration items (all, or those of ``ids``), by name, with counts."""
        ...

    def add(self, kind: str, values: dict[str, Any]) -> int:
        """Insert a row of ``kind`` ("category", "service", "configuration_item")."""
        ...

    def update(self, kind: str, record_id: int, version: int, values: dict[str, Any]) -> int:
        """Change a row read at ``version``; returns the new version.

        Raises:
            NotFoundError: there is no such row.
            ConflictError: the row was changed after ``version``; nothing is written.
        """
        ...

    def deactivate_children(self, parent_id: int) -> list[int]:
        """Deactivate the active subcategories of a category; returns their ids."""
        ...

    def name_taken(self, kind: str, name: str, parent_id: int | None,
                   except_id: int | None) -> bool:
        """Whether another row of ``kind`` (among the siblings, for categories) has the name,
        in any case."""
        ...


class CatalogAdminUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds the catalogue administration repository."""

    @property
    def catalog_admin(self) -> CatalogAdminRepository: ...


class CatalogAdminUnitOfWorkFactory(Protocol):
    """Opens units of work that hold the catalogue administration repository."""

    def __call__(self, *, write: bool = False) -> CatalogAdminUnitOfWork: ...


T = TypeVar("T")

CATEGORY = "category"
SERVICE = "service"
CONFIGURATION_ITEM = "configuration_item"
KIND_NAMES = {CATEGORY: "Category", SERVICE: "Service", CONFIGURATION_ITEM: "Configuration item"}
"""What each kind of catalogue row is called in messages."""


class CatalogAdminService:
    """The admin screens' calls, as the signed-in user (MANAGE_CATALOG: admins)."""

    def __init__(self, uow_factory: CatalogAdminUnitOfWorkFactory, actor_id: int) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id

    def _begin(self, uow: CatalogAdminUnitOfWork) -> None:
        require(uow.users.get(self._actor_id), Permission.MANAGE_CATALOG)

    # --- reading ------------------------------------------------------------------------

    def load(self) -> CatalogAdminData:
        """The whole catalogue, inactive rows included, with incident counts."""
        with self._uow() as uow:
            self._begin(uow)
            repo = uow.catalog_admin
            return CatalogAdminData(tuple(repo.categories()), tuple(repo.services()),
                                    tuple(repo.configuration_items()))

    # --- categories ---------------------------------------------------------------------

    def add_category(self, name: str, parent_id: int | None = None) -> CategoryNode:
        """Add a top category, or a subcategory of ``parent_id`` (an active top category)."""
        name = catalog_name(name, KIND_NAMES[CATEGORY], MAX_CATEGORY_NAME)
        with self._uow(write=True) as uow:
            self._begin(uow)
            repo = uow.catalog_admin
            if parent_id is not None:
                parent = self._category(uow, parent_id)
                if parent.parent_id is not None:
                    raise ValidationError(
                        f"'{parent.name}' is a subcategory; subcategories have none of "
                        "their own.", field="parent_id")
                if not parent.active:
                    raise ValidationError(f"'{parent.name}' is inactive; reactivate it "
                                          "before adding subcategories.", field="parent_id")
            self._unique(uow, CATEGORY, name, parent_id, None)
            new_id = repo.add(CATEGORY, {"name": name, "parent_id": parent_id})
            uow.audit.record(audit.CATALOG_ADDED, actor_id=self._actor_id, entity=CATEGORY,
                             entity_id=new_id, details={"name": name, "parent_id": parent_id})
            node = self._category(uow, new_id)
            uow.commit()
            return node

    def rename_category(self, category_id: int, version: int, name: str) -> CategoryNode:
        """Rename a category; the name must be unique among its siblings (any case)."""
        name = catalog_name(name, KIND_NAMES[CATEGORY], MAX_CATEGORY_NAME)
        with self._uow(write=True) as uow:
            self._begin(uow)
            old = self._category(uow, category_id)
            self._unique(uow, CATEGORY, name, old.parent_id, category_id)
            uow.catalog_admin.update(CATEGORY, category_id, version, {"name": name})
            uow.audit.record(audit.CATALOG_CHANGED, actor_id=self._actor_id,
                             entity=CATEGORY, entity_id=category_id,
                             details={"name": [old.name, name]})
            node = self._category(uow, category_id)
            uow.commit()
            return node

    def set_category_active(self, category_id: int, version: int,
                            active: bool) -> list[CategoryNode]:
        """Deactivate (with its subcategories) or reactivate a category; returns every row
        that changed."""
        with self._uow(write=True) as uow:
            self._begin(uow)
            repo = uow.catalog_admin
            old = self._category(uow, category_id)
            if active and old.parent_id is not None:
                parent = self._category(uow, old.parent_id)
                if not parent.active:
                    raise ValidationError(f"'{parent.name}' is inactive; reactivate it "
                                          f"before '{old.name}'.", field="active")
            repo.update(CATEGORY, category_id, version, {"active": active})
            children = [] if active else repo.deactivate_children(category_id)
            self._record_active(uow, CATEGORY, category_id, old.name, active,
                                {"subcategories": children} if children else {})
            nodes = repo.categories([category_id, *children])
            uow.commit()
            return nodes

    # --- services -----------------------------------------------------------------------

    def add_service(self, name: str, description: str = "") -> ServiceEntry:
        """Add a service (names are unique, in any case)."""
        name = catalog_name(name, KIND_NAMES[SERVICE], MAX_SERVICE_NAME)
        description = catalog_description(description)
        with self._uow(write=True) as uow:
            self._begin(uow)
            self._unique(uow, SERVICE, name, None, None)
            new_id = uow.catalog_admin.add(SERVICE, {"name": name, "description": description})
            uow.audit.record(audit.CATALOG_ADDED, actor_id=self._actor_id, entity=SERVICE,
                             entity_id=new_id, details={"name": name})
            entry = self._service(uow, new_id)
            uow.commit()
            return entry

    def update_service(self, service_id: int, version: int, name: str,
                       description: str) -> ServiceEntry:
        """Rename and/or describe a service (the screen sends the whole row it edits)."""
        values = {"name": catalog_name(name, KIND_NAMES[SERVICE], MAX_SERVICE_NAME),
                  "description": catalog_description(description)}
        with self._uow(write=True) as uow:
            self._begin(uow)
            old = self._service(uow, service_id)
            self._unique(uow, SERVICE, values["name"], None, service_id)
            return self._update(uow, SERVICE, service_id, version, values,
                                {"name": old.name, "description": old.description},
                                self._service)

    def set_service_active(self, service_id: int, version: int, active: bool) -> ServiceEntry:
        """Deactivate or reactivate a service (its configuration items stay as they are)."""
        with self._uow(write=True) as uow:
            self._begin(uow)
            old = self._service(uow, service_id)
            uow.catalog_admin.update(SERVICE, service_id, version, {"active": active})
            self._record_active(uow, SERVICE, service_id, old.name, active, {})
            entry = self._service(uow, service_id)
            uow.commit()
            return entry

    # --- configuration items ------------------------------------------------------------

    def add_configuration_item(self, name: str, ci_class_name: str,
                               service_id: int | None = None,
                               description: str = "") -> CiEntry:
        """Add a configuration item of a class, of an active service or of none."""
        name = catalog_name(name, KIND_NAMES[CONFIGURATION_ITEM], MAX_CI_NAME)
        values = {"name": name, "ci_class": ci_class(ci_class_name).value,
                  "service_id": service_id, "description": catalog_description(description)}
        with self._uow(write=True) as uow:
            self._begin(uow)
            self._unique(uow, CONFIGURATION_ITEM, name, None, None)
            self._require_active_service(uow, service_id)
            new_id = uow.catalog_admin.add(CONFIGURATION_ITEM, values)
            uow.audit.record(audit.CATALOG_ADDED, actor_id=self._actor_id,
                             entity=CONFIGURATION_ITEM, entity_id=new_id,
                             details={"name": name, "ci_class": values["ci_class"],
                                      "service_id": service_id})
            entry = self._ci(uow, new_id)
            uow.commit()
            return entry

    def update_configuration_item(self, ci_id: int, version: int, *, name: str,
                                  ci_class_name: str, service_id: int | None,
                                  description: str) -> CiEntry:
        """Rename a configuration item, change its class, service or description (the
        screen sends the whole row it edits)."""
        values: dict[str, Any] = {
            "name": catalog_name(name, KIND_NAMES[CONFIGURATION_ITEM], MAX_CI_NAME),
            "ci_class": ci_class(ci_class_name).value, "service_id": service_id,
            "description": catalog_description(description)}
        with self._uow(write=True) as uow:
            self._begin(uow)
            old = self._ci(uow, ci_id)
            self._unique(uow, CONFIGURATION_ITEM, values["name"], None, ci_id)
            if service_id != old.service_id:
                self._require_active_service(uow, service_id)
            return self._update(uow, CONFIGURATION_ITEM, ci_id, version, values,
                                {"name": old.name, "ci_class": old.ci_class,
                                 "service_id": old.service_id,
                                 "description": old.description}, self._ci)

    def set_configuration_item_active(self, ci_id: int, version: int,
                                      active: bool) -> CiEntry:
        """Deactivate or reactivate a configuration item."""
        with self._uow(write=True) as uow:
            self._begin(uow)
            old = self._ci(uow, ci_id)
            uow.catalog_admin.update(CONFIGURATION_ITEM, ci_id, version, {"active": active})
            self._record_active(uow, CONFIGURATION_ITEM, ci_id, old.name, active, {})
            entry = self._ci(uow, ci_id)
            uow.commit()
            return entry

    # --- helpers ------------------------------------------------------------------------

    def _update(self, uow: CatalogAdminUnitOfWork, kind: str, record_id: int,
                   version: int, values: dict[str, Any], before: dict[str, Any],
                   read: Callable[[CatalogAdminUnitOfWork, int], T]) -> T:
        """Write ``values`` at ``version``, audit what really changed, commit, re-read."""
        changed = {key: [before[key], value] for key, value in values.items()
                   if before[key] != value}
        if changed:
            uow.catalog_admin.update(kind, record_id, version, values)
            uow.audit.record(audit.CATALOG_CHANGED, actor_id=self._actor_id, entity=kind,
                             entity_id=record_id, details=changed)
        entry: T = read(uow, record_id)
        uow.commit()
        return entry

    def _record_active(self, uow: CatalogAdminUnitOfWork, kind: str, record_id: int,
                       name: str, active: bool, details: dict[str, Any]) -> None:
        action = audit.CATALOG_REACTIVATED if active else audit.CATALOG_DEACTIVATED
        uow.audit.record(action, actor_id=self._actor_id, entity=kind, entity_id=record_id,
                         details={"name": name, **details})

    @staticmethod
    def _unique(uow: CatalogAdminUnitOfWork, kind: str, name: str, parent_id: int | None,
                except_id: int | None) -> None:
        if uow.catalog_admin.name_taken(kind, name, parent_id, except_id):
            where = ("among the top categories" if kind == CATEGORY and parent_id is None
                     else "in this category" if kind == CATEGORY else "already")
            raise ValidationError(f"{KIND_NAMES[kind]} '{name}' exists {where}; choose another "
                                  "name.", field="name")

    def _require_active_service(self, uow: CatalogAdminUnitOfWork,
                                service_id: int | None) -> None:
        if service_id is None:
            return
        service = self._service(uow, service_id)
        if not service.active:
            raise ValidationError(f"The service '{service.name}' is inactive; reactivate it "
                                  "or choose another.", field="service_id")

    @staticmethod
    def _category(uow: CatalogAdminUnitOfWork, category_id: int) -> CategoryNode:
        return _one(uow.catalog_admin.categories([category_id]), CATEGORY, category_id)

    @staticmethod
    def _service(uow: CatalogAdminUnitOfWork, service_id: int) -> ServiceEntry:
        return _one(uow.catalog_admin.services([service_id]), SERVICE, service_id)

    @staticmethod
    def _ci(uow: CatalogAdminUnitOfWork, ci_id: int) -> CiEntry:
        return _one(uow.catalog_admin.configuration_items([ci_id]), CONFIGURATION_ITEM, ci_id)


def _one(rows: list[T], kind: str, record_id: int) -> T:
    if not rows:
        raise NotFoundError(f"There is no {KIND_NAMES[kind].lower()} {record_id}; "
                            "someone may have removed it. Reload the list.")
    return rows[0]
