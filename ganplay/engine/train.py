"""The GAN training step: pure, jitted, K steps per dispatch with ``lax.scan``.

Both networks' parameters, batch-norm statistics and optax states live in one ``TrainState``
pytree. Learning rates sit inside the optimizer states (``optax.inject_hyperparams``) and label
smoothing in ``state.hyper``, so the GUI can change them between dispatches without recompiling.
Per-step metrics stay on the device and are fetched once per dispatch.

Data parallel (``devices`` above 1): one mesh axis ``"data"`` over the first N devices; the state
and the data arrays are replicated, and every batch sampled inside the step is split along the
batch axis (:meth:`Trainer._batch`). jit's SPMD semantics keep the one-device math, partitioned:
losses, gradients and BN statistics are those of the global batch, as on one device.
"""
from __future__ import annotations

from itertools import pairwise

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ganplay.config import Config, device_count
from ganplay.data import DATASETS
from ganplay.engine.objectives import (
    OBJECTIVES,
    DBatch,
    GBatch,
    Objective,
    adversarial_d_loss,
    adversarial_g_loss,
)
from ganplay.engine.chunks import MIN_BUCKET, fetch_metrics, loop_steps, run_steps, scan_steps, steps_bucket  # noqa: F401
from ganplay.engine.faults import FAULTS, _all_finite, _first_fault, describe_fault, find_fault  # noqa: F401
from ganplay.engine.state import HYPER_FIELDS, TrainState, active_remedies, initial_hyper, live_values  # noqa: F401
from ganplay.engine.trainer_views import TrainerViews
from ganplay.engine.optim import _adam, _with_lr, apply_gradients, make_optimizer, schedule_factor  # noqa: F401
from ganplay.errors import ConfigError
from ganplay.losses import LOSSES, penalties
from ganplay.models import MODELS, as_output, conditioned

# Names of the per-step metrics returned by ``Trainer.run`` (each an array of length K). The
# gradient norms are those of the gradients each update already took (the last D update's).
METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "g_grad_norm", "d_grad_norm")

def check_compatible(model: str, dataset: str) -> None:
    """Raise ConfigError unless ``model`` can train on ``dataset``."""
    spec, dspec = MODELS.get(model), DATASETS.get(dataset)
    if dspec.kind not in spec.kinds:
        fits = [d for d in DATASETS.names() if DATASETS.get(d).kind in spec.kinds]
        raise ConfigError(
            f"model {model!r} cannot train on dataset {dataset!r} ({dspec.kind}); "
            f"datasets it accepts: {', '.join(fits)}"
        )


def run_devices(config: Config) -> list:
    """The devices a run of ``config`` trains on: the first ``devices`` of ``jax.devices()``."""
    return jax.devices()[: device_count(config.devices)]


def describe_devices(devices) -> str:
    """``"2 × cpu"``, ``"1 × gpu (NVIDIA H200)"``: how many devices of which kind."""
    first = devices[0]
    kind = str(getattr(first, "device_kind", "") or "")
    detail = f" ({kind})" if kind and kind.lower() != first.platform else ""
    return f"{len(devices)} × {first.platform}{detail}"


def build_trainer(config: Config, dataset=None) -> Trainer:
    """The trainer for the config's model: its objective's (``OBJECTIVES``): ``Trainer`` for
    plain GANs, a subclass that draws the game's batches for semi-supervised and conditional ones."""
    return OBJECTIVES.get(MODELS.get(config.model).objective).trainer(config, dataset)


