"""Sampling-time remedies (engine/samplers.py): with a perfect density-ratio D, DRS and MH-GAN
recover the target from a skewed G; calibration; packed D's logits; the headless run's files."""
import json

import numpy as np
import pytest
from scipy.special import logsumexp

from ganplay.config import Config
from ganplay.engine import samplers
from ganplay.engine.runner import train_headless
from ganplay.engine.session import Session
from ganplay.engine.train import build_trainer
from ganplay.errors import ConfigError
from ganplay.quality_metrics import QUALITY_METRICS

MEANS = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
TARGET = np.full(4, 0.25)  # p: equal modes of std 0.3
G_WEIGHTS = np.array([0.55, 0.25, 0.1, 0.1])  # q: G is skewed and too wide (std 0.45)


def log_mixture(x, weights, std):
    d2 = ((x[:, None, :] - MEANS[None]) ** 2).sum(-1)
    return logsumexp(np.log(weights)[None] - d2 / (2 * std**2) - np.log(2 * np.pi * std**2), axis=1)


def perfect_logit(x):
    """log p_data(x) / p_g(x): what an optimal D's logit is."""
    return log_mixture(x, TARGET, 0.3) - log_mixture(x, G_WEIGHTS, 0.45)


def draw(rng, n, weights, std):
    return MEANS[rng.choice(4, n, p=weights)] + std * rng.standard_normal((n, 2))


def shares(x):
    """Mode shares of the samples within 3 target std of their nearest mode, and that share."""
    k = ((x[:, None, :] - MEANS[None]) ** 2).sum(-1).argmin(1)
    good = ((x - MEANS[k]) ** 2).sum(1) <= (3 * 0.3) ** 2
    return np.bincount(k[good], minlength=4) / good.sum(), good.mean()


def test_drs_with_a_perfect_d_recovers_the_target_where_g_is_skewed():
    rng = np.random.default_rng(0)
    x = draw(rng, 40_000, G_WEIGHTS, 0.45)
    g_shares, g_good = shares(x)
    assert abs(g_shares[0] - 0.55) < 0.02  # G's own samples are skewed
    exact = samplers.drs(x, perfect_logit(x), seed=1, percentile=None)  # γ = 0: rejection sampling
    s, good = shares(exact.samples)
    assert np.abs(s - TARGET).max() < 0.02 and good > 0.98 > g_good
    assert exact.rate == pytest.approx(exact.accepted.mean()) and 0.05 < exact.rate < 0.5
    shifted = samplers.drs(x, perfect_logit(x), seed=1)  # the paper's γ: more kept, less exact
    assert shifted.rate > exact.rate
    assert np.abs(shares(shifted.samples)[0] - TARGET).max() < np.abs(g_shares - TARGET).max()


def test_mh_chains_with_a_perfect_d_have_the_target_as_stationary_distribution():
    rng = np.random.default_rng(0)
    chains, k = 2000, 50
    real = draw(rng, chains, TARGET, 0.3)
    x = draw(rng, chains * k, G_WEIGHTS, 0.45)
    out = samplers.mh(x, perfect_logit(x), perfect_logit(real), seed=2, chains=chains)
    s, good = shares(out.samples)
    assert np.abs(s - TARGET).max() < 0.035 and good > 0.97
    assert 0.2 < out.rate < 0.9 and out.accepted.shape == (chains * k,)
    # A chain only moves to a proposal at least as likely under the target (relative to G) when u ~ 1.
    state, accepted = samplers.mh_chains(np.array([0.0]), np.array([[-50.0, 1.0, -50.0]]), seed=0)
    assert accepted.tolist() == [[False, True, False]] and state.tolist() == [1]


def test_calibration_undoes_a_scaled_and_shifted_logit():
    rng = np.random.default_rng(1)
    real = draw(rng, 4000, TARGET, 0.3)
    fake = draw(rng, 4000, G_WEIGHTS, 0.45)
    cal = samplers.fit_calibration(3 * perfect_logit(real) + 1, 3 * perfect_logit(fake) + 1)
    assert cal.slope == pytest.approx(1 / 3, rel=0.15)
    probe = np.array([-2.0, 0.0, 2.0])
    assert np.allclose(cal(3 * probe + 1), probe, atol=0.3)


