"""Small server-drawn SVG charts: no script, readable by screen readers through a caption and
the table beside each chart, and the same in the PDF report."""

import math
from dataclasses import dataclass

from django.utils.html import escape

TEXT = 'fill="#5b6673" font-size="13"'


@dataclass
class Series:
    label: str
    values: list[float]
    css: str
    colour: str = "#2f6f9f"


def bar_chart(
    labels: list[str], series: list[Series], *, title: str, width: int = 640, height: int = 220
) -> str:
    """Grouped bars, one group per label. Time runs left to right in both languages, as in
    printed Arabic statistics; the SVG is marked dir=ltr."""
    pad_left, pad_bottom, pad_top = 40, 30, 10
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    peak = max([v for s in series for v in s.values] + [1])
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(group_w / (len(series) + 1), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" dir="ltr" role="img" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    # Whole numbers on the axis: the top is rounded up to a multiple of the steps.
    steps = 4 if peak >= 4 else max(1, math.ceil(peak))
    peak = math.ceil(peak / steps) * steps
    for step in range(steps + 1):
        value = peak * step / steps
        y = pad_top + plot_h - plot_h * step / steps
        parts.append(
            f'<line class="chart__grid" stroke="#d8dee5" x1="{pad_left}" x2="{width - 8}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text class="chart__tick" {TEXT} '
            f'x="{pad_left - 4}" y="{y + 3:.1f}" text-anchor="end">{value:.0f}</text>'
        )
    every = max(1, math.ceil(groups / 10))
    for index, label in enumerate(labels):
        x0 = pad_left + index * group_w
        for position, item in enumerate(series):
            value = item.values[index] if index < len(item.values) else 0
            h = plot_h * value / peak
            x = x0 + bar_w * (position + 0.5)
            parts.append(
                f'<rect class="{item.css}" fill="{item.colour}" x="{x:.1f}" '
                f'y="{pad_top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)} · '
                f"{escape(item.label)}: {value:g}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text class="chart__label" {TEXT} x="{x0 + group_w / 2:.1f}" '
                f'y="{height - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
