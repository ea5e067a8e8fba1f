"""The explain strip follows the model, the numbers and the sub-step, and its boxes answer."""
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtWidgets import QToolTip

from ganplay.config import Config
from ganplay.engine.snapshot import SubStep
from ganplay.losses import LOSSES
from ganplay.ui.explain_strip import HIGHLIGHT, ExplainStrip, loss_formula

BOXES = {"z", "generator", "fake", "real", "discriminator", "d_loss", "g_loss"}


@pytest.fixture
def strip(qtbot):
    s = ExplainStrip(Config.for_model("toy-mlp"))
    qtbot.addWidget(s)
    s.resize(1000, s.height())
    s.show()
    qtbot.waitExposed(s)
    return s


def labels(strip):
    return {k: b.label for k, b in strip.boxes.items()}


def test_labels_follow_the_model(strip):
    assert labels(strip)["fake"] == "G(z)" and labels(strip)["discriminator"] == "D"
    strip.set_config(Config.for_model("cgan-mlp", dataset="mnist"))
    assert labels(strip)["fake"] == "G(z, y)" and labels(strip)["discriminator"] == "D(x, y)"
    strip.set_config(Config.for_model("sgan64", dataset="mnist"))
    assert labels(strip)["discriminator"] == "D: K+1 classes"
    assert "K+1 classes" in strip.boxes["discriminator"].tip
    assert set(strip.boxes) == BOXES and all(b.tip for b in strip.boxes.values())


@pytest.mark.parametrize("loss", LOSSES.names())
def test_the_formula_is_the_registered_losss(loss):
    lines = loss_formula(Config.for_model("toy-mlp", loss=loss))
    assert " ".join(lines).replace("  ", " ") in LOSSES.get(loss).formula.replace(";  ", " ").replace("; ", " ")


def test_the_formula_shows_the_penalties_switched_on():
    plain = loss_formula(Config.for_model("toy-mlp", loss="wgan"))
    both = loss_formula(Config.for_model("toy-mlp", loss="wgan", gp_weight=10.0, r1_weight=2.0))
    assert both[0].startswith(plain[0]) and "10·E(‖∇D(x′)‖ − 1)²" in both[0] and "1·E‖∇D(x)‖²" in both[0]
    assert len(loss_formula(Config.for_model("sgan-mlp", dataset="mnist"))) == 4


def test_numbers_show_in_the_boxes(strip):
    strip.update_numbers({"d_real": 0.51234, "d_fake": 0.25, "d_loss": 1.5, "g_loss": float("nan")})
    assert strip._box_text("d_loss") == "L_D 1.500"
    assert strip._box_text("g_loss") == "L_G –"  # NaN (a diverged run) shows as a dash
    strip.update_numbers({})
    assert strip._box_text("d_loss") == "L_D –"


def test_a_snapshot_sets_numbers_and_highlight(strip):
    history = {"step": np.arange(3.0), "d_real": np.array([0.1, 0.2, 0.7]), "d_fake": np.array([0.4, 0.3, 0.2]),
               "d_loss": np.ones(3), "g_loss": np.full(3, 2.0), "d_acc_real": np.ones(3)}
    strip.show_snapshot(SimpleNamespace(history=history, substep=None))
    assert strip.numbers == {"d_real": 0.7, "d_fake": 0.2, "d_loss": 1.0, "g_loss": 2.0} and strip.substep is None
    d = SubStep("d", {"d_real": 0.9, "d_fake": 0.1, "d_loss": 0.3})
    strip.show_snapshot(SimpleNamespace(history=history, substep=d))
    assert strip.substep == "d" and strip.numbers["d_real"] == 0.9 and strip.numbers["g_loss"] == 2.0
    strip.show_snapshot(SimpleNamespace(history=history, substep=SubStep("sample", {})))
    assert strip.substep == "sample" and strip.numbers == {}


def pixel(strip, key) -> QColor:
    r = strip.boxes[key].rect
    return strip.grab().toImage().pixelColor(int(r.left()) + 4, int(r.center().y()))


@pytest.mark.parametrize("substep, lit, dark", [("sample", "real", "generator"), ("d", "discriminator", "z"),
                                                 ("g", "generator", "d_loss")])
def test_the_running_sub_step_is_highlighted(strip, substep, lit, dark):
    strip.highlight(substep)
    assert pixel(strip, lit).hue() == pytest.approx(HIGHLIGHT.hue(), abs=6)
    assert pixel(strip, dark).hue() != pytest.approx(HIGHLIGHT.hue(), abs=6)
    strip.highlight(None)
    assert pixel(strip, lit).hue() != pytest.approx(HIGHLIGHT.hue(), abs=6)
    with pytest.raises(ValueError, match="sub-step 'x'"):
        strip.highlight("x")


def test_clicking_a_box_names_it(qtbot, strip):
    for key in sorted(BOXES):
        centre = strip.boxes[key].rect.center().toPoint()
        with qtbot.waitSignal(strip.box_clicked, timeout=5000) as signal:
            qtbot.mouseClick(strip, Qt.LeftButton, pos=centre)
        assert signal.args == [key]
    with qtbot.assertNotEmitted(strip.box_clicked):
        qtbot.mouseClick(strip, Qt.LeftButton, pos=QPoint(2, 2))


def test_hovering_a_box_explains_it(qtbot, strip):
    centre = strip.boxes["discriminator"].rect.center().toPoint()
    strip.event(QHelpEvent(QEvent.ToolTip, centre, strip.mapToGlobal(centre)))
    assert QToolTip.text().startswith("The discriminator")
    formula = strip._formula_rect().center().toPoint()
    strip.event(QHelpEvent(QEvent.ToolTip, formula, strip.mapToGlobal(formula)))
    assert "non-saturating" in QToolTip.text() and "L_G = −log D(G(z))" in QToolTip.text()
    QToolTip.hideText()
