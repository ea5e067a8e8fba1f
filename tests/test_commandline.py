"""Edit ▸ Copy as command and File ▸ Save config…: the line and the file give back the same run."""
import shlex

import pytest

from ganplay.cli import build_train_parser, config_from_args, main
from ganplay.commandline import command_for
from ganplay.config import Config, load_config, save_config
from ganplay.errors import ConfigError


def parse_back(line: str) -> Config:
    """The Config ``ganplay train`` builds from ``line`` (through the real parser)."""
    words = shlex.split(line)
    assert words[:2] == ["ganplay", "train"]
    return config_from_args(build_train_parser().parse_args(words[2:]))


CONFIGS = [
    Config.for_model("toy-mlp"),
    Config.for_model("toy-mlp", dataset="ring8", seed=41, hidden=32, lr_g=2e-4, lr_d=3.3e-5,
                     loss="hinge", label_smoothing=0.0),
    # The mixture editor's lists, with weights that do not sum to 1 and awkward floats.
    Config.for_model("toy-mlp", gmm_weights=(0.2, 0.3, 0.5), gmm_means=((-1.5, 0.1), (0.0, 2.0), (3.25, -1e-3)),
                     gmm_cov=((0.01, 0.2), (1.0, 1.0), (0.1 + 0.2, 0.05))),
    # The remedies lab: penalties, EMA, packing, optimizers, schedules, the toy networks' shape.
    Config.for_model("toy-mlp", loss="wgan", gp_weight=10.0, r1_weight=0.5, instance_noise=0.1,
                     instance_noise_steps=500, ema_decay=0.999, ema_view=False, pack=2, g_steps=2,
                     opt_g="optimistic_adam", opt_d="rmsprop", lr_schedule="cosine", schedule_steps=777,
                     g_depth=3, d_depth=1, d_hidden=64, spectral_norm=True, minibatch_std=True),
    Config.for_model("dcgan28", dataset="fashion-mnist", smooth_g_target=False, width=0.5),
    Config.for_model("sgan-mlp", dataset="mnist", labels_per_class=20, sgan_head="k+1", data_dir="/data/my mnist"),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.model}-{c.dataset}")
def test_the_copied_command_builds_an_equal_config(config):
    line = command_for(config, steps=500, out="runs/a b")
    assert parse_back(line) == config
    args = build_train_parser().parse_args(shlex.split(line)[2:])
    assert (args.steps, args.out) == (500, "runs/a b")


def test_only_changed_settings_are_spelled_out():
    assert command_for(Config.for_model("toy-mlp")) == "ganplay train --model toy-mlp --dataset gmm2 --seed 0"
    line = command_for(Config.for_model("toy-mlp", lr_g=2e-4, gmm_weights=(0.25, 0.75)))
    assert line.count("--set") == 2
    assert "--set lr_g=0.0002" in line and "'gmm_weights=[0.25,0.75]'" in line


def test_the_copied_command_trains(tmp_path):
    config = Config.for_model("toy-mlp", hidden=16, batch_size=32, seed=5, gmm_weights=(0.9, 0.1))
    words = shlex.split(command_for(config, steps=3, out=str(tmp_path / "run")))
    assert main([*words[1:], "--quiet"]) == 0
    assert load_config(tmp_path / "run" / "config.json") == config


def test_a_saved_config_loads_back_through_the_cli(tmp_path):
    config = CONFIGS[3]
    path = tmp_path / "sub" / "exp.json"
    save_config(config, path)
    assert load_config(path) == config
    assert config_from_args(build_train_parser().parse_args(["--config", str(path)])) == config
    assert not [p for p in path.parent.iterdir() if p.name != "exp.json"]  # no temporary file left


@pytest.mark.parametrize("text, says", [
    ("{not json", "not valid JSON"),
    ('{"lr_g": -1}', "lr_g=-1.0 is out of range"),
    ('{"gmm_weights": [0.5], "gmm_means": [[0, 0], [1, 1]]}', "gmm_means must list 1 pairs"),
    ('[1, 2]', "must be an object"),
    ('{"lr_gg": 1}', "unknown setting 'lr_gg'"),
])
def test_a_corrupt_config_file_is_one_line_naming_it(tmp_path, text, says):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and says in message and "\n" not in message


def test_a_missing_config_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read config .*nope\.json: No such file"):
        load_config(tmp_path / "nope.json")
