"""The sampling-time remedies' figures: G's own samples beside DRS's and MH-GAN's, per seed.

    python benchmarks/samplers.py --preset grid25-solved --seeds 0,1,2 [--runs DIR] [--steps N]

Each seed is trained headless into ``DIR/seed<N>`` (kept, so a second call only samples; without
``--runs`` a temporary folder), then G's 2,500 samples on the run's fixed noise (``samples.npy``)
and 2,500 samples of each sampler (``engine/samplers.py``, seeded by the run's seed) are scored
with the PacGAN protocol (modes, high quality within 3 sd, reverse KL). One JSON line per seed
and sampler, then a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KEYS = ("modes", "high_quality", "reverse_kl")


def trained(preset: str, seed: int, steps: int | None, folder: Path, overrides: list[str] | None = None):
    """The run in ``folder`` (trained there first when it has no run.npz)."""
    from ganplay.config import Config
    from ganplay.engine.checkpoint import load_run
    from ganplay.engine.runner import train_headless
    from ganplay.presets import PRESETS

    if not (folder / "run.npz").exists():
        p = PRESETS.get(preset)
        config = Config.for_model(p.model, **{**p.settings(), "seed": seed})
        if overrides:
            config = config.with_overrides(overrides)
        train_headless(config, steps or p.steps, folder, quality=False)
    config, trainer, state, _ = load_run(folder / "run.npz")
    return config, trainer, state


def rows_for(preset: str, seed: int, steps: int | None, folder: Path, overrides: list[str] | None = None) -> list[dict]:
    import numpy as np

    from ganplay.engine import samplers
    from ganplay.engine.quality import QualityMonitor
    from ganplay.engine.scorers import generate_samples

    _, trainer, state = trained(preset, seed, steps, folder, overrides)
    monitor = QualityMonitor(trainer)
    g = generate_samples(trainer, state)
    rows = [{"seed": seed, "step": int(state.step), "sampler": "G", **pick(monitor.metrics_of(g))}]
    for name in ("drs", "mh"):
        t0 = time.perf_counter()
        drawn = samplers.sample(name, trainer, state, len(g), seed)
        np.save(folder / f"samples_{name}.npy", drawn.samples)
        rows.append({"seed": seed, "step": int(state.step), "sampler": name, "acceptance": round(drawn.rate, 4),
                     "seconds": round(time.perf_counter() - t0, 1), **pick(monitor.metrics_of(drawn.samples))})
    return rows


def pick(cells: dict) -> dict:
    return {k: (round(cells[k], 4) if k != "modes" else int(cells[k])) for k in KEYS}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="grid25-solved")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    ap.add_argument("--runs", default=None, help="keep the trained runs here (and reuse them)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a setting of the preset (repeatable), as ganplay train --set")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.runs or tmp)
        for seed in (int(s) for s in args.seeds.split(",")):
            for row in rows_for(args.preset, seed, args.steps, base / f"seed{seed}", args.set):
                print(json.dumps(row), flush=True)
                rows.append(row)
    print("\n| seed | samples | modes | high quality | reverse KL | accepted |\n|---|---|---|---|---|---|")
    for r in rows:
        acc = f"{100 * r['acceptance']:.1f}%" if "acceptance" in r else "—"
        print(f"| {r['seed']} | {r['sampler']} | {r['modes']} | {100 * r['high_quality']:.1f}% | "
              f"{r['reverse_kl']:.4f} | {acc} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
