"""Catalogue administration (services.catalog_admin), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import cast

import pytest

from deskapp.domain.enums import AssignmentMethod, Role
from deskapp.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.services import audit
from deskapp.services.assignment_rules import AssignmentRuleService
from deskapp.services.audit import AuditService, verify_chain
from deskapp.services.catalog import CatalogService
from deskapp.services.catalog_admin import CatalogAdminService, CatalogAdminUnitOfWorkFactory
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentEdit, IncidentService, LogCallRequest
from deskapp.services.intake.alert_rules import AlertRule, AlertRuleService, AlertUnitOfWorkFactory
from deskapp.services.queues import QueueService
from tests.conftest import FakeClock, add_user


@pytest.fixture
def admin_service(database: Database, admin: User) -> CatalogAdminService:
    return CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, database.uow_factory),
                               admin.id)


@pytest.fixture
def caller(service: IncidentService) -> CallerView:
    return service.add_caller("Ada Lovelace", "ada@example.com", "+44 20 7946 0002")


def _log(service: IncidentService, caller: CallerView, **extra: object) -> int:
    request = LogCallRequest(caller.id, "Printer jammed", 2, 2, **extra)  # type: ignore[arg-type]
    return service.log_call(request)[0].id


def test_categories_form_a_tree_with_unique_names_among_siblings(
        admin_service: CatalogAdminService) -> None:
    hardware = admin_service.add_category("  Hardware ")
    assert (hardware.name, hardware.parent_id, hardware.active, hardware.version) == (
        "Hardware", None, True, 1)
    printers = admin_service.add_category("Printers", hardware.id)
    network = admin_service.add_category("Network")
    # The same name under another parent is fine; among siblings it is not, in any case.
    admin_service.add_category("Printers", network.id)
    with pytest.raises(ValidationError, match="exists in this category"):
        admin_service.add_category("PRINTERS", hardware.id)
    with pytest.raises(ValidationError, match="among the top categories"):
        admin_service.add_category("network")
    with pytest.raises(ValidationError, match="subcategories have none"):
        admin_service.add_category("Toner", printers.id)
    with pytest.raises(ValidationError, match="needs a name"):
        admin_service.add_category("   ")
    renamed = admin_service.rename_category(printers.id, printers.version, "Printers & scanners")
    assert (renamed.name, renamed.version) == ("Printers & scanners", 2)
    with pytest.raises(ValidationError, match="among the top categories"):
        admin_service.rename_category(network.id, network.version, "HARDWARE")
    data = admin_service.load()
    assert [(c.name, c.parent_id) for c in data.categories] == [
        ("Hardware", None), ("Network", None), ("Printers", network.id),
        ("Printers & scanners", hardware.id)]


def test_name_messages_read_as_sentences_for_every_kind(
        admin_service: CatalogAdminService) -> None:
    """Each kind names itself in plain English: "Category names are …", not "A category
    names are …"."""
    service = admin_service.add_service("VPN")
    item = admin_service.add_configuration_item("vpn-gw-01", "network", service.id)
    category = admin_service.add_category("Hardware")
    calls: list[tuple[str, int, Callable[[str], object]]] = [
        ("Category", 120, lambda n: admin_service.add_category(n)),
        ("Category", 120, lambda n: admin_service.rename_category(
            category.id, category.version, n)),
        ("Service", 160, lambda n: admin_service.add_service(n)),
        ("Service", 160, lambda n: admin_service.update_service(
            service.id, service.version, n, "")),
        ("Configuration item", 160, lambda n: admin_service.add_configuration_item(
            n, "server")),
        ("Configuration item", 160, lambda n: admin_service.update_configuration_item(
            item.id, item.version, name=n, ci_class_name="server", service_id=None,
            description=""))]
    for what, limit, call in calls:
        with pytest.raises(ValidationError) as refused:
            call("x" * 2000)
        assert str(refused.value) == (f"{what} names are at most {limit} characters long; "
                                      "this one has 2000.")
        with pytest.raises(ValidationError) as refused:
            call("  ")
        assert str(refused.value) == f"A {what.lower()} needs a name."
        with pytest.raises(ValidationError) as refused:
            call("a\x00b")
        assert str(refused.value).startswith(f"The name of a {what.lower()} contains a NUL "
                                             "character")


