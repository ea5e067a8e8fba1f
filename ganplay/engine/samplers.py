"""Sampling-time remedies: D's knowledge cleans G's samples after (or while) training.

* ``drs`` — Discriminator Rejection Sampling (Azadi et al. 2019). D's logit is read as the log
  density ratio log p_data(x)/p_g(x); with D_M its maximum over a burn-in set (updated with any
  larger value seen), a sample is kept with probability σ(F(x)),
  F(x) = D(x) − D_M − log(1 − exp(D(x) − D_M − ε)) − γ. With γ = 0, σ(F) = exp(D(x) − D_M):
  plain rejection sampling, exact for a perfect D; γ, the paper's shift, is set as in its
  reference code to a percentile of F over the burn-in set, trading exactness for acceptance.
* ``mh`` — Metropolis-Hastings GAN (Turner et al. 2019): an independence sampler whose proposals
  are G's samples, accepted with probability min(1, r(x')/r(x)), r = D/(1 − D) the density ratio;
  each chain starts at a real sample (so it needs no burn-in) and its sample is its state after
  ``MH_CHAIN`` proposals (a chain that never left the real sample gives its last proposal).

D is calibrated first, as both papers ask (their D is trained on G's samples, not to be a
probability): Platt scaling, a logistic regression of real-versus-generated on D's logit, fitted on
samples D did not train on. PacGAN's D judges ``pack`` samples at once; its logit for one sample
is read as the mean over ``PARTNERS`` packs of that sample with other generated samples (a packed
D's log ratio is the sum of its members', so the partners add a constant that the calibration and
D_M absorb).

Pure NumPy functions with a seed, plus :class:`SamplerScores`, the jitted D logits they need.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import SAMPLERS

DRS_PERCENTILE = 80.0  # γ: this percentile of F over the burn-in set (the reference code's choice)
DRS_EPSILON = 1e-6  # ε of F: keeps log(1 − exp(·)) finite at the maximum
DRS_BURN_IN = 10_000  # generated samples whose largest logit is D_M (headless)
DRS_MAX_DRAWS = 100  # headless: at most this many times the wanted samples are proposed
MH_CHAIN = 100  # proposals per chain (the paper's 640 for CIFAR-10; 2-D chains mix faster)
PARTNERS = 4  # a packed D: packs averaged per sample
CALIBRATION_L2 = 1e-3  # a tiny ridge: separable real/fake logits would send the slope to infinity


@dataclass(frozen=True)
class Calibration:
    """Calibrated logit = slope · logit + intercept (Platt scaling)."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        return self.slope * np.asarray(logits, np.float64) + self.intercept


def fit_calibration(real_logits: np.ndarray, fake_logits: np.ndarray, iters: int = 30) -> Calibration:
    """Platt scaling by Newton's method: the logistic regression of "real" on D's logit over
    held-out real and generated samples (equal numbers weigh both classes equally)."""
    r = np.asarray(real_logits, np.float64).ravel()
    f = np.asarray(fake_logits, np.float64).ravel()
    r, f = r[np.isfinite(r)], f[np.isfinite(f)]
    if len(r) == 0 or len(f) == 0:
        return Calibration()
    x = np.concatenate([r, f])
    y = np.concatenate([np.ones(len(r)), np.zeros(len(f))])
    w = np.concatenate([np.full(len(r), 0.5 / len(r)), np.full(len(f), 0.5 / len(f))])
    mu, sd = x.mean(), max(x.std(), 1e-6)  # fit on the standardised logit, well conditioned
    X = np.stack([(x - mu) / sd, np.ones_like(x)], axis=1)
    beta = np.zeros(2)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        grad = X.T @ (w * (p - y)) + CALIBRATION_L2 * beta
        hess = (X * (w * p * (1 - p))[:, None]).T @ X + CALIBRATION_L2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    slope = beta[0] / sd
    return Calibration(float(slope), float(beta[1] - slope * mu))


@dataclass(frozen=True)
class Sampled:
    """What a sampler made of its proposals: ``accepted`` [N] marks the proposals it accepted
    (DRS: kept; MH: moved to), ``rate`` their share, and ``samples`` the sampler's own samples."""

    accepted: np.ndarray
    rate: float
    samples: np.ndarray


