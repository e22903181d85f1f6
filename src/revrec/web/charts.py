"""The report pages' charts as inline SVG built on the server (no JavaScript library): the
Revenue Waterfall as stacked bars, one bar per period column stacked by the report's rows (the
largest TOP by total_scheduled, the rest as "other"), and the deferred revenue roll-forward as
grouped bars per period (opening, billings, revenue released, closing); one chart per currency.

Pure functions: a report's rows as the services return them (money as major-unit strings) in,
geometry out (`Chart`: bars, axis ticks and labels, legend); `svg` writes a chart as markup with
every text escaped. Amounts are parsed to Decimal for the geometry only: the figures a bar shows
(its `amount`, its tooltip) are the report's strings, or their exact Decimal sum for "other".
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from markupsafe import Markup

TOP = 8  # the waterfall's series of a currency; the other rows are one "other" series
PALETTE = ("#1f5fbf", "#e07b00", "#1d7a46", "#b3261e", "#7b4fb3", "#0f8b8d", "#c2185b", "#6d7f00")
OTHER_COLOR = "#9aa3b2"
OTHER = "other"
PERIOD_COLUMN = re.compile(r"^\d{4}-\d{2}$")
# The roll-forward's series: the report's column and what the legend calls it.
ROLLFORWARD = (
    ("deferred_opening", "opening"),
    ("billed", "billings"),
    ("revenue", "revenue released"),
    ("deferred_closing", "closing"),
)
ROLLFORWARD_COLORS = ("#9aa3b2", "#1f5fbf", "#1d7a46", "#16233a")
# The drawing, in SVG user units (the picture scales to its box).
WIDTH, HEIGHT = 600, 300
LEFT, RIGHT, TOP_MARGIN, BOTTOM = 76, 10, 12, 62
WIDEST = Decimal(56)  # a bar's largest width
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP_MARGIN - BOTTOM
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Bar:
    """A rectangle: one series' amount in one category (a stacked segment or a grouped bar)."""

    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    color: str
    series: str
    category: str
    amount: str


@dataclass(frozen=True)
class Tick:
    y: Decimal
    label: str


@dataclass(frozen=True)
class Label:
    x: Decimal
    text: str


@dataclass(frozen=True)
class Series:
    name: str
    color: str


@dataclass(frozen=True)
class Chart:
    kind: str  # "stacked" or "grouped"
    title: str
    currency: str
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    legend: list[Series]
    zero: Decimal  # the y of amount 0
    scale: Decimal  # user units per unit of the currency
    x_title: str
    width: int = WIDTH
    height: int = HEIGHT


def period_columns(columns: Iterable[str]) -> list[str]:
    """The period columns (YYYY-MM) of a report, in order."""
    return [c for c in columns if PERIOD_COLUMN.match(c)]


