"""What the window draws of a session: the snapshot it receives, and the samples, D's scores and
overlays (D's decision field, G's gradient arrows, the noise manifold, an interpolation) that
are dispatched right behind a chunk so they are ready when it is.

:class:`SessionDisplay` is the display half of :class:`~ganplay.engine.session.Session` (a mixin:
it reads the session's trainer, config and state).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import Config
from ganplay.engine.latent import GeneratorFeed
from ganplay.engine.samplers import SamplerScores, drs, fit_calibration, mh
from ganplay.engine.snapshot import Classes, DecisionField, Sampled, Snapshot  # noqa: F401 (Snapshot re-exported)

DISPLAY_POINTS = 1500  # generated and real points drawn in the 2-D scatter
DISPLAY_IMAGES = 64  # generated images computed for the grid (the view shows 16/25/64)
FIELD_SIZE = 100  # D's decision field: FIELD_SIZE x FIELD_SIZE cells over the visible range
ARROW_POINTS = 300  # generated points that get a gradient arrow
MANIFOLD_LINE = 200  # z_dim 1: points along the noise line
MANIFOLD_GRID = 25  # z_dim >= 2: grid lines per noise axis
NORMAL_EXTENT = 2.5  # the manifold covers +-2.5 std of normal noise
INTERPOLATION_POINTS = 64  # points along the interpolation path (2-D data)
INTERPOLATION_IMAGES = 10  # frames of an image interpolation
CLASS_GRID_COLUMNS = 8  # conditional GANs: images per class row (one noise vector per column)
OVERLAYS = ("field", "arrows", "manifold", "interpolation", "latent")  # latent: G for the latent lab


class SessionDisplay:
    """Display noise, overlays and the visible range of a session, and what they dispatch."""

    def _init_display(self) -> None:
        self._display_cache = None  # (state, device arrays) computed right behind a chunk
        self._display_z = self.trainer.fixed_noise(self._n_display())
        self._real = self._real_display()
        # Switched by the GUI; read by ``snapshot`` (plain bools: no lock needed).
        self.overlays = {name: False for name in OVERLAYS}
        self._view: tuple[float, float, float, float] | None = None
        self._default_view: tuple[float, float, float, float] | None = None
        self._noise_salt = 1  # 1 is the run's fixed noise (samples.npy's); refresh_noise moves on
        self._interpolation_z = self._interpolation_noise()
        self._manifold_z = manifold_noise(self.config) if self.kind == "points" else None
        # Conditional models: the class to draw (None: one row per class).
        self.draw_class: int | None = None
        self._grid_z = self.trainer.fixed_noise(CLASS_GRID_COLUMNS, salt=3) if self.conditional else None
        self._latent_feed = GeneratorFeed()  # the latent lab's copies of G (overlay "latent")

    def _n_display(self) -> int:
        return DISPLAY_POINTS if self.kind == "points" else DISPLAY_IMAGES

    def _real_display(self) -> np.ndarray:
        key = jax.random.fold_in(jax.random.PRNGKey(self.config.seed), 777)
        return np.asarray(jax.device_get(self.trainer.sample_real(key, self._n_display())))

    @property
    def n_classes(self) -> int:
        return int(getattr(self.trainer, "n_classes", 0) or 0)

    def set_draw_class(self, c: int | None) -> None:
        """Conditional models: draw only class ``c`` (None: one row per class)."""
        if c is not None and not (0 <= int(c) < self.n_classes):
            raise ValueError(f"class {c} is not one of 0..{self.n_classes - 1}")
        self.draw_class = None if c is None else int(c)

    def refresh_noise(self) -> None:
        """Draw new display noise (and interpolation end points); each call gives new values.

        Quality metrics keep scoring the run's own fixed noise, so they stay comparable.
        """
        self._noise_salt += 1
        self._display_z = self.trainer.fixed_noise(self._n_display(), salt=self._noise_salt)
        self._interpolation_z = self._interpolation_noise()
        if self.conditional:
            self._grid_z = self.trainer.fixed_noise(CLASS_GRID_COLUMNS, salt=3 + 1000 * self._noise_salt)

    def set_view(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """The scatter's visible range, where D's decision field is computed."""
        view = tuple(float(v) for v in (x0, x1, y0, y1))
        if not all(np.isfinite(view)) or not (view[1] > view[0] and view[3] > view[2]):
            raise ValueError(f"view {view} must be finite with x0 < x1 and y0 < y1")
        self._view = view

    @property
    def view(self) -> tuple[float, float, float, float]:
        """The range set by ``set_view``, or the real data's bounding box plus a margin."""
        if self._view is not None:
            return self._view
        if self._default_view is None:  # (read twice per chunk: computed once)
            lo, hi = self._real.min(axis=0), self._real.max(axis=0)
            pad = 0.15 * np.maximum(hi - lo, 1e-3)
            self._default_view = (float(lo[0] - pad[0]), float(hi[0] + pad[0]),
                                  float(lo[1] - pad[1]), float(hi[1] + pad[1]))
        return self._default_view

    def _interpolation_noise(self) -> jax.Array:
        ends = np.asarray(self.trainer.fixed_noise(2, salt=500_000 + self._noise_salt), np.float64)
        n = INTERPOLATION_POINTS if self.kind == "points" else INTERPOLATION_IMAGES
        z = slerp(ends[0], ends[1], np.linspace(0.0, 1.0, n))
        if self.config.noise == "uniform":  # keep the path inside the noise's support
            z = np.clip(z, -1.0, 1.0)
        return jnp.asarray(z, jnp.float32)

    def _tile_noise(self) -> tuple:
        """The noise and class (None: unconditional) of each generated tile, row-major."""
        if not self.conditional:
            return self._display_z, None
        if self.draw_class is None:
            return jnp.tile(self._grid_z, (self.n_classes, 1)), np.repeat(np.arange(self.n_classes), CLASS_GRID_COLUMNS)
        return self._display_z, np.full(len(self._display_z), self.draw_class)

    def _latent_shown(self):
        """For the latent lab while it shows: a NumPy copy of G, every few seconds (else None)."""
        if not (self.overlays.get("latent") and self.kind == "images"):
            return None
        return self._latent_feed.offer(self.trainer, self.state, self.step, *self._tile_noise(),
                                                  display_key=(self._noise_salt, self.draw_class),
                                                  settled=self.inflight_steps == 0)

    def _display_key(self) -> tuple:
        """Everything besides the state that decides what ``display_device`` computes."""
        return (tuple(sorted(self.overlays.items())), self.view if self.kind == "points" else None,
                self.draw_class, self._noise_salt, self._display_sampler())

    def _display_sampler(self) -> str:
        """The sampler the scatter shows ("none" but for 2-D data of a plain GAN)."""
        if self.kind != "points" or self.conditional:
            return "none"
        return self.config.sampler

    def display_device(self, state) -> dict:
        """What a snapshot draws for ``state``, as device arrays: dispatches only, no waiting."""
        out = {"key": self._display_key()}
        if self.conditional:
            if self.draw_class is None:  # a class grid: row r is class r, column j noise j
                generated, labels = self.trainer.class_grid_device(state, CLASS_GRID_COLUMNS, z=self._grid_z)
            else:
                labels = jnp.full((len(self._display_z),), self.draw_class, jnp.int32)
                generated = self.trainer.generate(state, self._display_z, labels)
            out["labels"] = labels
            out["d_scores"] = self.trainer.discriminate(state, generated, labels)
        else:
            generated = self.trainer.generate(state, self._display_z)
            if self.kind == "images":  # D's score under each generated tile
                out["d_scores"] = self.trainer.discriminate(state, generated)
        out["generated"] = generated
        if self._display_sampler() != "none":  # D's logits of the shown samples and of real ones
            scores = SamplerScores.of(self.trainer)
            out["sampler_fake"] = scores.logits(state, generated)
            out["sampler_real"] = scores.logits(state, self._real_device(), generated)
        on = dict(self.overlays)
        if self.kind == "points":
            if on.get("field"):
                out["field"] = self.trainer.discriminator_field(state, self.view, FIELD_SIZE)
            if on.get("arrows"):
                out["arrows"] = self.trainer.g_loss_push(state, generated[:ARROW_POINTS])
            if on.get("manifold"):
                a, b = self._manifold_z.shape[:2]
                out["manifold"] = self.trainer.generate(state, self._manifold_z.reshape(a * b, -1))
        if on.get("interpolation"):
            z = self._interpolation_z
            if self.conditional:  # one class along the whole path
                path_labels = jnp.full((len(z),), self.draw_class or 0, jnp.int32)
                out["interpolation"] = self.trainer.generate(state, z, path_labels)
            else:
                out["interpolation"] = self.trainer.generate(state, z)
        return out

    def _display_host(self) -> tuple[np.ndarray, dict]:
        """(generated, the Snapshot's display fields) for the current state, from what was
        dispatched behind its chunk when that still applies (same state, overlays, view, class
        and noise)."""
        cached = self._display_cache
        if cached is not None and cached[0] is self.state and cached[1]["key"] == self._display_key():
            dev = cached[1]
        else:
            dev = self.display_device(self.state)
        host = jax.device_get({k: v for k, v in dev.items() if k != "key"})
        shown: dict = {}
        if self.conditional:
            shown["classes"] = Classes(np.asarray(host["labels"]), self.n_classes if self.draw_class is None else 0,
                                       self.draw_class, self.n_classes)
        if "d_scores" in host:
            shown["d_scores"] = np.asarray(host["d_scores"])
        if "field" in host:
            shown["field"] = DecisionField(np.asarray(host["field"], np.float32), dev["key"][1])
        if "arrows" in host:
            shown["arrows"] = np.asarray(host["arrows"], np.float32)
        if "manifold" in host:
            a, b = self._manifold_z.shape[:2]
            shown["manifold"] = np.asarray(host["manifold"], np.float32).reshape(a, b, 2)
        if "interpolation" in host:
            shown["interpolation"] = np.asarray(host["interpolation"], np.float32)
        if "sampler_fake" in host:
            shown["sampler"] = self._sampled(dev["key"][-1], np.asarray(host["generated"]),
                                             np.asarray(host["sampler_fake"]), np.asarray(host["sampler_real"]))
        return np.asarray(host["generated"]), shown

    def _real_device(self) -> jax.Array:
        if getattr(self, "_real_dev", None) is None or self._real_dev[0] is not self._real:
            self._real_dev = (self._real, jnp.asarray(self._real))
        return self._real_dev[1]

    def _sampled(self, sampler: str, generated: np.ndarray, fake: np.ndarray, real: np.ndarray) -> Sampled:
        """The sampler over the shown samples, on the host (NumPy, a few ms): D calibrated on the
        shown real and generated samples; DRS's burn-in set is the shown samples, MH's one chain
        runs through them from a real sample. Seeded by the run's seed and the step."""
        cal = fit_calibration(real, fake)
        seed = self.config.seed * 1_000_003 + self.step
        if sampler == "drs":
            drawn = drs(generated, cal(fake), seed)
        else:
            drawn = mh(generated, cal(fake), cal(real)[:1], seed)
        return Sampled(sampler, drawn.accepted, drawn.rate)


