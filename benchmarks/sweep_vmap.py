"""What training a sweep's runs together buys: N toy-mlp runs (hidden 128, batch 256, grid25, N
seeds) trained as one vmapped program (what ``ganplay sweep`` does with runs that differ only in
seed and live settings) against the same runs one after another, in the same process, in
interleaved rounds (so drifting machine load hits both arms alike).

    python benchmarks/sweep_vmap.py [--steps 2000] [--rounds 3] [--runs 2 4]

Both arms dispatch 200 steps at a time and fetch each dispatch's metrics, as the sweep and
``train_headless`` do; first states and compiles are made before the rounds. Quality evaluations and
file writing are left out: they cost the same in both arms. Reported: steps/s of each run (a run
trained together advances as fast as its whole group), the combined steps/s of all N runs, and
the ratio of the combined rates (vmapped / one after another).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax

from ganplay.config import Config
from ganplay.engine.compile_cache import enable_compilation_cache
from ganplay.engine.sweep import initial_states, vmapped_run
from ganplay.engine.train import build_trainer, fetch_metrics

CHUNK = 200


def one_after_another(trainers, first_states, steps: int) -> float:
    start = time.perf_counter()
    for t, state in zip(trainers, first_states):
        for _ in range(steps // CHUNK):
            state, metrics = t.run(state, CHUNK)
            fetch_metrics(metrics)
        jax.block_until_ready(state)
    return time.perf_counter() - start


def together(trainer, program, first_states, steps: int) -> float:
    start = time.perf_counter()
    states = first_states
    for _ in range(steps // CHUNK):
        states, metrics = program(states, CHUNK, trainer.data_arrays)
        fetch_metrics(metrics)
    jax.block_until_ready(states)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=2000, help="steps per run (a multiple of 200)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds per arm, interleaved")
    p.add_argument("--runs", type=int, nargs="+", default=[2, 4], help="group sizes N to measure")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args(argv)
    enable_compilation_cache()
    base = Config.for_model("toy-mlp", dataset="grid25", hidden=args.hidden, batch_size=args.batch_size)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; toy-mlp hidden {args.hidden}, batch "
          f"{args.batch_size}, grid25; "
          f"{args.steps:,} steps per run, {args.rounds} rounds", flush=True)
    for n in args.runs:
        configs = [base.replace(seed=s) for s in range(n)]
        trainers = [build_trainer(c) for c in configs]
        group = build_trainer(configs[0])
        program = vmapped_run(group, configs)
        alone_states = [t.init() for t in trainers]  # first states are made once, outside the timing
        group_states = initial_states(group, configs)
        one_after_another(trainers, alone_states, CHUNK)  # warm-up: compiles every program timed below
        together(group, program, group_states, CHUNK)
        seq, vm = [], []
        for r in range(args.rounds):
            for arm in (("seq", "vmap") if r % 2 == 0 else ("vmap", "seq")):
                if arm == "seq":
                    seq.append(one_after_another(trainers, alone_states, args.steps))
                else:
                    vm.append(together(group, program, group_states, args.steps))
            print(f"N={n} round {r + 1}: one after another {seq[-1]:6.2f} s, together {vm[-1]:6.2f} s", flush=True)
        t_seq, t_vm = statistics.median(seq), statistics.median(vm)
        print(f"N={n}: one after another {args.steps / (t_seq / n):8,.0f} steps/s per run, "
              f"{n * args.steps / t_seq:8,.0f} combined | together {args.steps / t_vm:8,.0f} steps/s per run, "
              f"{n * args.steps / t_vm:8,.0f} combined | ratio {t_seq / t_vm:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
