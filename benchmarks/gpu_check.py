"""The GPU check: every registered model trains on the GPU, with its speed, in one table.

    benchmarks/gpu_check.sh [--data-dir DIR] [--steps 200] [--devices 1] [--skip-bench] [--skip-gui]

1. Every registered model trains ``--steps`` steps at its defaults (on a GPU the convolutional
   models' default width is the seed's own, 1.0): compile time, time of the steps, steps/s and
   whether every loss and parameter stayed finite.
2. ``ganplay bench --workloads dcgan28``: seed 000's DCGAN at width 1.0, ours against PyTorch
   eager on CUDA in the same run (PyTorch with CUDA must be installed for that column).
3. ``benchmarks/gui_throughput.py --seconds 10``: toy-mlp's steps/s inside the window (offscreen)
   as a fraction of headless.

It refuses to run without a GPU ("no GPU: jax.default_backend() is cpu"). Image models train on
the offline MNIST (``--data-dir``; default ``../shared/data/mnist`` beside the repository).
Exit status 0 when every model trained and stayed finite, 1 otherwise, 2 without a GPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
FULL_WIDTH = ("dcgan28", "dcgan32", "sgan64")  # on a GPU these default to the seed's width, 1.0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(DEFAULT_DATA), help="folder of the MNIST files")
    p.add_argument("--steps", type=int, default=200, help="training steps per model (default 200)")
    p.add_argument("--devices", default="1", help="the devices setting: 1, all or a count (default 1)")
    p.add_argument("--skip-bench", action="store_true", help="leave out the PyTorch comparison")
    p.add_argument("--skip-gui", action="store_true", help="leave out the window's throughput")
    return p.parse_args(argv)


def train_model(name: str, data_dir: str, steps: int, devices: str) -> dict:
    """Train ``name`` at its defaults for ``steps`` steps; times, rate and finiteness."""
    import jax
    import numpy as np

    from ganplay.config import Config
    from ganplay.engine.train import build_trainer
    from ganplay.models import MODELS

    spec = MODELS.get(name)
    extra = {} if "points" in spec.kinds else {"dataset": "mnist", "data_dir": data_dir}
    config = Config.for_model(name, devices=devices, **extra)
    row = {"model": name, "dataset": config.dataset, "width": config.width, "batch": config.batch_size}
    t0 = time.perf_counter()
    trainer = build_trainer(config)
    row["device"] = trainer.device_description()
    state = trainer.init()
    # The first dispatch compiles: 200 steps in one scan for the MLPs, one step for the convnets.
    state, _ = trainer.run(state, steps if trainer.scan_steps else 1)
    jax.block_until_ready(state)
    row["compile_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    state, metrics = trainer.run(state, steps)
    jax.block_until_ready((state, metrics))
    row["train_s"] = time.perf_counter() - t1
    row["steps_per_s"] = steps / row["train_s"]
    losses = np.concatenate([np.asarray(metrics[k]) for k in ("d_loss", "g_loss")])
    row["finite"] = bool(state.finite) and bool(np.isfinite(losses).all())
    return row


def run_bench(timeout: int = 240) -> dict:
    """dcgan28 at width 1.0, ours and PyTorch (CUDA when it has it), from ``ganplay bench``."""
    cmd = [sys.executable, "-m", "ganplay", "bench", "--workloads", "dcgan28", "--seconds", "2",
           "--repeat", "3", "--json"]
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"ganplay bench took over {timeout} s"}
    if done.returncode != 0:
        return {"error": f"ganplay bench failed: {done.stderr.strip().splitlines()[-1:]}"}
    (w,) = json.loads(done.stdout)["workloads"]
    out = {"ours_ms": w["ours"]["ms_per_step"], "notes": w["notes"]}
    torch_peer = next((p for p in w["peers"] if p["name"] == "torch"), None)
    if torch_peer is not None:
        out.update(peer=torch_peer["label"], peer_ms=torch_peer["ms_per_step"], ratio=torch_peer["ratio"])
    return out


def run_gui(seconds: float = 10, timeout: int = 240) -> dict:
    """The window's toy-mlp steps/s over headless (``benchmarks/gui_throughput.py``)."""
    cmd = [sys.executable, str(REPO / "benchmarks" / "gui_throughput.py"), "--seconds", str(seconds)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"gui_throughput.py took over {timeout} s"}
    ratio = re.search(r"ratio ([0-9.]+)", done.stdout)
    if done.returncode != 0 or ratio is None:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return {"error": f"gui_throughput.py failed: {last}"}
    return {"ratio": float(ratio.group(1)), "output": done.stdout.strip()}


