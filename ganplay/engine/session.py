"""A training session: one trainer, its state, history and display noise, advanced in chunks.

This is everything the GUI worker needs that does not involve Qt: applying a new config (live
when only learning rates / label smoothing change, a clean restart otherwise), running a chunk
of steps (or a single D or G update), scoring sample quality on a time budget, and producing a
``Snapshot`` of plain NumPy arrays for the views, with the overlays the user switched on
(D's decision field, G's gradient arrows, the noise manifold, an interpolation).
"""
from __future__ import annotations

import time
import weakref
from collections import deque
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine.accuracy import AccuracyMonitor
from ganplay.engine.guard import Divergence, GoodStates, keep_every
from ganplay.engine.history import MetricHistory
from ganplay.engine.quality import QualityMonitor, is_conditional
from ganplay.engine.train import FAULTS, Trainer, build_trainer, fetch_metrics, find_fault, live_values

DISPLAY_POINTS = 1500  # generated and real points drawn in the 2-D scatter
DISPLAY_IMAGES = 64  # generated images computed for the grid (the view shows 16/25/64)
CONFUSION_WINDOW = 200  # steps summarised by D's confusion matrix
FIELD_SIZE = 100  # D's decision field: FIELD_SIZE x FIELD_SIZE cells over the visible range
ARROW_POINTS = 300  # generated points that get a gradient arrow
MANIFOLD_LINE = 200  # z_dim 1: points along the noise line
MANIFOLD_GRID = 25  # z_dim >= 2: grid lines per noise axis
NORMAL_EXTENT = 2.5  # the manifold covers +-2.5 std of normal noise
INTERPOLATION_POINTS = 64  # points along the interpolation path (2-D data)
INTERPOLATION_IMAGES = 10  # frames of an image interpolation
CLASS_GRID_COLUMNS = 8  # conditional GANs: images per class row (one noise vector per column)
OVERLAYS = ("field", "arrows", "manifold", "interpolation")
D_NUMBERS = ("d_real", "d_fake", "d_loss")  # what D's sub-step shows (mean D(x), D(G(z)), L_D)
D_FAULTS = frozenset(code for code, (network, _) in FAULTS.items() if network == "discriminator")
SUBSTEPS = ("sample", "d", "g")  # step-by-step: draw the batch, update D, update G


@dataclass(frozen=True)
class Chunk:
    """Steps dispatched by ``Session.launch`` and not yet recorded by ``Session.finish``."""

    k: int
    state: object
    metrics: dict
    launched: float  # the quality clock at dispatch
    display: dict | None  # device arrays of what a snapshot of ``state`` draws


@dataclass(frozen=True)
class _Cycle:
    """A training step taken apart for step-by-step mode (see ``Session.substep``).

    The whole step runs when it is sampled (``Trainer.run(start, 1)``: the very step that Play
    runs); the D and G sub-steps then reveal its halves. ``at`` is the state the next sub-step
    expects: if anything else moved the run on, the cycle starts again from a new sample.
    """

    done: str  # the last sub-step shown: "sample" or "d"
    at: object
    start: object  # the state before the step
    after: object  # the state after the step
    metrics: dict  # its metrics (device arrays, [1] each)
    launched: float


