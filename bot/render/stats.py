"""/stats as a PNG chart (matplotlib, Agg, no GUI) and a short text table, both in the reader's language.

The chart draws every label with the one CJK font (bot/render/fonts.py) through matplotlib's object API (no
pyplot state), so it can be drawn in a worker thread. It never draws boxes: if the font cannot be had, or a glyph
is missing from it, `render_stats_chart` returns None and the caller sends the table alone.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from datetime import date

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from bot.domain.lifecycle import State
from bot.domain.ratings import RESULT_CLASSES
from bot.domain.stats import RATINGS, StatsReport, UnitTally
from bot.render.cards import Rendered, esc
from bot.render.fonts import cjk_font
from bot.render.i18n import t

__all__ = ["MAX_CHART_UNITS", "render_stats_chart", "render_stats_table", "stats_title"]

logger = logging.getLogger(__name__)

#: units drawn in the chart (most items first); the table lists every unit
MAX_CHART_UNITS = 30
_HANDLING = ("#2e7d32", "#f9a825", "#c62828", "#b0bec5")  # on time, late, overdue now, pending
_CLASSES = ("#1565c0", "#42a5f5", "#90caf9", "#cfd8dc")  # A..D
_RATINGS = ("#2e7d32", "#9ccc65", "#c62828", "#e0e0e0")  # 满意, 基本满意, 不满意, not rated yet


def stats_title(scope: str, today: date, lang: str) -> str:
    """`第17届第5次会议 办理统计（截至 2024-05-06）`: the chart's title and the table's heading (plain text)."""
    return t(lang, "stats.title", scope=scope, today=today.isoformat())


def _rate(tally: UnitTally) -> str:
    rate = tally.on_time_rate
    return "—" if rate is None else f"{rate:.0%}"


def _line(tally: UnitTally, name: str, lang: str) -> str:
    head = t(
        lang,
        "stats.row",
        unit=esc(name),
        items=tally.items,
        on_time=tally.on_time,
        late=tally.late,
        overdue=tally.overdue,
        pending=tally.pending,
        rate=_rate(tally),
    )
    classes = " · ".join(f"{c} {tally.class_count(c)}" for c in RESULT_CLASSES)
    ratings = " · ".join(f"{esc(t(lang, f'rating.{r}'))} {tally.rating_count(r)}" for r in RATINGS)
    return f"{head}\n  {t(lang, 'stats.classes')} {classes}；{ratings}"


def render_stats_table(report: StatsReport, *, title: str, lang: str, chart: bool = True) -> Rendered:
    """The text under the chart: a line per unit (items, on time, late, overdue, on-time rate, classes, ratings),
    the whole, and the items per state. With ``chart=False`` it says why no chart came."""
    lines = [f"<b>{esc(title)}</b>"]
    if not chart:
        lines.append(t(lang, "stats.no_chart"))
    if not report.units:
        lines.append(t(lang, "stats.empty"))
    for tally in report.units:
        lines.append(_line(tally, tally.unit, lang))
    if len(report.units) > 1:
        lines.append(_line(report.total, t(lang, "stats.total"), lang))
    if report.states:
        states = [s.value for s in State if s.value in report.states]  # the lifecycle's order
        parts = [f"{esc(t(lang, f'state.{s}'))} {report.states[s]}" for s in states]
        lines.append(t(lang, "stats.by_state", states=" · ".join(parts)))
    lines.append(t(lang, "stats.legend"))
    return Rendered("\n".join(lines))


def _stacked(
    ax: Axes, names: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]], font: FontProperties
) -> None:
    """Horizontal stacked bars, one row per unit, with each segment's count written on it."""
    rows = list(range(len(names)))
    left = [0] * len(names)
    for label, values, color in series:
        bars = ax.barh(rows, values, left=left, color=color, label=label, height=0.7)
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center", fontsize=8)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(rows, labels=list(names), fontproperties=font)
    ax.invert_yaxis()
    ax.set_xlim(0, max([*left, 1]) * 1.05)
    ax.legend(prop=font, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=8, frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts of items: no 0.5 ticks
    ax.grid(axis="x", alpha=0.3)


def render_stats_chart(report: StatsReport, *, title: str, lang: str) -> bytes | None:
    """The PNG: per unit, how items were answered, the result class mix and the ratings; None when it cannot be
    drawn with readable Chinese (no font, or a missing glyph) or there is nothing to draw. Blocking: run it in a
    thread."""
    units = list(report.units[:MAX_CHART_UNITS])
    if not units:
        return None
    try:
        font = cjk_font()
    except (FileNotFoundError, OSError, RuntimeError):
        logger.warning("no CJK font for the /stats chart; sending the table alone", exc_info=True)
        return None
    names = [t(lang, "stats.chart_unit", unit=u.unit, rate=_rate(u)) for u in units]  # the on-time rate by the name
    height = max(3.2, 0.42 * len(units) + 2.2)
    figure = Figure(figsize=(13, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3, sharey=True, width_ratios=(1.2, 1, 1))
    handling = [
        (t(lang, "stats.on_time"), [u.on_time for u in units], _HANDLING[0]),
        (t(lang, "stats.late"), [u.late for u in units], _HANDLING[1]),
        (t(lang, "stats.overdue"), [u.overdue for u in units], _HANDLING[2]),
        (t(lang, "stats.pending"), [u.pending for u in units], _HANDLING[3]),
    ]
    classes = [
        (t(lang, "stats.class", cls=c), [u.class_count(c) for u in units], color)
        for c, color in zip(RESULT_CLASSES, _CLASSES, strict=True)
    ]
    ratings = [
        (t(lang, f"rating.{r}"), [u.rating_count(r) for u in units], color)
        for r, color in zip(RATINGS, _RATINGS, strict=False)
    ]
    unrated = [max(u.replied - sum(u.rating_count(r) for r in RATINGS), 0) for u in units]
    ratings.append((t(lang, "stats.unrated"), unrated, _RATINGS[-1]))
    panels = (("stats.panel.handling", handling), ("stats.panel.classes", classes), ("stats.panel.ratings", ratings))
    for ax, (key, series) in zip(axes, panels, strict=True):
        _stacked(ax, names, series, font)
        ax.set_xlabel(t(lang, key), fontproperties=font)
    figure.suptitle(title, fontproperties=font, fontsize=14)
    out = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(out, format="png")
    missing = [w for w in caught if "missing from font" in str(w.message)]
    if missing:
        logger.warning("the /stats chart lacks glyphs (%s); sending the table alone", missing[0].message)
        return None
    return out.getvalue()
