"""Stress the scripted mode: many ``ganplay … --autostart --steps N --screenshot … --quit`` runs.

    python benchmarks/stress_scripted.py --runs 100 --out /tmp/stress1 [--timeout 300]
        [--watchdog 120] [--cold-every 10] [--seed 0] [--data-dir /work/shared/data/mnist]

Issue 12: one such run never finished (the first time grid25 ran on that machine) and nothing was
captured. This runs the app over models x datasets x overlays in a shuffled order, each run in a
fresh settings folder and log folder (nothing leaks from one run to the next), sharing the JAX
compile cache except every ``--cold-every`` runs, which start with an empty one (the reported
stall was a first run). Each run is sorted into:

- ``ok``: status 0 and a screenshot written;
- ``watchdog``: the app's own watchdog stopped it (status 3, or faulthandler's ``Timeout`` line
  when its GIL backstop fired), with every thread's stack in its stderr;
- ``stall``: still running after ``--timeout`` seconds: it is sent SIGABRT (``PYTHONFAULTHANDLER=1``
  makes that dump every thread's stack to stderr), then killed;
- ``crash``: any other non-zero status or signal, or status 0 without a screenshot.

``--out`` receives ``runs.csv`` (a row per run, written as they finish) and, for every run that is
not ``ok``, its stderr and log file. One line per run goes to stdout, then the counts and the
slowest runs. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TOY_DATASETS = ("gmm2", "ring8", "grid25", "spiral")
TOY_OVERLAYS = ("", "field", "arrows", "manifold", "interpolation", "field,arrows",
                "field,arrows,manifold,interpolation")
# Image models: few steps and small networks (``width`` is the DCGANs' multiplier, ``hidden``
# the MLPs' width), so a run stays in tens of seconds on a loaded 2-core machine.
IMAGE_MODELS = {
    "gia-mlp": (200, ["hidden=64"]),
    "cgan-mlp": (200, ["hidden=64"]),
    "dcgan28": (30, ["width=0.25"]),
}
IMAGE_OVERLAYS = ("", "interpolation")


@dataclass(frozen=True)
class Case:
    model: str
    dataset: str
    overlays: str
    steps: int
    sets: tuple[str, ...] = ()

    def args(self, screenshot: Path, data_dir: str) -> list[str]:
        args = ["--model", self.model, "--dataset", self.dataset, "--autostart", "--steps", str(self.steps)]
        for s in self.sets:
            args += ["--set", s]
        if self.overlays:
            args += ["--overlays", self.overlays]
        if self.dataset == "mnist":
            args += ["--data-dir", data_dir]
        return args + ["--screenshot", str(screenshot), "--quit"]


def cases(toy_steps: int) -> list[Case]:
    toy = [Case("toy-mlp", d, o, toy_steps) for d, o in itertools.product(TOY_DATASETS, TOY_OVERLAYS)]
    images = [Case(m, "mnist", o, steps, tuple(sets))
              for (m, (steps, sets)), o in itertools.product(IMAGE_MODELS.items(), IMAGE_OVERLAYS)]
    return toy + images


def schedule(all_cases: list[Case], runs: int, seed: int) -> list[Case]:
    """``runs`` cases: every case once per round, each round in a new shuffled order."""
    rng = random.Random(seed)
    order: list[Case] = []
    while len(order) < runs:
        round_ = list(all_cases)
        rng.shuffle(round_)
        order += round_
    return order[:runs]


@dataclass
class Result:
    run: int
    case: Case
    cold: bool
    seconds: float
    code: int | None  # None: killed after the timeout
    outcome: str
    detail: str
    command: str


def _no_core_dumps() -> None:
    # SIGABRT after a timeout would otherwise write a multi-GB core of the JAX process.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def classify(code: int | None, stderr: str, screenshot: Path) -> tuple[str, str]:
    errors = [line for line in stderr.splitlines() if line.startswith("ganplay: error:")]
    if code is None:
        return "stall", "no exit within the timeout: SIGABRT sent (stacks in the stderr file)"
    if code == 3 and errors:
        return "watchdog", errors[-1]
    if "Timeout (" in stderr and code == 1:
        return "watchdog", "faulthandler backstop: " + next(l for l in stderr.splitlines() if "Timeout (" in l)
    if code == 0:
        if screenshot.is_file() and screenshot.stat().st_size > 0:
            return "ok", ""
        return "crash", "status 0 but no screenshot"
    if code < 0:
        return "crash", f"killed by {signal.Signals(-code).name}"
    return "crash", errors[-1] if errors else f"status {code}: " + " | ".join(stderr.strip().splitlines()[-3:])


def run_one(i: int, case: Case, args, cache_dir: Path, cold: bool, out: Path) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"stress-{i:03d}-") as tmp:
        tmp = Path(tmp)
        shot = tmp / "shot.png"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1",
               "XDG_CONFIG_HOME": str(tmp / "config"), "GANPLAY_LOG_DIR": str(tmp / "log"),
               "GANPLAY_CACHE_DIR": str(cache_dir), "GANPLAY_WATCHDOG_S": f"{args.watchdog:g}"}
        cmd = [sys.executable, "-m", "ganplay", *case.args(shot, args.data_dir)]
        err_path = tmp / "stderr.txt"
        t0 = time.perf_counter()
        with open(err_path, "wb") as err:  # a file, not a pipe: a full pipe could itself block the app
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True, preexec_fn=_no_core_dumps)  # noqa: PLW1509 (no threads here)
            try:
                code: int | None = proc.wait(args.timeout)
            except subprocess.TimeoutExpired:
                code = None
                proc.send_signal(signal.SIGABRT)  # faulthandler dumps every thread, then aborts
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        seconds = time.perf_counter() - t0
        stderr = err_path.read_text(errors="replace")
        outcome, detail = classify(code, stderr, shot)
        if outcome != "ok":
            shutil.copy(err_path, out / f"run-{i:03d}-{outcome}.stderr.txt")
            log = tmp / "log" / "ganplay.log"
            if log.is_file():
                shutil.copy(log, out / f"run-{i:03d}-{outcome}.log")
        env_words = [f"{k}={env[k]}" for k in ("QT_QPA_PLATFORM", "GANPLAY_WATCHDOG_S")]
        command = " ".join(env_words + ["ganplay"] + [shlex.quote(a) for a in cmd[3:]])
        return Result(i, case, cold, seconds, code, outcome, detail, command)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a run counts as stalled")
    p.add_argument("--watchdog", type=float, default=120.0,
                   help="the app's GANPLAY_WATCHDOG_S (below --timeout, so the app reports first)")
    p.add_argument("--out", default="stress-scripted", help="folder for runs.csv and failed runs' stderr and logs")
    p.add_argument("--seed", type=int, default=0, help="shuffles the order of the cases")
    p.add_argument("--cold-every", type=int, default=10, metavar="K",
                   help="every K-th run (the first included) starts with an empty compile cache; 0: never")
    p.add_argument("--toy-steps", type=int, default=6000, help="steps of the toy-mlp runs (issue 12: 6000)")
    p.add_argument("--data-dir", default="/work/shared/data/mnist", help="MNIST's IDX files")
    args = p.parse_args(argv)
    if not 0 < args.watchdog < args.timeout:
        p.error("--watchdog must be above 0 and below --timeout")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_root = Path(tempfile.mkdtemp(prefix="stress-cache-"))
    cache_dir = cache_root / "shared"
    order = schedule(cases(args.toy_steps), args.runs, args.seed)
    results: list[Result] = []
    fields = ["run", "outcome", "seconds", "exit_code", "model", "dataset", "overlays", "steps", "cold",
              "detail", "command"]
    try:
        with open(out / "runs.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(fields)
            for i, case in enumerate(order, 1):
                cold = args.cold_every > 0 and (i - 1) % args.cold_every == 0
                if cold:
                    shutil.rmtree(cache_dir, ignore_errors=True)
                r = run_one(i, case, args, cache_dir, cold, out)
                results.append(r)
                writer.writerow([r.run, r.outcome, f"{r.seconds:.1f}", "" if r.code is None else r.code,
                                 case.model, case.dataset, case.overlays or "none", case.steps, int(cold),
                                 r.detail, r.command])
                f.flush()
                print(f"[{i:3d}/{len(order)}] {r.outcome:8s} {r.seconds:6.1f} s  "
                      f"status {'-' if r.code is None else r.code:>3}  {case.model} {case.dataset} "
                      f"overlays={case.overlays or 'none'} steps={case.steps}{' (cold cache)' if cold else ''}"
                      + (f"  -- {r.detail}" if r.detail else ""), flush=True)
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    counts = {k: sum(r.outcome == k for r in results) for k in ("ok", "stall", "watchdog", "crash")}
    print(f"\n{len(results)} runs: {counts['ok']} ok, {counts['stall']} stalls (timeouts), "
          f"{counts['watchdog']} watchdog exits, {counts['crash']} crashes")
    print("slowest runs:")
    for r in sorted(results, key=lambda r: -r.seconds)[:5]:
        print(f"  {r.seconds:6.1f} s  run {r.run:3d}  {r.outcome}{' (cold cache)' if r.cold else ''}  {r.command}")
    print(f"details: {out / 'runs.csv'}")
    return 0 if counts["ok"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
