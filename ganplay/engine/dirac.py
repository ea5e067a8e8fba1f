"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do actually
Converge?", §2): the smallest GAN whose training dynamics show why GANs cycle or converge.

The generator is a point mass p = δ(θ), the discriminator a line D(x) = ψ·x, the real data a
point mass at 0; the equilibrium is θ = ψ = 0. The losses are the registered ones
(:data:`ganplay.losses.LOSSES`, called on D's logits ψ·x exactly as the training step calls
them), the penalties those of :mod:`ganplay.losses.penalties` with the step's weights (λ·GP,
γ/2·R1, and R2: R1 on the generated samples), and the optimizers those of
:func:`ganplay.engine.train.make_optimizer`. Pure JAX, no Qt: the panel, ``ganplay dirac`` and
the tests all call this module.

Instance noise is taken in expectation: D's inputs are shifted by σ·Φ⁻¹((i + ½)/n) for n
quantiles (rescaled to variance σ²), so the field stays deterministic and differentiable, and its
Jacobian at the equilibrium is the expected loss's exactly (the paper analyses the expected field
too).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganplay.config import OPTIMIZERS, Config
from ganplay.errors import ConfigError
from ganplay.losses import LOSSES, penalties

UPDATES = ("simultaneous", "alternating")
NOISE_QUANTILES = 32
TOL = 1e-6  # |real part| below this counts as zero (float32 Jacobian)


