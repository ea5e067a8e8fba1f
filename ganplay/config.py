"""The run configuration: one frozen dataclass, validated at the edge.

Every field name is also a CLI ``--set`` key and a GUI control. Validation errors name the field,
the value and what is allowed. Models supply their own defaults (``ModelSpec.defaults``), applied
by :meth:`Config.for_model`.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from ganplay.errors import ConfigError

# Fields that the running trainer applies without recompiling or restarting (they live in the
# optimizer states and ``TrainState.hyper``). ``ema_decay`` is live between non-zero values;
# switching the EMA on or off restarts (see ``needs_restart``).
LIVE_FIELDS = frozenset({"lr_g", "lr_d", "label_smoothing", "gp_weight", "r1_weight", "weight_clip",
                         "instance_noise", "instance_noise_steps", "ema_decay", "ema_view"})
# Fields that change only what is drawn and scored beside G's samples, never the training: they
# apply at once, without a restart, and are not part of the trainer's state.
VIEW_FIELDS = frozenset({"sampler"})

NOISES = ("normal", "uniform")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "optimistic_adam", "optimistic_gd")
SCHEDULES = ("constant", "linear", "cosine")
# Sampling-time remedies (engine/samplers.py): D's rejection sampling (Azadi et al. 2019) and
# Metropolis-Hastings over G's samples (Turner et al. 2019).
SAMPLERS = ("none", "drs", "mh")
# The semi-supervised D's head: "k+1" is seed 003's K class logits plus a real/fake logit (an
# (K+1)-way softmax); "k" is Salimans et al. (2016)'s K logits with D(x) = Z / (Z + 1).
SGAN_HEADS = ("k+1", "k")


@dataclass(frozen=True)
class Config:
    model: str = "toy-mlp"
    dataset: str = "gmm2"
    z_dim: int = 2
    noise: str = "normal"
    batch_size: int = 256
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    label_smoothing: float = 0.0
    smooth_g_target: bool = False  # seed 000 also smooths the generator's "real" target
    loss: str = "ns"
    d_steps: int = 1
    hidden: int = 128
    width: float = 1.0
    seed: int = 0
    data_dir: str = ""
    # points-file: train on the points centred and scaled to unit spread, G's samples mapped back
    # to the file's coordinates (the toy GAN's training then does not depend on where they sit).
    standardize: bool = True
    image_channels: int = 0  # image-folder only: 0 keeps the files' own, 1 grayscale, 3 RGB
    # gmm2's mixture (seed 002): weights, means and diagonal covariances, one entry per component.
    gmm_weights: tuple[float, ...] = (0.5, 0.5)
    gmm_means: tuple[tuple[float, float], ...] = ((0.0, 0.0), (1.0, 1.0))
    gmm_cov: tuple[tuple[float, float], ...] = ((0.1, 0.1), (0.1, 0.1))
    # Semi-supervised GANs (sgan models): the label budget, drawn once per run from ``seed`` and
    # balanced per class, is ``labels_per_class`` labels of each class when above 0, otherwise
    # ``label_fraction`` of the training images (seed 003: 0.2).
    label_fraction: float = 0.2
    labels_per_class: int = 0
    sgan_head: str = "k+1"
    adv_weight: float = 1.0  # G's loss: adv_weight * fake-is-real + fm_weight * feature matching
    fm_weight: float = 1.0
    # Semi-supervised D: shift each real and labelled image by up to this many pixels at random
    # (the border pixels repeated into the gap) before D sees it; G's samples are not shifted. 0 = off.
    sgan_shift: int = 0
    # -- the remedies lab (defaults: all off, today's game) --------------------------------------
    gp_weight: float = 0.0  # λ of WGAN-GP's gradient penalty on interpolates (Gulrajani et al. 2017)
    r1_weight: float = 0.0  # γ of R1 on real samples, γ/2·E‖∇D(x)‖² (Mescheder et al. 2018)
    weight_clip: float = 0.0  # c: clip D's weights to [−c, c] after each update (WGAN); 0 = off
    instance_noise: float = 0.0  # σ of Gaussian noise added to D's inputs, real and generated
    instance_noise_steps: int = 0  # anneal σ linearly to 0 over this many steps; 0 = constant
    ema_decay: float = 0.0  # EMA of G's weights (e.g. 0.999); 0 = off
    ema_view: bool = True  # with the EMA on: views, samples.npy and metrics use the EMA generator
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges ``pack`` samples at once
    g_steps: int = 1  # generator updates per iteration (after the d_steps D updates)
    opt_g: str = "adam"  # sgd uses beta1 as momentum; rmsprop uses beta2 as its decay
    opt_d: str = "adam"
    lr_schedule: str = "constant"  # both learning rates × 1 (constant), decaying to 0 (linear, cosine)
    schedule_steps: int = 20000  # the horizon of a decaying schedule
    g_depth: int = 2  # toy-mlp: hidden layers of G (0–5)
    d_depth: int = 2  # toy-mlp: hidden layers of D (0–5)
    d_hidden: int = 0  # toy-mlp: D's width; 0 = the same as ``hidden`` (G's width)
    spectral_norm: bool = False  # toy-mlp, dcgan28, dcgan32: spectral normalisation of D's layers (Miyato et al. 2018)
    minibatch_std: bool = False  # toy-mlp: D sees its batch's feature std (Karras et al. 2018)
    sampler: str = "none"  # clean G's samples with D: drs, mh (scored beside G's own); none = off
    # Data parallel: "1" (one device), "all" or a count of the first devices of ``jax.devices()``;
    # each batch is split over them, the networks replicated (see ``Trainer.__init__``).
    devices: str = "1"

    def __post_init__(self) -> None:
        _validate(self)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def for_model(cls, model: str = "toy-mlp", **overrides: Any) -> "Config":
        """The model's defaults, then ``overrides`` (already typed) on top."""
        from ganplay.models import MODELS

        values: dict[str, Any] = {"model": model, **MODELS.get(model).config_defaults()}
        values.update(overrides)
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Config":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown setting {unknown[0]!r}; known settings: {', '.join(known)}"
            )
        return cls(**{k: _coerce(known[k], v) for k, v in values.items()})

    @classmethod
    def from_json(cls, text: str) -> "Config":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from None
        except RecursionError:  # nested deeper than Python's stack: no config is
            raise ConfigError("config is not a JSON object of settings (it is nested too deeply)") from None
        if not isinstance(values, dict):
            raise ConfigError("config JSON must be an object of setting: value pairs")
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def replace(self, **changes: Any) -> "Config":
        return Config.from_dict({**self.to_dict(), **changes})

    def with_overrides(self, assignments: list[str]) -> "Config":
        """Apply CLI-style ``key=value`` strings (values parsed by the field's type)."""
        changes: dict[str, Any] = {}
        for item in assignments:
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"--set expects key=value, got {item!r}")
            changes[key] = raw.strip()
        return self.replace(**changes)


