"""The PDF writers: DTOs in, PDF bytes out; the text is checked with pypdf, pages rendered."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from reportlab.graphics import renderPDF

from deskapp.domain.enums import Channel, State
from deskapp.reports import fonts
from deskapp.reports.charts import hour_axis, state_chart
from deskapp.reports.layout import duration, share
from deskapp.reports.period_pdf import period_pdf
from deskapp.reports.review_pdf import review_pdf
from deskapp.services.dto import IncidentRow
from deskapp.services.report_dto import (
    ActionItem,
    ActionState,
    Count,
    DayFigures,
    Durations,
    KeyFacts,
    MajorIncident,
    OpenIncident,
    PeriodFigures,
    PeriodReport,
    PriorityFigures,
    PriorityInfo,
    Reassignment,
    ReviewContent,
    ReviewReport,
    ReviewStatus,
    ReviewView,
    StateSpan,
    TimelineEntry,
)

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2026, 10, 4, 8, 0, tzinfo=UTC)
NAMES = ("Ana Søren", "张伟", "Иван Петров", "佐藤 花子", "김민준", "Zoë Ørsted")


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def flat(text: str) -> str:
    """Extracted text with line breaks and runs of spaces folded, for phrase searches."""
    return re.sub(r"\s+", " ", text)


def make_review(entries: int = 40, *, final: bool = True) -> ReviewView:
    content = ReviewContent(
        summary="The core switch in DC1 failed.\n\nEvery site lost its VPN.",
        customer_impact="3,000 users could not reach mail.",
        business_impact="Order intake stopped for two hours.",
        detection="Monitoring paged the network on-call.",
        detected_at=T0 + timedelta(minutes=2),
        root_cause="A firmware bug in the switch's spanning tree.",
        contributing_factors="No spare switch on site.",
        resolution="Failed over to the standby switch, then replaced the faulty one.",
        went_well="Fast detection.",
        went_badly="The runbook was out of date.",
        lessons_learned="Keep spares on every site.",
        action_items=tuple(
            ActionItem(f"Action number {i} for the switches", NAMES[i % len(NAMES)],
                       date(2026, 11, 1) + timedelta(days=i), list(ActionState)[i % 4])
            for i in range(min(entries // 10 + 3, 40))),
    )
    return ReviewView(
        id=1, incident_id=1, incident_number="INC0000123",
        status=ReviewStatus.FINAL if final else ReviewStatus.DRAFT, content=content,
        version=4, author_name="Jürgen Weiß", created_at=T0 + timedelta(days=1),
        updated_at=T0 + timedelta(days=2), updated_by_name="李娜",
        finalized_at=T0 + timedelta(days=2) if final else None,
        finalized_by_name="Mary Manager" if final else None)


def make_report(entries: int = 40, *, review: ReviewView | None = None) -> ReviewReport:
    timeline = tuple(
        TimelineEntry(T0 + timedelta(minutes=i), NAMES[i % len(NAMES)],
                      f"Work note entry-{i:04d}: checked the core switch"
                      + " and the uplinks" * (i % 5))
        for i in range(entries))
    child = IncidentRow(2, "INC0000124", "VPN down in 北京", State.RESOLVED, 2, 1, 2,
                        Channel.PHONE, "李娜", False, "Network", "Bob", T0, T0, T0, T0, None,
                        False, False, 1)
    return ReviewReport(
        number="INC0000123", title="Core switch failure: VPN down at every site",
        priority_label="P1 - Critical", priority_colour="#d32f2f", state="Closed",
        is_major=True, caller="Grace Hopper", category="Network / LAN", service="VPN",
        group="Network", assignee="Bob", description="Users cannot connect.",
        resolution_code="Solved permanently", resolution_notes="Replaced the switch.",
        facts=KeyFacts(
            opened_at=T0, first_response_at=T0 + timedelta(minutes=10),
            resolved_at=T0 + timedelta(hours=5), closed_at=T0 + timedelta(days=2),
            response_seconds=600, response_target_seconds=900, response_breached=False,
            resolution_seconds=4 * 3600 + 1800, resolution_target_seconds=4 * 3600,
            resolution_breached=True, on_hold_seconds=1800, reassignments=2, reopenings=1),
        review=review if review is not None else make_review(entries),
        timeline=timeline, children=(child,),
        reassignments=(Reassignment(T0, "Ann", "", "Service Desk", "", "Bob"),
                       Reassignment(T0 + timedelta(hours=1), "Bob", "Service Desk", "Network",
                                    "Bob", "")),
        state_spans=(StateSpan("New", 600), StateSpan("In Progress", 15000),
                     StateSpan("On Hold", 1800), StateSpan("Resolved", 150000)),
        generated_at=T0 + timedelta(days=3), generated_by="Desk Administrator", zone=OSLO,
        zone_name="Europe/Oslo", configuration_item="core-sw-01 (network)")


def test_review_pdf_holds_the_incidents_facts() -> None:
    report = make_report()
    pages, text = pdf_text(review_pdf(report))
    body = flat(text)
    assert "INC0000123: Core switch failure" in body
    assert "P1 - Critical" in body
    # Times in the report's zone: 08:00 UTC is 10:00 in Oslo (summer time).
    for label, value in (("Opened", "2026-10-04 10:00"), ("First response", "2026-10-04 10:10"),
                         ("Resolved", "2026-10-04 15:00"), ("Closed", "2026-10-06 10:00")):
        assert f"{label} {value}" in body
    assert "Time to respond 10 min 15 min Met" in body
    assert "Time to resolve (SLA clock) 4 h 30 min 4 h Breached" in body
    assert "Time on hold 30 min" in body
    assert "Reassignments 2" in body and "Reopenings 1" in body
    for entry in report.timeline:
        assert f"entry-{entry.at.minute + 60 * (entry.at.hour - 8):04d}" in body
    review = report.review
    assert review is not None
    for item in review.content.action_items:
        assert item.description in body
        assert item.due is not None and item.due.isoformat() in body
    for name in NAMES:
        assert name in body, name
    assert "INC0000124" in body and "北京" in body
    assert "A firmware bug in the switch's spanning tree." in body
    assert "Signed off (final) Mary Manager" in body
    assert f"page 1 of {pages}" in body and f"page {pages} of {pages}" in body


def test_review_pdf_header_names_the_configuration_item_or_a_dash() -> None:
    _, text = pdf_text(review_pdf(make_report(5)))
    body = flat(text)
    assert "Service VPN" in body
    assert "Configuration item core-sw-01 (network)" in body
    assert "Group / agent Network / Bob" in body
    none = ReviewReport(**{**make_report(5).__dict__, "configuration_item": ""})
    assert "Configuration item \u2014" in flat(pdf_text(review_pdf(none))[1])


def test_a_review_not_begun_still_prints_the_incidents_record() -> None:
    report = make_report(5)
    report = ReviewReport(**{**report.__dict__, "review": None})
    _, text = pdf_text(review_pdf(report))
    body = flat(text)
    assert "Not begun" in body
    assert "Not written yet." in body
    assert "not final yet" in body


@pytest.mark.parametrize(("group", "assignee", "says"), [
    ("Network", "Bob", "Never reassigned: with Network / Bob since it was logged."),
    ("", "", "Never assigned."),
])
def test_an_incident_never_moved_says_where_it_has_been(group: str, assignee: str,
                                                        says: str) -> None:
    report = make_report(5)
    report = ReviewReport(**{**report.__dict__, "reassignments": (), "group": group,
                             "assignee": assignee})
    _, text = pdf_text(review_pdf(report))
    assert says in flat(text)


def test_a_long_timeline_flows_across_pages_with_its_header_repeated() -> None:
    report = make_report(1000)
    data = review_pdf(report)  # its speed is measured by tests/bench/reports.py, not here
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 20
    texts = [page.extract_text() or "" for page in reader.pages]
    timeline_pages = [t for t in texts if "entry-0" in t]
    assert len(timeline_pages) > 15
    assert all("What happened" in t for t in timeline_pages)
    body = flat("\n".join(texts))
    for i in range(1000):
        assert f"entry-{i:04d}" in body


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_every_page_renders(tmp_path: Path) -> None:
    path = tmp_path / "review.pdf"
    path.write_bytes(review_pdf(make_report(300)))
    pages = len(PdfReader(path).pages)
    result = subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "p")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr
    assert len(list(tmp_path.glob("p-*.png"))) == pages


def test_cjk_text_gets_the_fallback_font() -> None:
    assert fonts.runs("Zoë 张伟") == [("Zoë ", False), ("张伟", True)]
    assert 'face="DeskFallback"' in fonts.markup("김민준 <b>")
    assert "&lt;b&gt;" in fonts.markup("<b>")


def test_durations_read_naturally() -> None:
    assert [duration(s) for s in (None, 40, 600, 3600, 5400, 90000, 86400 * 3)] == [
        "\u2014", "40 s", "10 min", "1 h", "1 h 30 min", "1 d 1 h", "3 d"]


def test_a_small_share_is_never_zero() -> None:
    assert [share(p, w) for p, w in ((0, 0), (0, 8995), (2, 8995), (1, 40000),
                                     (432, 1234), (8994, 8995), (8995, 8995))] == [
        "\u2014", "0.0%", "0.02%", "<0.01%", "35.0%", ">99.9%", "100.0%"]


def test_top_lists_show_a_share_for_items_with_a_few_incidents() -> None:
    report = make_period()
    few = (Count("5", "nas-01 (storage)", 2),)
    figures = replace(report.figures, opened=8995, top_configuration_items=few,
                      top_services=(Count("2", "Mail", 3),),
                      top_categories=(Count("3", "Hardware / Mouse", 1),),
                      by_channel=(Count("chat", "Chat", 8994),))
    body = flat(pdf_text(period_pdf(replace(report, figures=figures)))[1])
    assert "nas-01 (storage) 2 0.02%" in body
    assert "Mail 3 0.03%" in body and "Hardware / Mouse 1 0.01%" in body
    assert "Chat 8,994 >99.9%" in body
    assert not re.search(r"(?<![\d.])0\.0%", body)


def make_period(days: int = 31, majors: int = 2) -> PeriodReport:
    first = date(2026, 10, 1)
    starts = [datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=i) for i in range(days)]
    figures = PeriodFigures(
        opened=1234, resolved=1111, backlog_start=321, backlog_end=444,
        days=tuple(DayFigures(s, 40 + i, 35 + i % 7, 321 + 4 * i) for i, s in
                   enumerate(starts)),
        by_priority=(Count("1", "P1 - Critical", 34), Count("3", "P3 - Moderate", 1200)),
        by_category=(Count("1", "Network", 1000), Count("", "(none)", 234)),
        by_group=(Count("1", "Service Desk", 1234),),
        by_channel=(Count("phone", "Phone", 1000), Count("email", "Email", 234)),
        top_services=(Count("1", "Remote access VPN", 777),),
        top_categories=(Count("2", "Network / VPN", 555),),
        priorities=(PriorityFigures(1, Durations(30, 600.0, 420.0, 1500.0),
                                    Durations(28, 9000.0, 7200.0, 14400.0), 29, 30, 20, 28),),
        reassigned=123, reopened=45, first_contact=200,
        oldest_open=(OpenIncident("INC0000007", "Printer jams", 4, "on_hold",
                                  datetime(2026, 6, 1, tzinfo=UTC), "Service Desk", "张伟"),),
        majors=tuple(MajorIncident(10 + i, f"INC00000{10 + i}", f"Outage {i}", 1, "closed",
                                   starts[0], starts[1], 3 + i,
                                   ReviewStatus.FINAL if i == 0 else None)
                     for i in range(majors)),
        top_configuration_items=(Count("4", "vpn-gw-01 (network)", 432),
                                 Count("9", "exch-mbx-db01 (database)", 12)),
    )
    review = make_review(10)
    review = ReviewView(**{**review.__dict__, "incident_id": 10,
                           "incident_number": "INC0000010"})
    return PeriodReport(
        first_day=first, last_day=first + timedelta(days=days - 1),
        filters=("Groups: Service Desk",), figures=figures,
        priorities=(PriorityInfo(1, "P1 - Critical", "#d32f2f", 15, 240),
                    PriorityInfo(3, "P3 - Moderate", "#fbc02d", 120, 1440)),
        reviews=(review,) if majors else (), first_contact_minutes=15,
        generated_at=datetime(2026, 11, 2, tzinfo=UTC), generated_by="Mary Manager",
        zone=UTC, zone_name="UTC")


def test_period_pdf_shows_the_figures_and_defines_them() -> None:
    data = period_pdf(make_period())
    pages, text = pdf_text(data)
    body = flat(text)
    assert "1 October 2026 \u2013 31 October 2026" in body
    assert "Groups: Service Desk" in body
    assert "Opened 1,234" in body and "Resolved 1,111" in body
    assert "Backlog at the start 321" in body and "Backlog at the end 444" in body
    assert "Reassignment rate 10.0%" in body  # 123 of 1,234
    assert "Reopen rate 4.1%" in body  # 45 of 1,111
    assert "First-contact resolution 16.2%" in body
    assert "P1 - Critical 30 10 min 7 min 25 min 28 2 h 30 min 2 h 4 h" in body
    assert "29 of 30" in body and "20 of 28" in body
    assert "Remote access VPN 777" in body and "Network / VPN 555" in body
    assert "Top configuration items" in body
    assert "vpn-gw-01 (network) 432 35.0%" in body  # 432 of 1,234
    assert "exch-mbx-db01 (database) 12 1.0%" in body
    assert "INC0000007" in body and "张伟" in body
    assert "INC0000010" in body and "INC0000011" in body and "None yet" in body
    assert "Appendix: what the figures mean" in body
    assert "First-contact resolution The share of incidents" in body
    assert "within 15 minutes" in body
    assert f"page {pages} of {pages}" in body


def test_period_pdf_links_major_incidents_to_their_reviews() -> None:
    reader = PdfReader(io.BytesIO(period_pdf(make_period())))
    links = [annotation.get_object() for page in reader.pages
             for annotation in page.get("/Annots", []) or []]
    assert any(link.get("/Subtype") == "/Link" for link in links)
    assert "A firmware bug" in flat("".join(p.extract_text() for p in reader.pages))


def test_a_long_period_and_an_empty_one_both_print() -> None:
    pages, _ = pdf_text(period_pdf(make_period(days=366, majors=0)))
    assert pages >= 3
    empty = make_period(days=1, majors=0)
    empty = PeriodReport(**{**empty.__dict__, "figures": PeriodFigures(
        0, 0, 0, 0, (DayFigures(datetime(2026, 10, 1, tzinfo=UTC), 0, 0, 0),), (), (), (), (),
        (), (), (), 0, 0, 0, (), ())})
    _, text = pdf_text(period_pdf(empty))
    assert "None in the period." in flat(text)
    assert "Top configuration items Configuration item (class) Incidents Share None" in flat(
        text)


def test_the_appendix_shares_a_page_when_there_is_room() -> None:
    """The appendix used to start with a forced page break: a short last section sat
    alone on a near-blank page, and the appendix's last paragraphs spilled onto another."""
    reader = PdfReader(io.BytesIO(period_pdf(make_period(days=1, majors=0))))
    texts = [flat(page.extract_text() or "") for page in reader.pages]
    (appendix_page,) = [t for t in texts if "Appendix: what the figures mean" in t]
    assert "Major incidents (0) None in the period." in appendix_page
    # The heading keeps its first lines with it.
    assert "Appendix: what the figures mean Every figure is computed" in appendix_page