def test_a_stale_edit_is_refused_and_nothing_is_written(
        admin_service: CatalogAdminService, database: Database, admin: User) -> None:
    hardware = admin_service.add_category("Hardware")
    admin_service.rename_category(hardware.id, hardware.version, "Hardware (desk)")
    with pytest.raises(ConflictError, match="Category 'Hardware \\(desk\\)' was changed"):
        admin_service.rename_category(hardware.id, hardware.version, "Kit")
    with pytest.raises(ConflictError):
        admin_service.set_category_active(hardware.id, hardware.version, False)
    vpn = admin_service.add_service("VPN", "Remote access")
    admin_service.update_service(vpn.id, vpn.version, "VPN", "Remote access for staff")
    with pytest.raises(ConflictError, match="Service 'VPN'"):
        admin_service.update_service(vpn.id, vpn.version, "Remote VPN", "Remote access")
    data = admin_service.load()
    assert [c.name for c in data.categories] == ["Hardware (desk)"]
    assert [(s.name, s.description, s.version) for s in data.services] == [
        ("VPN", "Remote access for staff", 2)]


def test_deactivating_a_category_deactivates_its_subcategories_and_counts_stay(
        admin_service: CatalogAdminService, service: IncidentService,
        caller: CallerView, database: Database) -> None:
    hardware = admin_service.add_category("Hardware")
    printers = admin_service.add_category("Printers", hardware.id)
    laptops = admin_service.add_category("Laptops", hardware.id)
    incident_id = _log(service, caller, category_id=hardware.id, subcategory_id=printers.id)
    _log(service, caller, category_id=hardware.id)
    changed = admin_service.set_category_active(hardware.id, hardware.version, False)
    assert {(c.name, c.active, c.incident_count) for c in changed} == {
        ("Hardware", False, 2), ("Printers", False, 1), ("Laptops", False, 0)}
    # Reactivating a subcategory needs its parent active first.
    printers_now = next(c for c in changed if c.id == printers.id)
    with pytest.raises(ValidationError, match="reactivate it before 'Printers'"):
        admin_service.set_category_active(printers.id, printers_now.version, True)
    with pytest.raises(ValidationError, match="inactive; reactivate it before adding"):
        admin_service.add_category("Monitors", hardware.id)
    hardware_now = next(c for c in changed if c.id == hardware.id)
    [back] = admin_service.set_category_active(hardware.id, hardware_now.version, True)
    assert back.active
    [printers_back] = admin_service.set_category_active(printers.id, printers_now.version, True)
    assert printers_back.active and printers_back.version == printers_now.version + 1
    # The incident still shows its (now once more active) category.
    assert service.get(incident_id).subcategory_id == printers.id
    still_off = next(c for c in admin_service.load().categories if c.id == laptops.id)
    assert not still_off.active