class Trainer(TrainerViews):
    """Builds the model pair for a config and dataset and owns the jitted functions.

    The trainer holds no mutable training state itself: every method takes and returns a
    ``TrainState``, so runs can be saved, restored, compared and stepped from any thread.
    Build one with :func:`build_trainer`, which picks the subclass for the model's objective.

    The game is composed: the objective (``self.objective``) adds its terms to the adversarial
    loss (``self.loss``); the remedies below are compiled in while their weight is above 0. A
    subclass only draws its game's batches (:meth:`_d_batch`, :meth:`_g_batch`) and adds its
    public extras.
    """

    # The per-step metrics ``run`` returns (the objective adds its own), in metrics.csv's order.
    metric_names: tuple[str, ...] = METRIC_NAMES
    game = "gan"  # the objective this class draws batches for

    def __init__(self, config: Config, dataset=None):
        check_compatible(config.model, config.dataset)
        self.config = config
        self.spec = MODELS.get(config.model)
        if self.spec.objective != self.game:
            raise ConfigError(f"model {config.model!r} plays the {self.spec.objective!r} game, which "
                              f"{type(self).__name__} does not draw; build its trainer with build_trainer")
        self.objective: Objective = OBJECTIVES.get(self.game)
        self.metric_names = METRIC_NAMES + self.objective.metric_names
        self.loss = LOSSES.get(config.loss)
        if dataset is None:
            dataset = DATASETS.get(config.dataset).load(config, self.spec.image_size)
        self.dataset = dataset
        self.data_shape = tuple(dataset.shape)
        # PacGAN: D sees ``pack`` samples at once, stacked along the last axis.
        self.d_shape = (*self.data_shape[:-1], self.data_shape[-1] * config.pack)
        self.pair = self.spec.build(config, self.data_shape)
        self.devices = run_devices(config)
        # Data parallel over a mesh with one axis, "data" (None on one device: today's programs,
        # untouched). State and data are replicated; the step splits each batch (``_batch``).
        self.mesh = Mesh(np.array(self.devices), ("data",)) if len(self.devices) > 1 else None
        if self.mesh is not None:
            self._replicated, self._split = NamedSharding(self.mesh, P()), NamedSharding(self.mesh, P("data"))
        # The state-producing programs return it replicated, so the next dispatch reuses them.
        on_mesh = {} if self.mesh is None else {"out_shardings": self._replicated}
        self.data_arrays = self.replicate(dataset.device_arrays())
        self.g_tx = make_optimizer(config.opt_g, config.lr_g, config)
        self.d_tx = make_optimizer(config.opt_d, config.lr_d, config)
        self.ema = config.ema_decay > 0  # structural: whether the state carries an EMA of G
        # The remedies compiled into the step: a weight of 0 leaves its code out altogether (a
        # lax.cond around it cost toy-mlp 30% of its speed). ``set_config`` recompiles, keeping
        # the state, when one is switched on or off; changing a non-zero weight recompiles nothing.
        self.active = active_remedies(config)
        # The data is an argument of the jitted functions, not a closure constant: a constant
        # would be baked into the compiled program (47 MB for Fashion-MNIST) and slow compiles.
        self._run = jax.jit(self._loop_impl, static_argnums=(2,), **on_mesh)
        self._step = jax.jit(self._one_step, **on_mesh)
        self._init = jax.jit(self._init_impl, **on_mesh)
        self._sample_real = jax.jit(self._real_in_data_impl, static_argnums=(2,))
        # XLA:CPU runs convolutions inside a while loop (lax.scan) about 4x slower than the same
        # step dispatched on its own (dcgan28 width 0.25: 460 vs 110 ms per step), so
        # convolutional models dispatch one jitted step at a time (their steps are long enough
        # that Python's overhead is noise); the MLPs scan K steps per dispatch.
        self.scan_steps = self.spec.scan_steps
        self._generate = jax.jit(self._generate_in_data_impl)
        self._discriminate = jax.jit(self._discriminate_impl)
        self._d_step = jax.jit(self._d_step_impl, **on_mesh)
        self._g_step = jax.jit(self._g_step_impl, **on_mesh)
        self._field = jax.jit(self._field_impl, static_argnums=(2,))
        self._g_loss_push = jax.jit(self._g_loss_push_impl)

    # -- devices ----------------------------------------------------------------------------
    def device_description(self) -> str:
        """The devices this trainer runs on, e.g. ``"2 × cpu"``."""
        return describe_devices(self.devices)

    def replicate(self, tree):
        """``tree`` on the device, or a copy on every device of the mesh (jax.device_put)."""
        return jax.device_put(tree) if self.mesh is None else jax.device_put(tree, self._replicated)

    def place(self, state: TrainState) -> TrainState:
        """``state`` as the jitted steps take it: replicated over the mesh (a state restored
        from a file, or with new leaves); unchanged on one device."""
        return state if self.mesh is None else jax.device_put(state, self._replicated)

    def _batch(self, x):
        """Split a per-sample batch ``[B, …]`` (or a tuple of them) along the mesh's "data" axis;
        unchanged on one device. Only the partitioning changes: the values and every mean over
        the batch (losses, gradients, BN statistics) are the global batch's, as on one device."""
        return x if self.mesh is None else jax.lax.with_sharding_constraint(x, self._split)

    # -- state ------------------------------------------------------------------------------
    def init(self) -> TrainState:
        """A fresh run's state (one compiled program: op-by-op Flax init took ~9 s for a DCGAN)."""
        return self._init()

    def _init_impl(self) -> TrainState:
        c = self.config
        key = jax.random.PRNGKey(c.seed)
        key, kg, kd = jax.random.split(key, 3)
        z = jnp.zeros((2, c.z_dim), jnp.float32)
        x = jnp.zeros((2, *self.d_shape), jnp.float32)
        labels = self._condition(self._labels(None, 2))
        g_vars = self.pair.generator.init({"params": kg, "dropout": kg}, *conditioned(z, labels), train=False)
        d_vars = self.pair.discriminator.init({"params": kd, "dropout": kd}, *conditioned(x, labels), train=False)
        g_params, d_params = g_vars["params"], d_vars["params"]
        return TrainState(
            step=jnp.int32(0),
            key=key,
            g_params=g_params,
            d_params=d_params,
            g_stats=g_vars.get("batch_stats", {}),
            d_stats=d_vars.get("batch_stats", {}),
            g_opt=self.g_tx.init(g_params),
            d_opt=self.d_tx.init(d_params),
            hyper=initial_hyper(c),
            finite=jnp.bool_(True),
            g_ema=jax.tree_util.tree_map(jnp.copy, g_params) if self.ema else {},
        )

    def set_config(self, config: Config) -> None:
        """Take a config that differs from this one in live settings only. Switching a remedy on
        or off (a weight between 0 and non-zero) recompiles the steps on their next call; the
        state stays valid (its structure does not change), so the run goes on."""
        self.config = config
        active = active_remedies(config)
        if active == self.active:
            return
        self.active = active
        mesh = getattr(self, "mesh", None)
        on_mesh = {} if mesh is None else {"out_shardings": self._replicated}
        # Fresh closures: a new jit of the same bound method could reuse the old trace.
        self._run = jax.jit(lambda state, n, length, data: self._loop_impl(state, n, length, data),
                            static_argnums=(2,), **on_mesh)
        self._step = jax.jit(lambda state, data: self._one_step(state, data), **on_mesh)
        self._d_step = jax.jit(lambda state, data: self._d_step_impl(state, data), **on_mesh)
        self._g_step = jax.jit(lambda state, data=None: self._g_step_impl(state, data), **on_mesh)

    def set_hyper(self, state: TrainState, *, lr_g=None, lr_d=None, **live) -> TrainState:
        """Change live hyperparameters (``HYPER_FIELDS`` by name); leaves keep shape and dtype,
        so nothing recompiles."""
        g_opt, d_opt, hyper = state.g_opt, state.d_opt, dict(state.hyper)
        if lr_g is not None:
            g_opt = _with_lr(g_opt, lr_g)
        if lr_d is not None:
            d_opt = _with_lr(d_opt, lr_d)
        for name, value in live.items():
            if name not in HYPER_FIELDS:
                raise TypeError(f"{name} is not a live setting")
            if value is not None and name in hyper:
                hyper[name] = jnp.float32(value)
        return self.place(state._replace(g_opt=g_opt, d_opt=d_opt, hyper=hyper))

    # -- noise --------------------------------------------------------------------------------
    def noise(self, key, n: int):
        if self.config.noise == "uniform":
            return jax.random.uniform(key, (n, self.config.z_dim), jnp.float32, -1.0, 1.0)
        return jax.random.normal(key, (n, self.config.z_dim), jnp.float32)

    def fixed_noise(self, n: int, salt: int = 1) -> jax.Array:
        """Noise that stays fixed for a run, so moving samples show learning, not resampling."""
        return self.noise(jax.random.fold_in(jax.random.PRNGKey(self.config.seed), 10_000 + salt), n)

    # -- public jitted entry points -------------------------------------------------------------
    def run(self, state: TrainState, k: int):
        """Run ``k`` training steps; returns (state, metrics) with metrics as ``[k]`` device arrays."""
        return run_steps(self._run, self._step, state, k, self.data_arrays, self.scan_steps)

    def sample_real(self, key, n: int) -> jax.Array:
        return self._sample_real(self.data_arrays, key, n)

    def d_step(self, state: TrainState):
        """One discriminator update only (GAN Lab's "train D" step); ``state.step`` is unchanged.

        Returns (state, metrics) with scalar device metrics (``d_*`` and ``fault``).
        """
        return self._d_step(state, self.data_arrays)

    def g_step(self, state: TrainState):
        """One generator update only; ``state.step`` (which counts G updates) goes up by one.

        Returns (state, metrics) with scalar device metrics (``g_loss`` and ``fault``).
        """
        return self._g_step(state, self.data_arrays)

    # -- the game's data (a subclass draws its own) ----------------------------------------------
    def _labels(self, labels, n: int):
        """Class labels for ``n`` samples, from a caller of ``generate`` or ``discriminate``
        (``None`` when not given): none in an unconditional game, which refuses them."""
        if labels is not None:
            raise ValueError(f"model {self.config.model!r} is not conditional: it takes no class labels")

    def _condition(self, labels):
        """The networks' class input for ``_labels``' labels (none in an unconditional game)."""
        return labels  # None: ``_labels`` gives none here

    def _real_sample(self, data, key, n: int):
        """``n`` training samples and D's class input for them (None: unconditional)."""
        return self.dataset.sample(data, key, n), None

    def _fakes(self, state: TrainState, kz, kg, labels=None):
        """A batch of G's samples (G in training mode), constants for D's update."""
        z = self._batch(self.noise(kz, self.config.batch_size))
        fake, _ = self._g_forward(state.g_params, state.g_stats, z, labels, kg)
        return self._batch(jax.lax.stop_gradient(fake))

    def _d_batch(self, state: TrainState, key, data) -> DBatch:
        """D's inputs for one update: a batch of training samples and a batch of G's."""
        kx, kz, kg, kd1, kd2 = jax.random.split(key, 5)
        real = self._batch(self.dataset.sample(data, kx, self.config.batch_size))
        return DBatch(real, self._fakes(state, kz, kg), keys=(kd1, kd2))

    def _g_batch(self, state: TrainState, key, data) -> GBatch:
        """G's inputs for one update: the noise and the networks' dropout keys."""
        kz, kg, kd = jax.random.split(key, 3)
        return GBatch(self._batch(self.noise(kz, self.config.batch_size)), kg, kd)

    # -- implementation --------------------------------------------------------------------------
    def _pack(self, x):
        """PacGAN: ``[B, ..., C]`` -> ``[B / m, ..., C·m]``, m consecutive samples per D input."""
        m = self.config.pack
        if m == 1:
            return x
        b, rest = x.shape[0], x.shape[1:]
        x = jnp.moveaxis(x.reshape(b // m, m, *rest), 1, -1)
        return x.reshape(b // m, *rest[:-1], rest[-1] * m)

    def _d_infer(self, d_params, d_stats, x, labels=None):
        """D's output in inference mode (running averages, no dropout): a DiscriminatorOutput."""
        return as_output(self.pair.discriminator.apply(
            {"params": d_params, "batch_stats": d_stats}, *conditioned(x, labels), train=False))

    def _input_noise(self, hyper, step, key, *xs):
        """Instance noise: N(0, σ²) added to D's inputs, σ annealed linearly to 0 over
        ``instance_noise_steps`` (0: constant). Not compiled in while ``instance_noise`` is 0."""
        if "instance_noise" not in self.active:
            return xs
        horizon = hyper["instance_noise_steps"]
        fade = jnp.where(horizon > 0, jnp.maximum(0.0, 1.0 - step / jnp.maximum(horizon, 1.0)), 1.0)
        sigma = hyper["instance_noise"] * fade
        keys = jax.random.split(key, len(xs))
        return tuple(x + sigma * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(xs, keys))

    def _d_penalty(self, hyper, critic, real, fake, key):
        """λ·gradient penalty + γ/2·R1 on D's (packed) inputs, each compiled in only while its
        weight is above 0."""
        total = jnp.float32(0.0)
        if "gp_weight" in self.active:
            total += hyper["gp_weight"] * penalties.gradient_penalty(critic, real, fake, key)
        if "r1_weight" in self.active:
            total += 0.5 * hyper["r1_weight"] * penalties.r1_penalty(critic, real)
        return total

    def _g_forward(self, g_params, g_stats, z, labels, key):
        """G in training mode: (samples, its new batch statistics)."""
        out, mut = self.pair.generator.apply(
            {"params": g_params, "batch_stats": g_stats}, *conditioned(z, labels), train=True,
            rngs={"dropout": key}, mutable=["batch_stats"],
        )
        return out, mut.get("batch_stats", g_stats)

    def _d_forward(self, d_params, d_stats, x, labels, key):
        """D in training mode: (its DiscriminatorOutput, its new batch statistics)."""
        out, mut = self.pair.discriminator.apply(
            {"params": d_params, "batch_stats": d_stats}, *conditioned(x, labels), train=True,
            rngs={"dropout": key}, mutable=["batch_stats"],
        )
        return as_output(out), mut.get("batch_stats", d_stats)

    def _d_passes(self, d_params, d_stats, inputs, keys):
        """D in training mode on each ``(x, labels)`` of ``inputs``: ([outputs], batch stats).

        One pass per input, each normalised by its own batch statistics (real and fake go
        through D as separate batches, as in the seeds' TF code and the DCGAN paper), or, given
        a single key, one pass over the inputs concatenated: the same function for a D whose rows
        are independent, in fewer, larger matrix products (unconditional inputs only).
        """
        if len(keys) == len(inputs):
            outputs = []
            for (x, labels), k in zip(inputs, keys):
                out, d_stats = self._d_forward(d_params, d_stats, x, labels, k)
                outputs.append(out)
            return outputs, d_stats
        (key,) = keys
        out, d_stats = self._d_forward(d_params, d_stats, jnp.concatenate([x for x, _ in inputs]), None, key)
        ends = np.cumsum([0] + [len(x) for x, _ in inputs])
        return [jax.tree_util.tree_map(lambda a, lo=lo, hi=hi: a[lo:hi], out)
                for lo, hi in pairwise(ends)], d_stats

    def _d_update(self, state: TrainState, key, data):
        batch = self._d_batch(state, key, data)
        hyper = state.hyper
        # Extra randomness from fold_in, so the stream of a run without remedies is unchanged.
        k_noise, k_pen = jax.random.split(jax.random.fold_in(key, 7))
        real, fake = self._input_noise(hyper, state.step, k_noise, batch.real, batch.fake)
        real, fake = self._batch((self._pack(real), self._pack(fake)))
        inputs = [(real, batch.real_labels), (fake, batch.fake_labels)]
        if batch.labelled is not None:
            inputs.insert(0, (batch.labelled, None))

        def loss_fn(d_params):
            outputs, stats = self._d_passes(d_params, state.d_stats, inputs, batch.keys)
            lr_, lf = outputs[-2].logit, outputs[-1].logit
            per_real, per_fake = self.loss.d_loss(lr_, lf, hyper["label_smoothing"])
            adversarial = jnp.mean(per_real) + jnp.mean(per_fake)
            loss, extra = self.objective.d_loss(adversarial, outputs, batch, self.config)
            critic = lambda x: self._d_forward(d_params, state.d_stats, x, batch.real_labels,
                                               batch.keys[0])[0].logit
            penalty = self._d_penalty(hyper, critic, real, fake, k_pen)
            return loss + penalty, (stats, lr_, lf, loss, extra)

        (_, (stats, lr_, lf, loss, extra)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.d_params)
        d_params, d_opt = apply_gradients(self.d_tx, grads, state.d_opt, state.d_params)
        if "weight_clip" in self.active:  # the original WGAN's Lipschitz constraint
            d_params = penalties.clip_weights(d_params, hyper["weight_clip"])
        metrics = {**d_metrics(loss, lr_, lf), "d_grad_norm": optax.tree.norm(grads), **extra}
        return state._replace(d_params=d_params, d_stats=stats, d_opt=d_opt), metrics

    def _g_sample_loss(self, logits, hyper, real_logits=None):
        """G's loss per generated sample, from D's logits (the training loss is its mean): the
        loss's ``g_loss`` (``real_logits`` only for relativistic losses)."""
        g_smooth = hyper["label_smoothing"] if self.config.smooth_g_target else jnp.float32(0.0)
        if real_logits is None:
            real_logits = jnp.zeros_like(logits)  # read only by relativistic losses
        return self.loss.g_loss(logits, real_logits, g_smooth)

    def _real_logits_for_g(self, state, key, data):
        """D's logits on a fresh real batch (relativistic losses only), as constants for G."""
        kx, kn, kd = jax.random.split(jax.random.fold_in(key, 11), 3)
        real, labels = self._batch(self._real_sample(data, kx, self.config.batch_size))
        (real,) = self._input_noise(state.hyper, state.step, kn, real)
        out, _ = self._d_forward(state.d_params, state.d_stats, self._pack(real), labels, kd)
        return jax.lax.stop_gradient(out.logit)

    def _g_update(self, state: TrainState, key, data=None):
        batch = self._g_batch(state, key, data)
        real_logits = self._real_logits_for_g(state, key, data) if self.loss.relativistic else None
        k_noise = jax.random.fold_in(key, 7)

        def loss_fn(g_params):
            fake, g_stats = self._g_forward(g_params, state.g_stats, batch.z, batch.labels, batch.g_key)
            (fake,) = self._input_noise(state.hyper, state.step, k_noise, fake)
            # D's BN statistics from this pass are discarded: only D's own update moves them.
            out, _ = self._d_forward(state.d_params, state.d_stats, self._pack(fake), batch.labels, batch.d_key)
            per_sample = self._g_sample_loss(out.logit, state.hyper, real_logits)
            return self.objective.g_loss(per_sample, out, batch, self.config), g_stats

        (loss, g_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
        g_params, g_opt = apply_gradients(self.g_tx, grads, state.g_opt, state.g_params)
        metrics = {"g_loss": loss, "g_grad_norm": optax.tree.norm(grads)}
        return state._replace(g_params=g_params, g_stats=g_stats, g_opt=g_opt), metrics

    def _ema_update(self, state: TrainState) -> TrainState:
        """g_ema ← d·g_ema + (1 − d)·g_params (d = ``ema_decay``, live)."""
        if not self.ema:
            return state
        d = state.hyper["ema_decay"]
        return state._replace(g_ema=jax.tree_util.tree_map(lambda e, p: d * e + (1.0 - d) * p,
                                                           state.g_ema, state.g_params))

    def _g_updates(self, state: TrainState, key, data):
        """``g_steps`` generator updates (one key each; with one, the key itself), then the EMA;
        the last update's metrics (``g_loss``, ``g_grad_norm``)."""
        keys = [key] if self.config.g_steps == 1 else list(jax.random.split(key, self.config.g_steps))
        for k in keys:
            state, g_metrics = self._g_update(state, k, data)
        return self._ema_update(state), g_metrics

    def _one_step(self, state: TrainState, data):
        key, k_d, k_g = jax.random.split(state.key, 3)
        state = state._replace(key=key)

        # The D updates are unrolled rather than scanned: inside a nested scan XLA:CPU ran the
        # convolutional D update about 4x slower (dcgan28: 450 ms vs 110 ms per step).
        for k in jax.random.split(k_d, self.config.d_steps):
            state, d_metrics = self._d_update(state, k, data)
        state, g_metrics = self._g_updates(state, k_g, data)
        fault = _first_fault(
            jnp.isfinite(d_metrics["d_loss"]), _all_finite(state.d_params),
            jnp.isfinite(g_metrics["g_loss"]), _all_finite(state.g_params),
        )
        metrics = {**d_metrics, **g_metrics, "fault": fault}
        finite = state.finite & (fault == 0)
        return state._replace(step=state.step + 1, finite=finite), metrics

    def _run_impl(self, state: TrainState, k: int, data):
        """``k`` steps as a ``lax.scan`` (the sweep vmaps this one: its chunks are all alike)."""
        return scan_steps(self._one_step, state, k, data)

    def _loop_impl(self, state: TrainState, n, length: int, data):
        return loop_steps(self._one_step, state, n, length, data)

    def _d_step_impl(self, state: TrainState, data):
        key, k_d = jax.random.split(state.key)
        state, metrics = self._d_update(state._replace(key=key), k_d, data)
        ok = jnp.bool_(True)
        fault = _first_fault(jnp.isfinite(metrics["d_loss"]), _all_finite(state.d_params), ok, ok)
        return state._replace(finite=state.finite & (fault == 0)), {**metrics, "fault": fault}

    def _g_step_impl(self, state: TrainState, data=None):
        key, k_g = jax.random.split(state.key)
        state, g_metrics = self._g_updates(state._replace(key=key), k_g, data)
        ok = jnp.bool_(True)
        fault = _first_fault(ok, ok, jnp.isfinite(g_metrics["g_loss"]), _all_finite(state.g_params))
        finite = state.finite & (fault == 0)
        return state._replace(step=state.step + 1, finite=finite), {**g_metrics, "fault": fault}

def d_metrics(loss, real_logits, fake_logits) -> dict:
    """D's per-step metrics: its loss, mean p(real) on real and generated batches, and its accuracy."""
    pr, pf = jax.nn.sigmoid(real_logits), jax.nn.sigmoid(fake_logits)
    return {
        "d_loss": loss,
        "d_real": jnp.mean(pr),
        "d_fake": jnp.mean(pf),
        "d_acc_real": jnp.mean(pr > 0.5),
        "d_acc_fake": jnp.mean(pf < 0.5),
    }


OBJECTIVES.register("gan", Objective(
    name="gan",
    summary="The real/fake game: D tells training samples from G's, G makes D call them real.",
    trainer=Trainer,
    d_loss=adversarial_d_loss,
    g_loss=adversarial_g_loss,
))
