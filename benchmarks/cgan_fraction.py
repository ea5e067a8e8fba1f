"""How often a conditional GAN draws the class it was asked for: cgan-mlp on MNIST (issue 4's
"done when": at least 90% of generated digits classified as their intended class).

    python benchmarks/cgan_fraction.py [--dataset mnist] [--steps 5000] [--seconds 0]
        [--per-class 100] [--eval-every 1000] [--out cgan-grid.png] [--set key=value ...]

Trains ``cgan-mlp`` (its registered defaults, then ``--set`` overrides) for ``--steps`` steps,
or until ``--seconds`` of training when that is above 0, then generates ``--per-class`` images
of every class and asks ganplay's evaluation classifier (trained once per dataset and cached,
see :mod:`ganplay.engine.evaluator`) which class each one shows. Prints the fraction classified
as intended, overall and per class, with the classifier's own test accuracy, and writes a grid
PNG to ``--out``: one row per class, the same noise down each column.

The data comes from ganplay's usual search (``--set data_dir=...``; the offline MNIST copy in
``../shared/data/mnist`` is found by default when it exists). Timings include no compilation.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

from ganplay.config import Config
from ganplay.engine.checkpoint import atomic_write_bytes
from ganplay.engine.compile_cache import enable_compilation_cache
from ganplay.engine.evaluator import Evaluator
from ganplay.report.images import grid_png_bytes
from ganplay.engine.train import build_trainer, fetch_metrics, find_fault
from ganplay.errors import GanplayError

OFFLINE_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
CHUNK = 250  # steps per dispatch


def intended_fractions(trainer, state, evaluator, per_class: int, seed: int = 1):
    """(overall fraction, per-class fractions [K]) over ``per_class`` samples of every class."""
    k = trainer.n_classes
    labels = np.repeat(np.arange(k, dtype=np.int32), per_class)
    z = trainer.noise(jax.random.PRNGKey(seed), len(labels))
    images = np.asarray(trainer.generate(state, z, labels))
    predicted = evaluator.predict(images).argmax(axis=1)
    hits = predicted == labels
    return float(hits.mean()), hits.reshape(k, per_class).mean(axis=1)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="mnist", choices=("mnist", "fashion-mnist"))
    p.add_argument("--model", default="cgan-mlp")
    p.add_argument("--steps", type=int, default=5000, help="training steps (G updates)")
    p.add_argument("--seconds", type=float, default=0.0, help="train for this long instead (0: off)")
    p.add_argument("--per-class", type=int, default=100, help="generated images per class")
    p.add_argument("--eval-every", type=int, default=0, help="also report the fraction every N steps")
    p.add_argument("--out", default="cgan-grid.png", help="the class grid PNG")
    p.add_argument("--columns", type=int, default=10, help="columns of the class grid")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    enable_compilation_cache()

    overrides = {"dataset": args.dataset}
    if args.dataset == "mnist" and OFFLINE_MNIST.exists():
        overrides["data_dir"] = str(OFFLINE_MNIST)
    config = Config.for_model(args.model, **overrides).with_overrides(args.sets)
    trainer = build_trainer(config)
    print(f"{config.model} on {config.dataset}: {len(trainer.dataset):,} images, "
          f"{trainer.n_classes} classes; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("config: " + ", ".join(f"{k}={v}" for k, v in config.to_dict().items()
                                 if k in ("z_dim", "hidden", "batch_size", "lr_g", "lr_d", "beta1",
                                          "label_smoothing", "loss", "d_steps", "seed")))

    start = time.perf_counter()
    evaluator = Evaluator.for_dataset(trainer.dataset)
    print(f"evaluation classifier: test accuracy {evaluator.test_accuracy:.4f} "
          f"({'trained' if evaluator.trained else 'cached'}, {time.perf_counter() - start:.1f} s); "
          f"{evaluator.split.note}")

    state = trainer.init()
    # compile outside the timing (the results are discarded): the chunk, and a shorter last one
    for k in {CHUNK, args.steps % CHUNK if args.seconds <= 0 else 0} - {0}:
        jax.block_until_ready(trainer.run(state, k))
    done, train_seconds = 0, 0.0
    while (train_seconds < args.seconds) if args.seconds > 0 else (done < args.steps):
        k = CHUNK if args.seconds > 0 else min(CHUNK, args.steps - done)
        t0 = time.perf_counter()
        state, metrics = trainer.run(state, k)
        host = fetch_metrics(metrics)
        train_seconds += time.perf_counter() - t0
        fault = find_fault(host, done + 1)
        if fault is not None:
            raise GanplayError(f"training diverged at step {fault[0]:,} ({fault[1]}'s {fault[2]})")
        done += k
        if args.eval_every and done % args.eval_every < k:
            frac, _ = intended_fractions(trainer, state, evaluator, args.per_class)
            print(f"  step {done:6,}  {train_seconds:6.1f} s  d_loss {host['d_loss'].mean():.3f}  "
                  f"g_loss {host['g_loss'].mean():.3f}  intended-class fraction {frac:.3f}", flush=True)

    frac, per_class = intended_fractions(trainer, state, evaluator, args.per_class)
    print(f"trained {done:,} steps in {train_seconds:.1f} s ({done / train_seconds:,.0f} steps/s); "
          f"load average now {os.getloadavg()[0]:.2f}")
    print(f"intended-class fraction: {frac:.4f} of {args.per_class * trainer.n_classes:,} generated "
          f"images (classifier test accuracy {evaluator.test_accuracy:.4f})")
    print("per class: " + "  ".join(f"{c}: {f:.2f}" for c, f in enumerate(per_class)))

    images, _ = trainer.class_grid(state, args.columns)
    atomic_write_bytes(Path(args.out), grid_png_bytes(images, cols=args.columns, scale=2))
    print(f"class grid (row r = class r, one noise per column): {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except GanplayError as exc:
        print(f"cgan_fraction: error: {exc}", file=sys.stderr)
        sys.exit(1)
