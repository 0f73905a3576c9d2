"""Server-rendered SVG charts: grouped horizontal bars for categories, lines for years.

The geometry is computed here and written by ``templates/kpis/includes/_chart_bar.html`` and
``_chart_line.html`` as plain SVG, so charts need no script, print as they are shown and
pass the Content-Security-Policy (colours come from ``static/css/kpis.css``). Series never
differ by colour alone: bars by fill pattern (solid, hatched, dotted, cross-hatched), lines by
dash and marker shape; a legend names them, every value is written beside its bar or in the
point's title, and each chart is followed by a table with its data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import (
    format_compact_currency,
    format_compact_decimal,
    format_currency,
    format_decimal,
)
from django.utils.translation import get_language, to_locale

Formatter = Callable[[Decimal], str]
STYLES = ("solid", "hatch", "dots", "cross")
MARKERS = ("circle", "square", "triangle", "diamond")
LABEL_CHARS = 28

WIDTH = 720
BAR_LABEL_WIDTH = 190
BAR_VALUE_SPACE = 110
BAR_HEIGHT = 14
BAR_GAP = 3
GROUP_GAP = 14
BAR_TOP = 6
BAR_AXIS = 22

LINE_HEIGHT = 260
LINE_LEFT = 92
LINE_RIGHT = 24
LINE_TOP = 16
LINE_BOTTOM = 34
TICKS = 4
COMPACT_FROM = 1_000_000


def _locale() -> str:
    return to_locale(get_language() or "de")


def money_formatter(currency: str) -> Formatter:
    """Short amounts in the active locale: ``1,2 Mio. €`` in German, ``€1.2M`` in English."""

    def format_money(value: Decimal) -> str:
        locale = _locale()
        # German CLDR abbreviates only from a million on ("500000 €" otherwise): below that
        # the full amount, grouped, without cents.
        if abs(value) < COMPACT_FROM and locale.startswith("de"):
            return format_currency(
                value, currency or "EUR", locale=locale, format="#,##0 ¤", currency_digits=False
            )
        return format_compact_currency(value, currency or "EUR", locale=locale, fraction_digits=1)

    return format_money


def number_formatter(value: Decimal) -> str:
    if abs(value) < COMPACT_FROM and _locale().startswith("de"):
        return format_decimal(value, format="#,##0", locale=_locale())
    return format_compact_decimal(value, locale=_locale(), fraction_digits=1)


def percent_formatter(value: Decimal) -> str:
    return f"{format_decimal(value, format='#,##0.0', locale=_locale())} %"


@dataclass(frozen=True)
class Series:
    """One series of values, one per category or year (None: unknown)."""

    label: str
    values: Sequence[Decimal | None]


def marker_path(marker: str, x: float, y: float) -> str:
    """An SVG path drawing ``marker`` (circle, square, triangle or diamond) centred on x, y."""
    if marker == "circle":
        return f"M{_f(x - 4)} {_f(y)}a4 4 0 1 0 8 0a4 4 0 1 0 -8 0Z"
    if marker == "square":
        return f"M{_f(x - 3.5)} {_f(y - 3.5)}h7v7h-7Z"
    if marker == "triangle":
        return f"M{_f(x)} {_f(y - 5)}L{_f(x + 5)} {_f(y + 4)}L{_f(x - 5)} {_f(y + 4)}Z"
    return f"M{_f(x)} {_f(y - 5)}L{_f(x + 5)} {_f(y)}L{_f(x)} {_f(y + 5)}L{_f(x - 5)} {_f(y)}Z"


@dataclass(frozen=True)
class LegendItem:
    label: str
    style: str
    index: int
    marker: str  # the marker's path in a 28 × 12 swatch

    @property
    def key(self) -> str:
        return f"s{self.index}"


@dataclass(frozen=True)
class Bar:
    series: int
    style: str
    x: str
    y: str
    width: str
    height: str
    text: str
    text_x: str
    text_y: str
    title: str


@dataclass(frozen=True)
class BarGroup:
    label: str
    full_label: str
    label_y: str
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    position: str
    text: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal grouped bars: a group per category, a bar per series."""

    id: str
    title: str
    description: str
    width: int
    height: int
    label_x: int
    zero_x: str
    plot_top: int
    plot_bottom: str
    axis_y: str
    groups: list[BarGroup]
    ticks: list[Tick]
    legend: list[LegendItem]
    empty: bool


@dataclass(frozen=True)
class Point:
    marker: str
    title: str


@dataclass(frozen=True)
class Line:
    series: int
    style: str
    path: str
    points: list[Point]


