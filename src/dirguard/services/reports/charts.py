"""The bars a report's chart shows (``Report.chart``), computed from its rows; the console draws
them as server-rendered SVG (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass

from dirguard.services.reports.catalog import Cell, Report


@dataclass(frozen=True, kw_only=True)
class Bar:
    title: str
    value: int
    series: int
    """0, 1, …: which of the chart's series (its colour)."""


@dataclass(frozen=True, kw_only=True)
class BarGroup:
    label: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, kw_only=True)
class ChartData:
    groups: tuple[BarGroup, ...]
    series: tuple[str, ...]
    top: int
    """The largest value (the axis' end; at least 1)."""


def chart_data(report: Report, rows: list[dict[str, Cell]]) -> ChartData | None:
    chart = report.chart
    if chart is None or not rows:
        return None
    groups: list[BarGroup] = []
    if chart.count_by is not None:
        series: tuple[str, ...] = chart.count_titles
        counts: dict[str, list[int]] = {}
        for row in rows:
            tally = counts.setdefault(str(row.get(chart.label)), [0, 0])
            tally[0 if row.get(chart.count_by.key) else 1] += 1
        for label, (yes, no) in sorted(counts.items()):
            groups.append(
                BarGroup(
                    label=label,
                    bars=(
                        Bar(title=series[0], value=yes, series=0),
                        Bar(title=series[1], value=no, series=1),
                    ),
                )
            )
    else:
        series = tuple(c.title for c in chart.values)
        for row in rows:
            groups.append(
                BarGroup(
                    label=str(row.get(chart.label)),
                    bars=tuple(
                        Bar(title=c.title, value=_number(row.get(c.key)), series=i)
                        for i, c in enumerate(chart.values)
                    ),
                )
            )
    top = max([b.value for g in groups for b in g.bars] + [1])
    return ChartData(groups=tuple(groups), series=tuple(series), top=top)


def _number(value: Cell) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