def test_inactive_rows_are_not_offered_nor_taken_for_new_choices_but_history_keeps_them(
        admin_service: CatalogAdminService, service: IncidentService, caller: CallerView,
        database: Database) -> None:
    hardware = admin_service.add_category("Hardware")
    network = admin_service.add_category("Network")
    vpn = admin_service.add_service("VPN")
    mail = admin_service.add_service("Mail")
    gateway = admin_service.add_configuration_item("vpn-gw-01", "network", vpn.id)
    mx = admin_service.add_configuration_item("mx-01", "Server", mail.id, "Inbound mail")
    incident_id = _log(service, caller, category_id=hardware.id, service_id=vpn.id,
                       configuration_item_id=gateway.id)
    admin_service.set_category_active(hardware.id, hardware.version, False)
    admin_service.set_service_active(vpn.id, vpn.version, False)
    admin_service.set_configuration_item_active(gateway.id, gateway.version, False)

    catalog = CatalogService(database.uow_factory).form_catalog()
    assert [c.name for c in catalog.top_categories()] == ["Network"]
    assert [c.name for c in catalog.top_categories(keep=hardware.id)] == ["Hardware", "Network"]
    assert [s.name for s in catalog.active_services()] == ["Mail"]
    assert [c.name for c in catalog.configuration_items_for(None)] == ["mx-01"]
    assert [c.name for c in catalog.configuration_items_for(mail.id)] == ["mx-01"]
    assert catalog.configuration_items_for(vpn.id) == []
    assert [c.name for c in catalog.configuration_items_for(vpn.id, keep=gateway.id)] == [
        "vpn-gw-01"]

    with pytest.raises(ValidationError, match="The category 'Hardware' is no longer in use"):
        _log(service, caller, category_id=hardware.id)
    with pytest.raises(ValidationError, match="service 'VPN'"):
        _log(service, caller, service_id=vpn.id)
    with pytest.raises(ValidationError, match="belongs to another service"):
        _log(service, caller, service_id=mail.id, configuration_item_id=gateway.id)
    # The old incident keeps them, and may be edited without choosing them again.
    detail = service.get(incident_id)
    assert (detail.category_id, detail.service_id, detail.configuration_item_id) == (
        hardware.id, vpn.id, gateway.id)
    detail, _ = service.save_changes(incident_id, detail.version, IncidentEdit(
        fields={"short_description": "Printer jammed again", "category_id": hardware.id,
                "service_id": vpn.id, "configuration_item_id": gateway.id}))
    assert detail.short_description == "Printer jammed again"
    with pytest.raises(ValidationError, match="belongs to another service"):
        service.save_changes(incident_id, detail.version,
                             IncidentEdit(fields={"service_id": mail.id}))
    detail, _ = service.save_changes(incident_id, detail.version, IncidentEdit(
        fields={"service_id": mail.id, "configuration_item_id": mx.id,
                "category_id": network.id}))
    assert (detail.service_id, detail.configuration_item_id) == (mail.id, mx.id)
    counts = {c.name: c.incident_count for c in admin_service.load().configuration_items}
    assert counts == {"mx-01": 1, "vpn-gw-01": 0}


def test_configuration_items_have_a_class_a_service_and_unique_names(
        admin_service: CatalogAdminService) -> None:
    vpn = admin_service.add_service("VPN")
    old = admin_service.add_service("Old VPN")
    admin_service.set_service_active(old.id, old.version, False)
    gateway = admin_service.add_configuration_item("vpn-gw-01", "network", vpn.id)
    assert (gateway.ci_class, gateway.service_name, gateway.active) == ("network", "VPN", True)
    with pytest.raises(ValidationError, match="already"):
        admin_service.add_configuration_item("VPN-GW-01", "server")
    with pytest.raises(ValidationError, match="not a configuration item class"):
        admin_service.add_configuration_item("vpn-gw-02", "toaster")
    with pytest.raises(ValidationError, match="'Old VPN' is inactive"):
        admin_service.add_configuration_item("vpn-gw-02", "server", old.id)
    changed = admin_service.update_configuration_item(
        gateway.id, gateway.version, name="vpn-gw-01a", ci_class_name="Server",
        service_id=None, description="Spare")
    assert (changed.name, changed.ci_class, changed.service_id, changed.description,
            changed.version) == ("vpn-gw-01a", "server", None, "Spare", 2)
    with pytest.raises(ConflictError, match="Configuration item 'vpn-gw-01a'"):
        admin_service.update_configuration_item(
            gateway.id, gateway.version, name="x", ci_class_name="server", service_id=None,
            description="")


