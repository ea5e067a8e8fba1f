"""The ``ganplay train …`` line that reproduces a config (the window's Edit ▸ Copy as command).

Qt-free, so the window, notebooks and tests share it. The line names the model, dataset and seed,
then one ``--set key=value`` for every setting that differs from what ``ganplay train`` would build
from those three alone; ``ganplay.cli.config_from_args`` turns it back into an equal Config.
"""
from __future__ import annotations

import shlex

from ganplay.config import Config
from ganplay.formatting import format_value

PROGRAM = "ganplay train"


def command_for(config: Config, *, steps: int | None = None, out: str | None = None) -> str:
    """``ganplay train --model … --dataset … --seed … [--set k=v …] [--steps N] [--out DIR]``,
    shell-quoted. ``ganplay train`` needs ``--steps`` and ``--out``: pass them to get a line
    that runs as it is (the window passes its step count and a folder name)."""
    words = ["--model", config.model, "--dataset", config.dataset, "--seed", str(config.seed)]
    if config.data_dir:
        words += ["--data-dir", config.data_dir]
    base = Config.for_model(config.model, dataset=config.dataset, seed=config.seed, data_dir=config.data_dir)
    for name, value in config.to_dict().items():
        if value != getattr(base, name):
            words += ["--set", f"{name}={format_value(value)}"]
    if steps is not None:
        words += ["--steps", str(int(steps))]
    if out is not None:
        words += ["--out", str(out)]
    return PROGRAM + " " + shlex.join(words)
