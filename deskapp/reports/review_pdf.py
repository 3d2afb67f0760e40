"""The post-incident review as a PDF: ReviewReport in, bytes out."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether

from deskapp.reports.charts import state_chart
from deskapp.reports.fonts import markup
from deskapp.reports.layout import (
    BAD,
    GOOD,
    WIDTH,
    Styles,
    build,
    cell,
    duration,
    p,
    raw,
    spacer,
    table,
    text_block,
    when,
)
from deskapp.services.report_dto import ReviewReport, ReviewStatus


def _outcome(breached: bool, measured: float | None) -> str:
    if measured is None:
        return '<font color="#c62828"><b>Breached</b></font>' if breached else "Pending"
    colour = BAD.hexval()[2:] if breached else GOOD.hexval()[2:]
    return f'<font color="#{colour}"><b>{"Breached" if breached else "Met"}</b></font>'


def review_pdf(report: ReviewReport) -> bytes:
    """The review of ``report``'s incident as a PDF document."""
    s = Styles()
    zone = report.zone
    review = report.review
    content = review.content if review else None
    story: list[Flowable] = []

    # --- title block -----------------------------------------------------------------------
    story.append(p("Post-incident review", s.subtitle))
    story.append(p(f"{report.number}: {report.title}", s.title))
    status = (f"{review.status.label}, version {review.version}" if review
              else "Not begun: the facts below come from the incident record")
    author = review.author_name if review else "\u2014"
    dated = when(review.finalized_at or review.updated_at, zone) if review else "\u2014"
    badge = (f'<font color="{report.priority_colour}">\u25a0</font> '
             f"{markup(report.priority_label)}")
    rows = [
        [p("Incident", s.cell_bold), p(report.number, s.cell),
         p("Priority", s.cell_bold), raw(badge, s.cell)],
        [p("State", s.cell_bold), p(report.state + (" \u00b7 major incident"
                                                    if report.is_major else ""), s.cell),
         p("Review", s.cell_bold), p(status, s.cell)],
        [p("Author", s.cell_bold), p(author, s.cell),
         p("Date", s.cell_bold), p(dated, s.cell)],
        [p("Caller", s.cell_bold), p(report.caller, s.cell),
         p("Service", s.cell_bold), p(report.service or "\u2014", s.cell)],
        [p("Category", s.cell_bold), p(report.category or "\u2014", s.cell),
         p("Configuration item", s.cell_bold),
         p(report.configuration_item or "\u2014", s.cell)],
        # Eleven facts: the last one has the row to itself.
        [p("Group / agent", s.cell_bold),
         p(" / ".join(x for x in (report.group, report.assignee) if x) or "\u2014", s.cell),
         "", ""],
    ]
    story.append(table(rows, [25 * mm, WIDTH / 2 - 25 * mm, 34 * mm, WIDTH / 2 - 34 * mm],
                       header=False, zebra=False,
                       extra=[("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#bdbdbd")),
                              ("SPAN", (1, -1), (-1, -1))]))

    # --- key facts -------------------------------------------------------------------------
    f = report.facts
    clock = " (business hours)" if f.business_hours else ""
    story.append(p("Key facts", s.h1))
    facts = [
        [p("Measure", s.head), p("Value", s.head), p("Target", s.head), p("Outcome", s.head)],
        [p("Opened", s.cell), p(when(f.opened_at, zone), s.cell), p("", s.cell),
         p("", s.cell)],
        [p("First response", s.cell), p(when(f.first_response_at, zone), s.cell),
         p("", s.cell), p("", s.cell)],
        [p("Resolved", s.cell),
         p(when(f.resolved_at, zone) + (f" (as {f.source} recorded it)"
                                         if f.source and f.resolved_at else ""), s.cell),
         p("", s.cell), p("", s.cell)],
        [p("Closed", s.cell), p(when(f.closed_at, zone), s.cell), p("", s.cell),
         p("", s.cell)],
        [p("Time to respond", s.cell), p(duration(f.response_seconds) + clock, s.cell),
         p(duration(f.response_target_seconds) + clock, s.cell),
         raw(_outcome(f.response_breached, f.response_seconds), s.cell)],
        [p("Time to resolve (SLA clock)", s.cell),
         p(duration(f.resolution_seconds) + clock, s.cell),
         p(duration(f.resolution_target_seconds) + clock, s.cell),
         raw(_outcome(f.resolution_breached, f.resolution_seconds)
             + (" (as recorded by the source)" if f.source else ""), s.cell)],
        [p("Time on hold", s.cell), p(duration(f.on_hold_seconds), s.cell), p("", s.cell),
         p("", s.cell)],
        [p("Reassignments", s.cell), p(str(f.reassignments), s.cell), p("", s.cell),
         p("", s.cell)],
        [p("Reopenings", s.cell), p(str(f.reopenings), s.cell), p("", s.cell),
         p("", s.cell)],
    ]
    story.append(table(facts, [55 * mm, 50 * mm, 35 * mm, WIDTH - 140 * mm]))
    story += _facts_notes(report, s)
    story.append(spacer(3))
    story.append(state_chart([(span.state, span.seconds) for span in report.state_spans],
                             width=WIDTH))

    # --- what happened ---------------------------------------------------------------------
    story.append(p("Summary", s.h1))
    story += text_block(content.summary if content else "", s)
    if report.description.strip():
        story.append(p("As reported", s.h2))
        story += text_block(report.description, s)
    story.append(p("Impact", s.h1))
    story.append(p("On customers", s.h2))
    story += text_block(content.customer_impact if content else "", s)
    story.append(p("On the business", s.h2))
    story += text_block(content.business_impact if content else "", s)
    story.append(p("Detection", s.h1))
    if content and content.detected_at:
        story.append(p(f"Learned of it at {when(content.detected_at, zone)} "
                       f"({duration((content.detected_at - f.opened_at).total_seconds())} "
                       "from the incident's opening).", s.body))
    story += text_block(content.detection if content else "", s)

    # --- timeline --------------------------------------------------------------------------
    story.append(CondPageBreak(40 * mm))
    story.append(p(f"Timeline ({len(report.timeline):,} entries)", s.h1))
    if report.timeline:
        rows = [[p("Time", s.head), p("Author", s.head), p("What happened", s.head)]]
        widths = [33 * mm, 35 * mm, WIDTH - 68 * mm]
        rows += [[when(e.at, zone, seconds=True), cell(e.author, s.cell, widths[1]),
                  cell(e.what, s.cell, widths[2])] for e in report.timeline]
        story.append(table(rows, widths))
    else:
        story.append(p("The activity log is empty.", s.muted))

    # --- cause and cure --------------------------------------------------------------------
    story.append(p("Root cause", s.h1))
    story += text_block(content.root_cause if content else "", s)
    story.append(p("Contributing factors", s.h2))
    story += text_block(content.contributing_factors if content else "", s)
    story.append(p("Resolution and recovery", s.h1))
    story += text_block(content.resolution if content else "", s,
                        empty="Not written yet." if not report.resolution_notes
                        else "The review adds nothing to the resolution notes below.")
    if report.resolution_code or report.resolution_notes:
        story.append(p(f"Resolution notes ({report.resolution_code or 'no code'})", s.h2))
        story += text_block(report.resolution_notes, s, empty="None.")

    story.append(p(f"Child incidents ({len(report.children)})", s.h1))
    if report.children:
        rows = [[p("Number", s.head), p("Opened", s.head), p("Caller", s.head),
                 p("Short description", s.head), p("State", s.head)]]
        rows += [[p(c.number, s.cell), p(when(c.opened_at, zone), s.cell),
                  p(c.caller_name, s.cell), p(c.short_description, s.cell),
                  p(c.state.label, s.cell)] for c in report.children]
        story.append(table(rows, [24 * mm, 31 * mm, 35 * mm, WIDTH - 112 * mm, 22 * mm]))
    else:
        story.append(p("No incidents are linked to this one.", s.muted))

    story.append(p("Reassignment history", s.h1))
    if report.reassignments:
        rows = [[p("Time", s.head), p("By", s.head), p("From", s.head), p("To", s.head)]]
        rows += [[p(when(r.at, zone), s.cell), p(r.by, s.cell),
                  p(_where(r.from_group, r.from_agent), s.cell),
                  p(_where(r.to_group, r.to_agent), s.cell)] for r in report.reassignments]
        story.append(table(rows, [31 * mm, 35 * mm, (WIDTH - 66 * mm) / 2,
                                  (WIDTH - 66 * mm) / 2]))
    elif report.group or report.assignee:
        # Logged straight to a group or agent: that leaves no assignment entry to list.
        story.append(p(f"Never reassigned: with {_where(report.group, report.assignee)} "
                       "since it was logged.", s.muted))
    else:
        story.append(p("Never assigned.", s.muted))

    # --- learning --------------------------------------------------------------------------
    story.append(p("What went well", s.h1))
    story += text_block(content.went_well if content else "", s)
    story.append(p("What went badly", s.h1))
    story += text_block(content.went_badly if content else "", s)

    items = content.action_items if content else ()
    story.append(p(f"Action items ({len(items)})", s.h1))
    if items:
        rows = [[p("#", s.head), p("Action", s.head), p("Owner", s.head), p("Due", s.head),
                 p("State", s.head)]]
        rows += [[p(str(i), s.cell), p(a.description, s.cell), p(a.owner or "\u2014", s.cell),
                  p(a.due.isoformat() if a.due else "\u2014", s.cell),
                  p(a.state.label, s.cell)] for i, a in enumerate(items, start=1)]
        story.append(table(rows, [8 * mm, WIDTH - 91 * mm, 38 * mm, 22 * mm, 23 * mm]))
    else:
        story.append(p("None recorded.", s.muted))
    story.append(p("Lessons learned", s.h1))
    story += text_block(content.lessons_learned if content else "", s)

    # --- sign-off --------------------------------------------------------------------------
    signed = review is not None and review.status == ReviewStatus.FINAL
    sign_rows = [
        [p("Role", s.head), p("Name", s.head), p("Date", s.head), p("Signature", s.head)],
        [p("Review author", s.cell), p(author, s.cell),
         p(when(review.created_at, zone) if review else "", s.cell), p("", s.cell)],
        [p("Signed off (final)", s.cell),
         p(review.finalized_by_name or "" if signed and review else "", s.cell),
         p(when(review.finalized_at, zone) if signed and review else "", s.cell),
         p("", s.cell)],
        [p("Service owner", s.cell), p("", s.cell), p("", s.cell), p("", s.cell)],
    ]
    block: list[Flowable] = [p("Sign-off", s.h1)]
    if not signed:
        block.append(p("This review is not final yet: it may still change.", s.muted))
        block.append(spacer(2))
    block.append(table(sign_rows, [40 * mm, 50 * mm, 32 * mm, WIDTH - 122 * mm], zebra=False,
                       row_heights=[None, 12 * mm, 12 * mm, 12 * mm],
                       extra=[("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#bdbdbd"))]))
    story.append(KeepTogether(block))

    header = f"Post-incident review \u00b7 {report.number}"
    footer = (f"Generated {when(report.generated_at, zone)} by {report.generated_by} "
              f"\u00b7 times in {report.zone_name}")
    return build(story, title=f"Post-incident review {report.number}", subject=report.title,
                 author=author if review else report.generated_by, header=header,
                 footer=footer)


def _facts_notes(report: ReviewReport, s: Styles) -> list[Flowable]:
    """Whose targets the key facts show, on which clock, and what an imported incident's
    source recorded rather than Deskapp measured."""
    f = report.facts
    parts = []
    if f.source and f.resolved_at:
        parts.append(f"Imported from {f.source}: the resolved time and the resolution "
                     f"verdict are as {f.source} recorded them, and the time to resolve is "
                     "measured to that resolved time.")
        if f.resolved_state_at is not None:
            parts.append("The timeline and the time in each state show the state change to "
                         f"Resolved at {when(f.resolved_state_at, report.zone)}, from "
                         f"{f.source}'s event log.")
    if f.targets_note:
        parts.append(f.targets_note)
    if f.business_hours:
        parts.append(f"They count business hours only ({f.business_hours}), and so do the "
                     "times to respond and to resolve beside them.")
    return [p(" ".join(parts), s.muted)] if parts else []


def _where(group: str, agent: str) -> str:
    return " / ".join(x for x in (group, agent) if x) or "(unassigned)"
