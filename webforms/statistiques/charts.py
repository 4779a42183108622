"""Bar charts drawn as SVG on the server: the same markup in the page and in the PDF report.

No JavaScript library: the chart is an image of the table printed beside it. It carries its
title and description (``role="img"``, ``aria-labelledby``), each bar its value written in
full, and its series are told apart by pattern as well as colour (RGAA 3.2: colour alone never
carries the information).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

# (fill, stroke pattern) per series: a colour and a hatching, so a grey print still tells them apart.
STYLES = (("#1f4e79", ""), ("#8fb3d9", "hachures"), ("#c55a11", "points"), ("#5b8c3a", ""))
BAR, GAP, LABEL_WIDTH, PLOT_WIDTH = 14, 10, 230, 320
_ids = itertools.count(1)


def bar_chart(title: str, desc: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> Markup:
    """Draw horizontal grouped bars: one group per category, one bar per series, each bar's value written."""
    uid = next(_ids)
    highest = max([v for _, values in series for v in values] + [1])
    group = BAR * len(series) + GAP
    legend_height = 18 * len(series)
    height = max(len(categories), 1) * group + legend_height + 20
    width = LABEL_WIDTH + PLOT_WIDTH + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="chart{uid}-t chart{uid}-d">',
        f'<title id="chart{uid}-t">{escape(title)}</title><desc id="chart{uid}-d">{escape(desc)}</desc>',
        f'<defs><pattern id="hachures{uid}" width="4" height="4" patternUnits="userSpaceOnUse"><path d="M0,4 L4,0" stroke="#fff" stroke-width="1"/></pattern>'
        f'<pattern id="points{uid}" width="4" height="4" patternUnits="userSpaceOnUse"><circle cx="2" cy="2" r="0.8" fill="#fff"/></pattern></defs>',
    ]
    for n, (name, _) in enumerate(series):
        fill, pattern = STYLES[n % len(STYLES)]
        y = 4 + 18 * n
        parts.append(_rect(LABEL_WIDTH, y, 12, 12, fill, pattern and f"url(#{pattern}{uid})"))
        parts.append(f'<text x="{LABEL_WIDTH + 18}" y="{y + 10}" font-size="11">{escape(name)}</text>')
    for i, category in enumerate(categories):
        top = legend_height + 10 + i * group
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{top + BAR * len(series) / 2 + 4:g}" font-size="11" text-anchor="end">{escape(category[:40])}</text>')
        for n, (_, values) in enumerate(series):
            value = values[i]
            fill, pattern = STYLES[n % len(STYLES)]
            length = PLOT_WIDTH * value / highest
            parts.append(_rect(LABEL_WIDTH, top + n * BAR, length, BAR - 2, fill, pattern and f"url(#{pattern}{uid})"))
            parts.append(f'<text x="{LABEL_WIDTH + length + 4:g}" y="{top + n * BAR + BAR - 4}" font-size="10">{_number(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _rect(x: float, y: float, w: float, h: float, fill: str, pattern: str) -> str:
    rect = f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{fill}"/>'
    return rect + (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{pattern}"/>' if pattern and w > 0 else "")


def _number(value: float) -> str:
    """A value as the French write it: 12 or 12,5."""
    return f"{value:g}".replace(".", ",") if value != int(value) else str(int(value))
