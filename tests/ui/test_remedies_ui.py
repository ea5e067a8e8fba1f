"""The remedies lab in the window: its knobs (live or restarting), the Presets menu and the help."""
from ganplay.config import Config
from ganplay.losses import LOSSES
from ganplay.presets import PRESETS
from ganplay.ui.remedies_panel import PLAIN_ONLY, TOY_ONLY

WAIT = 60_000  # ms; generous for a compile on a busy 2-core machine


def session_step(w):
    s = w.worker.session
    return -1 if s is None else s.step


def test_penalty_weights_apply_live_and_packing_restarts(qtbot, make_window):
    w = make_window(Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32))
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    w.worker.step(5)
    qtbot.waitUntil(lambda: session_step(w) == 5, timeout=WAIT)
    for key in ("gp_weight", "r1_weight", "instance_noise"):
        assert w.controls[key].toolTip()
    w.controls["r1_weight"].setValue(0.5)
    w.controls["instance_noise"].setValue(0.1)

    def applied():
        hyper = w.worker.session.state.hyper
        return abs(float(hyper["r1_weight"]) - 0.5) < 1e-7 and abs(float(hyper["instance_noise"]) - 0.1) < 1e-7

    qtbot.waitUntil(applied, timeout=WAIT)
    assert session_step(w) == 5  # live: the run goes on
    w.controls["pack"].setValue(4)
    qtbot.waitUntil(lambda: w.worker.session is not None and w.worker.session.config.pack == 4, timeout=WAIT)
    assert session_step(w) == 0  # structural: a clean restart


def test_a_value_the_game_refuses_is_explained_and_the_run_kept(qtbot, make_window):
    w = make_window(Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32))
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    w.controls["label_smoothing"].setValue(0.1)
    qtbot.waitUntil(lambda: w.config.label_smoothing == 0.1, timeout=WAIT)
    w.controls["loss"].setCurrentText("hinge")  # hinge has no targets to smooth
    assert "has no meaning for loss=hinge" in w.statusBar().currentMessage()
    assert w.config.loss == "ns" and w.controls["loss"].currentText() == "ns"


def test_presets_menu_starts_the_recipe_and_says_what_it_shows(qtbot, make_window):
    w = make_window(Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32))
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    assert set(w.preset_actions) == set(PRESETS.names())
    w.preset_actions["wgan-gp"].trigger()
    preset = PRESETS.get("wgan-gp")
    assert w.config.loss == "wgan" and w.config.gp_weight == 10.0 and w.config.dataset == "ring8"
    assert w.controls["gp_weight"].value() == 10.0 and w.controls["loss"].currentText() == "wgan"
    assert preset.shows in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.worker.session is not None and w.worker.session.config.loss == "wgan", timeout=WAIT)


def test_plain_only_remedies_are_disabled_for_the_conditional_game(qtbot, make_window, mnist_dir):
    w = make_window(Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32))
    assert all(w.controls[k].isEnabled() for k in PLAIN_ONLY if k != "ema_view")
    w._load_controls(Config.for_model("cgan-mlp", dataset="mnist", data_dir=str(mnist_dir)))
    assert not any(w.controls[k].isEnabled() for k in PLAIN_ONLY)
    assert not w.controls["g_depth"].isEnabled()
    w._load_controls(w.config)


def test_the_dcgans_offer_spectral_norm_and_no_other_shape_option(qtbot, make_window):
    w = make_window(Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32))
    assert all(w.controls[k].isEnabled() for k in TOY_ONLY)
    w._load_controls(Config.for_model("dcgan28", dataset="mnist", width=0.125))
    assert w.controls["spectral_norm"].isEnabled()
    assert not any(w.controls[k].isEnabled() for k in TOY_ONLY if k != "spectral_norm")
    w._load_controls(Config.for_model("gia-mlp", dataset="mnist"))
    assert not any(w.controls[k].isEnabled() for k in TOY_ONLY)
    w._load_controls(w.config)


def test_help_lists_every_loss_with_its_formula(qtbot, make_window):
    w = make_window(Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32))
    w.losses_help_action.trigger()
    text = w.losses_help_box.text()
    for name in LOSSES.names():
        loss = LOSSES.get(name)
        assert f"<b>{name}</b>" in text and loss.formula in text
    w.losses_help_box.close()


def test_sampler_toggle_draws_accepted_and_rejected_samples_in_two_styles(qtbot, make_window):
    w = make_window(Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32))
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    w.worker.step(50)
    qtbot.waitUntil(lambda: session_step(w) == 50, timeout=WAIT)
    view = w.scatter_view
    assert not view.rejected.isVisible() and "sampler" in w.controls and w.controls["sampler"].toolTip()
    w.controls["sampler"].setCurrentText("drs")
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.sampler is not None, timeout=WAIT)
    assert session_step(w) == 50  # the sampler only changes what is shown: no restart
    snap = w._drawn
    accepted = snap.sampler.accepted
    assert view.rejected.isVisible() and 0 < accepted.sum() < len(accepted)
    assert len(view.fake.data) == accepted.sum() and len(view.rejected.data) == (~accepted).sum()
    assert view.fake.opts["brush"].style() != view.rejected.opts["brush"].style()  # filled vs rings
    w.redraw()
    assert w.sampler_label.isVisible() and "DRS accepts" in w.sampler_label.text()
    assert "rejected by DRS" in view.plotItem.titleLabel.text
    w.controls["sampler"].setCurrentText("none")
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.sampler is None, timeout=WAIT)
    assert not view.rejected.isVisible() and len(view.fake.data) == len(w._drawn.generated)
