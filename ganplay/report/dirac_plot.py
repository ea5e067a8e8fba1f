"""``ganplay dirac --png``: the Dirac-GAN's update field, trajectories and eigenvalues drawn with
Pillow (the engine stays free of Qt; the window draws the same with pyqtgraph).

Left: arrows of the field over (θ, ψ), each trajectory from its start point, the equilibrium.
Right: the Jacobian's eigenvalues λ at the equilibrium (crosses) and those of one step mapped
back, (μ − 1)/h (rings), beside the disc |1 + hλ| < 1 where gradient descent at step h is stable.
"""
from __future__ import annotations

import io
from typing import Callable, NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from ganplay.report.sweep_chart import _font

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
PHASE, EIGEN, PAD = 480, 320, 40
# The default font has no Greek: the PNG spells it out.
ASCII = str.maketrans({"λ": "lambda ", "μ": "mu", "ψ": "psi", "θ": "theta", "±": "+-", "−": "-", "γ": "gamma", "σ": "sigma"})


class PlotRun(NamedTuple):
    """One trajectory to draw, with what the engine computed about its settings."""

    label: str
    path: np.ndarray  # [n, 2]: (theta, psi) per step
    eigenvalues: np.ndarray  # of the game's Jacobian at the equilibrium
    step_eigenvalues: np.ndarray  # (mu - 1) / h for one step's eigenvalues mu
    explanation: str


def stability_disc(h: float) -> tuple[float, float]:
    """Centre (on the real axis) and radius of {λ : |1 + hλ| < 1}."""
    return -1.0 / h, 1.0 / h


def eigen_extent(lams: np.ndarray) -> float:
    """A half-width for the eigenvalue plot that shows every λ with room around it."""
    finite = lams[np.isfinite(lams)]
    return float(max(1.0, 1.3 * np.max(np.abs(finite)))) if finite.size else 1.0


