"""The Dirac-GAN against Mescheder, Geiger & Nowozin (2018)'s analysis."""
import numpy as np
import pytest

from ganplay.engine import dirac
from ganplay.engine.dirac import DiracSettings
from ganplay.errors import ConfigError
from ganplay.losses import LOSSES

F_PRIME_0 = 0.5  # f'(0) of the standard GAN's f(t) = −log(1 + e^−t)


def _distance(path):
    return np.hypot(path[:, 0], path[:, 1])


def test_ns_eigenvalues_are_purely_imaginary():
    ev = dirac.eigenvalues(DiracSettings(loss="ns"))
    assert np.allclose(sorted(ev.imag), [-F_PRIME_0, F_PRIME_0], atol=1e-5)
    assert np.allclose(ev.real, 0.0, atol=1e-5)


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.0])
def test_r1_eigenvalues_follow_the_paper(gamma):
    ev = dirac.eigenvalues(DiracSettings(loss="ns", r1_weight=gamma))
    root = np.sqrt(complex(gamma**2 - 4 * F_PRIME_0**2))
    expected = np.array([(-gamma + root) / 2, (-gamma - root) / 2])
    key = lambda z: (round(z.real, 4), round(z.imag, 4))
    assert np.allclose(sorted(ev, key=key), sorted(expected, key=key), atol=1e-5)


def test_every_loss_has_its_equilibrium_at_zero():
    for name in LOSSES.names():
        settings = DiracSettings(loss=name)
        assert np.allclose(dirac.field(settings, np.zeros(2, np.float32)), 0.0, atol=1e-6), name


def test_simultaneous_gd_moves_away_from_the_equilibrium():
    # The paper's zero-sum game (minimax) spirals out from its start point.
    path = dirac.trajectory(DiracSettings(loss="minimax", updates="simultaneous"), (1.0, 1.0), 2000)
    assert _distance(path)[-1] > 2.0 * _distance(path)[0]
    # ns has the same linearisation: near the equilibrium it grows too (to a limit cycle).
    path = dirac.trajectory(DiracSettings(loss="ns", updates="simultaneous"), (0.1, 0.1), 2000)
    assert _distance(path)[-1] > 2.0 * _distance(path)[0]


def test_alternating_gd_stays_bounded_without_converging():
    for loss in ("minimax", "ns"):
        path = dirac.trajectory(DiracSettings(loss=loss, updates="alternating"), (1.0, 1.0), 2000)
        d = _distance(path)
        assert d.max() < 1.1 * d[0] and d[-1] > 0.1, loss
    # zero-sum: an orbit, its radius kept within 5%
    d = _distance(dirac.trajectory(DiracSettings(loss="minimax", updates="alternating"), (1.0, 1.0), 2000))
    assert d[-500:].min() > 0.95 * d[0]


def test_r1_converges():
    path = dirac.trajectory(DiracSettings(loss="ns", r1_weight=1.0, lr=0.1), (1.0, 1.0), 2000)
    assert _distance(path)[-1] < 1e-3


def test_instance_noise_gives_negative_real_parts_and_converges():
    settings = DiracSettings(loss="ns", instance_noise=1.0)
    # the paper's f''(0)·σ² ± sqrt(f''(0)²σ⁴ − f'(0)²), f''(0) = −1/4
    expected = -0.25 + np.sqrt(complex(0.25**2 - F_PRIME_0**2)) * np.array([1, -1])
    assert np.allclose(sorted(dirac.eigenvalues(settings), key=np.imag), sorted(expected, key=np.imag), atol=1e-5)
    assert _distance(dirac.trajectory(settings, (1.0, 1.0), 2000))[-1] < 1e-3


def test_step_eigenvalues_are_one_plus_h_lambda_for_simultaneous_gd():
    settings = DiracSettings(loss="ns", r1_weight=0.3, lr=0.2)
    expected = 1.0 + 0.2 * dirac.eigenvalues(settings)
    got = dirac.step_eigenvalues(settings)
    assert np.allclose(sorted(got, key=np.imag), sorted(expected, key=np.imag), atol=1e-5)
    # alternating GD on the pure rotation: determinant 1, on the unit circle
    alt = dirac.step_eigenvalues(DiracSettings(loss="minimax", updates="alternating"))
    assert np.allclose(np.abs(alt), 1.0, atol=1e-5)


def test_too_large_a_step_is_explained():
    settings = DiracSettings(loss="ns", r1_weight=1.0, lr=5.0)
    assert "too large" in dirac.explain(settings)
    assert "circles" in dirac.explain(DiracSettings(loss="ns"))


def test_presets_and_optimizers_all_run():
    for name, (_, settings) in dirac.PRESETS.items():
        out = dirac.summary(settings, steps=50)
        assert len(out["eigenvalues"]) == 2 and out["explanation"], name
    for opt in ("adam", "rmsprop", "optimistic_adam", "optimistic_gd"):
        out = dirac.summary(DiracSettings(opt=opt, lr=0.05), steps=50)
        assert out["finite"], opt


def test_weight_clipping_holds_psi():
    path = dirac.trajectory(DiracSettings(loss="wgan", weight_clip=0.3, updates="alternating"), (1.0, 0.2), 500)
    assert np.abs(path[1:, 1]).max() <= 0.3 + 1e-6


def test_field_grid_shape_and_sets():
    theta, psi, values = dirac.field_grid(DiracSettings(), extent=2.0, size=5)
    assert values.shape == (5, 5, 2) and theta[0] == -2.0 and psi[-1] == 2.0
    s = DiracSettings.from_sets(DiracSettings(), ["r1_weight=1", "d_steps=2"])
    assert s.r1_weight == 1.0 and s.d_steps == 2
    with pytest.raises(ConfigError, match="r3_weight"):
        DiracSettings.from_sets(DiracSettings(), ["r3_weight=1"])
    with pytest.raises(ConfigError, match="loss"):
        DiracSettings(loss="nope")