def main(argv=None) -> int:
    args = parse_args(argv)
    import jax

    backend = jax.default_backend()
    if backend != "gpu":
        print(f"no GPU: jax.default_backend() is {backend} (install JAX's CUDA build, "
              f"pip install -U \"jax[cuda12]\", on a machine with an NVIDIA GPU)", file=sys.stderr)
        return 2
    if not (Path(args.data_dir) / "t10k-images-idx3-ubyte.gz").exists() and \
            not (Path(args.data_dir) / "train-images-idx3-ubyte.gz").exists():
        print(f"no MNIST files in {args.data_dir}; pass --data-dir", file=sys.stderr)
        return 2

    from ganplay.engine.compile_cache import enable_compilation_cache
    from ganplay.models import MODELS

    enable_compilation_cache()
    started = time.perf_counter()
    print(f"JAX {jax.__version__} on {jax.devices()[0].device_kind} ({jax.device_count()} device(s)); "
          f"{args.steps} steps per model, devices={args.devices}", flush=True)
    rows, failed = [], False
    for name in MODELS.names():
        try:
            row = train_model(name, args.data_dir, args.steps, args.devices)
        except Exception as exc:  # one model's failure is a row of the table, not the end of it
            row = {"model": name, "error": f"{type(exc).__name__}: {exc}"}
        rows.append(row)
        failed |= "error" in row or not row.get("finite", False)
        print(f"  {name}: done ({time.perf_counter() - started:.0f} s so far)", file=sys.stderr, flush=True)

    print()
    print(f"{'model':<10}{'data':<8}{'width':>6}{'batch':>6}  {'device':<26}{'compile s':>10}"
          f"{f'{args.steps} steps s':>14}{'steps/s':>10}  finite")
    for r in rows:
        if "error" in r:
            print(f"{r['model']:<10}FAILED: {r['error']}")
            continue
        note = "" if r["model"] not in FULL_WIDTH or math.isclose(r["width"], 1.0) else \
            "  (width is not 1.0: is JAX really on the GPU?)"
        print(f"{r['model']:<10}{r['dataset']:<8}{r['width']:>6g}{r['batch']:>6}  {r['device']:<26}"
              f"{r['compile_s']:>10.1f}{r['train_s']:>14.2f}{r['steps_per_s']:>10,.0f}  "
              f"{'yes' if r['finite'] else 'NO'}{note}")

    if not args.skip_bench:
        b = run_bench()
        print()
        if "error" in b:
            print(f"dcgan28 width 1.0 vs PyTorch: {b['error']}")
        elif "peer" in b:
            print(f"dcgan28 width 1.0, batch 64: ganplay {b['ours_ms']:.2f} ms/step, {b['peer']} "
                  f"{b['peer_ms']:.2f} ms/step (ours {b['ratio']:.2f}x the steps/s)")
        else:
            print(f"dcgan28 width 1.0, batch 64: ganplay {b['ours_ms']:.2f} ms/step; no PyTorch peer: "
                  f"{'; '.join(b['notes'])}")
    if not args.skip_gui:
        g = run_gui()
        print()
        if "error" in g:
            print(f"window throughput: {g['error']}")
        else:
            print(g["output"])
    print(f"\ngpu_check took {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
