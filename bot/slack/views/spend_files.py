"""Spend as files: the PNG chart (matplotlib, Agg backend: no display) and the CSV, from a SpendView.

The chart is daily cost as stacked bars, one colour per series (the top 8 of the breakdown, the rest as
"others"); where the replica count is unknown a bar has a solid part (what was surely spent) and a hatched
part above it (what may have been). For the current month the budgets are lines against the month's
running total, on the right-hand axis. The same data gives the same bytes: no timestamps or version in
the PNG's metadata, the bundled DejaVu font, a fixed size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.domain.cost.estimate import format_dollars
from bot.domain.cost.meter import money_range
from bot.domain.cost.spend_views import SpendView

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn: `bot spend --csv` needs none of it
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

WIDTH, HEIGHT, DPI = 12, 6, 100  # 1200 × 600 pixels
COLOURS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
)  # fmt: skip
OTHERS = "#9c9c9c"
CSV_COLUMNS = (
    "date",
    "endpoint_id",
    "endpoint",
    "requested_by",
    "channel",
    "model",
    "hardware",
    "serving_seconds",
    "replica_seconds_low",
    "replica_seconds_high",
    "cost_low",
    "cost_high",
)


def spend_csv(view: SpendView) -> str:
    """One row per endpoint per local day; the cost columns add up to the view's total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in view.rows:
        writer.writerow(
            [
                r.day.isoformat(),
                r.endpoint_id,
                r.name,
                r.requested_by,
                r.channel_id,
                r.model,
                r.hardware,
                r.serving_seconds,
                r.replica_seconds[0],
                r.replica_seconds[1],
                f"{r.cents[0] / 100:.2f}",
                f"{r.cents[1] / 100:.2f}",
            ]
        )
    return out.getvalue()


def spend_chart(view: SpendView, label: Callable[[str], str] = str) -> bytes:
    """The chart as PNG bytes; `label` names a series key (a user id, a channel id, ...)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(
        {
            "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs everywhere
            "svg.hashsalt": "endpoint-bot",
            "text.parse_math": False,  # "$5.40" is money, not the start of a formula
            "hatch.linewidth": 0.8,
            "axes.spines.top": False,
        }
    ):
        fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        handles = _bars(ax, view, label)
        if view.window.current_month and view.budgets:
            handles += _budgets(ax, view)
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=9, frameon=False)
        ax.set_title(
            f"Spend by {view.by}, {view.window.label}: {view.total_text.removeprefix('≈ ')}",
            loc="left",
            fontsize=13,
        )
        ax.set_ylabel("dollars per day")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _bars(ax: Axes, view: SpendView, label: Callable[[str], str]) -> list[Artist]:
    from matplotlib.patches import Patch

    keys, values = view.series()
    x = list(range(len(view.days)))
    bottom = [0.0] * len(x)
    handles: list[Artist] = []
    for i, key in enumerate(keys):
        colour = OTHERS if key == "others" else COLOURS[i % len(COLOURS)]
        lows = [v[0] / 100 for v in values[key]]
        extra = [(v[1] - v[0]) / 100 for v in values[key]]
        ax.bar(x, lows, bottom=bottom, color=colour, width=0.8, linewidth=0)
        bottom = [b + lo for b, lo in zip(bottom, lows, strict=True)]
        if any(extra):
            ax.bar(
                x, extra, bottom=bottom, color="white", edgecolor=colour, hatch="///", width=0.8, linewidth=0
            )
            bottom = [b + e for b, e in zip(bottom, extra, strict=True)]
        low, high = sum(v[0] for v in values[key]), sum(v[1] for v in values[key])
        name = "others" if key == "others" else label(key)
        handles.append(Patch(color=colour, label=f"{_short(name)}  {_money(low, high)}"))
    if not view.exact:
        handles.append(
            Patch(
                facecolor="white", edgecolor="#555555", hatch="///", label="may have run (replicas unknown)"
            )
        )
    if not keys:
        ax.text(0.5, 0.5, "No spend in this window: $0.00", transform=ax.transAxes, ha="center", fontsize=14)
        ax.set_ylim(0, 1)
        ax.set_yticks([0])
    step = max(1, len(x) // 15)
    ax.set_xticks(x[::step], [d.strftime("%a %d %b") for d in view.days][::step], rotation=30, ha="right")
    ax.set_xlim(-0.6, max(len(x), 1) - 0.4)
    ax.yaxis.set_major_formatter(lambda v, _pos: _axis_money(v))
    return handles


def _budgets(ax: Axes, view: SpendView) -> list[Artist]:
    """The month's running total (low, and high where it differs) against each budget, on the right."""
    right = ax.twinx()
    x = list(range(len(view.days)))
    low = high = 0
    lows, highs = [], []
    index = {d: i for i, d in enumerate(view.days)}
    per_day = [[0, 0] for _ in x]
    for r in view.rows:
        per_day[index[r.day]][0] += r.cents[0]
        per_day[index[r.day]][1] += r.cents[1]
    for lo, hi in per_day:
        low, high = low + lo, high + hi
        lows.append(low / 100)
        highs.append(high / 100)
    handles: list[Artist] = list(right.plot(x, lows, color="#333333", linewidth=1.5, label="month so far"))
    if highs != lows:
        handles += right.plot(
            x, highs, color="#333333", linewidth=1, linestyle=":", label="month so far, at most"
        )
    top = max(highs + [0.0])
    for use in view.budgets:
        whose = "each person's budget" if use.user_id else "total budget"
        right.axhline(use.budget, color="#c0392b", linestyle="--", linewidth=1.2)
        right.annotate(
            f"{whose} {format_dollars(use.budget)}",
            (x[-1] if x else 0, use.budget),
            textcoords="offset points",
            xytext=(0, 4),
            ha="right",
            color="#c0392b",
            fontsize=9,
        )
        top = max(top, use.budget)
    right.set_ylim(0, top * 1.15 or 1)
    right.set_ylabel("this month so far")
    right.yaxis.set_major_formatter(lambda v, _pos: _axis_money(v))
    return handles


def _axis_money(value: float) -> str:
    return f"${value:,.0f}" if value == int(value) else f"${value:,.2f}"


def _money(low: int, high: int) -> str:
    return money_range(low / 100, high / 100, approx=False)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
