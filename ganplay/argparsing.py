"""The command-line parser every ganplay command uses (``ganplay``, ``train``, ``bench``…):
argparse that reports a usage error as one line plus a hint, never a wall of usage text."""
from __future__ import annotations

import argparse

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors as one line (plus a hint), exiting 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_base_flags(p: argparse.ArgumentParser, dataset_help: str = "dataset name (default: gmm2 for toy models)") -> None:
    """The base settings of a grid of runs (``ganplay sweep``, ``ganplay compare``): the model and
    data, a config file or preset, and ``--set`` overrides; ``--seeds`` replaces ``--seed``."""
    p.add_argument("--model", help="model name (default: toy-mlp)")
    p.add_argument("--dataset", help=dataset_help)
    p.add_argument("--data-dir", help="folder holding the dataset's files")
    p.add_argument("--config", metavar="FILE", help="read the base settings from a config.json")
    p.add_argument("--preset", metavar="NAME", help="start from a named recipe (ganplay presets lists them)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a base setting, e.g. --set hidden=64 (repeatable)")
    p.set_defaults(seed=None)  # seeds come from --seeds; config_from_args reads args.seed
