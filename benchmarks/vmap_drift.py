"""When a vmapped run drifts from the same run trained alone: the step at which their per-step
metrics first differ at all, and the first at which d_loss differs by more than 1e-3.

    python benchmarks/vmap_drift.py [--steps 1000] [--model toy-mlp --dataset gmm2] [--set hidden=16 …]

The group is two runs (label_smoothing 0 and 0.2, seed 1: the issue's example), trained as
``ganplay sweep --vmap`` would (one vmapped program, 250-step dispatches); the run alone is
``ganplay train``'s program. Reported for the second member.
"""
from __future__ import annotations

import argparse

import jax
import numpy as np

from ganplay.config import Config
from ganplay.engine.groups import initial_states, splitter, step_work, vmapped_run
from ganplay.engine.train import build_trainer, fetch_metrics

CHUNK = 250


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--model", default="toy-mlp")
    p.add_argument("--dataset", default="gmm2")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.set)
    base = Config.for_model(args.model, dataset=args.dataset, seed=1, **extra)
    configs = [base.replace(label_smoothing=0.0), base.replace(label_smoothing=0.2)]
    trainer = build_trainer(configs[0])
    program = vmapped_run(trainer, configs)
    states = initial_states(trainer, configs)
    alone_t = build_trainer(configs[1])
    alone = alone_t.init()
    together_rows, alone_rows = [], []
    for _ in range(args.steps // CHUNK):
        states, m = program(states, CHUNK, trainer.data_arrays)
        together_rows.append(fetch_metrics(m)["d_loss"][1])
        alone, m = alone_t.run(alone, CHUNK)
        alone_rows.append(fetch_metrics(m)["d_loss"])
    a, b = np.concatenate(together_rows), np.concatenate(alone_rows)
    differ = np.flatnonzero(a != b)
    apart = np.flatnonzero(np.abs(a - b) > 1e-3)
    first = int(differ[0]) + 1 if len(differ) else None
    far = int(apart[0]) + 1 if len(apart) else None
    print(f"{args.model} on {args.dataset} {extra or '(defaults)'}: step work {step_work(trainer):,}; "
          f"d_loss first differs at step {first}, by more than 1e-3 at step {far}; "
          f"after {len(a)} steps: vmapped {a[-1]:.5f}, alone {b[-1]:.5f}")
    member = splitter(2)(states)[1]
    pa = jax.tree_util.tree_leaves(jax.device_get(member.g_params))
    pb = jax.tree_util.tree_leaves(jax.device_get(alone.g_params))
    print(f"G's parameters: largest difference {max(float(np.max(np.abs(x - y))) for x, y in zip(pa, pb)):.3g}")


if __name__ == "__main__":
    main()
