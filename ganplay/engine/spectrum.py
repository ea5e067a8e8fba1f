"""The game's eigenvalues during a real run: the Jacobian of the joint gradient field
v(φ_G, φ_D) = (−∇_G L_G, −∇_D L_D) at the current parameters, by Arnoldi iteration on
Jacobian-vector products (``jax.linearize`` once, then one JVP per Krylov vector; never the
dense Jacobian).

This is the Dirac-GAN's analysis (:mod:`ganplay.engine.dirac`) on the real networks: eigenvalues
with large imaginary parts and real parts near 0 are the rotation that makes simultaneous
gradient steps circle; a positive real part expands along its direction; gradient descent at
step h is stable only where |1 + hλ| < 1.

:class:`GameSpectrum` is an observer of the training loop (:mod:`ganplay.engine.observers`)
that evaluates it every N steps within a share of the training time; :func:`evaluate` is the
same evaluation for a caller with a trainer and a state (the window's worker). Plain GANs
(``Trainer.game == "gan"``) on one device; batch norm and dropout are taken in inference mode
only through the trainer's own forward passes, with a fixed batch so the trail shows the
parameters moving, not the batches.
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ganplay.engine.observers import ChunkEvent, Observer
from ganplay.errors import GanplayError

KRYLOV = 24  # Arnoldi steps: the top few Ritz values settle long before this on the toy models
TOP = 3  # how many of each kind are reported: largest magnitude, largest real part
_PROGRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Spectrum(NamedTuple):
    """One evaluation: the reported eigenvalues (complex, largest magnitude first) and D's
    input-gradient norms (mean ‖∇_x D(x)‖ on real and generated samples: what GP and R1 act on)."""

    step: int
    eigenvalues: np.ndarray
    d_input_grad_real: float
    d_input_grad_fake: float
    seconds: float  # the evaluation's time (0 for the first one of a program: it compiled)
    compile_seconds: float = 0.0  # the first call of a program: compiling and evaluating


def applies(trainer) -> str:
    """"" when the game's eigenvalues are computed for ``trainer``, else why not (one line)."""
    if trainer.game != "gan" or trainer.mesh is not None or len(trainer.data_shape) != 1:
        return "the game's eigenvalues are computed for the toy (2-D) GANs on one device"
    return ""


def joint_field(trainer, state, key):
    """(v, x): the joint gradient field as a function of the flat parameters, and where they are.

    The batch (real samples, noise, dropout keys) is drawn once from ``key``; D's gradient reads
    G's samples without a stop-gradient, so the Jacobian's off-diagonal blocks are the game's."""
    if applies(trainer):
        raise GanplayError(applies(trainer))
    c, hyper = trainer.config, state.hyper
    kx, kz, kg, kd1, kd2, kp = jax.random.split(key, 6)
    real = trainer.dataset.sample(trainer.data_arrays, kx, c.batch_size)
    z = trainer.noise(kz, c.batch_size)
    x0, unravel = ravel_pytree((state.g_params, state.d_params))

    def fake_of(g_params):
        return trainer._g_forward(g_params, state.g_stats, z, None, kg)[0]

    def d_loss(d_params, g_params):
        real_in, fake_in = trainer._pack(real), trainer._pack(fake_of(g_params))
        outs, _ = trainer._d_passes(d_params, state.d_stats, [(real_in, None), (fake_in, None)], (kd1, kd2))
        per_real, per_fake = trainer.loss.d_loss(outs[0].logit, outs[1].logit, hyper["label_smoothing"])
        critic = lambda x: trainer._d_forward(d_params, state.d_stats, x, None, kd1)[0].logit
        return jnp.mean(per_real) + jnp.mean(per_fake) + trainer._d_penalty(hyper, critic, real_in, fake_in, kp)

    def g_loss(g_params, d_params):
        out, _ = trainer._d_forward(d_params, state.d_stats, trainer._pack(fake_of(g_params)), None, kd2)
        real_logits = None
        if trainer.loss.relativistic:
            real_out, _ = trainer._d_forward(d_params, state.d_stats, trainer._pack(real), None, kd1)
            real_logits = jax.lax.stop_gradient(real_out.logit)
        return jnp.mean(trainer._g_sample_loss(out.logit, hyper, real_logits))

    def v(x):
        g_params, d_params = unravel(x)
        field = (jax.grad(g_loss)(g_params, d_params), jax.grad(d_loss)(d_params, g_params))
        return -ravel_pytree(field)[0]

    return v, x0


