"""The explain strip: the game of the current model as a compact live diagram.

noise z → G → G(z) → D ← real x, D → both losses, and dashed gradients back to D and to G, with
the latest D(x), D(G(z)) and losses, the loss's formula beside it, a one-sentence tooltip per box,
the sub-step of step-by-step mode highlighted, and ``box_clicked(key)`` when a box is clicked (the
window shows that box's view). It draws from a Config and a Snapshot and holds nothing else.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ganplay.config import Config
from ganplay.losses import LOSSES
from ganplay.models import MODELS
from ganplay.ui.views import D_COLOR, FAKE_COLOR, G_COLOR, REAL_COLOR

STRIP_HEIGHT = 108
DIAGRAM_MIN_W, DIAGRAM_MAX_W = 540, 760  # the boxes; the formula takes the rest of the width
ROW_A, ROW_B = 34.0, 76.0  # the generator's row and the real data's row (D spans both)
BOX_H = 26.0
HIGHLIGHT = QColor(255, 196, 0)
NUMBERS = ("d_real", "d_fake", "d_loss", "g_loss")
# What each sub-step of step-by-step mode touches (boxes and gradient arrows).
SUBSTEP_BOXES = {
    "sample": {"z", "fake", "real"},
    "d": {"discriminator", "d_loss", "grad_d"},
    "g": {"generator", "g_loss", "grad_g"},
}
SUBSTEP_CAPTIONS = {"sample": "sub-step 1/3: sample a batch", "d": "sub-step 2/3: update D",
                    "g": "sub-step 3/3: update G"}


@dataclass
class Box:
    key: str
    label: str
    tip: str
    color: tuple[int, int, int]
    rect: QRectF = field(default_factory=QRectF)


def loss_formula(config: Config) -> list[str]:
    """The current objective as lines of text: the registered loss's formula (one line per
    network), the penalties switched on, and what a semi-supervised D and G add."""
    loss = LOSSES.get(config.loss)
    lines = [part.strip() for part in loss.formula.split(";") if part.strip()]
    extra = []
    if config.gp_weight > 0:
        extra.append(f"{config.gp_weight:g}·E(‖∇D(x′)‖ − 1)²")
    if config.r1_weight > 0:
        extra.append(f"{config.r1_weight / 2:g}·E‖∇D(x)‖²")
    if extra and lines:
        lines[0] += " + " + " + ".join(extra)
    if MODELS.get(config.model).objective == "sgan":
        lines.append("L_D += −log p(y | x) on the labelled x")
        lines.append(f"L_G = {config.adv_weight:g}·L_G,adv + {config.fm_weight:g}·‖E f(x) − E f(G(z))‖²")
    return lines


class ExplainStrip(QWidget):
    """The diagram. ``set_config`` when the run changes, ``show_snapshot`` for each drawn
    snapshot (or ``update_numbers`` and ``highlight`` directly)."""

    box_clicked = Signal(str)  # "z", "generator", "fake", "real", "discriminator", "d_loss", "g_loss"

    def __init__(self, config: Config | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(DIAGRAM_MIN_W, STRIP_HEIGHT)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMouseTracking(True)
        self.setToolTip("")  # tooltips come per box, from event()
        self.numbers: dict[str, float] = {}
        self.substep: str | None = None
        self._formula: list[str] = []
        self._loss_name = ""
        self._loss_summary = ""
        self._caption = ""
        self.boxes: dict[str, Box] = {}
        self.set_config(config or Config())

    def sizeHint(self) -> QSize:
        return QSize(900, STRIP_HEIGHT)

    # -- model --------------------------------------------------------------------------------
    def set_config(self, config: Config) -> None:
        """Labels, tooltips and the formula for ``config``'s model and loss."""
        objective = MODELS.get(config.model).objective
        loss = LOSSES.get(config.loss)
        score = "score C(x) (a critic: unbounded)" if loss.critic else "probability D(x) that x is real"
        cond = objective == "cgan"
        if objective == "sgan":
            classes = "K classes" if config.sgan_head == "k" else "K+1 classes (K digits + fake)"
            d_label, d_tip = f"D: {classes.split(' (')[0]}", (
                f"The discriminator classifies every image into {classes}; D(x) = how sure it is that x "
                "is real. Labelled real images also teach it their class.")
        else:
            d_label = "D(x, y)" if cond else "D"
            d_tip = (f"The discriminator: gives each input a {score}"
                     + (", judging the image together with its class y." if cond else "."))
        specs = [
            ("z", "z, y" if cond else "noise z", (f"Random noise z ({config.noise}, {config.z_dim}-D)"
             + (" and a class y" if cond else "") + ": G's only input, drawn fresh for every batch."), G_COLOR),
            ("generator", "G", ("The generator: a network that turns noise into samples. It never sees the "
             "data, only D's gradients."), G_COLOR),
            ("fake", "G(z, y)" if cond else "G(z)", ("Generated samples: what G makes of the noise (the "
             "orange points / the sample grid)."), FAKE_COLOR),
            ("real", "real x, y" if cond else "real x", (f"A batch of {config.batch_size} real samples from "
             f"{config.dataset} (the blue points / the real images)."), REAL_COLOR),
            ("discriminator", d_label, d_tip, D_COLOR),
            ("g_loss", "L_G", ("G's loss: small when D takes G(z) for real. Its gradient flows back through D "
             "(whose weights stay put) into G."), G_COLOR),
            ("d_loss", "L_D", "D's loss: small when D tells real from generated. Its gradient updates D only.",
             D_COLOR),
        ]
        self.boxes = {key: Box(key, label, tip, color) for key, label, tip, color in specs}
        self._formula = loss_formula(config)
        self._loss_name = f"loss: {config.loss}"
        self._loss_summary = loss.summary
        self._caption = f"{config.model} on {config.dataset}"
        self._layout()
        self.update()

    def update_numbers(self, values: dict) -> None:
        """The latest d_real (mean D(x)), d_fake (mean D(G(z))), d_loss and g_loss; missing or
        non-finite ones show as –."""
        self.numbers = {k: float(values[k]) for k in NUMBERS if values.get(k) is not None}
        self.update()

    def highlight(self, substep: str | None) -> None:
        """Highlight what a sub-step of step-by-step mode touches ("sample", "d", "g"; None: none)."""
        if substep not in (None, *SUBSTEP_BOXES):
            raise ValueError(f"sub-step {substep!r} is not one of sample, d, g")
        self.substep = substep
        self.update()

    def show_snapshot(self, snap) -> None:
        """Numbers and highlight from a Snapshot: a sub-step's own numbers right after it ran,
        else the newest values of the history."""
        shown = snap.substep
        if shown is not None:
            values = shown.metrics
            if shown.phase == "sample":  # nothing measured yet for this batch
                values = {}
            elif shown.phase == "d":  # D moved; G's loss belongs to the next half
                values = {**values, "g_loss": self.numbers.get("g_loss")}
        else:
            values = {k: v[-1] for k, v in snap.history.items() if k in NUMBERS and len(v)}
        self.update_numbers(values)
        self.highlight(None if shown is None else shown.phase)

    def box_at(self, pos: QPointF) -> str | None:
        """The key of the box under ``pos`` (widget coordinates), or None."""
        for box in self.boxes.values():
            if box.rect.adjusted(-3, -3, 3, 3).contains(pos):
                return box.key
        return None

    # -- geometry -----------------------------------------------------------------------------
    def _diagram_width(self) -> float:
        return min(max(DIAGRAM_MIN_W, self.width() * 0.6), DIAGRAM_MAX_W)

    def _layout(self) -> None:
        w = self._diagram_width()
        fm = QFontMetricsF(self._box_font())
        centres = {"z": (0.07, ROW_A), "generator": (0.24, ROW_A), "fake": (0.42, ROW_A),
                   "real": (0.42, ROW_B), "g_loss": (0.88, ROW_A), "d_loss": (0.88, ROW_B)}
        for key, (fx, y) in centres.items():
            box = self.boxes[key]
            bw = max(fm.horizontalAdvance(self._box_text(key)) + 16, 34.0 if key == "generator" else 58.0)
            box.rect = QRectF(fx * w - bw / 2, y - BOX_H / 2, bw, BOX_H)
        d_w = max(fm.horizontalAdvance("D(G(z)) 0.000") + 16, fm.horizontalAdvance(self.boxes["discriminator"].label) + 16)
        self.boxes["discriminator"].rect = QRectF(0.65 * w - d_w / 2, ROW_A - BOX_H / 2, d_w, ROW_B - ROW_A + BOX_H)
        # Keep the left box inside the widget and the loss boxes from touching D.
        z = self.boxes["z"].rect
        if z.left() < 4:
            z.moveLeft(4)

    def resizeEvent(self, event) -> None:
        self._layout()
        super().resizeEvent(event)

    def _box_font(self) -> QFont:
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF(), 9.0))
        return f

    def _box_text(self, key: str) -> str:
        label = self.boxes[key].label
        if key in ("d_loss", "g_loss"):
            return f"{label} {_fmt(self.numbers.get(key))}"
        return label

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        self._layout()  # numbers change box widths
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        pal = self.palette()
        text = pal.color(pal.ColorRole.WindowText)
        muted = QColor(text)
        muted.setAlpha(150)
        on = SUBSTEP_BOXES.get(self.substep, set())
        b = {k: box.rect for k, box in self.boxes.items()}
        d = b["discriminator"]

        # Forward arrows (solid).
        p.setPen(QPen(muted, 1.4))
        p.setBrush(muted)
        for a, c in (("z", "generator"), ("generator", "fake")):
            _arrow(p, QPointF(b[a].right(), ROW_A), QPointF(b[c].left(), ROW_A))
        _arrow(p, QPointF(b["fake"].right(), ROW_A), QPointF(d.left(), ROW_A))
        _arrow(p, QPointF(b["real"].right(), ROW_B), QPointF(d.left(), ROW_B))
        _arrow(p, QPointF(d.right(), ROW_A), QPointF(b["g_loss"].left(), ROW_A))
        _arrow(p, QPointF(d.right(), ROW_B), QPointF(b["d_loss"].left(), ROW_B))

        # Gradients (dashed): L_D back into D; L_G back over the top into G.
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() - 1.5, 7.0))
        p.setFont(small)
        top, bottom = 7.0, STRIP_HEIGHT - 8.0
        for key, ends, label in (
            ("grad_g", (b["g_loss"], b["generator"], top), "∇L_G back through D into G"),
            ("grad_d", (b["d_loss"], d, bottom), "∇L_D into D"),
        ):
            src, dst, y = ends
            lit = key in on
            color = HIGHLIGHT.darker(115) if lit else muted
            pen = QPen(color, 2.2 if lit else 1.2, Qt.DashLine)
            p.setPen(pen)
            p.setBrush(Qt.NoBrush)
            sy = src.top() if y < src.top() else src.bottom()
            dy = dst.top() if y < dst.top() else dst.bottom()
            path = QPainterPath(QPointF(src.center().x(), sy))
            path.lineTo(src.center().x(), y)
            path.lineTo(dst.center().x(), y)
            path.lineTo(dst.center().x(), dy)
            p.drawPath(path)
            p.setPen(QPen(color, 1.2))
            p.setBrush(color)
            _head(p, QPointF(dst.center().x(), y), QPointF(dst.center().x(), dy))
            # The label sits on the line, over a cut in it.
            fm = QFontMetricsF(small)
            tw = fm.horizontalAdvance(label) + 8
            mid = (src.center().x() + dst.center().x()) / 2
            r = QRectF(mid - tw / 2, y - fm.height() / 2, tw, fm.height())
            p.fillRect(r, pal.color(pal.ColorRole.Window))
            p.setPen(color if lit else text)
            p.drawText(r, Qt.AlignCenter, label)

        # Boxes.
        p.setFont(self._box_font())
        for key, box in self.boxes.items():
            lit = key in on
            edge = QColor(*box.color)
            fill = QColor(HIGHLIGHT) if lit else QColor(*box.color)
            fill.setAlpha(235 if lit else 38)
            p.setPen(QPen(edge.darker(130) if lit else edge, 2.4 if lit else 1.4))
            p.setBrush(fill)
            p.drawRoundedRect(box.rect, 6, 6)
            p.setPen(text)
            if key == "discriminator":
                self._draw_d(p, box.rect)
            else:
                p.drawText(box.rect, Qt.AlignCenter, self._box_text(key))

        # Caption (bottom left) and the formula (right).
        p.setFont(small)
        p.setPen(muted)
        caption = SUBSTEP_CAPTIONS.get(self.substep) or self._caption
        p.drawText(QRectF(4, ROW_B - BOX_H / 2, b["real"].left() - 10, BOX_H), Qt.AlignLeft | Qt.AlignVCenter,
                   QFontMetricsF(small).elidedText(caption, Qt.ElideRight, max(b["real"].left() - 12, 10)))
        self._draw_formula(p, text, muted)
        p.end()

    def _draw_d(self, p: QPainter, r: QRectF) -> None:
        fm = QFontMetricsF(p.font())
        lines = [self.boxes["discriminator"].label, f"D(x) {_fmt(self.numbers.get('d_real'))}",
                 f"D(G(z)) {_fmt(self.numbers.get('d_fake'))}"]
        h = fm.height()
        y0 = r.center().y() - 1.5 * h
        bold = QFont(p.font())
        bold.setBold(True)
        for i, line in enumerate(lines):
            p.setFont(bold if i == 0 else self._box_font())
            p.drawText(QRectF(r.left(), y0 + i * h, r.width(), h), Qt.AlignCenter, line)
        p.setFont(self._box_font())

    def _formula_rect(self) -> QRectF:
        x0 = self._diagram_width() + 14
        return QRectF(x0, 4, max(self.width() - x0 - 6, 0), STRIP_HEIGHT - 8)

    def _draw_formula(self, p: QPainter, text: QColor, muted: QColor) -> None:
        r = self._formula_rect()
        if r.width() < 60:
            return
        # Separator, then the loss's name and its formula, one line per network.
        p.setPen(QPen(muted, 1))
        p.drawLine(QPointF(r.left() - 7, 10), QPointF(r.left() - 7, STRIP_HEIGHT - 10))
        title = QFont(self.font())
        title.setBold(True)
        body = QFont(self.font())
        body.setPointSizeF(max(body.pointSizeF() - 0.5, 7.5))
        lines = [(title, self._loss_name)] + [(body, line) for line in self._formula]
        heights = [QFontMetricsF(f).height() + 2 for f, _ in lines]
        y = r.center().y() - sum(heights) / 2
        for (font, line), h in zip(lines, heights):
            p.setFont(font)
            p.setPen(text)
            shown = QFontMetricsF(font).elidedText(line, Qt.ElideRight, r.width())
            p.drawText(QRectF(r.left(), y, r.width(), h), Qt.AlignLeft | Qt.AlignVCenter, shown)
            y += h

    # -- interaction --------------------------------------------------------------------------
    def event(self, e) -> bool:
        if e.type() == QEvent.ToolTip:
            pos = QPointF(e.pos())
            key = self.box_at(pos)
            if key is not None:
                tip = self.boxes[key].tip + " Click to show its view."
            elif self._formula_rect().contains(pos):
                tip = "<br>".join([f"<b>{self._loss_name}</b> — {self._loss_summary}", *self._formula])
            else:
                tip = ""
            if tip:
                QToolTip.showText(e.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    def mouseMoveEvent(self, e) -> None:
        self.setCursor(Qt.PointingHandCursor if self.box_at(e.position()) else Qt.ArrowCursor)
        super().mouseMoveEvent(e)

    def mouseReleaseEvent(self, e) -> None:
        key = self.box_at(e.position()) if e.button() == Qt.LeftButton else None
        if key is not None:
            self.box_clicked.emit(key)
        super().mouseReleaseEvent(e)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.3g}"


def _arrow(p: QPainter, a: QPointF, b: QPointF) -> None:
    p.drawLine(a, b)
    _head(p, a, b)


def _head(p: QPainter, a: QPointF, b: QPointF, size: float = 7.0) -> None:
    """An arrow head at ``b`` pointing away from ``a``."""
    angle = math.atan2(b.y() - a.y(), b.x() - a.x())
    left = QPointF(b.x() - size * math.cos(angle - 0.4), b.y() - size * math.sin(angle - 0.4))
    right = QPointF(b.x() - size * math.cos(angle + 0.4), b.y() - size * math.sin(angle + 0.4))
    p.drawPolygon(QPolygonF([b, left, right]))
