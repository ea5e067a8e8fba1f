"""The remedies lab's controls: penalties, stabilisers, optimizers and the toy networks' shape.

One group box of widgets keyed by config field (the window wires them like every other control),
their tooltips, and the loss formulas for the Help menu. Qt only; no training logic here.
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QWidget

from ganplay.config import OPTIMIZERS, SAMPLERS, SCHEDULES
from ganplay.losses import LOSSES
from ganplay.ui.widgets import choice_box, float_box, int_box

LIVE = "Applies live, without restarting."
RESTART = "Restarts the run."

TOOLTIPS = {
    "gp_weight": "λ of the gradient penalty (WGAN-GP, Gulrajani et al. 2017): D's gradient norm is pulled "
    "to 1 on random points between real and generated samples. 10 is the paper's; 0 is off. " + LIVE,
    "r1_weight": "γ of the R1 penalty (Mescheder et al. 2018): γ/2 · E‖∇D(x)‖² on real samples keeps D "
    "flat on the data, so training converges instead of circling. 0 is off. " + LIVE,
    "weight_clip": "Clip every weight of D to [−c, c] after each update: the original WGAN's crude way "
    "to keep the critic Lipschitz (Arjovsky et al. 2017; 0.01 there). 0 is off. " + LIVE,
    "instance_noise": "σ of Gaussian noise added to everything D sees, real and generated: the "
    "distributions overlap, so D cannot separate them perfectly. 0 is off. " + LIVE,
    "instance_noise_steps": "Anneal the instance noise linearly to 0 over this many steps (0: constant). " + LIVE,
    "ema_decay": "Keep an exponential moving average of G's weights with this decay (e.g. 0.999); it "
    "averages out the oscillation of the last steps. 0 is off; switching it on or off restarts, "
    "changing a non-zero decay applies live.",
    "ema_view": "With the EMA on: draw, score and save the EMA generator's samples (off: the raw G's). " + LIVE,
    "pack": "PacGAN (Lin et al. 2018): D judges this many samples at once, so a generator that draws "
    "the same thing again is easy to catch. Must divide the batch size. " + RESTART,
    "g_steps": "Generator updates per iteration, after the D updates. " + RESTART,
    "opt_g": "G's optimizer. sgd uses β1 as its momentum (0: plain SGD), rmsprop uses β2 as its decay; "
    "the optimistic methods (Daskalakis et al. 2018) look one step ahead and damp the circling of "
    "simultaneous updates. " + RESTART,
    "opt_d": "D's optimizer (as for G). " + RESTART,
    "beta1": "Adam's β1 (momentum; the DCGAN paper's 0.5), also SGD's momentum. " + RESTART,
    "beta2": "Adam's β2 (the second-moment decay), also RMSprop's decay. " + RESTART,
    "lr_schedule": "Both learning rates × 1 (constant), or decaying to 0 over the schedule's steps "
    "(linear, cosine): late steps settle instead of jittering. " + RESTART,
    "schedule_steps": "The steps over which a decaying schedule reaches 0. " + RESTART,
    "g_depth": "Toy models: hidden layers of G (seed 002: 2). " + RESTART,
    "d_depth": "Toy models: hidden layers of D (seed 002: 2). " + RESTART,
    "d_hidden": "Toy models: D's width (0: the same as the hidden width, G's). " + RESTART,
    "spectral_norm": "Toy models and the DCGANs: divide each of D's weight matrices by its largest "
    "singular value (Miyato et al. 2018), which keeps D smooth. The DCGANs' D then has no batch norm, "
    "as in the paper's SN-DCGAN. " + RESTART,
    "sampler": "Clean G's samples with what D knows, after or while training: drs keeps each sample "
    "with a probability from D's density ratio (discriminator rejection sampling, Azadi et al. 2019); "
    "mh runs a Metropolis-Hastings chain over G's samples from a real one (MH-GAN, Turner et al. 2019). "
    "D is calibrated first. On 2-D data the scatter shows the kept samples filled, the rejected ones as "
    "rings, and the status bar the share accepted; headless runs score the sampler's samples in their "
    "own columns (drs_…, mh_…) and save them as samples_<sampler>.npy. Training is unchanged. none is off. "
    + LIVE,
    "minibatch_std": "Toy models: D also sees the spread of the batch it judges (Karras et al. 2018), "
    "so a generator drawing near-copies is caught. " + RESTART,
}
# Fields that only the plain GAN game composes (the semi-supervised and conditional steps refuse them).
PLAIN_ONLY = ("gp_weight", "r1_weight", "weight_clip", "instance_noise", "instance_noise_steps",
              "ema_decay", "ema_view", "pack", "g_steps", "sampler")
TOY_ONLY = ("g_depth", "d_depth", "d_hidden", "spectral_norm", "minibatch_std")  # see ModelSpec.d_options


def build_remedies_group() -> tuple[QGroupBox, dict[str, QWidget]]:
    """The "Remedies" group and its widgets by config field."""
    controls: dict[str, QWidget] = {
        "gp_weight": float_box(0.0, 1000.0, 3, 1.0),
        "r1_weight": float_box(0.0, 1000.0, 3, 0.1),
        "weight_clip": float_box(0.0, 100.0, 4, 0.01),
        "instance_noise": float_box(0.0, 10.0, 3, 0.05),
        "instance_noise_steps": int_box(0, 10**9, 1000),
        "ema_decay": float_box(0.0, 0.9999, 4, 0.001),
        "ema_view": QCheckBox("Show the EMA generator"),
        "pack": int_box(1, 16),
        "g_steps": int_box(1, 20),
        "opt_g": choice_box(OPTIMIZERS),
        "opt_d": choice_box(OPTIMIZERS),
        "beta1": float_box(0.0, 0.999, 3, 0.1),
        "beta2": float_box(0.0, 0.9999, 4, 0.001),
        "lr_schedule": choice_box(SCHEDULES),
        "schedule_steps": int_box(1, 10**9, 1000),
        "g_depth": int_box(0, 5),
        "d_depth": int_box(0, 5),
        "d_hidden": int_box(0, 4096),
        "spectral_norm": QCheckBox("Spectral norm in D"),
        "minibatch_std": QCheckBox("Minibatch std in D"),
        "sampler": choice_box(SAMPLERS),
    }
    group = QGroupBox("Remedies")
    group.setToolTip("What the field uses against a collapsing or oscillating GAN. Help ▸ Losses shows "
                     "every loss's formula; the Presets menu has known-good recipes.")
    form = QFormLayout(group)
    for key, label in (("gp_weight", "Gradient penalty λ"), ("r1_weight", "R1 penalty γ"),
                       ("weight_clip", "Clip D's weights c"), ("instance_noise", "Instance noise σ"),
                       ("instance_noise_steps", "…annealed over steps"), ("ema_decay", "EMA of G, decay"),
                       ("ema_view", ""), ("pack", "PacGAN packing"), ("g_steps", "G steps per iteration"),
                       ("opt_g", "G optimizer"), ("opt_d", "D optimizer"), ("beta1", "β1 (momentum)"),
                       ("beta2", "β2"), ("lr_schedule", "Learning-rate schedule"),
                       ("schedule_steps", "…over steps"), ("g_depth", "G hidden layers"),
                       ("d_depth", "D hidden layers"), ("d_hidden", "D width (0: same)"),
                       ("spectral_norm", ""), ("minibatch_std", ""), ("sampler", "Sampler (D cleans G)")):
        form.addRow(label, controls[key])
    return group, controls


def losses_help_html() -> str:
    """Every registered loss: its formula and one sentence (Help ▸ Losses)."""
    rows = "".join(f"<p><b>{loss.name}</b> — {loss.summary}<br><code>{loss.formula}</code></p>"
                   for loss in (LOSSES.get(n) for n in LOSSES.names()))
    return ("<p>D(x) = σ(C(x)), C being D's raw output. Penalties add to D's loss: gradient penalty "
            "λ·E(‖∇C(x̂)‖ − 1)² on x̂ between real and generated samples; R1 γ/2·E‖∇C(x)‖² on real "
            "samples.</p>" + rows)
