"""The service and configuration item pickers the call form and the incident form share.

The pickers offer active rows only; what an incident already holds stays offered (marked
"(inactive)" when an admin has deactivated it) so that it is shown and kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from deskapp.qt.widgets.lookup import LookupEdit, LookupItem
from deskapp.services.catalog import FormCatalog
from deskapp.services.dto import CategoryView, ConfigurationItemView, ServiceView

INACTIVE = " (inactive)"


def catalog_items(rows: Sequence[CategoryView | ServiceView | ConfigurationItemView]
                  ) -> list[LookupItem]:
    """Picker items for catalogue rows, inactive ones marked."""
    return [LookupItem(r.id, r.name + ("" if r.active else INACTIVE), payload=r) for r in rows]


class ConfigurationItemPicker:
    """Keeps the configuration item picker to the chosen service's items.

    Choosing a configuration item of a service while no service is chosen fills the service
    in; choosing another service drops a configuration item of a different one.
    """

    def __init__(self, service_edit: LookupEdit, item_edit: LookupEdit) -> None:
        self._service_edit = service_edit
        self._item_edit = item_edit
        self._catalog: FormCatalog | None = None
        self.keep_service: int | None = None
        """The service the incident holds: offered even if inactive."""
        self.keep_item: int | None = None
        """The configuration item the incident holds: offered even if inactive."""
        self.has_choices = False
        self.enabled = True
        service_edit.chosen.connect(self._on_service_chosen)
        item_edit.chosen.connect(self._on_item_chosen)

    def set_catalog(self, catalog: FormCatalog, keep_service: int | None = None,
                    keep_item: int | None = None) -> None:
        """Fill both pickers from ``catalog`` (keeping what the incident holds)."""
        self._catalog = catalog
        self.keep_service, self.keep_item = keep_service, keep_item
        self._service_edit.set_items(catalog_items(catalog.active_services(keep_service)))
        self._offer_items(self._service_edit.item_id)

    def _offer_items(self, service_id: int | None) -> None:
        if self._catalog is None:
            return
        items = self._catalog.configuration_items_for(service_id, self.keep_item)
        self._item_edit.set_items(catalog_items(items))
        self.has_choices = bool(items)
        # Like the subcategory: with nothing to choose, Tab passes the field by.
        self._item_edit.setEnabled(self.has_choices and self.enabled)
        self._item_edit.setPlaceholderText(
            "Optional" if items else "(none for this service)" if service_id is not None
            else "(none defined)")

    def set_enabled(self, enabled: bool) -> None:
        """Enable the item picker (when it has something to offer) or disable it."""
        self.enabled = enabled
        self._item_edit.setEnabled(self.has_choices and enabled)

    def _on_service_chosen(self, item: LookupItem | None) -> None:
        self._offer_items(item.id if item is not None else None)

    def _on_item_chosen(self, item: LookupItem | None) -> None:
        ci = item.payload if item is not None else None
        if isinstance(ci, ConfigurationItemView) and ci.service_id is not None \
                and self._service_edit.item is None and not self._service_edit.text().strip():
            self._service_edit.set_item_id(ci.service_id)