# -- parsing ----------------------------------------------------------------------------------
def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """Turn ``value`` (possibly a string from the CLI or JSON) into the field's type."""
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    name = f.name
    original = value
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = float(value) if any(c in value for c in ".eE") else int(value, 10)
            if isinstance(value, float):
                if not math.isfinite(value) or value != int(value):
                    raise ValueError
                value = int(value)
            if not isinstance(value, int):
                raise ValueError
            return value
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
                return False
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise ValueError
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
        # tuples (gmm_*): JSON text or nested sequences of numbers
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, (list, tuple)):  # a bare number is not a list (found by fuzzing)
            raise TypeError
        return _to_tuple(value)
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, RecursionError):
        raise ConfigError(
            f"{name}={_shown(original)} is not a valid {_describe_type(kind)}"
        ) from None


def _shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a value from a file may be huge or deeply nested)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a {type(value).__name__} nested too deeply>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _to_tuple(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_to_tuple(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value)


def _describe_type(kind: str) -> str:
    return {
        "int": "whole number",
        "float": "number",
        "bool": "true/false value",
        "str": "text value",
    }.get(kind, "list of numbers (JSON, e.g. [[0,0],[1,1]])")


# -- validation -------------------------------------------------------------------------------
def _check_range(name: str, value: float, lo: float, hi: float, *, lo_open=False, hi_open=False):
    ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and (
        value < hi if hi_open else value <= hi
    )
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ConfigError(f"{name}={value!r} is out of range; allowed: {left}{lo:g}, {hi:g}{right}")


def _check_choice(name: str, value: str, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of: {', '.join(choices)}")


def _validate(c: Config) -> None:
    from ganplay.data import DATASETS
    from ganplay.models import MODELS

    _check_choice("model", c.model, MODELS.names())
    _check_choice("dataset", c.dataset, DATASETS.names())
    _check_range("z_dim", c.z_dim, 1, 4096)
    _check_choice("noise", c.noise, NOISES)
    _check_range("batch_size", c.batch_size, 2, 8192)
    _check_range("lr_g", c.lr_g, 0.0, 1.0, lo_open=True)
    _check_range("lr_d", c.lr_d, 0.0, 1.0, lo_open=True)
    _check_range("beta1", c.beta1, 0.0, 1.0, hi_open=True)
    _check_range("beta2", c.beta2, 0.0, 1.0, hi_open=True)
    _check_range("label_smoothing", c.label_smoothing, 0.0, 0.5)
    from ganplay.losses import LOSSES

    _check_choice("loss", c.loss, LOSSES.names())
    _check_range("d_steps", c.d_steps, 1, 20)
    _check_range("hidden", c.hidden, 1, 4096)
    _check_range("width", c.width, 0.0625, 2.0)
    _check_range("seed", c.seed, 0, 2**31 - 1)
    if c.image_channels not in (0, 1, 3):
        raise ConfigError(f"image_channels={c.image_channels!r} is not allowed; choose 0 (as stored), 1 or 3")
    _check_range("label_fraction", c.label_fraction, 0.0, 1.0, lo_open=True)
    _check_range("labels_per_class", c.labels_per_class, 0, 100_000)
    _check_choice("sgan_head", c.sgan_head, SGAN_HEADS)
    _check_range("adv_weight", c.adv_weight, 0.0, 100.0)
    _check_range("fm_weight", c.fm_weight, 0.0, 100.0)
    _check_range("sgan_shift", c.sgan_shift, 0, 8)
    _check_range("gp_weight", c.gp_weight, 0.0, 1000.0)
    _check_range("r1_weight", c.r1_weight, 0.0, 1000.0)
    _check_range("weight_clip", c.weight_clip, 0.0, 100.0)
    _check_range("instance_noise", c.instance_noise, 0.0, 10.0)
    _check_range("instance_noise_steps", c.instance_noise_steps, 0, 10**9)
    _check_range("ema_decay", c.ema_decay, 0.0, 1.0, hi_open=True)
    _check_range("pack", c.pack, 1, 16)
    if c.batch_size % c.pack:
        raise ConfigError(f"pack={c.pack} must divide batch_size={c.batch_size} (D judges the batch in "
                          f"groups of {c.pack}); try batch_size={c.batch_size // c.pack * c.pack or c.pack}")
    _check_range("g_steps", c.g_steps, 1, 20)
    _check_choice("opt_g", c.opt_g, OPTIMIZERS)
    _check_choice("opt_d", c.opt_d, OPTIMIZERS)
    _check_choice("lr_schedule", c.lr_schedule, SCHEDULES)
    _check_range("schedule_steps", c.schedule_steps, 1, 10**9)
    _check_range("g_depth", c.g_depth, 0, 5)
    _check_range("d_depth", c.d_depth, 0, 5)
    _check_range("d_hidden", c.d_hidden, 0, 4096)
    _check_choice("sampler", c.sampler, SAMPLERS)
    _validate_mixture(c)
    _validate_remedies(c)
    _validate_devices(c)


# What the semi-supervised and conditional trainers do not (yet) compose: their steps have their
# own D loss (binary cross-entropy) and no penalty, packing, instance noise or EMA. Refused up
# front rather than silently ignored.
_PLAIN_ONLY = {"gp_weight": 0.0, "r1_weight": 0.0, "weight_clip": 0.0, "instance_noise": 0.0,
               "ema_decay": 0.0, "pack": 1, "g_steps": 1}


def _validate_remedies(config: Config) -> None:
    """Raise ConfigError, naming both parts, for a combination the engine does not train."""
    from ganplay.losses import LOSSES
    from ganplay.models import MODELS

    loss = LOSSES.get(config.loss)
    if config.label_smoothing > 0 and not loss.smoothing:
        raise ConfigError(f"label_smoothing={config.label_smoothing:g} has no meaning for loss={config.loss} "
                          f"(it has no real/fake targets); set label_smoothing=0 or pick ns, minimax, lsgan, "
                          f"rsgan or ragan")
    spec = MODELS.get(config.model)
    for name in ("spectral_norm", "minibatch_std", "g_depth", "d_depth", "d_hidden"):
        default = Config.__dataclass_fields__[name].default
        if getattr(config, name) != default and name not in spec.d_options:
            offered = ", ".join(m for m in MODELS.names() if name in MODELS.get(m).d_options)
            raise ConfigError(f"{name}={getattr(config, name)} is offered for {offered} only, "
                              f"not {config.model}; set {name}={default}")
    objective = spec.objective
    if config.sgan_shift and objective != "sgan":
        raise ConfigError(f"sgan_shift={config.sgan_shift} is offered for the semi-supervised models "
                          f"({', '.join(m for m in MODELS.names() if MODELS.get(m).objective == 'sgan')}) "
                          f"only, not {config.model}; set sgan_shift=0")
    if objective == "gan":
        return
    if config.sampler != "none":
        raise ConfigError(f"sampler={config.sampler} is offered for plain GAN models only, not {config.model} "
                          f"(objective {objective}); set sampler=none")
    # The conditional game's class input does not touch the loss: every loss trains it (tested in
    # tests/engine/test_objectives.py). The semi-supervised D's loss is its own mix of terms.
    if objective == "sgan" and config.loss not in ("ns", "minimax"):
        raise ConfigError(f"loss={config.loss} is not offered for model {config.model} (objective {objective}); "
                          f"its step uses ns or minimax")
    for name, off in _PLAIN_ONLY.items():
        if getattr(config, name) != off:
            raise ConfigError(f"{name}={getattr(config, name):g} is not offered for model {config.model} "
                              f"(objective {objective}) yet; set {name}={off:g} or pick a plain GAN model")


def device_count(setting: str) -> int:
    """How many devices a ``devices`` setting names ("all": every device JAX sees)."""
    if setting == "1":  # the default: no need to start JAX's backends to know
        return 1
    if setting != "all" and not (setting.isascii() and setting.isdigit() and int(setting) > 0):
        raise ConfigError(f"devices={setting!r} is not allowed; choose 1 (one device), all, or a number "
                          f"of devices")
    import jax

    present = jax.device_count()
    n = present if setting == "all" else int(setting)
    if n > present:
        raise ConfigError(f"devices={setting} asks for more devices than the {present} present "
                          f"({present} × {jax.default_backend()}); set devices to at most {present} or all")
    return n


def _validate_devices(c: Config) -> None:
    """Data parallel: every device takes an equal share of each batch, and of D's packed batch."""
    n = device_count(c.devices)
    if n == 1:
        return
    unit = n * c.pack  # batch_size / pack (what D judges at once) must split over n devices too
    if c.batch_size % unit == 0:
        return
    below, above = c.batch_size // unit * unit, (c.batch_size // unit + 1) * unit
    sizes = " or ".join(str(b) for b in (below, above) if b >= 2 and b <= 8192)
    counts = [d for d in range(1, n + 1) if (c.batch_size // c.pack) % d == 0]
    what = f"batch_size={c.batch_size}" if c.pack == 1 else \
        f"the packed batch batch_size/pack={c.batch_size // c.pack}"
    raise ConfigError(f"{what} does not split evenly over devices={c.devices} ({n} devices); batch sizes "
                      f"that fit: {sizes} (multiples of {unit}); device counts that fit: "
                      f"{', '.join(map(str, counts))}")


def _validate_mixture(c: Config) -> None:
    k = len(c.gmm_weights)
    if k < 1 or k > 64:
        raise ConfigError(f"gmm_weights has {k} entries; allowed: 1 to 64 mixture components")
    if any(not isinstance(w, float) for w in c.gmm_weights):
        raise ConfigError(f"gmm_weights={_plain(c.gmm_weights)} must be a flat list of numbers, e.g. [0.5, 0.5]")
    if any((not math.isfinite(w)) or w < 0 for w in c.gmm_weights) or sum(c.gmm_weights) <= 0:
        raise ConfigError(f"gmm_weights={list(c.gmm_weights)} must be non-negative with a positive sum")
    for name, rows in (("gmm_means", c.gmm_means), ("gmm_cov", c.gmm_cov)):
        if len(rows) != k or any(not isinstance(r, tuple) or len(r) != 2 or any(isinstance(v, tuple) for v in r)
                                 for r in rows):
            raise ConfigError(
                f"{name} must list {k} pairs (one [x, y] per mixture component), got {_plain(rows)}"
            )
        if any(not math.isfinite(v) for r in rows for v in r):
            raise ConfigError(f"{name}={_plain(rows)} must hold finite numbers")
    if any(v <= 0 for r in c.gmm_cov for v in r):
        raise ConfigError(f"gmm_cov={_plain(c.gmm_cov)} must be positive (variances)")


def _plain(rows: Any) -> Any:
    return json.loads(json.dumps(rows))


# -- files ------------------------------------------------------------------------------------
def save_config(config: Config, path) -> None:
    """Write ``config`` as JSON (File ▸ Save config…), atomically: ``--config FILE`` reads it back."""
    from ganplay.files import atomic_write_bytes

    atomic_write_bytes(path, (config.to_json() + "\n").encode("utf-8"))


def load_config(path) -> Config:
    """Read and validate a config file; every failure is one ConfigError line naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return Config.from_json(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