def test_only_admins_manage_the_catalog_and_every_act_is_audited(
        admin_service: CatalogAdminService, database: Database, admin: User) -> None:
    lead = add_user(database, "lena", Role.LEAD)
    as_lead = CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, database.uow_factory),
                                  lead.id)
    with pytest.raises(PermissionDeniedError, match="may not manage catalog"):
        as_lead.load()
    with pytest.raises(PermissionDeniedError):
        as_lead.add_service("Mail")
    hardware = admin_service.add_category("Hardware")
    hardware = admin_service.rename_category(hardware.id, hardware.version, "Kit")
    admin_service.set_category_active(hardware.id, hardware.version, False)
    mail = admin_service.add_service("Mail")
    mail = admin_service.update_service(mail.id, mail.version, "Mail", "Exchange")
    ci = admin_service.add_configuration_item("mx-01", "server", mail.id)
    admin_service.set_configuration_item_active(ci.id, ci.version, False)
    rows = AuditService(database.uow_factory, admin.id).latest(20)
    acts = [(r.action, r.entity) for r in reversed(rows) if r.action.startswith("catalog")]
    assert acts == [
        (audit.CATALOG_ADDED, "category"), (audit.CATALOG_CHANGED, "category"),
        (audit.CATALOG_DEACTIVATED, "category"), (audit.CATALOG_ADDED, "service"),
        (audit.CATALOG_CHANGED, "service"), (audit.CATALOG_ADDED, "configuration_item"),
        (audit.CATALOG_DEACTIVATED, "configuration_item")]
    assert verify_chain(database.uow_factory).ok


def test_the_queue_filter_still_offers_inactive_rows_marked(
        admin_service: CatalogAdminService, database: Database, admin: User,
        clock: FakeClock) -> None:
    hardware = admin_service.add_category("Hardware")
    printers = admin_service.add_category("Printers", hardware.id)
    fax = admin_service.add_service("Fax")
    admin_service.add_service("Mail")
    admin_service.set_category_active(hardware.id, hardware.version, False)
    admin_service.set_service_active(fax.id, fax.version, False)
    choices = QueueService(database.uow_factory, admin.id, clock).choices()
    assert [(c.id, c.label) for c in choices.categories] == [
        (hardware.id, "Hardware (inactive)"), (printers.id, "Hardware / Printers (inactive)")]
    assert [c.label for c in choices.services] == ["Fax (inactive)", "Mail"]


def test_rules_may_keep_an_inactive_row_but_not_newly_choose_one(
        admin_service: CatalogAdminService, database: Database, admin: User,
        clock: FakeClock) -> None:
    hardware = admin_service.add_category("Hardware")
    fax = admin_service.add_service("Fax")
    mail = admin_service.add_service("Mail")
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Desk"), [admin.id])
        uow.commit()
    rules = AssignmentRuleService(database.uow_factory, admin.id, clock)
    rule = rules.add("Fax to the desk", group.id, AssignmentMethod.ROUND_ROBIN,
                     service_id=fax.id)
    alerts = AlertRuleService(cast(AlertUnitOfWorkFactory, database.uow_factory), admin.id)
    mapping = alerts.load()
    saved = alerts.save([*mapping.rules.rules, AlertRule("Fax alerts", (), 2, 2, fax.id)],
                        mapping.rules.revision)
    admin_service.set_category_active(hardware.id, hardware.version, False)
    admin_service.set_service_active(fax.id, fax.version, False)
    with pytest.raises(ValidationError, match="The category 'Hardware' is no longer in use"):
        rules.add("Hardware to the desk", group.id, AssignmentMethod.ROUND_ROBIN,
                  category_id=hardware.id)
    # The rule naming the service keeps it through other edits.
    renamed = rules.save(replace(rule, name="Faxes to the desk"))
    assert renamed.service_id == fax.id
    again = alerts.save(saved.rules, saved.revision)  # still names it: kept
    assert [c.name for c in alerts.load().services] == ["Fax (inactive)", "Mail"]
    # Once no rule names it, it cannot come back into the mapping.
    again = alerts.save(mapping.rules.rules, again.revision)
    with pytest.raises(ValidationError, match="no service"):
        alerts.save([AlertRule("Fax again", (), 2, 2, fax.id)], again.revision)
    assert [c.name for c in alerts.load().services] == [mail.name]
