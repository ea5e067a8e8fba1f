"""The remedies lab's figures: presets against their targets, the grid25 ablation, and the cost
of a penalised step.

    python benchmarks/remedies.py targets  [--seeds 0,1,2] [--presets dcgan28-all-classes]  # presets vs targets
    python benchmarks/remedies.py ablation [--seeds 0,1,2]     # grid25: defaults, each remedy alone, preset
    python benchmarks/remedies.py cost                         # step time with GP / R1 vs a plain step

Mixture metrics are the project's own PacGAN ones on the 2,500 samples of ``samples.npy``
(modes captured, share of high-quality samples, reverse KL); digits are scored by the
evaluation classifier's class histogram over the 1,000 generated images. Each row prints as it
finishes (JSON lines with ``--json``), then a Markdown table of mean ± sd over the seeds.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def run(overrides: dict, model: str, steps: int, seed: int) -> dict:
    from ganplay.config import Config
    from ganplay.engine.runner import train_headless

    config = Config.for_model(model, **{**overrides, "seed": seed})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        summary = train_headless(config, steps, out, quality=True)
        row = {"seed": seed, "seconds": round(time.perf_counter() - t0, 1),
               "train_seconds": round(summary.seconds - summary.quality_seconds, 1)}
        if config.dataset in ("grid25", "ring8", "gmm2"):
            row.update({k: summary.final.get(k) for k in ("modes", "high_quality", "reverse_kl")})
        else:
            row.update(_class_shares(config, Path(out) / "samples.npy"))
    return row


def _class_shares(config, samples_path: Path) -> dict:
    import numpy as np

    from ganplay.data import DATASETS
    from ganplay.engine.evaluator import Evaluator
    from ganplay.models import MODELS

    dataset = DATASETS.get(config.dataset).load(config, MODELS.get(config.model).image_size)
    evaluator = Evaluator.for_dataset(dataset)
    probs = evaluator.predict(np.load(samples_path))
    shares = np.bincount(probs.argmax(axis=1), minlength=10) / len(probs)
    return {"min_class_share": round(float(shares.min()), 4), "class_shares": [round(float(s), 3) for s in shares]}


def _preset(name: str) -> tuple[dict, str, int]:
    from ganplay.presets import PRESETS

    p = PRESETS.get(name)
    settings = p.settings()
    if settings.get("dataset") == "mnist":
        settings["data_dir"] = str(MNIST)
    return settings, p.model, p.steps


def _summarise(label: str, rows: list[dict], keys: tuple[str, ...]) -> str:
    cells = []
    for k in keys:
        values = [r[k] for r in rows if r.get(k) is not None]
        if not values:
            cells.append("—")
            continue
        mean = statistics.fmean(values)
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        cells.append(f"{mean:.3g} ± {sd:.2g}")
    return f"| {label} | " + " | ".join(cells) + " |"


TARGETS = {"grid25-solved": ("modes", "high_quality", "reverse_kl", "train_seconds"),
           "ring8-solved": ("modes", "high_quality", "reverse_kl", "train_seconds"),
           "digits-all-classes": ("min_class_share", "train_seconds"),
           "dcgan28-all-classes": ("min_class_share", "train_seconds")}


def targets(seeds: list[int], emit, names=tuple(TARGETS)) -> list[str]:
    lines = []
    for name in names:
        keys = TARGETS[name]
        settings, model, steps = _preset(name)
        rows = []
        for seed in seeds:
            row = {"preset": name, **run(settings, model, steps, seed)}
            emit(row)
            rows.append(row)
        lines.append(f"| {name} | " + " | ".join(k for k in keys) + " |")
        lines.append(_summarise(name, rows, keys))
    return lines


ABLATION = {  # grid25, 20,000 steps: the defaults, each part of the preset alone, the preset
    "defaults": {},
    "R1 γ 0.1 alone": {"r1_weight": 0.1},
    "EMA 0.999 alone": {"ema_decay": 0.999},
    "linear lr decay alone": {"lr_schedule": "linear"},
    "G 4x256, D 128 alone": {"g_depth": 4, "hidden": 256, "d_hidden": 128},
    "pack 2 alone": {"pack": 2},
}


def ablation(seeds: list[int], emit) -> list[str]:
    settings, model, steps = _preset("grid25-solved")
    cases = {**ABLATION, "grid25-solved preset": {k: v for k, v in settings.items() if k != "dataset"}}
    keys = ("modes", "high_quality", "reverse_kl", "train_seconds")
    lines = ["| grid25, 20,000 steps | modes (of 25) | high quality | reverse KL | training s |",
             "|---|---|---|---|---|"]
    for label, over in cases.items():
        rows = []
        for seed in seeds:
            row = {"case": label, **run({"dataset": "grid25", **over}, model, steps, seed)}
            emit(row)
            rows.append(row)
        lines.append(_summarise(label, rows, keys))
    return lines


def cost(emit, steps: int = 2000, rounds: int = 5) -> list[str]:
    """Seconds per step of a plain step and of one with each penalty, in interleaved rounds."""
    import jax

    from ganplay.config import Config
    from ganplay.engine.train import build_trainer

    cases = {"plain": {}, "gp": {"gp_weight": 10.0}, "r1": {"r1_weight": 1.0}}
    trainers = {}
    for name, over in cases.items():
        t = build_trainer(Config.for_model("toy-mlp", dataset="grid25", **over))
        s = t.init()
        s, _ = t.run(s, 200)  # compile
        jax.block_until_ready(s)
        trainers[name] = (t, s)
    times = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (t, s) in trainers.items():
            t0 = time.perf_counter()
            for _ in range(steps // 200):
                s, m = t.run(s, 200)
            jax.block_until_ready(m)
            times[name].append((time.perf_counter() - t0) / steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    emit({k: round(v * 1e3, 4) for k, v in med.items()} | {"unit": "ms/step"})
    return [f"| {k} | {med[k] * 1e3:.3f} ms | {med[k] / med['plain']:.2f}x |" for k in cases]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("targets", "ablation", "cost"))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--presets", default=",".join(TARGETS), help="targets: which presets, comma-separated")
    p.add_argument("--json", action="store_true", help="print each row as a JSON line")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]

    def emit(row):
        print(json.dumps(row) if args.json else row, flush=True)

    lines = {"targets": lambda: targets(seeds, emit, args.presets.split(",")), "ablation": lambda: ablation(seeds, emit),
             "cost": lambda: cost(emit)}[args.what]()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