# -- DRS ----------------------------------------------------------------------------------------
def drs_scores(logits: np.ndarray, d_max: float, gamma: float = 0.0, eps: float = DRS_EPSILON) -> np.ndarray:
    """F(x) = D(x) − D_M − log(1 − exp(D(x) − D_M − ε)) − γ (logits above D_M count as D_M)."""
    delta = np.minimum(np.asarray(logits, np.float64) - d_max, 0.0)
    return delta - np.log1p(-np.exp(delta - eps)) - gamma


def drs_gamma(burn_in_logits: np.ndarray, d_max: float, percentile: float | None = DRS_PERCENTILE) -> float:
    """γ: the ``percentile`` of F over the burn-in set (None: 0, exact rejection sampling)."""
    if percentile is None:
        return 0.0
    return float(np.percentile(drs_scores(burn_in_logits, d_max), percentile))


def drs_accept(logits: np.ndarray, d_max: float, gamma: float, rng: np.random.Generator) -> np.ndarray:
    """Which proposals DRS keeps: u < σ(F(x)), u uniform."""
    prob = 1.0 / (1.0 + np.exp(-drs_scores(logits, d_max, gamma)))
    return rng.uniform(size=len(prob)) < prob


def drs(samples: np.ndarray, logits: np.ndarray, seed: int, burn_in_logits: np.ndarray | None = None,
        percentile: float | None = DRS_PERCENTILE) -> Sampled:
    """DRS over one set of proposals (``logits``: calibrated D logits of ``samples``); the burn-in
    set defaults to the proposals themselves."""
    logits = np.asarray(logits, np.float64)
    burn = logits if burn_in_logits is None else np.asarray(burn_in_logits, np.float64)
    d_max = float(max(burn.max(), logits.max()))
    gamma = drs_gamma(burn, d_max, percentile)
    accepted = drs_accept(logits, d_max, gamma, np.random.default_rng(seed))
    return Sampled(accepted, float(accepted.mean()) if len(accepted) else 0.0, np.asarray(samples)[accepted])


# -- MH-GAN -------------------------------------------------------------------------------------
def mh_chains(init_logits: np.ndarray, proposal_logits: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Independence-sampler chains: ``init_logits`` [C] (each chain's real starting sample),
    ``proposal_logits`` [C, K] (calibrated logits, so exp(logit) is the density ratio). Returns
    (state [C]: the index of each chain's final proposal, −1 while it is still at its real start;
    accepted [C, K])."""
    props = np.asarray(proposal_logits, np.float64)
    c, k = props.shape
    log_u = np.log(np.random.default_rng(seed).uniform(size=(c, k)))
    current = np.asarray(init_logits, np.float64).copy()
    state = np.full(c, -1)
    accepted = np.zeros((c, k), bool)
    for j in range(k):  # α = min(1, r(x')/r(x)): log u < logit(x') − logit(x)
        take = log_u[:, j] < props[:, j] - current
        accepted[:, j] = take
        current = np.where(take, props[:, j], current)
        state = np.where(take, j, state)
    return state, accepted


def mh(samples: np.ndarray, logits: np.ndarray, real_logits: np.ndarray, seed: int, chains: int = 1) -> Sampled:
    """MH-GAN over ``samples`` [C·K, ...] split into ``chains`` chains of K proposals, chain i
    starting at the real sample of logit ``real_logits[i]``; its samples are the chains' final
    states (a chain still at its real start gives its last proposal)."""
    samples = np.asarray(samples)
    n = len(samples)
    k = n // chains
    props = np.asarray(logits, np.float64)[:chains * k].reshape(chains, k)
    state, accepted = mh_chains(np.asarray(real_logits, np.float64)[:chains], props, seed)
    last = np.where(state < 0, k - 1, state)
    out = samples[:chains * k].reshape(chains, k, *samples.shape[1:])[np.arange(chains), last]
    flat = np.zeros(n, bool)
    flat[:chains * k] = accepted.ravel()
    return Sampled(flat, float(accepted.mean()) if accepted.size else 0.0, out)


# -- D's logits ----------------------------------------------------------------------------------
class SamplerScores:
    """D's logit for each sample alone, jitted once per trainer: ``logits(state, x, partners)``
    with ``x`` and ``partners`` in the data's own coordinates; a packed D averages ``PARTNERS``
    packs of each sample with rolled ``partners`` (G's samples)."""

    _cache: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()

    def __init__(self, trainer):
        self.trainer = trainer
        self._logits = jax.jit(self._impl)

    @classmethod
    def of(cls, trainer) -> SamplerScores:
        scores = cls._cache.get(trainer)
        if scores is None:
            scores = cls._cache[trainer] = cls(trainer)
        return scores

    def logits(self, state, x, partners=None) -> jax.Array:
        return self._logits(state, x, x if partners is None else partners)

    def _impl(self, state, x, partners):
        t = self.trainer
        m = t.config.pack
        # Samples come in the data's own coordinates (trainer.generate, sample_real); D trained
        # in the standardised ones of a points file, so they are mapped in first.
        x, partners = t._from_data(x), t._from_data(partners)

        def one(xs):
            return t._d_infer(state.d_params, state.d_stats, t._pack(xs), None).logit.reshape(-1)

        if m == 1:
            return one(x)
        n = x.shape[0]
        total = jnp.zeros((n,), jnp.float32)
        for p in range(PARTNERS):
            # Sample i packed with partners i+1+p, i+2+p, ... (indices modulo the partner set).
            group = [x] + [jnp.roll(partners, -(1 + p + j), axis=0)[jnp.arange(n) % partners.shape[0]]
                           for j in range(m - 1)]
            total = total + one(jnp.stack(group, axis=1).reshape(n * m, *x.shape[1:]))
        return total / PARTNERS


# -- a trained run's sampler samples (headless: samples_<sampler>.npy and its metrics) ----------
CALIBRATION_SAMPLES = 5000  # held-out real and generated samples for the calibration
SAMPLER_SALT = 4242  # the sampler's own keys: neither the training batches nor the fixed noise
BLOCK = 10_000  # proposals per dispatch


def calibrate(trainer, state, seed: int) -> tuple[Calibration, jax.Array]:
    """The calibration on fresh real and generated samples, and those generated samples (the
    partners a packed D's logits are read with)."""
    scores = SamplerScores.of(trainer)
    kr, kz = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), SAMPLER_SALT))
    real = trainer.sample_real(kr, CALIBRATION_SAMPLES)
    fake = trainer.generate(state, trainer.noise(kz, CALIBRATION_SAMPLES))
    cal = fit_calibration(np.asarray(scores.logits(state, real, fake)), np.asarray(scores.logits(state, fake, fake)))
    return cal, fake