def manifold_noise(config: Config) -> jax.Array:
    """A regular grid in noise space, ``[a, b, z_dim]``: a line of ``MANIFOLD_LINE`` points for
    z_dim 1 (``[1, 200, 1]``), else a ``MANIFOLD_GRID``-square grid in the first two dimensions
    with the others at 0; ``[i, j]`` has z0 = u[j] and z1 = u[i]. It spans the noise's support:
    [-1, 1] for uniform noise, +-2.5 std for normal noise."""
    r = 1.0 if config.noise == "uniform" else NORMAL_EXTENT
    if config.z_dim == 1:
        return jnp.linspace(-r, r, MANIFOLD_LINE, dtype=jnp.float32).reshape(1, MANIFOLD_LINE, 1)
    u = np.linspace(-r, r, MANIFOLD_GRID)
    z = np.zeros((MANIFOLD_GRID, MANIFOLD_GRID, config.z_dim), np.float32)
    z[:, :, 0] = u[None, :]
    z[:, :, 1] = u[:, None]
    return jnp.asarray(z)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation from ``a`` to ``b`` at fractions ``t``: ``[len(t), dim]``.

    It follows the arc between the two ends, which keeps high-dimensional normal noise at a
    typical norm where a straight line would pass near the origin; nearly (anti)parallel ends,
    always the case in one dimension, fall back to a straight line.
    """
    t = np.asarray(t, np.float64)[:, None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.dot(a, b) / max(na * nb, 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)

