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


def train(trainer, steps: int, observer=None) -> tuple[float, float]:
    """(steps/s, observer seconds) of ``steps`` steps from a fresh state, observer included."""
    state = trainer.init()
    state, m = trainer.run(state, CHUNK)  # compiled, warm
    m["d_loss"].block_until_ready()
    start = time.perf_counter()
    done = 0
    while done < steps:
        t0 = time.perf_counter()
        state, m = trainer.run(state, CHUNK)
        m["d_loss"].block_until_ready()
        if observer is not None:
            observer.on_chunk(ChunkEvent(trainer, state, done + 1, CHUNK, {}, time.perf_counter() - t0))
        done += CHUNK
    return steps / (time.perf_counter() - start), (observer.spent_s if observer else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    trainer = build_trainer(Config.for_model("toy-mlp"))
    state, _ = trainer.run(trainer.init(), 200)
    evaluate(trainer, state)  # compile
    costs = [evaluate(trainer, state).seconds for _ in range(7)]
    print(f"one evaluation (Krylov 24, batch {trainer.config.batch_size}): median {1000 * np.median(costs):.1f} ms "
          f"(min {1000 * min(costs):.1f}, max {1000 * max(costs):.1f})")
    off, on, shares = [], [], []
    for _ in range(args.rounds):
        off.append(train(trainer, args.steps)[0])
        obs = GameSpectrum()
        rate, spent = train(trainer, args.steps, obs)
        on.append(rate)
        shares.append(spent / obs.trained_s)
    print(f"steps/s off: {np.round(off, 0).tolist()}  on: {np.round(on, 0).tolist()}")
    print(f"median on/off: {np.median(on) / np.median(off):.3f}; share of training time spent: "
          f"{100 * np.median(shares):.1f}% (evaluations per run: every 500 steps, budget 10%)")


if __name__ == "__main__":
    main()
