"""What the quality-metric schedule costs headless training: toy-mlp on ring8, steps/s with and
without it, in interleaved rounds (so machine load drifts hit both alike).

    python benchmarks/metric_cost.py [--steps 10000] [--rounds 3]

On a shared or busy machine the rates drift by more than the cost measured; the second figure
printed, the share of each run's time spent evaluating (timed inside the run), does not.

Both arms run ``train_headless`` end to end (compile, training, checkpoint excluded from the
rate as the runner measures it); with the schedule on, the last step's evaluation is included.
The schedule's target is at most 4% of the training time, so the ratio should be >= ~0.96.
Last, one call of each 2-D metric, in training steps at the measured rate.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from ganplay.config import Config
from ganplay.engine.compile_cache import enable_compilation_cache
from ganplay.engine.runner import train_headless


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10_000, help="training steps per run")
    p.add_argument("--rounds", type=int, default=3, help="runs per arm, interleaved")
    args = p.parse_args(argv)
    enable_compilation_cache()
    config = Config.for_model("toy-mlp", dataset="ring8")
    rates: dict[bool, list[float]] = {True: [], False: []}
    shares: list[float] = []  # the monitor's own accounting: quality seconds / run seconds
    with tempfile.TemporaryDirectory() as tmp:
        # A warm-up run of each arm fills the compilation cache, so no round pays a fresh compile.
        for quality in (True, False):
            train_headless(config, 400, Path(tmp) / f"warm-{quality}", quality=quality)
        for r in range(args.rounds):
            for quality in ((True, False) if r % 2 == 0 else (False, True)):
                summary = train_headless(config, args.steps, Path(tmp) / f"{r}-{quality}", quality=quality)
                rates[quality].append(summary.steps_per_s)
                if quality:
                    shares.append(summary.quality_seconds / summary.seconds)
                print(f"round {r + 1}: quality {'on ' if quality else 'off'} {summary.steps_per_s:8,.0f} steps/s",
                      flush=True)
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    print(f"median steps/s: with quality schedule {on:,.0f}, without {off:,.0f}; ratio {on / off:.3f} "
          f"({100 * (1 - on / off):.1f}% slower)")
    print(f"time spent evaluating quality (incl. one-off setup), per run: "
          f"{', '.join(f'{100 * x:.1f}%' for x in shares)}")
    # One call of each 2-D metric (2,500 samples), best of 10, counted in training steps at the
    # rate measured above: the tests used to assert these in milliseconds, which a loaded machine
    # broke (a 7 ms call took 40 ms beside three other jobs).
    for name, seconds in call_costs().items():
        print(f"{name}: {1e3 * seconds:.2f} ms per call = {seconds * off:.1f} training steps")
    return 0


def call_costs(n: int = 2500, repeats: int = 10) -> dict[str, float]:
    """Best-of-``repeats`` seconds of one call of each 2-D quality metric on ``n`` samples."""
    import timeit

    from ganplay.data.toy import grid25, ring8
    from ganplay.engine.metrics import ReferenceSample, mode_metrics

    x = grid25().sample_numpy(n, seed=3)
    real = ReferenceSample(ring8().sample_numpy(n, seed=9))
    generated = ring8().sample_numpy(n, seed=10)
    calls = {"mode_metrics (grid25)": lambda: mode_metrics(x, grid25()),
             "k-NN divergences, both directions (ring8)": lambda: real.divergences(generated)}
    # (a first call warms up; timeit.repeat's minimum is the least disturbed call)
    return {name: min(timeit.repeat(fn, setup=fn, number=1, repeat=repeats)) for name, fn in calls.items()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