def test_a_heading_and_its_long_table_start_where_there_is_room() -> None:
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    from deskapp.reports.layout import Styles, build, p, table

    s = Styles()
    filler = Spacer(1, 150 * mm)  # about half of the first page stays free
    rows = [["#", "What"]] + [[str(i), f"row-{i:03d}"] for i in range(120)]
    data = build([filler, p("Long table heading", s.h1), table(rows, [20 * mm, 100 * mm])],
                 title="t", subject="s", author="a", header="h", footer="f")
    first = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    # Kept together, heading and table used to move to page 2 and leave page 1 half empty.
    assert "Long table heading" in first and "row-000" in first


def test_a_one_day_backlog_is_drawn_as_a_dot() -> None:
    from reportlab.graphics.shapes import Group, Shape

    from deskapp.reports.charts import BACKLOG_COLOUR, backlog_chart

    def shapes(node: Shape) -> list[Shape]:
        if isinstance(node, Group):
            return [s for child in node.contents for s in shapes(child)]
        return [node]

    drawing = backlog_chart(["27 Nov"], [4])
    drawn = shapes(drawing.contents[-1].draw())
    # A line through one point draws nothing: the day must show as a mark.
    assert any(type(s).__name__ == "Marker" and s.fillColor == BACKLOG_COLOUR for s in drawn)


def test_the_state_chart_axis_labels_are_exact() -> None:
    """A top of 1 hour in quarters used to read "0.0 0.2 0.5 0.8 1.0" (0.25 rounded)."""
    drawing = state_chart([("New", 600.0), ("In Progress", 0.8 * 3600)])
    words = flat(PdfReader(io.BytesIO(renderPDF.drawToString(drawing))).pages[0]
                 .extract_text()).split()
    numbers = [w for w in words if re.fullmatch(r"\d+(\.\d+)?", w)]
    # The axis (0 to 1 in fifths) and the two bar labels (0.2 and 0.8 hours).
    assert sorted(set(numbers)) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    for value in (0.01, 0.3, 1.0, 2.3, 7.0, 26.0, 1234.0):
        top, step, label = hour_axis(value)
        ticks = [step * i for i in range(round(top / step) + 1)]
        assert top >= value and 3 <= len(ticks) <= 7
        assert all(float(label % tick) == pytest.approx(tick) for tick in ticks), value
