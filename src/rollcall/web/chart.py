"""The head-count timeline as an SVG drawn on the server: readable without JavaScript."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from rollcall.attendance.report import HeadCountEntry

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 16, 40


def clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def span(seconds: float) -> str:
    """A length of time in words ("3 min", "1 h 5 min"): "3:00 long" read as three hours or
    three minutes (a portal user's review)."""
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    if h:
        return f"{h} h {m} min" if m else f"{h} h"
    if m:
        return f"{m} min {s} s" if s else f"{m} min"
    return f"{s} s"


def _ticks(top: float, count: int = 5) -> list[float]:
    if top <= 0:
        return [0.0]
    raw = top / count
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if step >= raw:
            break
    return [i * step for i in range(int(top // step) + 1)]


def head_count_svg(counts: Sequence[HeadCountEntry], duration: float | None = None) -> Markup:
    """Faces counted (line) and faces recognised (dashed) over time; dots mark verified samples."""
    if not counts:
        return Markup('<p class="muted">No head counts yet.</p>')
    t_max = max(duration or 0.0, counts[-1].t, 1.0)
    y_max = max(max(h.count for h in counts), 1)
    y_top = y_max + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * t / t_max

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / y_top)

    def steps(values: list[tuple[float, int]]) -> str:
        points = []
        for i, (t, v) in enumerate(values):
            if i:
                points.append(f"{x(t):.1f},{y(values[i - 1][1]):.1f}")
            points.append(f"{x(t):.1f},{y(v):.1f}")
        return " ".join(points)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Head count over time</title>',
        # (The axis reaches 1 at least; the description says what was counted.)
        f'<desc id="chart-desc">{len(counts)} samples, at most '
        f"{max(h.count for h in counts)} face(s); "
        f"{sum(h.verified for h in counts)} samples verified identities.</desc>",
    ]
    y_step = max(1, round(y_top / 5))
    for v in range(0, y_top + 1, y_step):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        )
    for t in _ticks(t_max):
        parts.append(
            f'<text class="tick" x="{x(t):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{clock(t)}</text>'
        )
    parts.append(
        f'<polyline class="line-count" points="{steps([(h.t, h.count) for h in counts])}"/>'
        f'<polyline class="line-known" points="{steps([(h.t, h.recognized) for h in counts])}"/>'
    )
    for h in counts:
        kind = "verified" if h.verified else "sample"
        label = escape(
            f"{clock(h.t)}: {h.count} faces, {h.recognized} recognised, {h.unknown} unknown"
            + (" (verified)" if h.verified else "")
        )
        radius = 5 if h.verified else 3
        parts.append(
            f'<circle class="dot-{kind}" cx="{x(h.t):.1f}" cy="{y(h.count):.1f}" r="{radius}">'
            f"<title>{label}</title></circle>"
        )
    legend_y = HEIGHT - 8
    parts.append(
        f'<g class="legend" transform="translate({LEFT},{legend_y})">'
        '<line class="line-count" x1="0" x2="18" y1="-4" y2="-4"/>'
        '<text x="24" y="0">faces counted</text>'
        '<line class="line-known" x1="130" x2="148" y1="-4" y2="-4"/>'
        '<text x="154" y="0">recognised</text>'
        '<circle class="dot-verified" cx="250" cy="-4" r="5"/>'
        '<text x="260" y="0">identities verified</text>'
        '<circle class="dot-sample" cx="392" cy="-4" r="3"/>'
        '<text x="400" y="0">count only</text>'
        "</g></svg>"
    )
    # Safe markup: every value above is a number we format or text passed through escape().
    return Markup("".join(parts))  # nosec B704 - built from numbers and escaped labels


TREND_W, TREND_H = 480, 220  # small, so its text stays legible scaled down to a phone
MARKS = {"present": "✓", "late": "◷", "left_early": "↦", "absent": "✗"}


def rate_trend_svg(points: Sequence[tuple[str, float, str]]) -> Markup:
    """A person's attendance rate so far after each session (line), with each session's own
    status as a symbol under it: readable at phone width, and not by colour alone."""
    if not points:
        return Markup('<p class="muted">No finished sessions yet.</p>')
    left, right, top, bottom = 52, 12, 12, 44  # room for "100%" at the tick font size
    plot_w, plot_h = TREND_W - left - right, TREND_H - top - bottom
    n = len(points)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = [
        f'<svg class="chart trend" viewBox="0 0 {TREND_W} {TREND_H}" role="img" '
        'aria-labelledby="trend-title trend-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="trend-title">Attendance rate over the term</title>',
        f'<desc id="trend-desc">{n} sessions; the rate after the last one is '
        f"{100 * points[-1][1]:.0f}%.</desc>",
    ]
    for pct in (0, 50, 80, 100):
        parts.append(
            f'<line class="grid{" goal" if pct == 80 else ""}" x1="{left}" x2="{TREND_W - right}" '
            f'y1="{y(pct / 100):.1f}" y2="{y(pct / 100):.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y(pct / 100) + 4:.1f}" '
            f'text-anchor="end">{pct}%</text>'
        )
    line = " ".join(f"{x(i):.1f},{y(rate):.1f}" for i, (_, rate, _) in enumerate(points))
    parts.append(f'<polyline class="line-count" points="{line}"/>')
    every = max(1, n // 8)  # at most ~8 date labels, whatever the term's length
    for i, (label, rate, status) in enumerate(points):
        tip = escape(f"{label}: {status.replace('_', ' ')}, {100 * rate:.0f}% so far")
        parts.append(
            f'<circle class="dot-{"sample" if status != "absent" else "verified"}" '
            f'cx="{x(i):.1f}" cy="{y(rate):.1f}" r="4"><title>{tip}</title></circle>'
            f'<text class="mark status-{escape(status)}" x="{x(i):.1f}" '
            f'y="{TREND_H - bottom + 16}" text-anchor="middle">{MARKS.get(status, "?")}</text>'
        )
        if i % every == 0:
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{TREND_H - 8}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704 - numbers and escaped labels only
