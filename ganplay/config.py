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

# Fields that the running trainer applies without recompiling or restarting.
LIVE_FIELDS = frozenset({"lr_g", "lr_d", "label_smoothing"})

NOISES = ("normal", "uniform")
LOSSES = ("ns", "minimax")
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

    def __post_init__(self) -> None:
        _validate(self)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def for_model(cls, model: str = "toy-mlp", **overrides: Any) -> "Config":
        """The model's defaults, then ``overrides`` (already typed) on top."""
        from ganplay.models import MODELS

        values: dict[str, Any] = {"model": model, **MODELS.get(model).defaults}
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
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError):
        raise ConfigError(
            f"{name}={original!r} is not a valid {_describe_type(kind)}"
        ) from None


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
    _check_choice("loss", c.loss, LOSSES)
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
    _validate_mixture(c)


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
