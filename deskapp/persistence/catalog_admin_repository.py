"""CatalogAdminRepository in SQL: the catalogue's rows with their incident counts."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.persistence.tables import (
    CategoryRecord,
    ConfigurationItemRecord,
    IncidentRecord,
    ServiceRecord,
)
from deskapp.services.catalog_admin import (
    CATEGORY,
    CONFIGURATION_ITEM,
    KIND_NAMES,
    SERVICE,
    CategoryNode,
    CiEntry,
    ServiceEntry,
)

_TABLES: dict[str, type[CategoryRecord] | type[ServiceRecord] | type[ConfigurationItemRecord]] = {
    CATEGORY: CategoryRecord, SERVICE: ServiceRecord, CONFIGURATION_ITEM: ConfigurationItemRecord,
}


class SqlCatalogAdminRepository:
    """CatalogAdminRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _counts(self, column: Any, ids: Collection[int] | None) -> dict[int, int]:
        """Incidents per value of ``column``, answered from its index."""
        query = select(column, func.count()).where(column.is_not(None)).group_by(column)
        if ids is not None:
            query = query.where(column.in_(list(ids)))
        return {key: n for key, n in self._session.execute(query).tuples()}

    def categories(self, ids: Collection[int] | None = None) -> list[CategoryNode]:
        query = select(CategoryRecord).order_by(func.lower(CategoryRecord.name),
                                                CategoryRecord.id)
        if ids is not None:
            query = query.where(CategoryRecord.id.in_(list(ids)))
        records = list(self._session.execute(query).scalars())
        wanted = None if ids is None else [r.id for r in records]
        top = self._counts(IncidentRecord.category_id, wanted)
        sub = self._counts(IncidentRecord.subcategory_id, wanted)
        return [CategoryNode(r.id, r.name, r.parent_id, r.active, r.version,
                             top.get(r.id, 0) + sub.get(r.id, 0)) for r in records]

    def services(self, ids: Collection[int] | None = None) -> list[ServiceEntry]:
        query = select(ServiceRecord).order_by(func.lower(ServiceRecord.name))
        if ids is not None:
            query = query.where(ServiceRecord.id.in_(list(ids)))
        records = list(self._session.execute(query).scalars())
        counts = self._counts(IncidentRecord.service_id,
                              None if ids is None else [r.id for r in records])
        return [ServiceEntry(r.id, r.name, r.description, r.active, r.version,
                             counts.get(r.id, 0)) for r in records]

    def configuration_items(self, ids: Collection[int] | None = None) -> list[CiEntry]:
        ci = ConfigurationItemRecord
        query = (select(ci, ServiceRecord.name)
                 .outerjoin(ServiceRecord, ServiceRecord.id == ci.service_id)
                 .order_by(func.lower(ci.name)))
        if ids is not None:
            query = query.where(ci.id.in_(list(ids)))
        rows = list(self._session.execute(query).tuples())
        counts = self._counts(IncidentRecord.configuration_item_id,
                              None if ids is None else [r.id for r, _ in rows])
        return [CiEntry(r.id, r.name, r.ci_class, r.service_id, service or "", r.description,
                        r.active, r.version, counts.get(r.id, 0)) for r, service in rows]

    def add(self, kind: str, values: dict[str, Any]) -> int:
        record = _TABLES[kind](**values, active=True, version=1)
        self._session.add(record)
        self._session.flush()
        return record.id

    def update(self, kind: str, record_id: int, version: int, values: dict[str, Any]) -> int:
        table = _TABLES[kind]
        written = self._session.execute(
            update(table).where(table.id == record_id, table.version == version)
            .values(**values, version=table.version + 1)
            .execution_options(synchronize_session=False))
        if written.rowcount != 1:  # type: ignore[attr-defined]
            current = self._session.execute(
                select(table.name, table.version).where(table.id == record_id)).first()
            if current is None:
                raise NotFoundError(f"There is no {KIND_NAMES[kind].lower()} {record_id}.")
            raise ConflictError(f"{KIND_NAMES[kind]} '{current.name}'", None, None,
                                current.version)
        self._session.expire_all()
        return version + 1

    def deactivate_children(self, parent_id: int) -> list[int]:
        ids = list(self._session.execute(
            select(CategoryRecord.id).where(CategoryRecord.parent_id == parent_id,
                                            CategoryRecord.active.is_(True))).scalars())
        if ids:
            self._session.execute(
                update(CategoryRecord).where(CategoryRecord.id.in_(ids))
                .values(active=False, version=CategoryRecord.version + 1)
                .execution_options(synchronize_session=False))
            self._session.expire_all()
        return ids

    def name_taken(self, kind: str, name: str, parent_id: int | None,
                   except_id: int | None) -> bool:
        table = _TABLES[kind]
        conditions: list[ColumnElement[bool]] = [func.lower(table.name) == name.lower()]
        if kind == CATEGORY:
            conditions.append(CategoryRecord.parent_id.is_(None) if parent_id is None
                              else CategoryRecord.parent_id == parent_id)
        if except_id is not None:
            conditions.append(table.id != except_id)
        return self._session.execute(
            select(func.count()).select_from(table).where(*conditions)).scalar_one() > 0