def draw_png(runs: list[PlotRun], field: Callable[[float], tuple], lr: float, extent: float | None = None) -> bytes:
    """A PNG of the update field, every run's trajectory and its eigenvalues (at most four runs).
    ``field(extent)`` gives (theta [n], psi [n], values [n, n, 2]) over [-extent, extent]²; ``lr``
    is the step size whose stable disc is drawn."""
    font, small = _font(14), _font(11)
    if extent is None:  # wide enough for the start points and most of the paths
        reach = [np.nanpercentile(np.abs(path[np.isfinite(path).all(axis=1)]), 95) for path in (r.path for r in runs)]
        extent = float(np.clip(np.ceil(2.3 * max(reach + [1.2])) / 2, 1.5, 6.0))
    width, height = PHASE + EIGEN + 3 * PAD + 60, PHASE + 2 * PAD + 18 * len(runs)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)

    phase = Image.new("RGB", (PHASE, PHASE), "white")  # drawn apart, so paths leaving it are clipped
    pen = ImageDraw.Draw(phase)

    def to_px(t, p):  # phase plane: theta right, psi up
        return (t + extent) / (2 * extent) * PHASE, (extent - p) / (2 * extent) * PHASE

    theta, psi, values = field(extent)
    cell = PHASE / 17
    for i, p in enumerate(psi):
        for j, t in enumerate(theta):
            v = values[i, j]
            n = float(np.hypot(*v))
            if not np.isfinite(n) or n < 1e-9:
                continue
            # every arrow one length (the direction is what shows the rotation), darker where faster
            x0, y0 = to_px(t, p)
            dx, dy = 0.4 * cell * v[0] / n, -0.4 * cell * v[1] / n
            shade = int(200 - 120 * min(1.0, n / max(float(np.nanmax(np.hypot(values[..., 0], values[..., 1]))), 1e-12)))
            colour = (shade, shade, shade)
            pen.line([x0 - dx, y0 - dy, x0 + dx, y0 + dy], fill=colour, width=1)
            pen.polygon([(x0 + dx, y0 + dy), (x0 + 0.4 * dx - 0.35 * dy, y0 + 0.4 * dy + 0.35 * dx),
                         (x0 + 0.4 * dx + 0.35 * dy, y0 + 0.4 * dy - 0.35 * dx)], fill=colour)
    for k, path in enumerate(r.path for r in runs):
        inside = path[np.all(np.isfinite(path), axis=1) & (np.abs(path).max(axis=1) <= 4 * extent)]
        if len(inside) > 1:
            pen.line([to_px(t, p) for t, p in inside], fill=COLORS[k], width=2)
        sx, sy = to_px(*path[0])
        pen.ellipse([sx - 5, sy - 5, sx + 5, sy + 5], outline=COLORS[k], width=2)
    ex, ey = to_px(0.0, 0.0)
    pen.line([ex - 7, ey, ex + 7, ey], fill="black", width=2)
    pen.line([ex, ey - 7, ex, ey + 7], fill="black", width=2)
    img.paste(phase, (PAD, PAD))
    draw.rectangle([PAD, PAD, PAD + PHASE, PAD + PHASE], outline="#888888")
    draw.text((PAD, PAD - 22), f"update field over (theta, psi): {runs[0][0]}", fill="black", font=font)
    draw.text((PAD + PHASE - 40, PAD + PHASE + 4), f"theta {extent:g}", fill="black", font=small)
    draw.text((PAD - 30, PAD - 4), f"psi {extent:g}", fill="black", font=small)

    # the eigenvalues in the complex plane, and gradient descent's stable disc for step h
    left, top = 2 * PAD + PHASE, PAD
    lams = [np.asarray(r.eigenvalues) for r in runs]
    steps = [np.asarray(r.step_eigenvalues) for r in runs]
    half = eigen_extent(np.concatenate(lams + steps))

    def to_eig(z):
        return left + (z.real + half) / (2 * half) * EIGEN, top + (half - z.imag) / (2 * half) * EIGEN

    draw.rectangle([left, top, left + EIGEN, top + EIGEN], outline="#888888")
    centre, radius = stability_disc(lr)
    cx, cy = to_eig(complex(centre, 0.0))
    r_px = radius / (2 * half) * EIGEN
    disc = Image.new("L", img.size, 0)
    ImageDraw.Draw(disc).ellipse([cx - r_px, cy - r_px, cx + r_px, cy + r_px], fill=255)
    frame = Image.new("L", img.size, 0)
    ImageDraw.Draw(frame).rectangle([left, top, left + EIGEN, top + EIGEN], fill=255)
    img.paste(Image.new("RGB", img.size, "#dff3e3"), (0, 0),
              Image.fromarray(np.minimum(np.asarray(disc), np.asarray(frame))))
    draw = ImageDraw.Draw(img)
    draw.rectangle([left, top, left + EIGEN, top + EIGEN], outline="#888888")
    ox, oy = to_eig(0j)
    draw.line([left, oy, left + EIGEN, oy], fill="#bbbbbb")
    draw.line([ox, top, ox, top + EIGEN], fill="#bbbbbb")
    for k, (lam, st) in enumerate(zip(lams, steps)):
        for z in lam:
            if np.isfinite(z) and abs(z.real) <= half and abs(z.imag) <= half:
                x, y = to_eig(z)
                draw.line([x - 6, y - 6, x + 6, y + 6], fill=COLORS[k], width=2)
                draw.line([x - 6, y + 6, x + 6, y - 6], fill=COLORS[k], width=2)
        for z in st:
            if np.isfinite(z) and abs(z.real) <= half and abs(z.imag) <= half:
                x, y = to_eig(z)
                draw.ellipse([x - 7, y - 7, x + 7, y + 7], outline=COLORS[k], width=1)
    draw.text((left, top - 22), f"eigenvalues lambda (x), one step's (mu - 1)/h (o); green: stable at h = {lr:g}",
              fill="black", font=small)
    draw.text((left, top + EIGEN + 4), f"real and imaginary parts in [-{half:.2g}, {half:.2g}]", fill="black", font=small)
    y = PAD + PHASE + 24
    for k, (label, path, _, _, explanation) in enumerate(runs):
        dist = float(np.hypot(*path[-1]))
        text = f"{label}: {explanation}; distance after {len(path) - 1} steps {dist:.3g}"
        text = text.translate(ASCII)
        draw.text((PAD, y), text, fill=COLORS[k], font=small)
        y += 18
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
