"""Presets: every recipe validates, the CLI starts from one, --set overrides it, and a wrong name
lists the right ones."""
import json

import pytest

from ganplay import cli
from ganplay.config import Config
from ganplay.presets import PRESETS


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_preset_validates_and_says_what_it_shows(name):
    preset = PRESETS.get(name)
    config = Config.for_model(preset.model, **preset.settings())
    assert config.model == preset.model
    assert preset.shows.endswith(".") and len(preset.shows) > 40


def test_an_unknown_preset_lists_the_known_ones(capsys, tmp_path):
    assert cli.main(["train", "--preset", "grid52-solved", "--steps", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganplay: error: unknown preset 'grid52-solved'; choose one of:")
    assert all(name in err for name in PRESETS.names())


def test_train_starts_from_the_preset_and_set_overrides_it(capsys, tmp_path):
    code = cli.main(["train", "--preset", "lsgan", "--steps", "3", "--out", str(tmp_path), "--quiet",
                     "--no-quality", "--set", "hidden=16", "--set", "batch_size=32", "--set", "lr_g=5e-4"])
    assert code == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["loss"] == "lsgan" and saved["dataset"] == "ring8"  # from the preset
    assert saved["hidden"] == 16 and saved["lr_g"] == 5e-4  # --set wins


def test_presets_command_lists_each_with_a_command_line(capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in PRESETS.names():
        assert f"{name}: {PRESETS.get(name).shows}" in out
    assert "--model toy-mlp --dataset grid25 --set r1_weight=0.1" in out


def test_preset_and_config_together_are_refused(capsys, tmp_path):
    (tmp_path / "c.json").write_text(Config().to_json())
    assert cli.main(["train", "--preset", "lsgan", "--config", str(tmp_path / "c.json"), "--steps", "1",
                     "--out", str(tmp_path / "o")]) == 1
    assert "give --preset or --config, not both" in capsys.readouterr().err