def arnoldi(matvec, v0, m: int):
    """The m × m upper-Hessenberg matrix of m Arnoldi steps from ``v0`` (classical Gram-Schmidt
    done twice, which keeps the float32 basis orthogonal); its eigenvalues are the Ritz values."""
    basis = jnp.zeros((m + 1, v0.size), v0.dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    hess = jnp.zeros((m + 1, m), v0.dtype)
    rows = jnp.arange(m + 1)

    def body(j, carry):
        basis, hess = carry
        w = matvec(basis[j])
        mask = rows <= j
        h = jnp.where(mask, basis @ w, 0.0)
        w = w - h @ basis
        h2 = jnp.where(mask, basis @ w, 0.0)
        w = w - h2 @ basis
        beta = jnp.linalg.norm(w)
        hess = hess.at[:, j].set(h + h2).at[j + 1, j].set(beta)
        basis = basis.at[j + 1].set(w / jnp.maximum(beta, 1e-30))  # a breakdown leaves an exact subspace
        return basis, hess

    _, hess = jax.lax.fori_loop(0, m, body, (basis, hess))
    return hess[:m]


def _program(trainer, m: int):
    """The jitted evaluation for ``trainer`` (compiled once per remedy set and Krylov size)."""
    cache = _PROGRAMS.setdefault(trainer, {})
    key = (trainer.active, m)
    if key not in cache:
        def run(state, key):
            k_batch, k_start = jax.random.split(key)
            v, x0 = joint_field(trainer, state, k_batch)
            _, jvp = jax.linearize(v, x0)
            hess = arnoldi(jvp, jax.random.normal(k_start, x0.shape, x0.dtype), min(m, x0.size))
            return hess, _input_gradient_norms(trainer, state, k_batch)

        cache[key] = [jax.jit(run), True]  # (program, not yet compiled)
    return cache[key]


def _input_gradient_norms(trainer, state, key):
    """Mean ‖∇_x D(x)‖ (D's logit, inference mode) on a batch of real and of generated samples."""
    kx, kz = jax.random.split(jax.random.fold_in(key, 3))
    n = trainer.config.batch_size
    real = trainer.dataset.sample(trainer.data_arrays, kx, n)
    fake = trainer._generate_impl(state, trainer.noise(kz, n))

    def norms(x):
        g = jax.grad(lambda v: jnp.sum(trainer._d_logits_each(state, v)))(x)
        return jnp.mean(jnp.sqrt(jnp.sum(g.reshape(n, -1) ** 2, axis=-1)))

    return norms(real), norms(fake)


def pick(ritz: np.ndarray, top: int = TOP) -> np.ndarray:
    """The ``top`` largest in magnitude and the ``top`` with the largest real part (a conjugate
    pair counted once each), largest magnitude first."""
    ritz = ritz[np.isfinite(ritz)]
    by_mag = np.argsort(-np.abs(ritz))[:top]
    by_real = np.argsort(-ritz.real)[:top]
    chosen = ritz[np.unique(np.concatenate([by_mag, by_real]))]
    chosen = np.concatenate([chosen, np.conj(chosen[chosen.imag != 0])])  # a real matrix's pairs, whole
    chosen = np.unique(np.round(chosen, 6))
    return chosen[np.argsort(-np.abs(chosen))]


def evaluate(trainer, state, krylov: int = KRYLOV, seed: int = 0) -> Spectrum:
    """The game's top eigenvalues at ``state`` (and D's input-gradient norms); one dispatch."""
    entry = _program(trainer, krylov)
    start = time.perf_counter()
    hess, (real_norm, fake_norm) = jax.device_get(entry[0](state, jax.random.PRNGKey(seed)))
    ritz = np.linalg.eigvals(np.asarray(hess, np.float64))
    took, first = time.perf_counter() - start, entry[1]
    entry[1] = False
    # A compile is not charged to the time budget: on a loaded machine it took 14 s, which would
    # have held every later evaluation back for minutes.
    return Spectrum(int(state.step), pick(ritz), float(real_norm), float(fake_norm),
                    0.0 if first else took, took if first else 0.0)


# The optimizers whose step is linear in the gradient, so a linearised field gives a linear
# recurrence whose growth per step is the largest root of its characteristic polynomial in μ.
LINEAR_STEPS = ("sgd", "optimistic_gd")


def step_growth(ev, lr: float, opt: str = "sgd", momentum: float = 0.0):
    """Per eigenvalue λ of the field's Jacobian, the growth |μ| per step of ``opt`` at step ``lr``
    on the linearised game (below 1: that direction contracts); None for a step that is not
    linear in the gradient (Adam, RMSProp). sgd: μ = 1 + hλ, or heavy ball
    μ² − (1 + β + hλ)μ + β = 0; optimistic_gd (optax: 2h·g_t − h·g_{t−1}): μ² − (1 + 2hλ)μ + hλ = 0."""
    if opt not in LINEAR_STEPS:
        return None
    hl = lr * np.asarray(ev, np.complex128)
    if opt == "sgd" and not momentum:
        return np.abs(1.0 + hl)
    b, c = (-(1.0 + momentum + hl), momentum + 0 * hl) if opt == "sgd" else (-(1.0 + 2.0 * hl), hl)
    disc = np.sqrt(b * b - 4.0 * c)
    return np.maximum(np.abs((-b + disc) / 2.0), np.abs((-b - disc) / 2.0))


def explain(eigenvalues: np.ndarray, lr: float, opt: str = "sgd", momentum: float = 0.0) -> str:
    """One sentence on what the eigenvalues mean for ``opt``'s steps at ``lr`` (gradient descent's
    for an optimizer that has no linear step)."""
    ev = np.asarray(eigenvalues)
    if not ev.size:
        return "no eigenvalues yet"
    growth = step_growth(ev, lr, opt, momentum)
    rule = f"{opt} at h = {lr:g}"
    if growth is None:
        growth, rule = np.abs(1.0 + lr * ev), f"plain gradient descent at h = {lr:g} ({opt} rescales its steps)"
    worst, top = ev[np.argmax(growth)], ev[np.argmax(ev.real)]
    outside = int(np.sum(growth > 1.0))
    if not outside:
        return f"every eigenvalue lies in the stable region of {rule} (growth per step ≤ {growth.max():.4f}): steps contract"
    where = (f"λ = {worst.real:.2g} ± {abs(worst.imag):.3g}i, a rotation: the steps spiral out along it"
             if abs(worst.imag) > 3 * abs(worst.real) else
             f"λ = {worst.real:.3g}" + (" > 0: the update expands along it" if worst.real > 0 else ": steps overshoot along it"))
    tail = (f"; the largest real part is {top.real:.3g} > 0, so the update expands along that direction"
            if top.real > 1e-3 and top != worst else "")
    return (f"{outside} of {ev.size} eigenvalues lie outside the stable region of {rule}, the worst growing "
            f"×{growth.max():.4f} per step at {where}{tail}; try R1 or a smaller step")


@dataclass(frozen=True)
class SpectrumTrail:
    """The evaluations a view draws (a snapshot's ``spectrum``), oldest first."""

    steps: list[int]
    eigenvalues: list[np.ndarray]  # complex, the largest few of each evaluation
    d_input_grad: list[tuple[float, float]]  # |grad_x D| on real and generated samples
    seconds: list[float]  # each evaluation's cost (the first one compiled)
    note: str  # why nothing is evaluated (a model it does not apply to), else ""
    share: float  # of the training time spent evaluating


class GameSpectrum(Observer):
    """Evaluates the game's eigenvalues every ``every`` steps while their cost stays within
    ``budget`` of the training time (the quality monitor's rule), keeping the last ``keep``."""

    def __init__(self, every: int = 500, budget: float = 0.1, keep: int = 64, krylov: int = KRYLOV):
        self.every, self.budget, self.keep, self.krylov = every, budget, keep, krylov
        self.history: list[Spectrum] = []
        self.trained_s = 0.0
        self.spent_s = 0.0
        self.last_step = -every

    note = ""  # why nothing is evaluated (a model it does not apply to), else ""

    def on_chunk(self, event: ChunkEvent) -> None:
        if event.first_step <= self.last_step:  # the run went back (a reset, a rollback)
            self.on_rollback(event.first_step - 1)
        self.trained_s += event.seconds
        self.note = applies(event.trainer)
        if self.note or event.step - self.last_step < self.every or self.spent_s > self.budget * self.trained_s:
            return
        self.evaluate(event.trainer, event.state)

    def snapshot(self) -> SpectrumTrail:
        """What a view draws (plain NumPy): the evaluations, oldest first."""
        return SpectrumTrail(steps=[s.step for s in self.history], eigenvalues=[s.eigenvalues for s in self.history],
                             d_input_grad=[(s.d_input_grad_real, s.d_input_grad_fake) for s in self.history],
                             seconds=[s.seconds for s in self.history], note=self.note,
                             share=self.spent_s / self.trained_s if self.trained_s else 0.0)

    def evaluate(self, trainer, state) -> np.ndarray:
        """Evaluate now and keep the result; returns the eigenvalues (complex)."""
        spectrum = evaluate(trainer, state, self.krylov)
        self.spent_s += spectrum.seconds
        self.last_step = spectrum.step
        self.history = (self.history + [spectrum])[-self.keep:]
        return spectrum.eigenvalues

    def on_rollback(self, step: int) -> None:
        self.history = [s for s in self.history if s.step <= step]
        self.last_step = self.history[-1].step if self.history else -self.every

    def state_dict(self) -> dict:
        return {"steps": np.array([s.step for s in self.history], np.int64),
                "eigenvalues": [s.eigenvalues for s in self.history],
                "trained_s": self.trained_s, "spent_s": self.spent_s}

    def load_state_dict(self, state: dict) -> None:
        self.history = [Spectrum(int(step), np.asarray(ev), float("nan"), float("nan"), 0.0)
                        for step, ev in zip(state["steps"], state["eigenvalues"])]
        self.trained_s, self.spent_s = float(state["trained_s"]), float(state["spent_s"])
        self.last_step = self.history[-1].step if self.history else -self.every
