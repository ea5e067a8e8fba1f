"""``summary.png`` of a sweep, drawn with Pillow (matplotlib is not a dependency, and the engine
stays free of Qt): one panel per quality metric, the mean over seeds against the first varied
setting (its values in order, evenly spaced), one series per combination of the other varied
settings, error bars of ± one sd."""
from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

PANEL_W, PANEL_H = 400, 300
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 62, 16, 30, 48  # inside each panel, around the plot area
TITLE_H = 30
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf"]
LABELS = {"modes": "modes", "high_quality": "high quality", "reverse_kl": "reverse KL", "kl": "KL",
          "fid": "FID", "inception_score": "Inception Score", "class_fraction": "intended class",
          "test_acc": "test accuracy", "baseline_acc": "baseline accuracy"}
LOWER_IS_BETTER = {"reverse_kl", "kl", "fid"}


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    t = first
    while t < hi + step * 0.999:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _tick_label(v: float, step: float) -> str:
    """A tick value with as many decimals as the tick spacing (1, 2 or 5 × 10^k) needs."""
    if abs(v) >= 1e6:
        return f"{v:.3g}"
    return f"{v:.{max(0, -math.floor(math.log10(step)))}f}"


def summary_chart(grid, table: list[dict], metrics: list[str], title: str) -> bytes:
    """PNG bytes: a panel per metric of ``table`` (:func:`ganplay.engine.sweep.summarize` rows)."""
    from ganplay.engine.sweep_tables import format_value

    keys = [v.key for v in grid.vary]
    x_key = keys[0] if keys else None
    x_values = list(grid.vary[0].values) if keys else [None]
    x_labels = [format_value(v) for v in x_values] if keys else ["all runs"]
    others = keys[1:]
    series: list[tuple] = []  # the other varied settings' values, one tuple per series
    for row in table:
        s = tuple(row["settings"][k] for k in others)
        if s not in series:
            series.append(s)
    names = [", ".join(f"{k}={format_value(v)}" for k, v in zip(others, s)) or "mean over seeds" for s in series]

    font, small = _font(13), _font(11)
    cols = 2 if len(metrics) == 4 else min(len(metrics), 3)
    rows = math.ceil(len(metrics) / cols)
    legend_lines = _legend_layout(names, cols * PANEL_W, small)
    width = cols * PANEL_W
    height = TITLE_H + rows * PANEL_H + 18 * len(legend_lines) + 10
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((width / 2, TITLE_H / 2), title, fill="black", font=font, anchor="mm")
    for p, metric in enumerate(metrics):
        ox, oy = (p % cols) * PANEL_W, TITLE_H + (p // cols) * PANEL_H
        points = {}
        for row in table:
            s = series.index(tuple(row["settings"][k] for k in others))
            xi = x_values.index(row["settings"][x_key]) if x_key else 0
            points.setdefault(s, []).append((xi, row.get(f"{metric}_mean"), row.get(f"{metric}_sd")))
        _panel(draw, ox, oy, metric, x_key or "", x_labels, points, font, small)
    y = TITLE_H + rows * PANEL_H + 4
    for line in legend_lines:
        x = (width - line[-1][1] - line[-1][2]) / 2 if line else 0
        for s, dx, w in line:
            cx = x + dx
            draw.line([(cx, y + 7), (cx + 18, y + 7)], fill=COLORS[s % len(COLORS)], width=2)
            draw.ellipse([cx + 5, y + 3, cx + 13, y + 11], fill=COLORS[s % len(COLORS)])
            draw.text((cx + 24, y + 7), names[s], fill="black", font=small, anchor="lm")
        y += 18
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _legend_layout(names: list[str], width: int, font) -> list[list[tuple[int, float, float]]]:
    """Legend entries flowed into lines: (series, x offset, entry width)."""
    lines: list[list] = [[]]
    x = 0.0
    for s, name in enumerate(names):
        w = 24 + font.getlength(name) + 18
        if lines[-1] and x + w > width - 20:
            lines.append([])
            x = 0.0
        lines[-1].append((s, x, w))
        x += w
    return lines if len(names) > 1 else []  # one series needs no legend


def _panel(draw, ox, oy, metric, x_key, x_labels, points, font, small) -> None:
    left, top = ox + MARGIN_L, oy + MARGIN_T
    right, bottom = ox + PANEL_W - MARGIN_R, oy + PANEL_H - MARGIN_B
    better = "lower" if metric in LOWER_IS_BETTER else "higher"
    draw.text((ox + PANEL_W / 2, oy + 14), f"{LABELS.get(metric, metric)} ({better} is better)",
              fill="black", font=font, anchor="mm")
    spans = [(m - (sd or 0), m + (sd or 0)) for pts in points.values() for _, m, sd in pts if m is not None]
    if not spans:
        draw.text(((left + right) / 2, (top + bottom) / 2), "no values", fill="gray", font=small, anchor="mm")
        return
    ticks = nice_ticks(min(a for a, _ in spans), max(b for _, b in spans))
    lo, hi = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

    def ypix(v):
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    for t in ticks:
        y = ypix(t)
        draw.line([(left, y), (right, y)], fill="#e6e6e6")
        draw.line([(left - 4, y), (left, y)], fill="black")
        draw.text((left - 7, y), _tick_label(t, step), fill="black", font=small, anchor="rm")
    n_x = len(x_labels)
    cell = (right - left) / n_x

    def xpix(i):
        return left + cell * (i + 0.5)

    for i, label in enumerate(x_labels):
        draw.line([(xpix(i), bottom), (xpix(i), bottom + 4)], fill="black")
        draw.text((xpix(i), bottom + 7), label, fill="black", font=small, anchor="ma")
    draw.text(((left + right) / 2, bottom + 30), x_key, fill="black", font=small, anchor="ma")
    draw.line([(left, top), (left, bottom), (right, bottom)], fill="black")
    n_s = max(points) + 1
    dodge = min(8.0, cell * 0.4 / max(n_s, 1))  # series side by side, so error bars don't overlap
    for s, pts in sorted(points.items()):
        color = COLORS[s % len(COLORS)]
        shift = (s - (n_s - 1) / 2) * dodge
        xy = [(xpix(i) + shift, ypix(m), sd) for i, m, sd in sorted(pts) if m is not None]
        if len(xy) > 1:
            draw.line([(x, y) for x, y, _ in xy], fill=color, width=2)
        for (i, m, sd), (x, y, _) in zip([p for p in sorted(pts) if p[1] is not None], xy):
            if sd:
                y0, y1 = ypix(m - sd), ypix(m + sd)
                draw.line([(x, y0), (x, y1)], fill=color, width=1)
                draw.line([(x - 4, y0), (x + 4, y0)], fill=color, width=1)
                draw.line([(x - 4, y1), (x + 4, y1)], fill=color, width=1)
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=color, outline="white")
