"""Small charts for the reports, drawn with reportlab.graphics (vector, no images)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from deskapp.reports.fonts import SANS, SANS_BOLD, register

OPENED_COLOUR = colors.HexColor("#1976d2")
RESOLVED_COLOUR = colors.HexColor("#43a047")
BACKLOG_COLOUR = colors.HexColor("#e65100")
STATE_COLOUR = colors.HexColor("#5c6bc0")
GRID = colors.HexColor("#e0e0e0")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (an axis' top)."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** (len(str(int(value))) - 1)
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _title(drawing: Drawing, text: str, width: float, height: float) -> None:
    drawing.add(String(0, height - 11, text, fontName=SANS_BOLD, fontSize=9))


def _label_step(count: int, room: float, per_label: float = 34) -> int:
    """Show every n-th category label so that labels never overlap."""
    return max(1, int(count * per_label / max(room, 1)) + 1) if count * per_label > room else 1


def state_chart(spans: Sequence[tuple[str, float]], width: float = 440,
                height: float = 120) -> Drawing:
    """Horizontal bars: hours spent in each state."""
    register()
    rows = max(len(spans), 1)
    height = max(height, 34 + rows * 18)
    drawing = Drawing(width, height)
    _title(drawing, "Time in each state (hours)", width, height)
    if not spans:
        drawing.add(String(0, height - 30, "No state changes recorded.", fontName=SANS,
                           fontSize=8))
        return drawing
    chart = HorizontalBarChart()
    chart.x, chart.y = 90, 18
    chart.width, chart.height = width - 120, height - 40
    hours = [max(seconds / 3600, 0) for _, seconds in spans]
    chart.data = [hours]
    chart.bars[0].fillColor = STATE_COLOUR
    chart.bars.strokeColor = None
    chart.barLabelFormat = "%.1f"
    chart.barLabels.fontName = SANS
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    chart.categoryAxis.categoryNames = [label for label, _ in spans]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.reverseDirection = True
    chart.valueAxis.valueMin = 0
    top, step, label_format = hour_axis(max(hours) * 1.15)
    chart.valueAxis.valueMax = top
    chart.valueAxis.valueStep = step
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = label_format
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = GRID
    drawing.add(chart)
    return drawing


def hour_axis(value: float, ticks: int = 5) -> tuple[float, float, str]:
    """An axis from 0 past ``value``: (top, step, label format), in about ``ticks`` steps.

    The step is 1, 2 or 5 x 10^n and the labels show as many decimals as it has, so every
    label is exact: a top of 1 split in quarters printed "0.2" and "0.8" for 0.25 and 0.75.
    """
    if value <= 0:
        value = 1.0
    rough = value / ticks
    magnitude = 10.0 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1.0, 2.0, 5.0, 10.0) if m * magnitude >= rough * 0.999)
    top = step * math.ceil(value / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return top, step, f"%.{decimals}f"


def volume_chart(labels: Sequence[str], opened: Sequence[int], resolved: Sequence[int],
                 width: float = 500, height: float = 170) -> Drawing:
    """Grouped bars per day: incidents opened and incidents resolved."""
    register()
    drawing = Drawing(width, height)
    _title(drawing, "Incidents opened and resolved per day", width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 28
    chart.width, chart.height = width - 50, height - 58
    chart.data = [list(opened) or [0], list(resolved) or [0]]
    chart.bars[0].fillColor = OPENED_COLOUR
    chart.bars[1].fillColor = RESOLVED_COLOUR
    chart.bars.strokeColor = None
    chart.groupSpacing = 2 if len(labels) > 40 else 4
    chart.barSpacing = 0
    _axes(chart, labels, max([*opened, *resolved, 1]))
    drawing.add(chart)
    _legend(drawing, width, height, [(OPENED_COLOUR, "Opened"), (RESOLVED_COLOUR, "Resolved")])
    return drawing


MARKED_POINTS = 31
"""Up to a month of days, each day's backlog is also drawn as a dot."""


def backlog_chart(labels: Sequence[str], backlog: Sequence[int], width: float = 500,
                  height: float = 150) -> Drawing:
    """A line: incidents open at the end of each day."""
    register()
    drawing = Drawing(width, height)
    _title(drawing, "Backlog: incidents open at the end of each day", width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y = 40, 28
    chart.width, chart.height = width - 50, height - 48
    chart.data = [list(backlog) or [0]]
    chart.lines[0].strokeColor = BACKLOG_COLOUR
    chart.lines[0].strokeWidth = 1.5
    chart.joinedLines = True
    if len(backlog) <= MARKED_POINTS:
        # A day's point each: one day alone would otherwise draw no line at all.
        chart.lines[0].symbol = makeMarker("FilledCircle", size=4,
                                           fillColor=BACKLOG_COLOUR,
                                           strokeColor=BACKLOG_COLOUR)
    top = max([*backlog, 1])
    _axes(chart, labels, top)
    low = min(backlog) if backlog else 0
    # A backlog that hardly moves would be a flat line at the top: start the axis near it.
    if low > top * 0.5:
        step = chart.valueAxis.valueStep
        chart.valueAxis.valueMin = max(0, (low // step - 1) * step)
    drawing.add(chart)
    return drawing


def _axes(chart: VerticalBarChart | HorizontalLineChart, labels: Sequence[str],
          top: float) -> None:
    step = _label_step(len(labels), chart.width)
    chart.categoryAxis.categoryNames = [label if i % step == 0 else ""
                                        for i, label in enumerate(labels)] or [""]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.dy = -3
    chart.categoryAxis.tickDown = 2
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = nice_ceiling(top * 1.05)
    chart.valueAxis.valueStep = max(chart.valueAxis.valueMax / 5, 1)
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%.0f"
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = GRID


def _legend(drawing: Drawing, width: float, height: float,
            items: list[tuple[colors.Color, str]]) -> None:
    legend = Legend()
    legend.x, legend.y = width - 150, height - 6
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 70
    legend.dx = legend.dy = 7
    legend.fontName = SANS
    legend.fontSize = 7.5
    legend.boxAnchor = "nw"
    legend.colorNamePairs = items
    legend.strokeColor = None
    drawing.add(legend)
