"""Charts drawn on the server as small SVG documents (``templates/charts.html``):
no JavaScript library, nothing fetched, readable with scripts off and printable.

This module only does geometry: it turns series that a view has already computed
and labelled (in the viewer's language) into positioned marks, ticks and a legend.
Every chart also carries its data as a table, its text alternative: the SVG is
``role="img"`` with a ``<title>`` and a ``<desc>``, and the table follows it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

WIDTH, HEIGHT = 560, 300
# Room for the y-axis tick labels and title on the left, the x-axis ticks and
# title below.
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 56
# Colour-blind-safe, distinct in grey too (Okabe–Ito): the style sheet maps
# ``series-N`` to these and keeps the same order in the legend.
SERIES = 6


@dataclass(frozen=True)
class Tick:
    at: float  # position along its axis, in SVG units
    label: str


@dataclass(frozen=True)
class Table:
    """The chart's data, as the accessible alternative."""

    caption: str
    head: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric_from: int = 1  # columns from this one on are numbers (aligned right)


@dataclass
class Chart:
    id: str
    kind: str  # "line", "columns" or "bars"
    title: str
    description: str
    x_label: str
    y_label: str
    table: Table
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    paths: list[dict[str, Any]] = field(default_factory=list)  # {"d", "cls", "label"}
    rects: list[dict[str, Any]] = field(default_factory=list)  # {"x", "y", "w", "h", "cls", "label"}
    labels: list[dict[str, Any]] = field(default_factory=list)  # extra text: {"x", "y", "text", "anchor", "cls"}
    points: list[dict[str, Any]] = field(default_factory=list)  # dots: {"cx", "cy", "cls", "label"}
    empty: str | None = None  # shown instead of the drawing when there is nothing to draw
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def bottom(self) -> int:
        return self.height - BOTTOM


def nice_top(maximum: float, ticks: int = 5) -> tuple[float, float]:
    """A round upper bound for an axis starting at 0 and its tick step (1, 2, 2.5
    or 5 times a power of ten), so that ticks read 0, 50, 100 … not 0, 47, 94."""
    if maximum <= 0:
        return 1.0, 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1 and maximum >= 1:
        step = 1.0
    return step * math.ceil(maximum / step - 1e-9), step


def _y_ticks(
    top_value: float, step: float, scale: Callable[[float], float], label: Callable[[float], str]
) -> list[Tick]:
    count = round(top_value / step)
    return [Tick(scale(i * step), label(i * step)) for i in range(count + 1)]


def month_starts(start: date, end: date, most: int = 8) -> list[date]:
    """First days of the months between ``start`` and ``end``, thinned to at most
    ``most`` so that their labels never overlap."""
    months = []
    day = date(start.year, start.month, 1)
    if day < start:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    while day <= end:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    every = max(1, math.ceil(len(months) / most))
    return months[::every]


def step_lines(
    *,
    id: str,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    start: date,
    end: date,
    series: Sequence[tuple[str, Sequence[tuple[date, Decimal]]]],
    x_tick: Callable[[date], str],
    y_tick: Callable[[float], str],
    table: Table,
    empty: str,
) -> Chart:
    """Balances over time: each series keeps its value until its next point (a
    ledger balance changes only when an entry is posted) and runs to ``end``.

    A series of one point (the first day of a term, or an account whose only entry
    is today's) is still drawn: a dot, its value written beside it, on a flat line
    across the plot when the chart covers that one day."""
    chart = Chart(id, "line", title, description, x_label, y_label, table)
    drawn = [(label, [(d, float(v)) for d, v in points if d <= end]) for label, points in series]
    drawn = [(label, points) for label, points in drawn if points][:SERIES]
    if not drawn:
        chart.empty = empty
        return chart
    one_day = end <= start
    span = (end - start).days or 1
    top_value, step = nice_top(max(v for _, points in drawn for _, v in points))

    def x(d: date) -> float:
        if one_day:
            return round((chart.left + chart.right) / 2, 1)
        return round(chart.left + (chart.right - chart.left) * max(0, (d - start).days) / span, 1)

    def y(v: float) -> float:
        return round(chart.bottom - (chart.bottom - chart.top) * v / top_value, 1)

    chart.y_ticks = _y_ticks(top_value, step, y, y_tick)
    chart.x_ticks = (
        [Tick(x(end), x_tick(end))] if one_day else [Tick(x(d), x_tick(d)) for d in month_starts(start, end)]
    )
    for i, (label, points) in enumerate(drawn):
        first_day, first_value = points[0]
        d = [f"M{float(chart.left) if one_day else x(max(first_day, start))},{y(first_value)}"]
        previous = first_value
        for day, value in points[1:]:
            d.append(f"H{x(day)}V{y(value)}")
            previous = value
        d.append(f"H{float(chart.right) if one_day else x(end)}")
        chart.paths.append({"d": "".join(d), "cls": f"series-{i}", "label": f"{label}: {y_tick(previous)}"})
        chart.legend.append((f"series-{i}", label))
        if len(points) == 1:
            cx, cy = x(first_day), y(first_value)
            chart.points.append({"cx": cx, "cy": cy, "cls": f"series-{i}", "label": f"{label}: {y_tick(first_value)}"})
            anchor = "end" if cx > chart.right - 40 else "start"
            chart.labels.append(
                {
                    "x": cx - 8 if anchor == "end" else cx + 8,
                    "y": cy - 8 if cy - 8 >= chart.top + 12 else cy + 18,  # below the dot at the top of the plot
                    "text": y_tick(first_value),
                    "anchor": anchor,
                    "cls": "point-label",
                }
            )
    return chart


