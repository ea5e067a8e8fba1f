"""Helper for tests/engine/test_devices.py: data-parallel training on forced CPU devices.

Run as ``XLA_FLAGS=--xla_force_host_platform_device_count=N python _devices_check.py SPEC``
(the flag must be set before JAX starts). SPEC is JSON: {"devices": N, "mnist": dir or null,
"cases": [[name, config overrides, steps, full], ...]}. For each case it trains the same config
on one device and on all N, and prints one JSON object with the largest parameter differences and
the checks below; the test asserts on it. One process for every case, since JAX's start-up and
the compiles dominate the time (a DCGAN's step compiles in ~15 s of CPU here, its init in ~8 s):
only ``full`` cases compile the mesh's own init, the views and the single D and G steps; the
others start the mesh run from the one-device run's first state.
"""
from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import Config
from ganplay.engine.compile_cache import enable_compilation_cache
from ganplay.engine.train import build_trainer, fetch_metrics, find_fault, steps_bucket
from ganplay.errors import ConfigError


NORMS = ("g_grad_norm", "d_grad_norm")  # relative differences


def max_diff(a, b) -> float:
    """Largest absolute difference over every leaf of two pytrees of the same structure."""
    def leaf(x, y):
        return float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)), initial=0.0))

    return max(jax.tree_util.tree_leaves(jax.tree_util.tree_map(leaf, jax.device_get(a), jax.device_get(b))),
               default=0.0)


def replicated_on(tree, n: int) -> bool:
    """Every leaf is a full copy on each of ``n`` devices."""
    return all(x.sharding.is_fully_replicated and len(x.sharding.device_set) == n
               for x in jax.tree_util.tree_leaves(tree))


def chunk_of(trainer, steps: int) -> int:
    """Steps per dispatch: 50-step scans for the MLPs; the convnets dispatch one step at a time."""
    return min(50, steps) if trainer.scan_steps else steps


def train(trainer, state, steps: int):
    chunk = chunk_of(trainer, steps)
    metrics = []
    for _ in range(steps // chunk):
        state, m = trainer.run(state, chunk)
        metrics.append(m)
    return state, jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *metrics)


def compare(name: str, overrides: dict, steps: int, full: bool, n: int) -> dict:
    config = Config.for_model(**overrides)
    t0, cpu0 = time.perf_counter(), time.process_time()
    one, many = build_trainer(config), build_trainer(config.replace(devices="all"))
    first = one.init()
    first_n = many.init() if full else many.place(jax.device_get(first))
    s1, m1 = train(one, first, steps)
    sn, mn = train(many, first_n, steps)
    out = {
        "init": max_diff(first, first_n),
        "case": name, "steps": steps, "description": many.device_description(),
        "one_description": one.device_description(), "one_has_mesh": one.mesh is not None,
        "params": max_diff((s1.g_params, s1.d_params), (sn.g_params, sn.d_params)),
        "stats": max_diff((s1.g_stats, s1.d_stats), (sn.g_stats, sn.d_stats)),
        "metrics": max_diff({k: v for k, v in m1.items() if k not in ("fault", *NORMS)},
                            {k: v for k, v in mn.items() if k not in ("fault", *NORMS)}),
        # A gradient norm sums over every parameter: its rounding scales with its size.
        "grad_norms": max((max_diff(m1[k], mn[k]) / max(1.0, float(np.max(np.abs(np.asarray(m1[k])))))
                           for k in NORMS if k in m1), default=0.0),
        "faults_equal": bool(np.array_equal(np.asarray(m1["fault"]), np.asarray(mn["fault"]))),
        "finite": [bool(s1.finite), bool(sn.finite)],
        "steps_equal": int(s1.step) == int(sn.step) == steps,
        "replicated": replicated_on(sn, n),
    }
    if not full:
        return timed(out, t0, cpu0)
    # The batch really is split: the mesh's program (already compiled) reduces across devices.
    if many.scan_steps:
        k = chunk_of(many, steps)
        program = many._run.lower(first_n, jnp.int32(k), steps_bucket(k), many.data_arrays).compile().as_text()
        out["all_reduce_in_program"] = "all-reduce" in program
    # The views' functions on the mesh, on the one-device run's own state: the same numbers.
    shared = many.place(jax.device_get(s1))
    z = one.fixed_noise(16)
    out["generate"] = max_diff(one.generate(s1, z), many.generate(shared, z))
    x = one.generate(s1, z)
    out["discriminate"] = max_diff(one.discriminate(s1, x), many.discriminate(shared, x))
    if one.dataset.kind == "points":
        view = (-2.0, 2.0, -2.0, 2.0)
        out["field"] = max_diff(one.discriminator_field(s1, view, 8),
                                many.discriminator_field(shared, view, 8))
        out["push"] = max_diff(one.g_loss_push(s1, x), many.g_loss_push(shared, x))
    # The divergence guard: a poisoned state trips at the same step, naming the same update.
    bad = s1._replace(d_params=jax.tree_util.tree_map(lambda p: p * np.nan, s1.d_params))
    a, ma = one.run(bad, chunk_of(one, steps))
    b, mb = many.run(many.place(jax.device_get(bad)), chunk_of(many, steps))
    faults = [list(find_fault(fetch_metrics(m), 1) or ()) for m in (ma, mb)]
    out["guard"] = [*faults, bool(a.finite), bool(b.finite)]
    # GAN Lab's single D and G steps, then live settings: the state stays replicated and the
    # programs already compiled serve the next dispatch.
    sd, _ = many.d_step(sn)
    sg, _ = many.g_step(sd)
    before = many._run._cache_size() if many.scan_steps else many._step._cache_size()
    sh = many.set_hyper(sg, lr_g=config.lr_g / 2, label_smoothing=0.1)
    sh, _ = many.run(sh, chunk_of(many, steps) if many.scan_steps else 1)
    after = many._run._cache_size() if many.scan_steps else many._step._cache_size()
    out["single_steps_replicated"] = replicated_on(sg, n) and replicated_on(sh, n)
    out["recompiled_after_set_hyper"] = after != before
    return timed(out, t0, cpu0)


def timed(out: dict, wall0: float, cpu0: float) -> dict:
    return {**out, "seconds": round(time.perf_counter() - wall0, 2),
            "cpu_seconds": round(time.process_time() - cpu0, 2)}


def refusals(n: int) -> dict:
    out = {}
    for key, overrides in (("batch", {"batch_size": 30, "devices": str(n)}),
                           # batch_size splits over an even n, the packed batch (7n/2) does not
                           ("packed", {"batch_size": 7 * n, "pack": 2, "devices": "all"}),
                           ("too_many", {"devices": str(n + 1)})):
        try:
            Config.for_model("toy-mlp", **overrides)
            out[key] = None
        except ConfigError as exc:
            out[key] = str(exc)
    return out


def main() -> None:
    spec = json.loads(sys.argv[1])
    n = jax.device_count()
    if n != spec["devices"]:
        raise SystemExit(f"expected {spec['devices']} devices, JAX sees {n}: was XLA_FLAGS set?")
    enable_compilation_cache()
    results = {"devices": n, "cases": [], "refusals": refusals(n)}
    for name, overrides, steps, full in spec["cases"]:
        if overrides.get("dataset") == "mnist":
            if not spec.get("mnist"):
                continue
            overrides = {**overrides, "data_dir": spec["mnist"]}
        results["cases"].append(compare(name, overrides, steps, full, n))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