def test_a_packed_ds_logit_for_one_sample_is_its_packs_mean():
    config = Config.for_model("toy-mlp", dataset="grid25", hidden=16, batch_size=32, pack=2)
    trainer = build_trainer(config)
    state = trainer.init()
    x = np.asarray(trainer.generate(state, trainer.fixed_noise(6)))
    got = np.asarray(samplers.SamplerScores.of(trainer).logits(state, x))
    want = np.zeros(6)
    for p in range(samplers.PARTNERS):
        partner = x[(np.arange(6) + 1 + p) % 6]
        packed = np.concatenate([x, partner], axis=1)[:, [0, 2, 1, 3]]  # (x0, p0, x1, p1): _pack's order
        want += np.asarray(trainer._d_infer(state.d_params, state.d_stats, packed, None).logit).ravel()
    assert np.allclose(got, want / samplers.PARTNERS, atol=1e-5)


def test_d_reads_a_standardised_points_file_in_its_training_coordinates(tmp_path):
    # Far from the origin and wide, so a D fed the data's own coordinates would see other points.
    from ganplay.data.points_file import save_points_csv

    rng = np.random.default_rng(0)
    path = tmp_path / "far.csv"
    save_points_csv(rng.normal([500.0, -300.0], 40.0, size=(400, 2)), path)
    trainer = build_trainer(Config.for_model("toy-mlp", dataset="points-file", data_dir=str(path),
                                             hidden=16, batch_size=32))
    assert trainer.dataset.data_map is not None
    state = trainer.init()
    x = np.asarray(trainer.generate(state, trainer.fixed_noise(8)))  # the data's own coordinates
    assert np.abs(x).max() > 100
    got = np.asarray(samplers.SamplerScores.of(trainer).logits(state, x))
    p = np.asarray(trainer.discriminate(state, x)).ravel()  # D's own reading of the same points
    assert np.allclose(got, np.log(p) - np.log1p(-p), atol=1e-4)


def test_sampler_setting_is_checked_and_only_for_plain_gans():
    assert Config.for_model("toy-mlp").with_overrides(["sampler=drs"]).sampler == "drs"
    with pytest.raises(ConfigError, match="sampler='rejection' is not allowed; choose one of: none, drs, mh"):
        Config.for_model("toy-mlp").with_overrides(["sampler=rejection"])
    with pytest.raises(ConfigError, match="sampler=mh is offered for plain GAN models only"):
        Config.for_model("cgan-mlp", dataset="mnist", sampler="mh")
    for name in ("drs_high_quality", "mh_modes", "mh_reverse_kl", "drs_acceptance"):
        assert QUALITY_METRICS.get(name).short.endswith(("(DRS)", "(MH)"))


@pytest.mark.parametrize("sampler", ["drs", "mh"])
def test_headless_run_writes_the_samplers_samples_and_columns_beside_gs(tmp_path, sampler):
    config = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32, sampler=sampler)
    summary = train_headless(config, 200, tmp_path, chunk=100)
    g = np.load(tmp_path / "samples.npy")
    s = np.load(tmp_path / f"samples_{sampler}.npy")
    assert g.shape == s.shape == (2500, 2) and not np.array_equal(g, s)
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    for col in ("modes", "high_quality", f"{sampler}_modes", f"{sampler}_high_quality", f"{sampler}_reverse_kl",
                f"{sampler}_acceptance"):
        assert col in header
    final = summary.final
    assert 0 < final[f"{sampler}_acceptance"] <= 1
    assert final["high_quality"] != final[f"{sampler}_high_quality"]  # scored on different samples
    assert json.loads((tmp_path / "config.json").read_text())["sampler"] == sampler


def test_the_session_shows_which_samples_the_sampler_accepted_and_switches_live():
    s = Session(Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32))
    s.advance(100)
    assert s.snapshot().sampler is None
    new = s.config.replace(sampler="drs")
    assert not Session.needs_restart(s.config, new)
    s.apply_live(new)
    snap = s.snapshot()
    sampled = snap.sampler
    assert sampled.name == "drs" and sampled.accepted.shape == (len(snap.generated),)
    assert 0 < sampled.rate < 1 and sampled.rate == pytest.approx(sampled.accepted.mean())
    s.apply_live(s.config.replace(sampler="mh"))
    assert s.snapshot().sampler.name == "mh" and s.step == 100