@dataclass(frozen=True)
class LineChart:
    """Lines over years (or any ordered labels), one per series."""

    id: str
    title: str
    description: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_labels: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    legend: list[LegendItem]
    empty: bool


def _f(value: float) -> str:
    return f"{value:.1f}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else f"{label[: LABEL_CHARS - 1]}…"


def nice_ticks(low: float, high: float, count: int = TICKS) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) that cover ``low`` to ``high``."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    steps = round((end - start) / step)
    return [start + i * step for i in range(steps + 1)]


def _legend(series: Sequence[Series]) -> list[LegendItem]:
    return [
        LegendItem(
            label=s.label, style=STYLES[i % 4], index=i, marker=marker_path(MARKERS[i % 4], 14, 6)
        )
        for i, s in enumerate(series)
    ]


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    formatter: Formatter,
) -> BarChart:
    """Grouped horizontal bars; negative values extend left of the zero line."""
    known = [float(v) for s in series for v in s.values if v is not None]
    ticks = nice_ticks(min(0.0, *known) if known else 0.0, max(0.0, *known) if known else 1.0)
    low, high = ticks[0], ticks[-1]
    left, right = BAR_LABEL_WIDTH, WIDTH - BAR_VALUE_SPACE

    def x_of(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    zero = x_of(0.0)
    group_height = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    groups, top = [], BAR_TOP
    for index, category in enumerate(categories):
        bars = []
        for number, one in enumerate(series):
            value = one.values[index]
            y = top + number * (BAR_HEIGHT + BAR_GAP)
            if value is None:
                continue
            end = x_of(float(value))
            text = formatter(value)
            bars.append(
                Bar(
                    series=number,
                    style=STYLES[number % 4],
                    x=_f(min(zero, end)),
                    y=_f(y),
                    width=_f(max(abs(end - zero), 0.5)),
                    height=_f(BAR_HEIGHT),
                    text=text,
                    # Negative values are labelled right of the zero line, clear of the names.
                    text_x=_f(max(end, zero) + 4),
                    text_y=_f(y + BAR_HEIGHT - 3),
                    title=f"{category}, {one.label}: {text}",
                )
            )
        groups.append(
            BarGroup(
                label=_short(category),
                full_label=category,
                label_y=_f(top + group_height / 2 + 4),
                bars=bars,
            )
        )
        top += group_height + GROUP_GAP
    bottom = top - GROUP_GAP + 4
    return BarChart(
        id=chart_id,
        title=title,
        description=description,
        width=WIDTH,
        height=int(bottom + BAR_AXIS),
        label_x=BAR_LABEL_WIDTH - 8,
        zero_x=_f(zero),
        plot_top=BAR_TOP - 2,
        plot_bottom=_f(bottom),
        axis_y=_f(bottom + 15),
        groups=groups,
        ticks=[Tick(_f(x_of(t)), formatter(Decimal(str(t)))) for t in ticks],
        legend=_legend(series),
        empty=not known,
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    formatter: Formatter,
) -> LineChart:
    """A line per series over ``labels`` (years); gaps where a value is unknown."""
    known = [float(v) for s in series for v in s.values if v is not None]
    ticks = nice_ticks(min(0.0, *known) if known else 0.0, max(0.0, *known) if known else 1.0)
    low, high = ticks[0], ticks[-1]
    left, right = LINE_LEFT, WIDTH - LINE_RIGHT
    top, bottom = LINE_TOP, LINE_HEIGHT - LINE_BOTTOM
    count = len(labels)

    def x_of(index: int) -> float:
        if count == 1:
            return (left + right) / 2
        return left + index * (right - left) / (count - 1)

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    lines = []
    for number, one in enumerate(series):
        points, path, pen_down = [], [], False
        for index, value in enumerate(one.values):
            if value is None:
                pen_down = False
                continue
            x, y = x_of(index), y_of(float(value))
            path.append(f"{'L' if pen_down else 'M'}{_f(x)} {_f(y)}")
            pen_down = True
            points.append(
                Point(
                    marker_path(MARKERS[number % 4], x, y),
                    f"{labels[index]}, {one.label}: {formatter(value)}",
                )
            )
        lines.append(
            Line(
                series=number,
                style=STYLES[number % 4],
                path=" ".join(path),
                points=points,
            )
        )
    return LineChart(
        id=chart_id,
        title=title,
        description=description,
        width=WIDTH,
        height=LINE_HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_labels=[Tick(_f(x_of(i)), label) for i, label in enumerate(labels)],
        y_ticks=[Tick(_f(y_of(t)), formatter(Decimal(str(t)))) for t in ticks],
        lines=lines,
        legend=_legend(series),
        empty=not known,
    )
