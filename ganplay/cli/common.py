"""What every command that builds runs shares: the run flags and how they become a Config
(model defaults < --preset or --config < flags < --set)."""
from __future__ import annotations

import argparse

from ganplay.errors import GanplayError


def add_run_options(p: argparse.ArgumentParser, *, gui: bool) -> None:
    p.add_argument("--model", help="model name (default: toy-mlp)")
    p.add_argument("--dataset", help="dataset name (default: gmm2 for toy models)")
    p.add_argument("--seed", type=int, help="random seed (same seed, same run)")
    p.add_argument("--data-dir", help="folder holding the dataset's files")
    p.add_argument("--config", metavar="FILE", help="read settings from a config.json")
    p.add_argument("--preset", metavar="NAME", help="start from a named recipe (ganplay presets lists them); "
                   "--model, --dataset, --seed and --set override it")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting, e.g. --set lr_g=1e-3 (repeatable)")
    p.add_argument("--steps", type=int, help="steps to train" + (" before pausing" if gui else ""))


def config_from_args(args):
    """Build a validated Config from CLI arguments (model defaults < --config < flags < --set)."""
    from ganplay.config import Config

    values: dict = {}
    preset = getattr(args, "preset", None)
    if preset:
        if args.config:
            raise GanplayError("give --preset or --config, not both")
        from ganplay.presets import PRESETS

        values.update(PRESETS.get(preset).overrides)
    if args.config:
        from ganplay.config import load_config

        values.update(load_config(args.config).to_dict())  # its errors name the file
    for key, flag in (("model", args.model), ("dataset", args.dataset), ("seed", args.seed),
                      ("data_dir", args.data_dir)):
        if flag is not None:
            values[key] = flag
    model = values.pop("model", "toy-mlp")
    if not args.config and "dataset" not in values:
        values["dataset"] = _default_dataset(model)
    elif preset and args.model and args.dataset is None and model != PRESETS.get(preset).model:
        values["dataset"] = _default_dataset(model)  # another model than the preset's: its data
    config = Config.for_model(model, **values) if not args.config else Config.from_dict({**values, "model": model})
    return config.with_overrides(args.sets) if args.sets else config


def _default_dataset(model: str) -> str:
    from ganplay.models import MODELS

    return "gmm2" if "points" in MODELS.get(model).kinds else "mnist"