@dataclass(frozen=True)
class DiracSettings:
    """One Dirac-GAN game and its training: every field is a ``--set`` key of ``ganplay dirac``."""

    loss: str = "ns"
    opt: str = "sgd"  # both players' optimizer (as ``opt_g``/``opt_d`` in a real run)
    lr: float = 0.1
    updates: str = "simultaneous"  # G's gradient before D's update (simultaneous) or after it
    d_steps: int = 1
    g_steps: int = 1
    beta1: float = 0.0  # sgd: momentum; adam: β1
    beta2: float = 0.999
    gp_weight: float = 0.0  # λ·(‖∇D(x̂)‖ − 1)² (WGAN-GP)
    r1_weight: float = 0.0  # γ/2·‖∇D(x_real)‖²
    r2_weight: float = 0.0  # γ/2·‖∇D(x_fake)‖²
    weight_clip: float = 0.0  # ψ clipped to [−c, c] after each D update
    instance_noise: float = 0.0  # σ of the noise on D's inputs (in expectation)

    def __post_init__(self):
        if self.loss not in LOSSES.names():
            raise ConfigError(f"loss {self.loss!r} is not registered; choose one of {', '.join(LOSSES.names())}")
        if self.opt not in OPTIMIZERS:
            raise ConfigError(f"opt {self.opt!r} is unknown; choose one of {', '.join(OPTIMIZERS)}")
        if self.updates not in UPDATES:
            raise ConfigError(f"updates {self.updates!r} is unknown; choose simultaneous or alternating")
        if not self.lr > 0:
            raise ConfigError(f"lr must be above 0, got {self.lr}")
        for name in ("d_steps", "g_steps"):
            if not 1 <= getattr(self, name) <= 10:
                raise ConfigError(f"{name} must be 1 to 10, got {getattr(self, name)}")
        for name in ("gp_weight", "r1_weight", "r2_weight", "weight_clip", "instance_noise"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")

    def replace(self, **changes) -> DiracSettings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_sets(cls, base: DiracSettings, sets: list[str]) -> DiracSettings:
        """``base`` with ``KEY=VALUE`` overrides (the CLI's ``--set``), typed like the field."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        changes = {}
        for item in sets:
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or key not in known:
                raise ConfigError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(known)}")
            kind = type(getattr(base, key))
            try:
                changes[key] = kind(value.strip())
            except ValueError:
                raise ConfigError(f"--set {key}={value}: not a {kind.__name__}") from None
        return base.replace(**changes)


# The paper's cases (its Figures 1-4 and §3-4), by name: ``ganplay dirac --preset NAME``. The
# paper's Dirac-GAN is zero-sum, L = f(ψθ) + f(0): our ``minimax`` loss. With ``ns`` the
# linearisation is the same (±i/2) but its higher-order terms pull inwards, so simultaneous
# steps settle on a limit cycle (radius ≈ 0.44 at step 0.1) and alternating ones creep in slowly.
PRESETS: dict[str, tuple[str, DiracSettings]] = {
    "simultaneous-gd": ("minimax, simultaneous gradient descent: spirals out (Fig. 1b)",
                        DiracSettings(loss="minimax", updates="simultaneous")),
    "alternating-gd": ("minimax, alternating gradient descent: orbits forever (Fig. 1c)",
                       DiracSettings(loss="minimax", updates="alternating")),
    "ns-limit-cycle": ("ns, simultaneous gradient descent: out to a limit cycle, never in",
                       DiracSettings(loss="ns", updates="simultaneous")),
    "wgan-clip": ("WGAN, alternating, weight clipping 1: circles along the clip box (§3.2)",
                  DiracSettings(loss="wgan", updates="alternating", weight_clip=1.0)),
    "wgan-gp": ("WGAN-GP λ 1, alternating: D's optimum is |ψ| = 1, so it never rests at 0 (§3.3)",
                DiracSettings(loss="wgan", updates="alternating", gp_weight=1.0)),
    "instance-noise": ("minimax + instance noise σ 1, simultaneous: converges (§3.4, Fig. 3)",
                       DiracSettings(loss="minimax", instance_noise=1.0)),
    "r1": ("minimax + R1 γ 1, simultaneous: converges (§4.1, Fig. 4)",
           DiracSettings(loss="minimax", r1_weight=1.0)),
    "r2": ("minimax + R2 γ 1, simultaneous: converges (§4.1)", DiracSettings(loss="minimax", r2_weight=1.0)),
    "optimistic": ("minimax, optimistic gradient descent, simultaneous: the look-ahead damps the rotation",
                   DiracSettings(loss="minimax", opt="optimistic_gd")),
    "too-large-step": ("minimax + R1 γ 1 at step 5: the eigenvalues are fine, the step is not",
                       DiracSettings(loss="minimax", r1_weight=1.0, lr=5.0)),
}


def _inputs(settings: DiracSettings, theta):
    """The real and generated batches D sees: [n, 1] each (one point, or n noise quantiles)."""
    if settings.instance_noise > 0:
        q = np.array([NormalDist().inv_cdf((i + 0.5) / NOISE_QUANTILES) for i in range(NOISE_QUANTILES)])
        q /= np.sqrt(np.mean(q**2))  # variance exactly σ²: the linearisation is then exact
        eps = jnp.asarray(settings.instance_noise * q, jnp.float32)[:, None]
    else:
        eps = jnp.zeros((1, 1), jnp.float32)
    return eps, theta + eps


def d_loss(settings: DiracSettings, theta, psi):
    """D's training loss at (θ, ψ): the registered loss on logits ψ·x plus the penalties."""
    loss = LOSSES.get(settings.loss)
    real, fake = _inputs(settings, theta)
    critic = lambda x: psi * x[:, 0]
    per_real, per_fake = loss.d_loss(critic(real), critic(fake), jnp.float32(0.0))
    total = jnp.mean(per_real) + jnp.mean(per_fake)
    if settings.gp_weight > 0:  # the key only draws the interpolation weights; ∇D is ψ everywhere
        total += settings.gp_weight * penalties.gradient_penalty(critic, real, fake, jax.random.PRNGKey(0))
    if settings.r1_weight > 0:
        total += 0.5 * settings.r1_weight * penalties.r1_penalty(critic, real)
    if settings.r2_weight > 0:
        total += 0.5 * settings.r2_weight * penalties.r1_penalty(critic, fake)
    return total


def g_loss(settings: DiracSettings, theta, psi):
    """G's training loss at (θ, ψ): the registered loss's ``g_loss`` on D's logits."""
    loss = LOSSES.get(settings.loss)
    real, fake = _inputs(settings, theta)
    real_logits = jax.lax.stop_gradient(psi * real[:, 0])  # as the step: constants for G
    return jnp.mean(loss.g_loss(psi * fake[:, 0], real_logits, jnp.float32(0.0)))


def field(settings: DiracSettings, point):
    """The update field at ``point`` = (θ, ψ): (−∂L_G/∂θ, −∂L_D/∂ψ), each player descending its own loss."""
    theta, psi = point[0], point[1]
    return -jnp.stack([jax.grad(g_loss, 1)(settings, theta, psi), jax.grad(d_loss, 2)(settings, theta, psi)])


def _optimizer(settings: DiracSettings, lr):
    from ganplay.engine.train import make_optimizer  # (the training step's optimizers)

    config = Config(beta1=settings.beta1, beta2=settings.beta2)
    return make_optimizer(settings.opt, lr, config)


def _step_fn(settings: DiracSettings, tx):
    """One training iteration on ((θ, ψ), optimizer states): d_steps D updates, then g_steps G
    updates whose gradient is taken at ψ before (simultaneous) or after (alternating) D's."""
    grad_g = jax.grad(g_loss, 1)
    grad_d = jax.grad(d_loss, 2)

    def step(carry, _):
        (theta, psi), (g_opt, d_opt) = carry
        psi_seen = psi
        for _ in range(settings.d_steps):
            u, d_opt = tx.update(grad_d(settings, theta, psi), d_opt, psi)
            psi = psi + u
            if settings.weight_clip > 0:
                psi = penalties.clip_weights(psi, settings.weight_clip)
        if settings.updates == "alternating":
            psi_seen = psi
        for _ in range(settings.g_steps):
            u, g_opt = tx.update(grad_g(settings, theta, psi_seen), g_opt, theta)
            theta = theta + u
        return ((theta, psi), (g_opt, d_opt)), jnp.stack([theta, psi])

    return step


@lru_cache(maxsize=64)
def _trajectory_program(settings: DiracSettings, steps: int):
    def run(start, lr):
        tx = _optimizer(settings, lr)
        theta, psi = start[0], start[1]
        carry = ((theta, psi), (tx.init(theta), tx.init(psi)))
        _, path = jax.lax.scan(_step_fn(settings, tx), carry, None, length=steps)
        return jnp.concatenate([start[None], path])

    return jax.jit(run)


def trajectory(settings: DiracSettings, start=(1.0, 1.0), steps: int = 2000) -> np.ndarray:
    """The parameters (θ, ψ) from ``start`` through ``steps`` iterations: ``[steps + 1, 2]``.
    The learning rate is an argument of the compiled program: changing it compiles nothing."""
    run = _trajectory_program(settings.replace(lr=1.0), int(steps))
    return np.asarray(run(jnp.asarray(start, jnp.float32), jnp.float32(settings.lr)), np.float64)


@lru_cache(maxsize=64)
def _field_program(settings: DiracSettings):
    return jax.jit(jax.vmap(lambda p: field(settings, p)))


def field_grid(settings: DiracSettings, extent: float = 2.0, size: int = 15):
    """The update field on a ``size`` × ``size`` grid over [−extent, extent]²:
    (θ [size], ψ [size], field [size (ψ), size (θ), 2])."""
    axis = np.linspace(-extent, extent, size, dtype=np.float32)
    tt, pp = np.meshgrid(axis, axis)
    points = np.stack([tt.ravel(), pp.ravel()], axis=-1)
    values = np.asarray(_field_program(settings.replace(lr=1.0))(jnp.asarray(points)), np.float64)
    return axis.astype(np.float64), axis.astype(np.float64), values.reshape(size, size, 2)


def jacobian(settings: DiracSettings, point=(0.0, 0.0)) -> np.ndarray:
    """The 2 × 2 Jacobian of the update field at ``point`` (the equilibrium by default), by jax.jacfwd."""
    return _jacobian(settings.replace(lr=1.0), (float(point[0]), float(point[1]))).copy()


@lru_cache(maxsize=256)  # a drag of the start point asks again for the same settings' (0.25 s op by op)
def _jacobian(settings: DiracSettings, point: tuple[float, float]) -> np.ndarray:
    return np.asarray(jax.jacfwd(lambda p: field(settings, p))(jnp.asarray(point, jnp.float32)), np.float64)


def eigenvalues(settings: DiracSettings, point=(0.0, 0.0)) -> np.ndarray:
    """The Jacobian's eigenvalues at ``point``, complex, largest real part first."""
    ev = np.linalg.eigvals(jacobian(settings, point))
    return ev[np.lexsort((-ev.imag, -ev.real))]


@lru_cache(maxsize=256)
def step_eigenvalues(settings: DiracSettings) -> np.ndarray:
    """Eigenvalues of one iteration of plain gradient descent at step ``lr`` (the settings' update
    order and step counts), linearised at the equilibrium: I + h·J for simultaneous updates. The
    iteration is stable where all lie inside the unit circle (jax.jacfwd of the iteration itself)."""
    tx = optax.sgd(settings.lr)
    step = _step_fn(settings, tx)

    def one_iteration(p):
        (moved, _), _ = step(((p[0], p[1]), (tx.init(p[0]), tx.init(p[1]))), None)
        return jnp.stack(moved)

    m = np.asarray(jax.jacfwd(one_iteration)(jnp.zeros(2, jnp.float32)), np.float64)
    ev = np.linalg.eigvals(m)
    ev = ev[np.argsort(-np.abs(ev))]
    ev.setflags(write=False)  # cached: shared by every caller
    return ev


def explain(settings: DiracSettings, ev: np.ndarray | None = None, step_ev: np.ndarray | None = None) -> str:
    """One line on what the eigenvalues at the equilibrium mean for these settings."""
    ev = eigenvalues(settings) if ev is None else ev
    step_ev = step_eigenvalues(settings) if step_ev is None else step_ev
    top = float(np.max(ev.real))
    radius = float(np.max(np.abs(step_ev)))
    if np.max(np.abs(ev)) > 1e3:
        return (f"the field is not smooth at the equilibrium (|λ| {np.max(np.abs(ev)):.0g}): D is pushed off "
                f"ψ = 0, so training never rests there")
    if np.max(np.abs(ev)) < TOL:
        return ("both eigenvalues 0: the linearisation says nothing; the higher-order terms decide "
                "(look at the trajectory)")
    if top > TOL:
        return f"positive real part ({top:.3g}): the field spirals out; training diverges"
    kind = (f"purely imaginary (±{float(np.max(np.abs(ev.imag))):.3g}i): circles" if top > -TOL
            else f"negative real part ({top:.3g})")
    if settings.opt != "sgd" or settings.beta1:  # the step is not plain gradient descent's
        return f"{kind}; {_other_step(settings, ev)}"
    if top > -TOL:
        b = float(np.max(np.abs(ev.imag)))
        how = ("simultaneous steps push outwards near the equilibrium" if settings.updates == "simultaneous"
               else "alternating steps orbit without converging")
        return f"purely imaginary (±{b:.3g}i): circles, no pull inwards; {how} (|μ| {radius:.4f})"
    stable = radius < 1.0
    h_max = float(np.min(-2.0 * ev.real / np.maximum(np.abs(ev) ** 2, 1e-12)))
    verdict = (f"converges at step {settings.lr:g} (step eigenvalues inside the unit circle, |μ| {radius:.3f})"
               if stable else f"step {settings.lr:g} is too large (|μ| {radius:.3f} > 1): simultaneous "
               f"steps need h < {h_max:.3g}")
    return f"negative real part ({top:.3g}): {verdict}"


def _other_step(settings: DiracSettings, ev: np.ndarray) -> str:
    """What an optimizer other than plain gradient descent does with these eigenvalues."""
    from ganplay.engine.spectrum import step_growth

    momentum = settings.beta1 if settings.opt == "sgd" else 0.0
    growth = step_growth(ev, settings.lr, settings.opt, momentum)
    name = f"{settings.opt}" + (f" (momentum {momentum:g})" if momentum else "")
    if growth is None:
        return f"{name} rescales its steps, so no fixed linearisation: look at the trajectory"
    g = float(np.max(growth))
    verdict = "converges" if g < 1.0 else "spirals out" if g > 1.0 + 1e-9 else "orbits"
    order = "" if settings.updates == "simultaneous" else " (for simultaneous updates)"
    return f"{name} at step {settings.lr:g} multiplies the distance by ×{g:.4f} per step{order}: {verdict}"


def summary(settings: DiracSettings, start=(1.0, 1.0), steps: int = 2000) -> dict:
    """What ``ganplay dirac --json`` prints: the settings, the eigenvalues at the equilibrium and
    of one step, their meaning, and how far the trajectory ends and strays from the equilibrium."""
    ev, step_ev = eigenvalues(settings), step_eigenvalues(settings)
    path = trajectory(settings, start, steps)
    dist = np.hypot(path[:, 0], path[:, 1])
    finite = bool(np.all(np.isfinite(path)))
    return {
        "settings": dataclasses.asdict(settings),
        "start": [float(start[0]), float(start[1])],
        "steps": int(steps),
        "eigenvalues": [[float(e.real), float(e.imag)] for e in ev],
        "step_eigenvalues": [[float(e.real), float(e.imag)] for e in step_ev],
        "step_stable": bool(np.max(np.abs(step_ev)) < 1.0),
        "explanation": explain(settings, ev, step_ev),
        "final": [_number(v) for v in path[-1]],
        "final_distance": _number(dist[-1]),
        "max_distance": _number(np.max(dist)) if finite else None,
        "finite": finite,
    }


def _number(v) -> float | None:
    """A float for JSON, None where it is not finite (JSON has no NaN)."""
    v = float(v)
    return v if np.isfinite(v) else None