def _amount(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _by_currency(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        found.setdefault(str(row["currency"]), []).append(row)
    return dict(sorted(found.items()))


def waterfall(
    rows: Sequence[Mapping[str, Any]], *, label: str, periods: Sequence[str], top: int = TOP
) -> list[Chart]:
    """The waterfall's period columns as stacked bars per currency: a series per row (named by
    its `label` column) for the `top` rows with the largest total_scheduled, the others summed
    as "other"; positive amounts stack up from 0, negative ones down."""
    charts = []
    for currency, mine in _by_currency(rows).items():
        ranked = sorted(mine, key=lambda r: (-_amount(r["total_scheduled"]), str(r[label])))
        series: list[tuple[str, str, dict[str, Decimal], dict[str, str]]] = [
            (
                "(none)" if r[label] is None else str(r[label]),
                PALETTE[i % len(PALETTE)],
                {p: _amount(r[p]) for p in periods},
                {p: str(r[p]) for p in periods},
            )
            for i, r in enumerate(ranked[:top])
        ]
        if len(ranked) > top:
            sums = {p: sum((_amount(r[p]) for r in ranked[top:]), Decimal(0)) for p in periods}
            series.append((OTHER, OTHER_COLOR, sums, {p: str(v) for p, v in sums.items()}))
        charts.append(_stacked(currency, periods, series))
    return charts


def _stacked(
    currency: str,
    periods: Sequence[str],
    series: list[tuple[str, str, dict[str, Decimal], dict[str, str]]],
) -> Chart:
    highs = [sum((s[2][p] for s in series if s[2][p] > 0), Decimal(0)) for p in periods]
    lows = [sum((s[2][p] for s in series if s[2][p] < 0), Decimal(0)) for p in periods]
    axis = _Axis(min(lows, default=Decimal(0)), max(highs, default=Decimal(0)))
    band = Decimal(PLOT_WIDTH) / max(len(periods), 1)
    width = min(band * Decimal("0.7"), WIDEST)
    bars = []
    for index, period in enumerate(periods):
        x = LEFT + band * index + (band - width) / 2
        up = down = Decimal(0)
        for name, color, amounts, shown in series:
            amount = amounts[period]
            if amount == 0:
                continue
            if amount > 0:
                top_value, up = up + amount, up + amount
            else:
                top_value, down = down, down + amount
            bars.append(axis.bar(x, width, top_value, amount, color, name, period, shown[period]))
    return Chart(
        kind="stacked",
        title=f"Revenue waterfall ({currency}): scheduled revenue per period",
        currency=currency,
        bars=bars,
        ticks=axis.ticks(),
        labels=[Label(_round(LEFT + band * i + band / 2), p) for i, p in enumerate(periods)],
        legend=[Series(name, color) for name, color, _, _ in series],
        zero=axis.y(Decimal(0)),
        scale=axis.scale,
        x_title="period",
    )


def rollforward(rows: Sequence[Mapping[str, Any]]) -> list[Chart]:
    """The deferred revenue roll-forward per currency: for each period a group of bars,
    opening, billings, revenue released and closing (negative amounts below 0)."""
    charts = []
    for currency, mine in _by_currency(rows).items():
        periods = [str(r["period"]) for r in mine]
        values = [_amount(r[column]) for r in mine for column, _ in ROLLFORWARD]
        axis = _Axis(min([Decimal(0), *values]), max([Decimal(0), *values]))
        band = Decimal(PLOT_WIDTH) / max(len(periods), 1)
        width = min(band * Decimal("0.8") / len(ROLLFORWARD), WIDEST)
        group = width * len(ROLLFORWARD)
        bars = []
        for index, row in enumerate(mine):
            start = LEFT + band * index + (band - group) / 2
            for place, ((column, name), color) in enumerate(
                zip(ROLLFORWARD, ROLLFORWARD_COLORS, strict=True)
            ):
                amount = _amount(row[column])
                if amount == 0:
                    continue
                top_value = max(amount, Decimal(0))
                x = start + width * place
                bars.append(
                    axis.bar(x, width, top_value, amount, color, name, periods[index],
                             str(row[column]))
                )  # fmt: skip
        charts.append(
            Chart(
                kind="grouped",
                title=f"Deferred revenue roll-forward ({currency})",
                currency=currency,
                bars=bars,
                ticks=axis.ticks(),
                labels=[
                    Label(_round(LEFT + band * i + band / 2), p) for i, p in enumerate(periods)
                ],
                legend=[
                    Series(name, color)
                    for (_, name), color in zip(ROLLFORWARD, ROLLFORWARD_COLORS, strict=True)
                ],
                zero=axis.y(Decimal(0)),
                scale=axis.scale,
                x_title="period",
            )
        )
    return charts


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT)


class _Axis:
    """The vertical axis from `low` to `high` (0 included), widened to whole steps of a round
    size (1, 2, 2.5 or 5 times a power of ten), about five ticks."""

    def __init__(self, low: Decimal, high: Decimal) -> None:
        if low == high:
            high = low + 1
        self.step = _step((high - low) / 5)
        self.low = (low / self.step).to_integral_value(ROUND_FLOOR) * self.step
        self.high = (high / self.step).to_integral_value(ROUND_CEILING) * self.step
        self.scale = Decimal(PLOT_HEIGHT) / (self.high - self.low)

    def y(self, value: Decimal) -> Decimal:
        return _round(TOP_MARGIN + (self.high - value) * self.scale)

    def bar(
        self,
        x: Decimal,
        width: Decimal,
        top_value: Decimal,
        amount: Decimal,
        color: str,
        series: str,
        category: str,
        shown: str,
    ) -> Bar:
        """The rectangle of `amount` whose upper edge is at `top_value`: its height is
        proportional to the amount (abs(amount) x scale)."""
        return Bar(
            x=_round(x),
            y=self.y(top_value),
            width=_round(width),
            height=_round(abs(amount) * self.scale),
            color=color,
            series=series,
            category=category,
            amount=shown,
        )

    def ticks(self) -> list[Tick]:
        count = int((self.high - self.low) / self.step)
        values = [self.low + self.step * i for i in range(count + 1)]
        return [Tick(self.y(v), _tick_label(v)) for v in values]


def _step(raw: Decimal) -> Decimal:
    power = Decimal(10) ** raw.adjusted()
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10  # pragma: no cover - factor 10 always reaches raw


def _tick_label(value: Decimal) -> str:
    """An axis amount with thousands separators and no trailing zeros (2,500; 0.5)."""
    return f"{value.normalize():,f}" if value else "0"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def svg(chart: Chart) -> Markup:
    """The chart as an inline `<svg>`: gridlines with the axis amounts, the bars (each with a
    tooltip naming its series, category and amount), the category labels, the axis titles."""
    opening = (
        f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height}" role="img" '
        f'aria-label="{_e(chart.title)}" data-chart="{_e(chart.kind)}" '
        f'data-currency="{_e(chart.currency)}" data-scale="{chart.scale}" '
        'xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="system-ui, sans-serif">'
    )
    parts = [opening, f"<title>{_e(chart.title)}</title>", '<g class="ticks" fill="#5b6475">']
    right = chart.width - RIGHT
    parts.extend(
        f'<line x1="{LEFT}" x2="{right}" y1="{tick.y}" y2="{tick.y}" stroke="#e3e7ee"/>'
        f'<text x="{LEFT - 6}" y="{tick.y + 4}" text-anchor="end">{_e(tick.label)}</text>'
        for tick in chart.ticks
    )
    parts.append('</g><g class="bars">')
    for bar in chart.bars:
        tip = f"{bar.series} · {bar.category}: {bar.amount} {chart.currency}"
        parts.append(
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" '
            f'fill="{_e(bar.color)}" data-series="{_e(bar.series)}" '
            f'data-period="{_e(bar.category)}" data-amount="{_e(bar.amount)}">'
            f"<title>{_e(tip)}</title></rect>"
        )
    parts.append(
        f'</g><line class="zero" x1="{LEFT}" x2="{right}" y1="{chart.zero}" y2="{chart.zero}" '
        'stroke="#5b6475"/><g class="labels" fill="#1d2330">'
    )
    base = chart.height - BOTTOM + 14
    slanted = len(chart.labels) > 6
    for label in chart.labels:
        if slanted:
            parts.append(
                f'<text x="{label.x}" y="{base}" text-anchor="end" '
                f'transform="rotate(-35 {label.x} {base})">{_e(label.text)}</text>'
            )
        else:
            parts.append(
                f'<text x="{label.x}" y="{base}" text-anchor="middle">{_e(label.text)}</text>'
            )
    middle = TOP_MARGIN + PLOT_HEIGHT / 2
    parts.append(
        f'</g><text class="axis-title" x="{LEFT + PLOT_WIDTH / 2}" y="{chart.height - 4}" '
        f'text-anchor="middle" fill="#5b6475">{_e(chart.x_title)}</text>'
        f'<text class="axis-title" x="14" y="{middle}" text-anchor="middle" fill="#5b6475" '
        f'transform="rotate(-90 14 {middle})">{_e(chart.currency)}</text></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped by _e