def stacked_columns(
    *,
    id: str,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, Sequence[int]]]]],
    segments: Sequence[tuple[str, str]],
    y_tick: Callable[[float], str],
    table: Table,
    empty: str,
) -> Chart:
    """Groups of columns (a month, then one column per severity), each column
    stacked by segment (met, late, breached). ``segments`` are (css class, label)."""
    chart = Chart(id, "columns", title, description, x_label, y_label, table, legend=list(segments))
    total = max((sum(values) for _, columns in groups for _, values in columns), default=0)
    if total == 0:
        chart.empty = empty
        chart.legend = []
        return chart
    chart.height = HEIGHT + 14  # a second row of labels: the column's, then the group's
    top_value, step = nice_top(total, ticks=min(5, max(1, int(total))))
    plot = chart.bottom - chart.top

    def y(v: float) -> float:
        return round(chart.bottom - plot * v / top_value, 1)

    chart.y_ticks = _y_ticks(top_value, step, y, y_tick)
    slot = (chart.right - chart.left) / len(groups)
    per_group = max(len(columns) for _, columns in groups)
    column = min(22.0, slot * 0.8 / per_group)
    for g, (group_label, columns) in enumerate(groups):
        x0 = chart.left + g * slot + (slot - column * len(columns)) / 2
        chart.x_ticks.append(Tick(round(chart.left + (g + 0.5) * slot, 1), group_label))
        for c, (column_label, values) in enumerate(columns):
            x = round(x0 + c * column, 1)
            base = 0.0
            for (cls, segment_label), value in zip(segments, values, strict=True):
                if value:
                    chart.rects.append(
                        {
                            "x": x + 1,
                            "y": y(base + value),
                            "w": round(column - 2, 1),
                            "h": round(y(base) - y(base + value), 1),
                            "cls": cls,
                            "label": f"{group_label}, {column_label}: {segment_label} {value}",
                        }
                    )
                base += value
            chart.labels.append(
                {
                    "x": round(x + column / 2, 1),
                    "y": chart.bottom + 14,
                    "text": column_label,
                    "anchor": "middle",
                    "cls": "column-label",
                }
            )
    return chart


def stacked_bars(
    *,
    id: str,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    bars: Sequence[tuple[str, Sequence[int]]],
    segments: Sequence[tuple[str, str]],
    x_tick: Callable[[float], str],
    table: Table,
    empty: str,
) -> Chart:
    """Horizontal bars (one per category, e.g. a catalog family) stacked by segment
    (scheduled, delivered, cancelled), each category's name written above its bar:
    long names stay whole in any language."""
    chart = Chart(id, "bars", title, description, x_label, y_label, table, legend=list(segments))
    total = max((sum(values) for _, values in bars), default=0)
    if total == 0:
        chart.empty = empty
        chart.legend = []
        return chart
    row = 44
    chart.left = 16
    chart.height = TOP + row * len(bars) + 44
    top_value, step = nice_top(total, ticks=min(5, max(1, int(total))))

    def x(v: float) -> float:
        return round(chart.left + (chart.right - chart.left) * v / top_value, 1)

    count = round(top_value / step)
    chart.x_ticks = [Tick(x(i * step), x_tick(i * step)) for i in range(count + 1)]
    for i, (label, values) in enumerate(bars):
        y = chart.top + i * row
        chart.labels.append({"x": chart.left, "y": y + 14, "text": label, "anchor": "start", "cls": "bar-label"})
        base = 0.0
        for (cls, segment_label), value in zip(segments, values, strict=True):
            if value:
                chart.rects.append(
                    {
                        "x": x(base),
                        "y": y + 20,
                        "w": round(x(base + value) - x(base), 1),
                        "h": 18,
                        "cls": cls,
                        "label": f"{label}: {segment_label} {value}",
                    }
                )
            base += value
    return chart