@dataclass(frozen=True)
class Snapshot:
    """What the views draw: plain NumPy, safe to pass between threads.

    ``extras`` always holds ``confusion`` (dict or None), ``quality`` (dict of float64 series
    with ``"step"``: the dataset's quality columns, see ``quality.quality_columns``) and
    ``quality_note`` (str, "" when nothing to say). Images add ``d_scores`` [N],
    ``quality_floor`` (None until the classifier is ready, then {"fid", "inception_score"} of
    real data) and ``class_hist`` (None, then the latest list of class fractions); mixtures add
    ``modes_total``. Overlays switched on in ``Session.overlays`` add, for points, ``field``
    ({"values": float32 [100, 100] D(x), row = y from y0, column = x from x0, at cell
    centres; "extent": (x0, x1, y0, y1)}), ``arrows`` (float32 [300, 2]: minus the gradient of
    G's loss at ``generated[:300]``) and ``manifold`` (float32 [1, 200, 2] or [25, 25, 2]: G on a
    noise grid, ``[i, j]`` at z0 = u[j], z1 = u[i]); and for both kinds ``interpolation``
    (float32 [64, 2] points or [10, H, W, C] images along a slerp between two noise vectors).
    Conditional models add ``labels`` (the class each generated image was drawn as),
    ``class_rows`` (K: ``generated`` is a class grid, row r = class r; 0: all ``draw_class``),
    ``draw_class`` and ``n_classes``. Semi-supervised models add ``sgan``: {"series": test
    accuracy history (``step``, ``test_acc``, ``baseline_step``, ``baseline_acc``),
    "confusion" ([K, K] counts on the test split, rows = true class, or None), "baseline_confusion",
    "has_baseline", "baseline_step", "note" (label budget and split)}.
    """

    step: int
    kind: str  # "points" or "images"
    generated: np.ndarray  # [N, 2] points or [N, H, W, C] images in [-1, 1]
    real: np.ndarray
    history: dict[str, np.ndarray]
    steps_per_s: float
    config: Config
    finite: bool = True
    extras: dict = field(default_factory=dict)


