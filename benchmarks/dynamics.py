"""The dynamics lab's cost: the game's eigenvalues (``engine/spectrum.py``) on toy-mlp.

    PYTHONPATH=. python benchmarks/dynamics.py [--rounds 4] [--steps 3000]

Prints the cost of one evaluation (median of 7, compiled), and steps/s of the same training with
the observer off and on (its default schedule: every 500 steps, at most 10% of training time),
interleaved rounds in one process so machine load hits both alike, and the share of training
time the observer spent.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from ganplay.config import Config
from ganplay.engine import build_trainer
from ganplay.engine.observers import ChunkEvent
from ganplay.engine.spectrum import GameSpectrum, evaluate

CHUNK = 100


def train(trainer, steps: int, observer=None) -> tuple[float, float, float]:
    """(steps/s, steps per CPU second of this process, observer seconds) of ``steps`` steps from
    a fresh state, observer included. CPU time is the steadier figure on a shared machine."""
    state = trainer.init()
    state, m = trainer.run(state, CHUNK)  # compiled, warm
    m["d_loss"].block_until_ready()
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < steps:
        t0 = time.perf_counter()
        state, m = trainer.run(state, CHUNK)
        m["d_loss"].block_until_ready()
        if observer is not None:
            observer.on_chunk(ChunkEvent(trainer, state, done + 1, CHUNK, {}, time.perf_counter() - t0))
        done += CHUNK
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return steps / wall, steps / cpu, (observer.spent_s if observer else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    trainer = build_trainer(Config.for_model("toy-mlp"))
    state, _ = trainer.run(trainer.init(), 200)
    print(f"compiling the evaluation: {evaluate(trainer, state).compile_seconds:.1f} s (with its first run)")
    costs = [evaluate(trainer, state).seconds for _ in range(7)]
    print(f"one evaluation (Krylov 24, batch {trainer.config.batch_size}): median {1000 * np.median(costs):.1f} ms "
          f"(min {1000 * min(costs):.1f}, max {1000 * max(costs):.1f})")
    ratios = []  # one evaluation against a chunk of training steps, interleaved
    for _ in range(7):
        t0 = time.perf_counter()
        state, m = trainer.run(state, CHUNK)
        m["d_loss"].block_until_ready()
        step_s = (time.perf_counter() - t0) / CHUNK
        ratios.append(evaluate(trainer, state).seconds / step_s)
    print(f"one evaluation costs as much as {np.median(ratios):.0f} training steps (median of 7, interleaved)")
    off, on, off_cpu, on_cpu, shares = [], [], [], [], []
    for _ in range(args.rounds):
        rate, per_cpu, _ = train(trainer, args.steps)
        off.append(rate)
        off_cpu.append(per_cpu)
        obs = GameSpectrum()
        rate, per_cpu, spent = train(trainer, args.steps, obs)
        on.append(rate)
        on_cpu.append(per_cpu)
        shares.append(spent / obs.trained_s)
    print(f"steps/s off: {np.round(off, 0).tolist()}  on: {np.round(on, 0).tolist()}")
    print(f"median on/off: wall {np.median(on) / np.median(off):.3f}, CPU {np.median(on_cpu) / np.median(off_cpu):.3f}; "
          f"share of training time spent: {100 * np.median(shares):.1f}% (every 500 steps, budget 10%)")


if __name__ == "__main__":
    main()
