"""The period report for management as a PDF: PeriodReport in, bytes out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Table

from deskapp.domain.enums import State
from deskapp.reports.charts import backlog_chart, volume_chart
from deskapp.reports.fonts import markup
from deskapp.reports.layout import (
    LINK,
    WIDTH,
    Styles,
    build,
    cell,
    duration,
    p,
    raw,
    share,
    spacer,
    table,
    text_block,
    when,
)
from deskapp.services.report_dto import Count, PeriodReport, PriorityInfo, ReviewView

DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Period", "The calendar days from the first to the last day named, both whole, in the "
     "time zone shown in the footer. An incident belongs to a day by the moment it was "
     "opened (or resolved) in that zone."),
    ("Filters", "Groups select incidents by their current assignment group; a category "
     "selects incidents filed under it or any of its subcategories; services and priorities "
     "select by the incident's current values. Every figure counts only incidents the "
     "filters select."),
    ("Opened", "Incidents opened during the period."),
    ("Resolved", "Incidents whose resolution time falls in the period. An incident reopened "
     "and resolved again counts once, at its last resolution; closing a resolved incident "
     "does not count again."),
    ("Backlog", "Incidents open at a moment: opened before it and neither resolved nor "
     "cancelled (or closed without a resolution) before it. The chart shows the backlog at "
     "the end of each day; \u201cat the start\u201d is the backlog at the first moment of "
     "the period."),
    ("Breakdowns", "Incidents opened in the period, by their current priority, top-level "
     "category, assignment group and the channel they came in by. Shares are of all "
     "incidents opened in the period."),
    ("Time to respond", "From opening to the first response (the first move out of New, or "
     "the first comment to the caller), for incidents opened in the period that have had "
     "one. Calendar time, round the clock."),
    ("Time to resolve", "From opening to resolution, for incidents resolved in the period; "
     "calendar time, including time on hold (the SLA clock leaves that out; see SLA "
     "compliance)."),
    ("Mean, median, 90th percentile", "The mean is the average. Half of the incidents took "
     "at most the median, nine in ten at most the 90th percentile; both are interpolated "
     "between the two nearest incidents, as PostgreSQL's percentile_cont does."),
    ("SLA compliance", "Response: of the incidents opened in the period that have had a "
     "first response, the share answered by their response due time. Resolution: of the "
     "incidents resolved in the period, the share resolved within their resolution target, "
     "time on hold left out (the SLA clock stops then). Each incident is judged by the "
     "targets of the priority matrix version in force when its due times were set; the "
     "table shows the targets in force during the period, with the date of any change, and "
     "marks those counted in business hours (bh)."),
    ("Reassignment rate", "The share of incidents opened in the period that were moved to "
     "another group or agent at least once after their first assignment."),
    ("Reopen rate", "The share of incidents resolved in the period that had been reopened "
     "at least once (sent back to work after a resolution)."),
    ("First-contact resolution", "The share of incidents opened in the period that were "
     "resolved within {minutes} minutes of being opened, never reassigned and never "
     "reopened: settled during the contact that raised them."),
    ("Top services and categories", "The services, and the categories with their "
     "subcategories, most incidents opened in the period were about."),
    ("Top configuration items", "The configuration items (servers, applications, network "
     "devices...) most incidents opened in the period were recorded against, with their "
     "class. Incidents without a configuration item are not listed; shares are of all "
     "incidents opened in the period."),
    ("Oldest open incidents", "Incidents open now (New, In Progress or On Hold) that were "
     "opened before the end of the period, oldest first."),
    ("Major incidents", "Incidents marked major that were opened or resolved in the period, "
     "with the number of incidents linked to them as children and the state of their "
     "post-incident review; the links lead to the reviews' summaries in this report."),
)


def _long_day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _day_label(day: date, count: int) -> str:
    return f"{day:%d}" if count <= 62 else f"{day:%d %b}"


def _counts_table(title: str, counts: Sequence[Count], total: int, s: Styles,
                  width: float) -> list[Flowable]:
    rows: list[list[object]] = [[p(title, s.head), p("Incidents", s.head_right),
                                 p("Share", s.head_right)]]
    rows += [[cell(c.label, s.cell, width - 44 * mm), f"{c.count:,}", share(c.count, total)]
             for c in counts]
    if not counts:
        rows.append([p("None", s.muted), "", ""])
    return [table(rows, [width - 44 * mm, 22 * mm, 22 * mm],
                  extra=[("ALIGN", (1, 1), (-1, -1), "RIGHT")])]


SIDE_BY_SIDE_ROWS = 24
"""Longer lists go one under the other: a table inside a table cannot split across pages."""


def _pair(title_left: str, left: Sequence[Count], title_right: str, right: Sequence[Count],
          total: int, s: Styles) -> list[Flowable]:
    """Two breakdowns side by side when both are short, else one under the other."""
    half = (WIDTH - 6 * mm) / 2
    if max(len(left), len(right)) <= SIDE_BY_SIDE_ROWS:
        return [_side_by_side(_counts_table(title_left, left, total, s, half),
                              _counts_table(title_right, right, total, s, half))]
    return [*_counts_table(title_left, left, total, s, WIDTH), spacer(3),
            *_counts_table(title_right, right, total, s, WIDTH)]


def _side_by_side(left: list[Flowable], right: list[Flowable]) -> Table:
    half = (WIDTH - 6 * mm) / 2
    t = Table([[left, right]], colWidths=[half + 3 * mm, half + 3 * mm])
    t.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 6 * mm), ("RIGHTPADDING", (1, 0), (1, 0), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)])
    return t


def _anchor(number: str) -> str:
    return f"review-{number}"


def period_pdf(report: PeriodReport) -> bytes:
    """The period report as a PDF document."""
    s = Styles()
    f = report.figures
    zone = report.zone
    prio: dict[int, PriorityInfo] = {pr.rank: pr for pr in report.priorities}
    story: list[Flowable] = []
    span = (_long_day(report.first_day) if report.first_day == report.last_day
            else f"{_long_day(report.first_day)} \u2013 {_long_day(report.last_day)}")
    days = (report.last_day - report.first_day).days + 1

    story.append(p("Incident management report", s.subtitle))
    story.append(p(span, s.title))
    story.append(p(("; ".join(report.filters) if report.filters else "All incidents")
                   + f" \u00b7 {days} day{'s' if days != 1 else ''}", s.body))
    story.append(spacer(3))

    # --- the headline figures --------------------------------------------------------------
    resp_met = sum(pf.response_met for pf in f.priorities)
    resp_total = sum(pf.response_total for pf in f.priorities)
    res_met = sum(pf.resolution_met for pf in f.priorities)
    res_total = sum(pf.resolution_total for pf in f.priorities)
    headline = [
        [p("Figure", s.head), p("Value", s.head_right), p("Figure", s.head),
         p("Value", s.head_right)],
        ["Opened", f"{f.opened:,}", "Response SLA met", share(resp_met, resp_total)],
        ["Resolved", f"{f.resolved:,}", "Resolution SLA met", share(res_met, res_total)],
        ["Backlog at the start", f"{f.backlog_start:,}", "Reassignment rate",
         share(f.reassigned, f.opened)],
        ["Backlog at the end", f"{f.backlog_end:,}", "Reopen rate",
         share(f.reopened, f.resolved)],
        ["Major incidents", f"{len(f.majors):,}", "First-contact resolution",
         share(f.first_contact, f.opened)],
    ]
    story.append(table(headline, [55 * mm, WIDTH / 2 - 55 * mm, 55 * mm, WIDTH / 2 - 55 * mm],
                       extra=[("ALIGN", (1, 1), (1, -1), "RIGHT"),
                              ("ALIGN", (3, 1), (3, -1), "RIGHT")]))
    story.append(spacer(4))

    labels = [_day_label(d.start.astimezone(zone).date(), len(f.days)) for d in f.days]
    story.append(volume_chart(labels, [d.opened for d in f.days],
                              [d.resolved for d in f.days], width=WIDTH))
    story.append(spacer(3))
    story.append(backlog_chart(labels, [d.backlog for d in f.days], width=WIDTH))

    # --- breakdowns --------------------------------------------------------------------------
    story.append(CondPageBreak(70 * mm))
    story.append(p("Incidents opened, by ...", s.h1))
    story += _pair("Priority", f.by_priority, "Channel", f.by_channel, f.opened, s)
    story.append(spacer(3))
    story += _pair("Category", f.by_category, "Assignment group", f.by_group, f.opened, s)

    # --- times and SLA ---------------------------------------------------------------------
    story.append(CondPageBreak(60 * mm))
    story.append(p("Time to respond and to resolve, per priority", s.h1))
    rows: list[list[object]] = [[
        p("Priority", s.head), p("Answered", s.head_right), p("Mean", s.head_right),
        p("Median", s.head_right), p("90th pct.", s.head_right),
        p("Resolved", s.head_right), p("Mean", s.head_right), p("Median", s.head_right),
        p("90th pct.", s.head_right)]]
    for pf in f.priorities:
        rows.append([_prio_label(prio, pf.priority, s),
                     f"{pf.respond.count:,}", duration(pf.respond.mean),
                     duration(pf.respond.median), duration(pf.respond.p90),
                     f"{pf.resolve.count:,}", duration(pf.resolve.mean),
                     duration(pf.resolve.median), duration(pf.resolve.p90)])
    if not f.priorities:
        rows.append([p("No incidents in the period.", s.muted)] + [""] * 8)
    # The two count columns carry the longest headings ("Answered"): room for them.
    count, time_ = 20 * mm, (WIDTH - 28 * mm - 2 * 20 * mm) / 6
    story.append(table(rows, [28 * mm, count, time_, time_, time_, count, time_, time_, time_],
                       extra=[("ALIGN", (1, 1), (-1, -1), "RIGHT")]))

    story.append(p("SLA compliance, per priority", s.h1))
    rows = [[p("Priority", s.head), p("Response target", s.head_right),
             p("Responses met", s.head_right), p("Share", s.head_right),
             p("Resolution target", s.head_right), p("Resolutions met", s.head_right),
             p("Share", s.head_right)]]
    for pf in f.priorities:
        info = prio.get(pf.priority)
        rows.append([_prio_label(prio, pf.priority, s),
                     _target(info, "response", report, s),
                     f"{pf.response_met:,} of {pf.response_total:,}",
                     share(pf.response_met, pf.response_total),
                     _target(info, "resolution", report, s),
                     f"{pf.resolution_met:,} of {pf.resolution_total:,}",
                     share(pf.resolution_met, pf.resolution_total)])
    rows.append([p("All", s.cell_bold), "", f"{resp_met:,} of {resp_total:,}",
                 share(resp_met, resp_total), "", f"{res_met:,} of {res_total:,}",
                 share(res_met, res_total)])
    story.append(table(rows, [36 * mm, 24 * mm, 29 * mm, 17 * mm, 24 * mm, 29 * mm,
                              WIDTH - 159 * mm],
                       extra=[("ALIGN", (1, 1), (-1, -1), "RIGHT")]))
    story += _targets_notes(report, s)

    story.append(p("Reassignments, reopenings, first contact", s.h1))
    rows = [[p("Rate", s.head), p("Incidents", s.head_right), p("Of", s.head_right),
             p("Share", s.head_right)],
            ["Reassigned (of those opened)", f"{f.reassigned:,}", f"{f.opened:,}",
             share(f.reassigned, f.opened)],
            ["Reopened (of those resolved)", f"{f.reopened:,}", f"{f.resolved:,}",
             share(f.reopened, f.resolved)],
            [f"Resolved at first contact (within {report.first_contact_minutes} min)",
             f"{f.first_contact:,}", f"{f.opened:,}", share(f.first_contact, f.opened)]]
    story.append(table(rows, [WIDTH - 75 * mm, 25 * mm, 25 * mm, 25 * mm],
                       extra=[("ALIGN", (1, 1), (-1, -1), "RIGHT")]))

    # --- top lists -------------------------------------------------------------------------
    story.append(CondPageBreak(60 * mm))
    story.append(p("Top services and categories", s.h1))
    story += _pair("Service", f.top_services, "Category / subcategory", f.top_categories,
                   f.opened, s)
    story.append(p("Top configuration items", s.h1))
    story += _counts_table("Configuration item (class)", f.top_configuration_items, f.opened,
                           s, WIDTH)

    story.append(p("Oldest open incidents", s.h1))
    if f.oldest_open:
        widths = [24 * mm, 29 * mm, 12 * mm, WIDTH - 137 * mm, 22 * mm, 50 * mm]
        rows = [[p("Number", s.head), p("Opened", s.head), p("Prio.", s.head),
                 p("Short description", s.head), p("State", s.head),
                 p("Group / agent", s.head)]]
        rows += [[o.number, when(o.opened_at, zone), _prio_code(prio, o.priority),
                  cell(o.short_description, s.cell, widths[3]), _state(o.state),
                  cell(" / ".join(x for x in (o.group, o.assignee) if x) or "(unassigned)",
                       s.cell, widths[5])] for o in f.oldest_open]
        story.append(table(rows, widths))
    else:
        story.append(p("No incident is open.", s.muted))

    # --- major incidents -------------------------------------------------------------------
    reviews = {r.incident_id: r for r in report.reviews}
    story.append(p(f"Major incidents ({len(f.majors)})", s.h1))
    if f.majors:
        widths = [24 * mm, 29 * mm, WIDTH - 127 * mm, 20 * mm, 20 * mm, 34 * mm]
        rows = [[p("Number", s.head), p("Opened", s.head), p("Short description", s.head),
                 p("State", s.head), p("Children", s.head_right), p("Review", s.head)]]
        for m in f.majors:
            review = reviews.get(m.id)
            link = (raw(f'<a href="#{_anchor(m.number)}" color="#{LINK.hexval()[2:]}">'
                        f'<u>{review.status.label}</u></a>', s.cell)
                    if review else p("None yet", s.muted))
            rows.append([m.number, when(m.opened_at, zone),
                         cell(m.short_description, s.cell, widths[2]), _state(m.state),
                         f"{m.children:,}", link])
        story.append(table(rows, widths, extra=[("ALIGN", (4, 1), (4, -1), "RIGHT")]))
    else:
        story.append(p("None in the period.", s.muted))

    # Conditional breaks: a short section shares the page before rather than leave it
    # near-blank; a heading still moves on with its first lines (keepWithNext).
    if report.reviews:
        story.append(CondPageBreak(60 * mm))
        story.append(p("Major incident reviews", s.h1))
        story.append(p("Summaries of the reviews of this period's major incidents; each "
                       "incident's full review is exported from Deskapp (Reports \u2192 "
                       "Post-incident review, or `deskapp report review NUMBER`).", s.muted))
        for review in report.reviews:
            story += _review_summary(review, s, report)

    # --- definitions -------------------------------------------------------------------------
    story.append(CondPageBreak(60 * mm))
    story.append(p("Appendix: what the figures mean", s.h1))
    story.append(p("Every figure is computed by the database from the incidents as they are "
                   f"stored when the report is made ({when(report.generated_at, zone)}). "
                   "Priorities, groups, categories, services and configuration items are an "
                   "incident's current ones.", s.body))
    story.append(spacer(2))
    for term, meaning in DEFINITIONS:
        story.append(KeepTogether([
            p(term, s.h2),
            p(meaning.format(minutes=report.first_contact_minutes), s.body)]))
    for note in report.notes:
        story.append(p(note, s.muted))

    header = f"Incident management report \u00b7 {span}"
    footer = (f"Generated {when(report.generated_at, zone)} by {report.generated_by} "
              f"\u00b7 times in {report.zone_name}")
    return build(story, title=f"Incident management report {span}", subject=span,
                 author=report.generated_by, header=header, footer=footer)


def _review_summary(review: ReviewView, s: Styles, report: PeriodReport) -> list[Flowable]:
    c = review.content
    head = raw(f'<a name="{_anchor(review.incident_number)}"/>'
               f"{markup(review.incident_number)} \u00b7 review {review.status.label.lower()}"
               f", by {markup(review.author_name)}, "
               f"{when(review.finalized_at or review.updated_at, report.zone)}", s.h2)
    parts: list[Flowable] = [head, p("Summary", s.cell_bold), *text_block(c.summary, s),
                             p("Root cause", s.cell_bold), *text_block(c.root_cause, s)]
    if c.action_items:
        done = sum(1 for a in c.action_items if a.state.value in ("done", "dropped"))
        parts.append(p(f"Action items: {len(c.action_items)}, {done} done or dropped; "
                       "open ones: " + ("; ".join(
                           f"{a.description} ({a.owner or 'no owner'}"
                           + (f", due {a.due:%Y-%m-%d}" if a.due else "") + ")"
                           for a in c.action_items if a.state.value not in ("done", "dropped"))
                           or "none") + ".", s.body))
    parts.append(spacer(2))
    return parts


BUSINESS_HOURS_MARK = " bh"
"""After a target counted in business hours; the note under the table says which hours."""


def _target(info: PriorityInfo | None, which: str, report: PeriodReport,
            s: Styles) -> object:
    """A priority's target in force at the period's start, and each change to it during the
    period ("then 8 h bh from 03-15")."""
    if info is None:
        return "\u2014"

    def one(minutes: int, business_hours: bool) -> str:
        return duration(minutes * 60) + (BUSINESS_HOURS_MARK if business_hours else "")

    text = one(getattr(info, f"{which}_minutes"), info.business_hours)
    if not info.changes:
        return text
    days = [c.since.astimezone(report.zone).date() for c in info.changes]
    # The day says enough unless the targets changed twice in one day.
    stamp = "%m-%d %H:%M" if len(set(days)) < len(days) else "%m-%d"
    lines, shown = [text], text
    for change in info.changes:
        new = one(getattr(change, f"{which}_minutes"), change.business_hours)
        if new != shown:
            lines.append(f"{new} from {change.since.astimezone(report.zone):{stamp}}")
            shown = new
    return raw("<br/>".join(markup(line) for line in lines), s.cell_right)


def _targets_notes(report: PeriodReport, s: Styles) -> list[Flowable]:
    """Which matrix versions the targets come from, and what "bh" means."""
    notes = [report.targets_note] if report.targets_note else []
    bh = any(i.business_hours or any(c.business_hours for c in i.changes)
             for i in report.priorities)
    if bh:
        notes.append(f"Targets marked \u201c{BUSINESS_HOURS_MARK.strip()}\u201d count "
                     f"business hours only ({report.business_hours or 'the desk calendar'}).")
    return [spacer(1.5), p(" ".join(notes), s.muted)] if notes else []


def _prio_label(prio: dict[int, PriorityInfo], rank: int, s: Styles) -> object:
    info = prio.get(rank)
    if info is None:
        return f"P{rank}"
    return raw(f'<font color="{info.colour}">\u25a0</font> {markup(info.label)}', s.cell)


def _prio_code(prio: dict[int, PriorityInfo], rank: int) -> str:
    info = prio.get(rank)
    return info.label.split(" - ")[0] if info else f"P{rank}"


def _state(value: str) -> str:
    try:
        return State(value).label
    except ValueError:
        return value
