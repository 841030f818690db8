"""Bar charts as SVG, drawn on the server: no script, no style attribute, so they show under
the console's Content-Security-Policy, in a printed report and in an HTML file alike.

A chart is a picture of a table printed beneath it with the same figures (the table is what
a screen reader reads: the SVG has a title and says so). Written here rather than with
pygal, whose charts carry inline styles and scripts the console's policy refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

# GOV.UK Frontend's palette: blue, orange, green, purple, dark grey, pink; each at least 3:1
# against white, as graphics need (WCAG 1.4.11).
COLOURS = ("#1d70b8", "#f47738", "#00703c", "#4c2c92", "#505a5f", "#d53880")
WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 90
BAR = 14
GAP = 10
LEGEND = 22
_ids = count(1)


@dataclass(frozen=True)
class Series:
    """One set of bars: its name (in the legend) and a value per category; `shown` is the
    text beside each bar ("fewer than 5" where a small count is hidden), else the value."""

    name: str
    values: Sequence[float]
    shown: Sequence[str] | None = None


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> Markup:
    """Horizontal bars: one row per category, one bar per series, its figure beside it."""
    chart_id = f"chart-{next(_ids)}"
    largest = max((value for one in series for value in one.values), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    row_height = BAR * len(series) + GAP
    legend_height = LEGEND if len(series) > 1 else 0
    height = legend_height + row_height * len(categories) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kotha-chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">A bar chart; the table beneath it has the same figures.'
        "</desc>",
    ]
    if legend_height:
        x = 0
        for index, one in enumerate(series):
            colour = COLOURS[index % len(COLOURS)]
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
            parts.append(
                f'<text x="{x + 16}" y="15" font-size="13" fill="#0b0c0c">{escape(one.name)}</text>'
            )
            x += 24 + 8 * len(one.name)
    for row, category in enumerate(categories):
        top = legend_height + row * row_height
        parts.append(
            f'<text x="0" y="{top + BAR * len(series) / 2 + 5:.0f}" font-size="13" '
            f'fill="#0b0c0c">{escape(_clip(category))}</text>'
        )
        for index, one in enumerate(series):
            value = one.values[row]
            width = max(0.0, span * value / largest)
            y = top + index * BAR
            colour = COLOURS[index % len(COLOURS)]
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR - 2}" '
                f'fill="{colour}"/>'
            )
            label = one.shown[row] if one.shown is not None else _number(value)
            parts.append(
                f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + BAR - 3}" font-size="12" '
                f'fill="#0b0c0c">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(label: str, longest: int = 28) -> str:
    """A category's name as it fits beside its bars (the table has it whole)."""
    return label if len(label) <= longest else label[: longest - 1] + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
