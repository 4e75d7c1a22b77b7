"""The server-drawn charts' geometry (unisupport.web.charts): round axes, month
ticks that never crowd, step lines that hold a balance until it moves, stacked
columns and bars whose marks add up, and words instead of an empty drawing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from unisupport.web.charts import (
    Table,
    month_starts,
    nice_top,
    stacked_bars,
    stacked_columns,
    step_lines,
)

TABLE = Table("caption", ("a", "b"), [("1", "2")])


def test_axes_end_on_round_numbers():
    assert nice_top(48) == (50, 10)
    assert nice_top(386) == (400, 100)
    assert nice_top(3, ticks=3) == (3, 1)
    assert nice_top(0) == (1.0, 1.0)
    assert nice_top(0.4) == (0.4, 0.1)


def test_month_ticks_are_thinned_to_at_most_eight():
    ticks = month_starts(date(2026, 1, 1), date(2028, 12, 31))
    assert len(ticks) <= 8 and ticks[0] == date(2026, 1, 1)
    assert month_starts(date(2026, 1, 15), date(2026, 3, 2)) == [date(2026, 2, 1), date(2026, 3, 1)]


def balances(start: date, end: date, series):
    """A balances chart of ``series`` from ``start`` to ``end``, labels as written."""
    return step_lines(
        id="c",
        title="t",
        description="d",
        x_label="x",
        y_label="y",
        start=start,
        end=end,
        series=series,
        x_tick=str,
        y_tick=lambda v: f"{v:g}",
        table=TABLE,
        empty="nothing",
    )


def test_a_step_line_holds_each_balance_until_the_next_entry_and_runs_to_the_end():
    chart = balances(
        date(2026, 1, 1),
        date(2026, 12, 31),
        [("credits", [(date(2026, 1, 1), Decimal(48)), (date(2026, 7, 1), Decimal(40))])],
    )
    (path,) = chart.paths
    assert path["d"] == f"M{chart.left:.1f},23.2H302.7V60.0H{chart.right:.1f}"  # 48 until July, then 40
    assert path["label"] == "credits: 40"
    assert [t.label for t in chart.y_ticks] == ["0", "10", "20", "30", "40", "50"]
    assert chart.legend == [("series-0", "credits")] and chart.empty is None


def test_a_balance_with_one_data_point_is_drawn_as_a_point_on_a_flat_line_with_its_value():
    """The first day of a term (start == end), or an account whose only entry is
    today's: one point, still drawn, its value written beside it."""
    day = date(2026, 12, 1)
    one_day = balances(day, day, [("credits", [(day, Decimal(48))])])
    assert one_day.empty is None and one_day.legend == [("series-0", "credits")]
    (path,) = one_day.paths
    assert path["d"] == f"M{one_day.left:.1f},23.2H{one_day.right:.1f}"  # flat, across the plot
    (point,) = one_day.points
    assert point["cy"] == 23.2 and one_day.left < point["cx"] < one_day.right and point["label"] == "credits: 48"
    assert [label["text"] for label in one_day.labels] == ["48"]
    assert [t.label for t in one_day.x_ticks] == [str(day)]
    today_only = balances(date(2026, 1, 1), day, [("hours", [(day, Decimal(400))])])
    (point,) = today_only.points
    assert point["cx"] == today_only.right and [label["text"] for label in today_only.labels] == ["400"]


def test_stacked_columns_add_up_and_an_empty_chart_says_so_in_words():
    chart = stacked_columns(
        id="c",
        title="t",
        description="d",
        x_label="x",
        y_label="y",
        groups=[("Jun", [("1", [2, 1, 0]), ("A", [0, 0, 1])])],
        segments=[("seg-met", "met"), ("seg-late", "late"), ("seg-breached", "breached")],
        y_tick=str,
        table=TABLE,
        empty="nothing",
    )
    heights = [r["h"] for r in chart.rects if r["label"].startswith("Jun, 1")]
    assert len(heights) == 2 and abs(sum(heights) - (chart.bottom - chart.top)) < 0.5  # 3 of a 3-high axis
    assert [label["text"] for label in chart.labels] == ["1", "A"]
    empty = stacked_columns(
        id="c",
        title="t",
        description="d",
        x_label="x",
        y_label="y",
        groups=[("Jun", [("1", [0, 0, 0])])],
        segments=[("a", "a"), ("b", "b"), ("c", "c")],
        y_tick=str,
        table=TABLE,
        empty="nothing",
    )
    assert empty.empty == "nothing" and empty.rects == [] and empty.legend == []


def test_bars_keep_long_names_whole():
    name = "Services proactifs supplémentaires"
    chart = stacked_bars(
        id="c",
        title="t",
        description="d",
        x_label="x",
        y_label="y",
        bars=[(name, [1, 0, 2])],
        segments=[("s", "scheduled"), ("d", "delivered"), ("x", "cancelled")],
        x_tick=str,
        table=TABLE,
        empty="e",
    )
    assert [label["text"] for label in chart.labels] == [name]
    assert [r["cls"] for r in chart.rects] == ["s", "x"] and chart.rects[1]["x"] + chart.rects[1]["w"] <= chart.right
