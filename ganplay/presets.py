"""Named recipes: a known-good (or known-bad) run in one click or one flag.

A preset is a set of config overrides (including the model and the dataset) plus one sentence
on what it shows. ``ganplay train --preset NAME`` and ``ganplay --preset NAME`` start from it
(``--set`` still overrides it), ``ganplay presets`` lists them, and the window's Presets menu
applies them. Figures quoted in the sentences come from ``benchmarks/remedies.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ganplay.formatting import format_value
from ganplay.registry import Registry


@dataclass(frozen=True)
class Preset:
    name: str
    shows: str  # one sentence: what the run demonstrates
    overrides: Mapping[str, Any] = field(default_factory=dict)  # model, dataset and settings
    steps: int = 20000  # how long the sentence's figures were trained (a suggestion)

    @property
    def model(self) -> str:
        return str(self.overrides.get("model", "toy-mlp"))

    def settings(self) -> dict[str, Any]:
        """The overrides without the model (what ``Config.for_model`` takes beside it)."""
        return {k: v for k, v in self.overrides.items() if k != "model"}


PRESETS: Registry[Preset] = Registry("preset")


def _add(name: str, shows: str, steps: int = 20000, **overrides: Any) -> None:
    PRESETS.register(name, Preset(name, shows, dict(overrides), steps))


SEED_002 = dict(z_dim=256, batch_size=512, lr_g=2e-4, lr_d=2e-4, beta1=0.5)

_add("seed-002", "Seed 002's own toy GAN: its two-Gaussian mixture with z 256, batch 512 and Adam 2e-4.",
     steps=5000, model="toy-mlp", dataset="gmm2", **SEED_002)
_add("ring8-collapse", "Mode collapse: seed 002's settings on the ring of eight Gaussians settle on a "
     "few of the modes (compare ring8-solved).",
     model="toy-mlp", dataset="ring8", **SEED_002)
_add("ring8-solved", "All eight modes of the ring: the R1 penalty γ = 0.1 keeps D flat on the data, a "
     "deeper and wider G (4 x 256) beside a 128-wide D keeps the points tight, and an EMA of G's "
     "weights with a linearly decaying learning rate lets them settle (98-99% high quality on seeds 0-2).",
     steps=20000, model="toy-mlp", dataset="ring8", r1_weight=0.1, ema_decay=0.999, lr_schedule="linear",
     schedule_steps=20000, g_depth=4, hidden=256, d_hidden=128)
_add("grid25-solved", "All 25 modes of the 5x5 grid: the R1 penalty γ = 0.1 (coverage), a deeper and "
     "wider G (4 x 256) beside a 128-wide D (sharper modes), PacGAN's pairs (pack 2), an EMA of G, a "
     "decaying learning rate and batches of 512 (the plain GAN finds 11-17 modes; this one all 25 with "
     "94.4, 95.7 and 94.4% high quality on seeds 0-2; at batch 256, 91.7, 88.7 and 93.4%).",
     model="toy-mlp", dataset="grid25", r1_weight=0.1, ema_decay=0.999, lr_schedule="linear",
     schedule_steps=20000, g_depth=4, hidden=256, d_hidden=128, pack=2, batch_size=512)
_add("grid25-large-batch", "grid25-solved with batches of 2,048 instead of 512, for G's sharpest samples: all "
     "25 modes with 97.2, 96.6 and 96.2% high quality on seeds 0-2 (ALI reaches 95.7% in PacGAN's Table 1), "
     "at four times the compute per step (about 14 minutes for 20,000 steps on one CPU core).",
     model="toy-mlp", dataset="grid25", r1_weight=0.1, ema_decay=0.999, lr_schedule="linear",
     schedule_steps=20000, g_depth=4, hidden=256, d_hidden=128, pack=2, batch_size=2048)
_add("own-2d-data", "For your own 2-D points (a CSV, data_dir): grid25-solved's recipe, R1 γ = 0.1, G 4 x 256 "
     "beside a 128-wide D, pack 2, EMA 0.999, a linear decay and batches of 512, on the standardised "
     "points (its figures on benchmarks/mixtures.py's family of 24 mixtures are in the README; "
     "grids of 36 and more sharp modes are beyond it).",
     model="toy-mlp", dataset="points-file", r1_weight=0.1, ema_decay=0.999, lr_schedule="linear",
     schedule_steps=20000, g_depth=4, hidden=256, d_hidden=128, pack=2, batch_size=512)
_add("wgan-gp", "WGAN-GP: a critic (no sigmoid) with the gradient penalty λ = 10, five critic steps per "
     "G step and Adam(1e-4, 0, 0.9) as in Gulrajani et al. (2017).",
     steps=10000, model="toy-mlp", dataset="ring8", loss="wgan", gp_weight=10.0, d_steps=5,
     lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9)
_add("lsgan", "Least-squares GAN (Mao et al. 2017): D regresses real to 1 and generated to 0, so G's "
     "gradient does not vanish far from the data.",
     steps=10000, model="toy-mlp", dataset="ring8", loss="lsgan")
_add("sgd-cycling", "Plain simultaneous SGD without momentum: the generated points circle the data "
     "instead of settling (the rotation of the GAN game; see sgd-cycling-cured).",
     steps=10000, model="toy-mlp", dataset="gmm2", opt_g="sgd", opt_d="sgd", beta1=0.0,
     lr_g=0.05, lr_d=0.05)
_add("sgd-cycling-cured", "The same game with optimistic gradient descent (Daskalakis et al. 2018), "
     "whose look-ahead damps the rotation.",
     steps=10000, model="toy-mlp", dataset="gmm2", opt_g="optimistic_gd", opt_d="optimistic_gd",
     beta1=0.0, lr_g=0.05, lr_d=0.05)
_add("label-smoothing", "One-sided label smoothing 0.25 (Salimans et al. 2016): D's target for real "
     "samples is 0.75, which keeps it from growing over-confident on ring8.",
     steps=10000, model="toy-mlp", dataset="ring8", label_smoothing=0.25)
_add("digits-all-classes", "gia-mlp (seed 004) on MNIST that keeps drawing every digit: the R1 penalty "
     "γ = 1 keeps D flat on the real digits and an EMA of G averages the last steps (the plain run "
     "draws almost no 1s; with these, every class was 6-7% or more of the samples on seeds 0-2).",
     steps=5000, model="gia-mlp", dataset="mnist", r1_weight=1.0, ema_decay=0.999)
_add("dcgan28-all-classes", "dcgan28 (seed 000) on MNIST that keeps every digit at the CPU's width: the DCGAN "
     "paper's Adam (2e-4, β1 0.5) instead of the seed's 1e-3 and 0.9, and the R1 penalty γ = 1, which "
     "applies to the batch-norm D as it is (the seed's settings drew as few as 1% 4s after "
     "3,000 steps; with these the smallest class was 6.2, 6.0 and 7.2% of the samples on seeds 0-2).",
     steps=3000, model="dcgan28", dataset="mnist", lr_g=2e-4, lr_d=2e-4, beta1=0.5, r1_weight=1.0)
_add("sgan-100-labels", "sgan-mlp (Salimans et al.'s MNIST MLPs) from 100 labels: D sees its real and "
     "labelled images moved by up to 2 pixels at random, and both learning rates decay linearly to 0 "
     "over 36,000 steps (the defaults plateau near 97% on the offline split; this recipe ended at "
     "98.15, 98.30 and 98.00% test accuracy on seeds 0-2, in 16-18 minutes on one core each).",
     steps=36000, model="sgan-mlp", dataset="mnist", sgan_shift=2, lr_schedule="linear",
     schedule_steps=36000)


def describe(preset: Preset) -> str:
    """One line per preset for ``ganplay presets``."""
    rest = {k: v for k, v in preset.settings().items() if k != "dataset"}
    sets = "".join(f" --set {k}={_plain(v)}" for k, v in rest.items())
    dataset = preset.overrides.get("dataset")
    data = f" --dataset {dataset}" if dataset else ""
    return (f"{preset.name}: {preset.shows}\n"
            f"    same as: --model {preset.model}{data}{sets}  (suggested --steps {preset.steps})")


def _plain(v: Any) -> str:
    return format_value(v)