class Session:
    def __init__(self, config: Config, trainer: Trainer | None = None, state=None):
        self.config = config
        self.trainer = trainer or build_trainer(config)
        if state is None:
            state = self.trainer.init()
            if trainer is not None:  # a reused trainer (a reset) may have older live settings
                self.trainer.set_config(config)
                state = self.trainer.set_hyper(state, **live_values(config))
        self._head = None  # the newest state dispatched (a chunk in flight), None: ``state``
        self.inflight_steps = 0
        self._last_ready = 0.0
        self._display_cache = None  # (state, key, device arrays) computed right after a chunk
        self._step_cache: tuple[object, int] | None = None  # (state, its step): no device sync per read
        self.state = state
        self.history = MetricHistory(self.trainer.metric_names)
        self._display_z = self.trainer.fixed_noise(self._n_display())
        self._real = self._real_display()
        self._rate = RateMeter()
        self._recent: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._recent_steps = 0
        self.last_train_seconds = 0.0
        self.good = GoodStates(keep_every(self.kind))
        self.good.offer(self.state, self.step, self.finite)
        self.divergence: Divergence | None = None
        # Classifier training (images) happens in the background: the GUI keeps training.
        self.quality = QualityMonitor(self.trainer, background=True)
        weakref.finalize(self, self.quality.close)  # a dropped session stops that training
        # Switched by the GUI; read by ``snapshot`` (plain bools: no lock needed).
        self.overlays = {name: False for name in OVERLAYS}
        self._view: tuple[float, float, float, float] | None = None
        self._default_view: tuple[float, float, float, float] | None = None
        self._noise_salt = 1  # 1 is the run's fixed noise (samples.npy's); refresh_noise moves on
        self._interpolation_z = self._interpolation_noise()
        self._manifold_z = manifold_noise(self.config) if self.kind == "points" else None
        # Semi-supervised models: test accuracy, confusion matrix and the optional baseline.
        self.accuracy = (AccuracyMonitor(self.trainer)
                         if callable(getattr(self.trainer, "test_accuracy", None)) else None)
        # Conditional models: the class to draw (None: one row per class).
        self.conditional = is_conditional(self.trainer)
        self.draw_class: int | None = None
        self._grid_z = self.trainer.fixed_noise(CLASS_GRID_COLUMNS, salt=3) if self.conditional else None
        self._cycle: _Cycle | None = None  # step-by-step mode: the step being taken apart
        self._substep_shown: tuple[object, dict] | None = None  # (state, extras) of the last sub-step

    @property
    def state(self):
        """The newest finished training state (what snapshots, files and rollbacks see)."""
        return self._state

    @state.setter
    def state(self, value) -> None:
        self._state = value
        self._head = None  # a state set from outside replaces anything in flight
        self.inflight_steps = 0

    @property
    def step(self) -> int:
        cached = self._step_cache
        if cached is None or cached[0] is not self._state:
            cached = self._step_cache = (self._state, int(self._state.step))
        return cached[1]

    @property
    def head_step(self) -> int:
        """The step training will be at once the chunks in flight finish."""
        return self.step + self.inflight_steps

    @property
    def kind(self) -> str:
        return self.trainer.dataset.kind

    def _n_display(self) -> int:
        return DISPLAY_POINTS if self.kind == "points" else DISPLAY_IMAGES

    def _real_display(self) -> np.ndarray:
        key = jax.random.fold_in(jax.random.PRNGKey(self.config.seed), 777)
        return np.asarray(jax.device_get(self.trainer.sample_real(key, self._n_display())))

    # -- configuration ----------------------------------------------------------------------------
    @staticmethod
    def needs_restart(old: Config, new: Config) -> bool:
        changed = {k for k, v in new.to_dict().items() if old.to_dict()[k] != v}
        if (old.ema_decay > 0) != (new.ema_decay > 0):  # the EMA is part of the state's structure
            return True
        return bool(changed - LIVE_FIELDS)

    def apply_live(self, new: Config) -> None:
        """Apply a config that differs only in live fields (learning rates, smoothing, weights)."""
        self.state = self.trainer.set_hyper(self.state, **live_values(new))
        self.config = new
        self.trainer.set_config(new)

    def use_quality(self, monitor: QualityMonitor) -> None:
        """Score with ``monitor`` from now on (Compare mode's runs share one time budget); the
        current monitor stops, and its history goes with it."""
        self.quality.close()
        self.quality = monitor

    # -- training ---------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Compile the program the window's chunks run (1-64 steps), without training: a window
        calls it while the user reads it, so Play starts at once instead of after a compile
        (1.7 s for toy-mlp on 2 cores), and the first quality evaluation, of the untrained
        generator (its compile cost the first chunk another 0.7 s). Models dispatched a step at a
        time compile theirs on the first step."""
        if self.trainer.scan_steps:
            jax.block_until_ready(self.trainer.run(self.state, 0))
        if self.divergence is None and self.step == 0:
            self.quality.maybe_evaluate(self.state, self.step)

    def advance(self, k: int) -> dict[str, np.ndarray]:
        """Run ``k`` steps (one dispatch, one fetch) and record them in the history."""
        return self.finish(self.launch(k, display=False))

    def launch(self, k: int, display: bool = True) -> "Chunk":
        """Dispatch ``k`` steps after the newest state (finished or in flight) without waiting.

        With ``display``, what a snapshot draws (samples, scores, overlays) is dispatched right
        behind the chunk, so it is ready when the chunk is, even if another chunk is queued
        after it (XLA runs dispatches in order). The GUI keeps one chunk queued while it
        records and draws the last one, so the device never waits for Python.
        """
        head = self._state if self._head is None else self._head
        state, metrics = self.trainer.run(head, k)
        shown = self.display_device(state) if display else None
        self._head = state
        self.inflight_steps += int(k)
        return Chunk(int(k), state, metrics, self.quality.clock(), shown)

    def discard(self, chunk: "Chunk") -> None:
        """Drop a chunk in flight (the run diverged before it): training resumes from ``state``."""
        self._head = None
        self.inflight_steps = 0

    def finish(self, chunk: "Chunk") -> dict[str, np.ndarray]:
        """Wait for the oldest chunk in flight and record it (history, divergence, evaluations)."""
        first = self.step + 1
        m = fetch_metrics(chunk.metrics)  # blocks until the chunk is done
        ready = self.quality.clock()
        # The chunk ran from its dispatch, or from when the one before it finished.
        seconds = ready - max(chunk.launched, self._last_ready)
        self._last_ready = ready
        self._state = chunk.state
        self._step_cache = (chunk.state, first - 1 + chunk.k)
        self.inflight_steps = max(0, self.inflight_steps - chunk.k)
        if self.inflight_steps == 0:
            self._head = None
        self._display_cache = None if chunk.display is None else (chunk.state, chunk.display)
        k = chunk.k
        self.last_train_seconds = seconds  # the chunk's training alone (no evaluation)
        self.quality.record_training(seconds)
        if self.accuracy is not None:
            self.accuracy.record_training(seconds)
            self.accuracy.advance_baseline(self.step, k)
        self.history.extend(first, m)
        self._rate.add(k)
        self._remember(m["d_acc_real"], m["d_acc_fake"])
        fault = find_fault(m, first)
        if fault is not None and self.divergence is None:
            self.divergence = Divergence(*fault)
        self.good.offer(self.state, self.step, self.divergence is None)
        if self.divergence is None:  # scoring a diverged generator tells nothing
            self.quality.maybe_evaluate(self.state, self.step)
            if self.accuracy is not None:
                self.accuracy.maybe_evaluate(self.state, self.step)
        return m

    def start_baseline(self) -> None:
        """Semi-supervised models: start the supervised-only baseline (it catches up, then keeps
        in step); ValueError for other models."""
        if self.accuracy is None:
            raise ValueError(f"{self.config.model} has no classifier to compare with a baseline")
        self.accuracy.start_baseline()

    @property
    def n_classes(self) -> int:
        return int(getattr(self.trainer, "n_classes", 0) or 0)

    def set_draw_class(self, c: int | None) -> None:
        """Conditional models: draw only class ``c`` (None: one row per class)."""
        if c is not None and not (0 <= int(c) < self.n_classes):
            raise ValueError(f"class {c} is not one of 0..{self.n_classes - 1}")
        self.draw_class = None if c is None else int(c)

    def step_d(self) -> dict[str, float]:
        """One discriminator update only (the step counter does not move); not in the history."""
        self.state, metrics = self.trainer.d_step(self.state)
        return self._single_update(metrics, self.step + 1)

    def step_g(self) -> dict[str, float]:
        """One generator update only (counts as a step); not in the history."""
        self.state, metrics = self.trainer.g_step(self.state)
        return self._single_update(metrics, self.step)

    def _single_update(self, metrics, step: int) -> dict[str, float]:
        m = {k: float(v) for k, v in jax.device_get(metrics).items()}
        fault = find_fault({"fault": np.asarray([m["fault"]])}, step)
        if fault is not None and self.divergence is None:
            self.divergence = Divergence(*fault)
        self.good.offer(self.state, self.step, self.divergence is None)  # a G step may end a block
        return m

    # -- step-by-step ---------------------------------------------------------------------------
    def substep(self, upto: str | None = None) -> list[str]:
        """Advance step-by-step mode: sample (draw the batch), then D's update, then G's.

        With ``upto`` ("sample", "d" or "g") the cycle runs on to that sub-step, starting a new
        one if it is already there or past it (so the D key alone is sample + D update, the G key
        alone a whole step); without, it runs the next one. Returns the sub-steps that ran.

        A finished cycle is exactly one training step (the same program, keys and state as
        ``advance(1)``) and enters the history as one. A cycle left after its D sub-step leaves
        an extra D update, like ``step_d``. The next snapshot's ``extras["substep"]`` says what
        ran: {"phase", "metrics" (what is known so far: d_real, d_fake, d_loss after "d", g_loss
        after "g")}, and for 2-D data "batch_real"/"batch_fake" (the batch D's update used:
        float32 [n, 2], x and G(z)) and, after "g", "previous_fake" (``generated`` before G's
        update, so the scatter can draw what moved).
        """
        if upto is not None and upto not in SUBSTEPS:
            raise ValueError(f"sub-step {upto!r} is not one of {', '.join(SUBSTEPS)}")
        if self.inflight_steps:
            raise RuntimeError("finish the chunks in flight before stepping sub-step by sub-step")
        cycle = self._cycle if self._cycle is not None and self._cycle.at is self._state else None
        done = SUBSTEPS.index(cycle.done) if cycle is not None else -1
        goal = (done + 1) % len(SUBSTEPS) if upto is None else SUBSTEPS.index(upto)
        if goal <= done:
            done = -1
        ran = []
        for phase in SUBSTEPS[done + 1:goal + 1]:
            getattr(self, f"_substep_{phase}")()
            ran.append(phase)
        return ran

    def _substep_sample(self) -> None:
        start = self._state
        after, metrics = self.trainer.run(start, 1)
        self._cycle = _Cycle("sample", start, start, after, metrics, self.quality.clock())
        extras = {"phase": "sample", "metrics": {}}
        if self.kind == "points" and not self.conditional:
            extras.update(self._step_batch(start))
        self._show_substep(extras)

    def _substep_d(self) -> None:
        c = self._cycle
        m = {k: float(v[0]) for k, v in fetch_metrics(c.metrics).items()}
        d_ok = int(m["fault"]) not in D_FAULTS
        # The step's D half: D, its statistics and optimizer after the update, G as before. The
        # key moves on as the whole step's does, so a cycle abandoned here never reuses a key.
        mid = self.trainer.place(c.start._replace(
            key=c.after.key, d_params=c.after.d_params, d_stats=c.after.d_stats, d_opt=c.after.d_opt,
            finite=jnp.logical_and(c.start.finite, d_ok)))
        self.state = mid
        self._cycle = _Cycle("d", mid, c.start, c.after, c.metrics, c.launched)
        if not d_ok and self.divergence is None:
            self.divergence = Divergence(*find_fault({"fault": np.asarray([m["fault"]])}, self.step + 1))
        previous = self._substep_shown[1] if self._substep_shown else {}
        shown = {k: previous[k] for k in ("batch_real", "batch_fake") if k in previous}
        self._show_substep({"phase": "d", "metrics": {k: m[k] for k in D_NUMBERS}, **shown})

    def _substep_g(self) -> None:
        c = self._cycle
        before = None
        if self.kind == "points":  # where the displayed samples were before G's update
            before = np.asarray(jax.device_get(self.trainer.generate(self._state, self._display_z)), np.float32)
        self._cycle = None
        self.state = c.start  # ``finish`` records the step from where it began
        m = self.finish(Chunk(1, c.after, c.metrics, c.launched, None))
        extras = {"phase": "g", "metrics": {k: float(m[k][0]) for k in (*D_NUMBERS, "g_loss")}}
        if before is not None:
            extras["previous_fake"] = before
        self._show_substep(extras)

    def _step_batch(self, state) -> dict:
        """The real batch and G(z) that the next step's first D update trains on (2-D data).

        It mirrors the key schedule of ``Trainer._one_step`` and ``_d_update`` (split the state's
        key in 3, D's part in ``d_steps``, the first of those in 5: x, z, …); tests check it
        against the step's own D(x) and D(G(z)), so a change there cannot go unnoticed.
        """
        n = min(self.config.batch_size, DISPLAY_POINTS)
        _, k_d, _ = jax.random.split(state.key, 3)
        kx, kz = jax.random.split(jax.random.split(k_d, self.config.d_steps)[0], 5)[:2]
        real = self.trainer.sample_real(kx, self.config.batch_size)[:n]
        fake = self.trainer.generate(state, self.trainer.noise(kz, self.config.batch_size)[:n])
        real, fake = jax.device_get((real, fake))
        return {"batch_real": np.asarray(real, np.float32), "batch_fake": np.asarray(fake, np.float32)}

    def _show_substep(self, extras: dict) -> None:
        self._substep_shown = (self._state, extras)

    def close(self) -> None:
        """Stop background work (a classifier training for FID) when the session is dropped."""
        self.quality.close()

    # -- display noise and overlays ---------------------------------------------------------------
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

    def _display_key(self) -> tuple:
        """Everything besides the state that decides what ``display_device`` computes."""
        return (tuple(sorted(self.overlays.items())), self.view if self.kind == "points" else None,
                self.draw_class, self._noise_salt)

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
        """(generated, extras) for the current state, from what was dispatched behind its chunk
        when that still applies (same state, overlays, view, class and noise)."""
        cached = self._display_cache
        if cached is not None and cached[0] is self._state and cached[1]["key"] == self._display_key():
            dev = cached[1]
        else:
            dev = self.display_device(self._state)
        host = jax.device_get({k: v for k, v in dev.items() if k != "key"})
        extras = {}
        if self.conditional:
            extras["labels"] = np.asarray(host["labels"])
            extras["class_rows"] = self.n_classes if self.draw_class is None else 0
            extras["draw_class"] = self.draw_class
            extras["n_classes"] = self.n_classes
        if "d_scores" in host:
            extras["d_scores"] = np.asarray(host["d_scores"])
        if "field" in host:
            extras["field"] = {"values": np.asarray(host["field"], np.float32), "extent": dev["key"][1]}
        if "arrows" in host:
            extras["arrows"] = np.asarray(host["arrows"], np.float32)
        if "manifold" in host:
            a, b = self._manifold_z.shape[:2]
            extras["manifold"] = np.asarray(host["manifold"], np.float32).reshape(a, b, 2)
        if "interpolation" in host:
            extras["interpolation"] = np.asarray(host["interpolation"], np.float32)
        return np.asarray(host["generated"]), extras

    # -- files ------------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the whole run (both networks, optimizers, RNG, step, config, history, quality
        history) atomically."""
        from ganplay.engine.checkpoint import save_run

        save_run(path, self.config, self.state, history=self.history, extra={"quality": self.quality.to_lists()})

    @classmethod
    def open(cls, path, data_dir: str | None = None) -> "Session":
        """Continue a saved run; CheckpointError says exactly what does not match.

        ``data_dir`` replaces the stored data folder (the file may come from another machine).
        """
        from ganplay.engine.checkpoint import open_run

        config, trainer, state, run = open_run(path, data_dir)
        session = cls(config, trainer, state)
        if "history/step" in run.arrays:
            session.history.load_state_dict(run.arrays)
        session.quality.load_lists(run.header.get("quality"), run.shown)  # (older files have none)
        return session

    def rollback(self) -> int:
        """Return to the last kept good state (after a divergence); returns its step."""
        if self.good.state is None:
            raise RuntimeError("no good state kept")
        self.state = self.good.state
        # Learning rates and smoothing may have been changed since the state was kept.
        self.state = self.trainer.set_hyper(self.state, **live_values(self.config))
        self.history.truncate(self.good.step)
        self.quality.truncate(self.good.step)
        if self.accuracy is not None:
            self.accuracy.truncate(self.good.step)
        self._recent.clear()
        self._recent_steps = 0
        self.divergence = None
        return self.good.step

    def _remember(self, acc_real: np.ndarray, acc_fake: np.ndarray) -> None:
        self._recent.append((acc_real, acc_fake))
        self._recent_steps += len(acc_real)
        while self._recent_steps - len(self._recent[0][0]) >= CONFUSION_WINDOW:
            self._recent_steps -= len(self._recent.popleft()[0])

    def confusion(self) -> dict[str, float] | None:
        """D's confusion matrix over the latest window, as fractions of each true class.

        TP/FN split the real samples (called real / called fake), TN/FP the generated ones.
        """
        if not self._recent:
            return None
        acc_real = float(np.concatenate([r for r, _ in self._recent])[-CONFUSION_WINDOW:].mean())
        acc_fake = float(np.concatenate([f for _, f in self._recent])[-CONFUSION_WINDOW:].mean())
        return {"TP": acc_real, "FN": 1 - acc_real, "TN": acc_fake, "FP": 1 - acc_fake,
                "window": min(self._recent_steps, CONFUSION_WINDOW)}

    @property
    def finite(self) -> bool:
        return bool(self.state.finite)

    def snapshot(self) -> Snapshot:
        extras = {"confusion": self.confusion(), **self._quality_extras()}
        generated, shown = self._display_host()
        extras.update(shown)
        if self.accuracy is not None:
            extras["sgan"] = self._accuracy_extras()
        shown = self._substep_shown
        if shown is not None and shown[0] is self._state:  # only until the run moves on
            extras["substep"] = shown[1]
        return Snapshot(
            extras=extras,
            step=self.step,
            kind=self.kind,
            generated=generated,
            real=self._real,
            history=self.history.snapshot(),
            steps_per_s=self._rate.rate(),
            config=self.config,
            finite=self.finite,
        )

    def _accuracy_extras(self) -> dict:
        a = self.accuracy
        return {
            "series": a.series(),
            "confusion": None if a.confusion is None else a.confusion.copy(),
            "baseline_confusion": None if a.baseline_confusion is None else a.baseline_confusion.copy(),
            "has_baseline": a.has_baseline,
            "baseline_step": a.baseline_step,
            "note": a.note,
        }

    def _quality_extras(self) -> dict:
        q = self.quality
        extras = {"quality": q.series(), "quality_note": q.note}
        if self.kind == "images":
            floor = q.fid_floor
            extras["quality_floor"] = None if floor is None else {"fid": floor, "inception_score": q.is_real}
            extras["class_hist"] = None if q.class_hist is None else list(q.class_hist)
        elif q.modes_total is not None:
            extras["modes_total"] = q.modes_total
        return extras


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


class RateMeter:
    """Steps per second over a sliding window of about two seconds."""

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s
        self._events: list[tuple[float, int]] = []

    def add(self, steps: int) -> None:
        now = time.perf_counter()
        self._events.append((now, steps))
        while len(self._events) > 2 and now - self._events[1][0] > self.window_s:
            self._events.pop(0)

    def rate(self) -> float:
        if len(self._events) < 2:
            return 0.0
        t0 = self._events[0][0]
        t1 = self._events[-1][0]
        steps = sum(s for _, s in self._events[1:])
        return steps / (t1 - t0) if t1 > t0 else 0.0


class Pacer:
    """Slow motion: step n (counted from ``restart``) is due at t0 + n / rate on a monotonic clock.

    Deadlines, not sleeps after each step, so the time a step takes does not add up into drift:
    at 1 step/s the counter gains one a second however long each dispatch lasts. A run further
    behind than ``max_lag_s`` (a compile, a blocked thread) starts counting again from now
    instead of bursting to catch up. ``clock`` is injectable for tests.
    """

    def __init__(self, rate: float, clock=time.monotonic, max_lag_s: float = 1.0):
        if not (rate > 0 and np.isfinite(rate)):
            raise ValueError(f"speed {rate!r} steps/s must be a positive number")
        self.rate = float(rate)
        self.clock = clock
        self.max_lag_s = max(float(max_lag_s), 1.0 / self.rate)
        self.restart()

    def restart(self) -> None:
        """The next step is due at once; those after it every 1/rate seconds."""
        self._t0: float | None = None
        self._n = 0

    def wait_s(self) -> float:
        """Seconds until the next step is due (<= 0: due now)."""
        now = self.clock()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._n / self.rate
        if now - due > self.max_lag_s:  # far behind: count from now
            self._t0, self._n, due = now, 0, now
        return due - now

    def tick(self) -> None:
        """One step was dispatched; the next is due 1/rate after this one's deadline."""
        self._n += 1


class ChunkSizer:
    """Chooses steps per dispatch so one dispatch takes about ``target_s``: the window can show at
    most one new picture per dispatch, and a frame at 37 fps keeps it above 30 (aiming at 1/30 s
    left it at 28-30 once the dispatches' jitter was counted, 1/34 s at 30.8-32.6).

    Sizes above 6 are even (powers of two were too coarse: 8 or 16 steps when 12 fit a frame,
    costing either a fifth of the speed or the frame rate; multiples of 4 still moved the frame
    rate 10% between 20 and 24 steps). A size changes when the median time
    per step of the last five dispatches at it puts the ideal more than 1.3x away; while a
    dispatch is far shorter than a frame it grows 4x at a time from one step instead (at a step
    or two per dispatch the time is mostly the dispatch itself).

    It never stops measuring. While the window starts, compiling its display programs and the
    first evaluation delays the first dispatches' timings 3-20x; a sizer that settled then (it
    once allowed three changes) chose 2-8 steps in three runs of four, half the speed, for good.
    Sizes of 1-64 steps share one compiled training program (``steps_bucket``), so a new size
    costs only a small program taking the first rows of the metrics; the first dispatch at it
    is not timed, and at most ``max_sizes`` sizes are used (then the nearest one used before).
    ``max_changes`` caps the changes (0 keeps the first size: tests force dispatch sizes).
    """

    def __init__(self, target_s: float = 1 / 37, max_k: int = 1024, max_changes: int | None = None,
                 k: int = 1, max_sizes: int = 8):
        self.target_s = target_s
        self.max_k = max_k
        self.max_changes = max_changes
        self.max_sizes = max_sizes
        self.k = int(k)  # the first size
        self.changes = 0
        self.sizes = {self.k}  # compiled (or being compiled)
        self._fresh = True  # the next sample at this size includes its compile
        self._times: deque[float] = deque(maxlen=5)

    def update(self, k: int, seconds: float) -> None:
        """Report that ``k`` steps of training took ``seconds`` (training only: an evaluation or
        a snapshot timed with it once made the sizer settle on 1 step per dispatch, a tenth of
        the headless speed)."""
        if k != self.k:
            return
        if self._fresh:  # (cleared even after the last change: the size is compiled now)
            self._fresh = False
            return
        if self.max_changes is not None and self.changes >= self.max_changes:
            return
        self._times.append(seconds / k)
        if len(self._times) < 3:
            return
        per_step = float(np.median(self._times))  # one disturbed dispatch does not count
        if per_step * self.k < self.target_s / 3 and self.k * 4 <= self.max_k:
            # Far below a frame: grow 4x and measure again. At a step or two per dispatch the
            # time is mostly the dispatch and the wait for the GIL (the window paints), and
            # jumping straight to the size it suggested left the window at 8 steps a dispatch.
            self._switch(self.k * 4)
            return
        ideal = max(self.target_s / max(per_step, 1e-7), 1.0)
        if abs(np.log2(ideal) - np.log2(self.k)) <= 0.4:
            return
        k_new = round(ideal) if ideal < 6 else 2 * round(ideal / 2)
        if ideal > self.k and self.k < 8:
            # A few steps per dispatch are timed mostly as the worker's own round (recording,
            # the snapshot, the GIL): proportion alone crept up 1, 2, 3, 5, 8, 12, a second each.
            k_new = max(k_new, 4 * self.k if self.k < 4 else 2 * self.k)
        k_new = int(min(self.max_k, k_new))
        if k_new not in self.sizes and len(self.sizes) >= self.max_sizes:
            k_new = min(self.sizes, key=lambda size: abs(np.log2(size) - np.log2(ideal)))
        if k_new != self.k:
            self.changes += 1
            self._switch(k_new)

    def _switch(self, k: int) -> None:
        self.k = int(k)
        self._times.clear()
        self._fresh = self.k not in self.sizes  # a size compiled before times true at once
        self.sizes.add(self.k)
