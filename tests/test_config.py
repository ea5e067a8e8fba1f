"""Configuration: defaults per model, validation messages, --set parsing, fuzzing."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from ganplay.config import Config
from ganplay.errors import ConfigError


def test_toy_defaults_and_seed_network():
    c = Config.for_model("toy-mlp")
    assert (c.model, c.dataset, c.hidden, c.noise) == ("toy-mlp", "gmm2", 128, "normal")


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("lr_g", -1.0, "lr_g=-1.0 is out of range; allowed: (0, 1]"),
        ("label_smoothing", 0.7, "label_smoothing=0.7 is out of range; allowed: [0, 0.5]"),
        ("noise", "cauchy", "noise='cauchy' is not allowed; choose one of: normal, uniform"),
        ("loss", "wgan-gp", "loss='wgan-gp' is not allowed; choose one of: ns, minimax, lsgan, hinge, wgan, rsgan, ragan"),
        ("batch_size", 1, "batch_size=1 is out of range; allowed: [2, 8192]"),
        ("model", "nope", "model='nope' is not allowed; choose one of: "),
        ("dataset", "cifar", "dataset='cifar' is not allowed"),
    ],
)
def test_validation_names_field_value_and_allowed(field, value, expected):
    with pytest.raises(ConfigError) as err:
        Config(**{field: value})
    assert expected in str(err.value)


def test_set_parses_by_field_type():
    c = Config().with_overrides(["z_dim=16", "lr_g=3e-4", "noise=uniform", "smooth_g_target=true",
                                 "gmm_means=[[0,0],[2,2]]"])
    assert (c.z_dim, c.lr_g, c.noise, c.smooth_g_target) == (16, 3e-4, "uniform", True)
    assert c.gmm_means == ((0.0, 0.0), (2.0, 2.0))


@pytest.mark.parametrize(
    "item, message",
    [
        ("z_dim=abc", "z_dim='abc' is not a valid whole number"),
        ("z_dim=2.5", "z_dim='2.5' is not a valid whole number"),
        ("lr_g=fast", "lr_g='fast' is not a valid number"),
        ("colour=red", "unknown setting 'colour'"),
        ("lr_g", "--set expects key=value"),
        ("gmm_means=[[0,0]]", "gmm_means must list 2 pairs"),
        ("gmm_cov=[[0.1,0.1],[0,-1]]", "gmm_cov="),
    ],
)
def test_bad_set_values_give_clear_errors(item, message):
    with pytest.raises(ConfigError) as err:
        Config().with_overrides([item])
    assert message in str(err.value)


def test_json_round_trip_and_unknown_keys():
    c = Config.for_model("toy-mlp", dataset="ring8", seed=7)
    assert Config.from_json(c.to_json()) == c
    with pytest.raises(ConfigError, match="unknown setting 'bogus'"):
        Config.from_json(json.dumps({**c.to_dict(), "bogus": 1}))
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_json("{nope")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Config().to_dict()) + ["zz"]), st.text(max_size=12)), max_size=4))
def test_fuzzed_set_values_only_raise_config_errors(pairs):
    items = [f"{k}={v}" for k, v in pairs]
    try:
        c = Config().with_overrides(items)
    except ConfigError as exc:
        assert str(exc)
    else:
        assert isinstance(c, Config)
