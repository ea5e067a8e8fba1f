"""Semi-supervised GAN test accuracy against time, beside a supervised-only baseline.

    python benchmarks/sgan_accuracy.py [--minutes 9] [--steps N] [--eval-every 500]
                                       [--data-dir DIR] [--preset NAME] [--seed S]
                                       [--set key=value ...] [--json out.json]

Trains ``sgan-mlp`` (its defaults: 10 labels per class, i.e. 100 labels) on MNIST for a
wall-clock budget that counts everything from loading the data on (compiles included), and
evaluates D's test accuracy every ``--eval-every`` steps, until ``--steps`` (when given) or the
budget, whichever comes first. ``--preset`` starts from a named recipe (``ganplay presets``). With only the offline 10,000-image
MNIST test set present, that is the fixed 8,000-train / 2,000-test split. Then the
:class:`~ganplay.engine.sgan.SupervisedBaseline` (the same D trained on the same labelled images
alone) runs the same number of steps and is evaluated at the same steps; its time is reported
separately and does not count against the budget.

Prints one row per evaluation (step, seconds, SGAN test accuracy, baseline test accuracy) and
the machine's load averages, and writes the figures as JSON. On a machine shared with other jobs
the seconds are pessimistic: compare runs only at similar load.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax

from ganplay.config import Config
from ganplay.engine.compile_cache import enable_compilation_cache
from ganplay.engine.sgan import SganTrainer, SupervisedBaseline
from ganplay.engine.train import fetch_metrics
from ganplay.errors import GanplayError
from ganplay.presets import PRESETS

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="sgan-mlp")
    p.add_argument("--minutes", type=float, default=9.0, help="wall-clock budget of the SGAN run")
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: the budget alone)")
    p.add_argument("--eval-every", type=int, default=500, help="steps between test evaluations")
    p.add_argument("--preset", default="", help="start from this preset (its model and settings)")
    p.add_argument("--seed", type=int, default=None, help="the run's seed (its label budget too)")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA) if DEFAULT_DATA.exists() else "")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override (repeatable), e.g. --set labels_per_class=10")
    p.add_argument("--target", type=float, default=0.93, help="accuracy whose first time is reported")
    p.add_argument("--json", default="sgan_accuracy.json", help="where to write the figures")
    p.add_argument("--no-baseline", action="store_true")
    args = p.parse_args(argv)
    enable_compilation_cache()

    budget = 60.0 * args.minutes
    load_start = os.getloadavg()
    start = time.perf_counter()
    if args.preset:
        preset = PRESETS.get(args.preset)
        config = Config.for_model(preset.model, **{"dataset": "mnist", **preset.settings(),
                                                   "data_dir": args.data_dir})
    else:
        config = Config.for_model(args.model, dataset="mnist", data_dir=args.data_dir)
    if args.seed is not None:
        config = config.replace(seed=args.seed)
    config = config.with_overrides(args.set)
    trainer = SganTrainer(config)
    print(trainer.dataset.split_note, file=sys.stderr)
    print(trainer.label_note, file=sys.stderr)
    state = trainer.init()
    rows: list[dict] = []
    chunk = args.eval_every
    last_chunk_s = 0.0
    while True:
        t0 = time.perf_counter()
        if args.steps:
            chunk = min(args.eval_every, args.steps - int(state.step))
        state, metrics = trainer.run(state, chunk)
        m = fetch_metrics(metrics)  # waits for the chunk
        if m["fault"].any():
            print(f"step {int(state.step):,}: training diverged", file=sys.stderr)
            break
        acc, _ = trainer.test_accuracy(state)
        now = time.perf_counter() - start
        last_chunk_s = time.perf_counter() - t0
        rows.append({"step": int(state.step), "seconds": round(now, 1), "sgan_acc": acc,
                     "train_acc": float(m["train_acc"].mean()), "sup_loss": float(m["sup_loss"].mean())})
        print(f"step {rows[-1]['step']:6,}  {now:6.1f} s  test acc {acc:.4f}  "
              f"(labelled-batch acc {rows[-1]['train_acc']:.3f}, d_real {m['d_real'].mean():.2f}, "
              f"d_fake {m['d_fake'].mean():.2f}, g_loss {m['g_loss'].mean():.3f})", file=sys.stderr)
        if now + last_chunk_s > budget or (args.steps and rows[-1]["step"] >= args.steps):
            break
    sgan_seconds = time.perf_counter() - start
    load_end = os.getloadavg()

    baseline_seconds = None
    if not args.no_baseline:
        t0 = time.perf_counter()
        baseline = SupervisedBaseline(trainer)
        bstate = baseline.init()
        done = 0
        for row in rows:
            bstate, _ = baseline.run(bstate, row["step"] - done)
            done = row["step"]
            row["baseline_acc"], _ = baseline.test_accuracy(bstate)
        jax.block_until_ready(bstate)
        baseline_seconds = time.perf_counter() - t0

    first = next((r for r in rows if r["sgan_acc"] >= args.target), None)
    print(f"\n{trainer.label_note}")
    print(f"{'step':>7} {'seconds':>8} {'sgan acc':>9} {'baseline acc':>13}")
    for r in rows:
        base = f"{r['baseline_acc']:.4f}" if "baseline_acc" in r else "-"
        print(f"{r['step']:7,} {r['seconds']:8.1f} {r['sgan_acc']:9.4f} {base:>13}")
    print(f"SGAN: {sgan_seconds:.0f} s in all (data, compiles, training, evaluations); "
          f"final test accuracy {rows[-1]['sgan_acc']:.4f}, best {max(r['sgan_acc'] for r in rows):.4f}")
    if first:
        print(f"first reached {args.target:.0%} at step {first['step']:,}, {first['seconds']:.0f} s")
    else:
        print(f"did not reach {args.target:.0%}")
    if baseline_seconds is not None:
        print(f"supervised-only baseline: {baseline_seconds:.0f} s for {rows[-1]['step']:,} steps; "
              f"final test accuracy {rows[-1]['baseline_acc']:.4f}")
    print(f"load average (1, 5, 15 min) at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"after the SGAN run {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; "
          f"{os.cpu_count()} CPUs; JAX on {jax.default_backend()}")
    Path(args.json).write_text(json.dumps({
        "config": config.to_dict(), "label_note": trainer.label_note,
        "split_note": trainer.dataset.split_note, "budget_s": budget, "sgan_seconds": sgan_seconds,
        "baseline_seconds": baseline_seconds, "target": args.target,
        "first_target": first, "rows": rows, "load_start": load_start, "load_end": load_end,
        "cpus": os.cpu_count(), "backend": jax.default_backend(),
    }, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except GanplayError as exc:
        print(f"sgan_accuracy: error: {exc}", file=sys.stderr)
        sys.exit(1)