def sample(sampler: str, trainer, state, n: int, seed: int) -> Sampled:
    """``n`` samples of ``sampler`` ("drs" or "mh") from G and D in ``state``, fixed by ``seed``.
    ``accepted`` and ``rate`` cover every proposal made."""
    if sampler not in SAMPLERS or sampler == "none":
        raise ValueError(f"sampler={sampler!r} is not one of drs, mh")
    scores = SamplerScores.of(trainer)
    cal, partners = calibrate(trainer, state, seed)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), SAMPLER_SALT + 1)

    def propose(i: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        x = trainer.generate(state, trainer.noise(jax.random.fold_in(key, i), count))
        return np.asarray(x), cal(np.asarray(scores.logits(state, x, partners)))

    if sampler == "drs":
        _, burn = propose(0, DRS_BURN_IN)
        d_max = float(burn.max())
        gamma = drs_gamma(burn, d_max, DRS_PERCENTILE)
        rng = np.random.default_rng(seed)
        kept, flags, i = [], [], 1
        while sum(len(k) for k in kept) < n and i <= DRS_MAX_DRAWS * max(1, n // BLOCK + 1):
            x, logits = propose(i, max(BLOCK, n))
            d_max = max(d_max, float(logits.max()))  # D_M follows the largest logit seen
            ok = drs_accept(logits, d_max, gamma, rng)
            kept.append(x[ok])
            flags.append(ok)
            i += 1
        accepted = np.concatenate(flags)
        return Sampled(accepted, float(accepted.mean()), np.concatenate(kept)[:n])
    real = trainer.sample_real(jax.random.fold_in(key, 10**6), n)
    real_logits = cal(np.asarray(scores.logits(state, real, partners)))
    per_block = max(1, BLOCK // MH_CHAIN)
    outs, flags = [], []
    for b, start in enumerate(range(0, n, per_block)):
        c = min(per_block, n - start)
        x, logits = propose(b + 1, c * MH_CHAIN)
        s = mh(x, logits, real_logits[start:start + c], seed + b, chains=c)
        outs.append(s.samples)
        flags.append(s.accepted)
    accepted = np.concatenate(flags)
    return Sampled(accepted, float(accepted.mean()), np.concatenate(outs))
