"""Every registered adversarial loss against its formula written out in NumPy, plus the flags."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.errors import ConfigError
from ganplay.losses import LOSSES, loss_names

L_R = np.array([2.0, -1.0, 0.5])
L_F = np.array([-0.5, 1.5, 0.0])
S = 0.1  # D's one-sided label smoothing
GS = 0.2  # G's target smoothing (only ns and lsgan read it)


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def bce(x, t):
    return -t * np.log(sig(x)) - (1.0 - t) * np.log(1.0 - sig(x))


# name -> (per_real, per_fake, g per_fake), each written from the paper's formula.
EXPECTED = {
    "ns": (bce(L_R, 1 - S), bce(L_F, 0.0), -np.log(sig(L_F)) * (1 - GS) - np.log(1 - sig(L_F)) * GS),
    "minimax": (bce(L_R, 1 - S), bce(L_F, 0.0), np.log(1.0 - sig(L_F))),
    "lsgan": (0.5 * (L_R - (1 - S)) ** 2, 0.5 * L_F**2, 0.5 * (L_F - (1 - GS)) ** 2),
    "hinge": (np.maximum(0.0, 1 - L_R), np.maximum(0.0, 1 + L_F), -L_F),
    "wgan": (-L_R, L_F, -L_F),
    "rsgan": (
        -(1 - S) * np.log(sig(L_R - L_F)) - S * np.log(1 - sig(L_R - L_F)),
        np.zeros(3),
        -np.log(sig(L_F - L_R)),
    ),
    "ragan": (
        -(1 - S) * np.log(sig(L_R - L_F.mean())) - S * np.log(1 - sig(L_R - L_F.mean())),
        -np.log(1 - sig(L_F - L_R.mean())),
        -np.log(sig(L_F - L_R.mean())) - np.log(1 - sig(L_R - L_F.mean())),
    ),
}


def _f32(x):
    return jnp.asarray(x, jnp.float32)


def test_every_registered_loss_has_expected_values():
    assert sorted(EXPECTED) == sorted(loss_names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_matches_formula(name):
    loss = LOSSES.get(name)
    assert loss.name == name
    want_real, want_fake, want_g = EXPECTED[name]
    # Under jit with traced smoothing, as the training step calls them.
    per_real, per_fake = jax.jit(loss.d_loss)(_f32(L_R), _f32(L_F), jnp.float32(S))
    per_g = jax.jit(loss.g_loss)(_f32(L_F), _f32(L_R), jnp.float32(GS))
    for got, want in ((per_real, want_real), (per_fake, want_fake), (per_g, want_g)):
        assert got.shape == (3,)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_ns_and_minimax_generator_losses_differ():
    ns, mm = LOSSES.get("ns"), LOSSES.get("minimax")
    g_ns = ns.g_loss(_f32(L_F), _f32(L_R), 0.0)
    g_mm = mm.g_loss(_f32(L_F), _f32(L_R), 0.0)
    assert not np.allclose(np.asarray(g_ns), np.asarray(g_mm))
    # …while D's side is the same game.
    for a, b in zip(ns.d_loss(_f32(L_R), _f32(L_F), S), mm.d_loss(_f32(L_R), _f32(L_F), S)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_relativistic_flag_says_whether_g_reads_real_logits(name):
    loss = LOSSES.get(name)
    g1 = loss.g_loss(_f32(L_F), _f32(L_R), 0.0)
    g2 = loss.g_loss(_f32(L_F), _f32(L_R + np.array([0.7, -0.3, 1.1])), 0.0)
    assert (not np.allclose(np.asarray(g1), np.asarray(g2))) == loss.relativistic


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_smoothing_flag_says_whether_d_reads_smoothing(name):
    loss = LOSSES.get(name)
    d0 = np.concatenate(loss.d_loss(_f32(L_R), _f32(L_F), 0.0))
    d1 = np.concatenate(loss.d_loss(_f32(L_R), _f32(L_F), 0.2))
    assert (not np.allclose(d0, d1)) == loss.smoothing


def test_critic_flag_marks_unbounded_scores():
    assert {n for n in loss_names() if LOSSES.get(n).critic} == {"wgan", "hinge"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_generator_gradient_raises_fake_scores(name):
    # Fake logits below 1: lsgan pulls scores towards its target 1 (not upwards without bound).
    l_f = _f32([-0.5, 0.8, 0.0])
    loss = LOSSES.get(name)
    grad = jax.grad(lambda lf: jnp.mean(loss.g_loss(lf, _f32(L_R), 0.0)))(l_f)
    assert np.all(np.asarray(grad) < 0), grad


def test_unknown_loss_lists_known_ones():
    with pytest.raises(ConfigError, match="unknown loss 'nope'") as info:
        LOSSES.get("nope")
    for name in loss_names():
        assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_help_text_is_one_line(name):
    loss = LOSSES.get(name)
    assert loss.formula and "\n" not in loss.formula
    assert loss.summary and "\n" not in loss.summary and any(ch.isdigit() for ch in loss.summary)
