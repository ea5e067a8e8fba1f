"""Kill -9 at random moments while ganplay saves: is the previous file intact or the new one whole?

    python benchmarks/kill_during_save.py [--trials 20] [--seed 0] [--only save|set|sweep]

Three scenarios, each ``--trials`` times, each in a child process killed with SIGKILL at a random
moment (uniform over the first few seconds after it has saved once):

- ``save``: a window's run (``Session``) trains and saves itself to ``run.npz`` in a loop;
- ``set``: Compare mode's two runs train and save the set to ``runs.ganplay-compare`` in a loop;
- ``sweep``: ``ganplay sweep`` (4 small runs) is killed, then the same command is run again and
  must finish every run (the sweep resumes).

After each kill the file must open through the same code the window uses (``Session.open``,
``Comparison.open``) at a step it had saved, never half-written. Stray temporary files are
counted (they are not the file the user chose, and the next save of the same name leaves none).
Prints one JSON object. Not part of the test suite (it takes minutes).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SAVE_LOOP = textwrap.dedent("""
    import sys
    from ganplay.config import Config
    from ganplay.engine.session import Session
    s = Session(Config.for_model("toy-mlp", dataset="ring8", hidden=32, batch_size=64))
    while True:
        s.advance(25)
        s.save(sys.argv[1])
        print("saved", s.step, flush=True)
""")

SET_LOOP = textwrap.dedent("""
    import sys
    from ganplay.config import Config
    from ganplay.engine.compare import Comparison
    base = Config.for_model("toy-mlp", dataset="ring8", hidden=32, batch_size=64)
    c = Comparison([base, base.replace(seed=1)])
    while True:
        c.advance(25)
        c.save(sys.argv[1])
        print("saved", c.step, flush=True)
""")

SWEEP = ["-m", "ganplay", "sweep", "--model", "toy-mlp", "--dataset", "gmm2", "--set", "hidden=16",
         "--vary", "label_smoothing=0,0.2", "--seeds", "0-1", "--steps", "400", "--no-quality", "--quiet"]


def _child(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)


def _kill_after_first_save(proc: subprocess.Popen, rng: random.Random, window_s: float) -> list[int]:
    """Wait for the child's first "saved" line, then SIGKILL it at a random moment."""
    first = proc.stdout.readline()
    if not first.startswith("saved"):
        proc.kill()
        raise RuntimeError(f"child failed before saving: {first!r} {proc.stderr.read()[-2000:]}")
    time.sleep(rng.uniform(0.0, window_s))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    return [int(first.split()[1])] + [int(line.split()[1]) for line in out.splitlines() if line.startswith("saved")]


def _trial_file(kind: str, rng: random.Random, folder: Path, window_s: float) -> dict:
    target = folder / ("run.npz" if kind == "save" else "runs.ganplay-compare")
    proc = _child(["-c", SAVE_LOOP if kind == "save" else SET_LOOP, str(target)])
    saved = _kill_after_first_save(proc, rng, window_s)
    stray = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    # Open it as the window does, then save it again (the next save removes a killed one's temporary).
    check = ("from ganplay.engine.session import Session as S; x = S.open(sys.argv[1]); print(x.step); "
             "x.save(sys.argv[1])" if kind == "save" else
             "from ganplay.engine.compare import Comparison as C; x = C.open(sys.argv[1]); print(x.step); "
             "x.save(sys.argv[1])")
    opened = subprocess.run([sys.executable, "-c", "import sys; " + check, str(target)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, timeout=300)
    ok = opened.returncode == 0
    step = int(opened.stdout.split()[-1]) if ok else None
    stray_after = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    # The file holds a step that was saved: the last one printed, or the one being written when
    # the kill came (its os.replace may have landed after the print of the one before).
    intact = ok and step is not None and (step in saved or step == saved[-1] + 25)
    return {"saves": len(saved), "opened": ok, "intact": intact, "stray_tmp": len(stray),
            "stray_after_next_save": len(stray_after),
            "error": None if ok else opened.stderr.strip().splitlines()[-1:]}


def _trial_sweep(rng: random.Random, folder: Path, window_s: float) -> dict:
    out = folder / "sweep"
    proc = _child([*SWEEP, "--out", str(out)])
    time.sleep(rng.uniform(1.0, window_s))
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    again = subprocess.run([sys.executable, *SWEEP, "--out", str(out)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, timeout=900)
    import csv

    rows = list(csv.DictReader((out / "runs.csv").open())) if (out / "runs.csv").exists() else []
    done = sum(r["status"] in ("done", "diverged") for r in rows)
    return {"resumed": again.returncode == 0, "runs": len(rows), "done": done,
            "error": None if again.returncode == 0 else again.stderr.strip().splitlines()[-1:]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--window", type=float, default=4.0, help="seconds after the first save to kill within")
    p.add_argument("--only", choices=("save", "set", "sweep"))
    args = p.parse_args()
    rng = random.Random(args.seed)
    results: dict[str, list] = {}
    for kind in ("save", "set", "sweep"):
        if args.only and kind != args.only:
            continue
        results[kind] = []
        for _ in range(args.trials):
            with tempfile.TemporaryDirectory(prefix=f"ganplay-kill-{kind}-") as d:
                trial = (_trial_sweep(rng, Path(d), args.window * 3) if kind == "sweep"
                         else _trial_file(kind, rng, Path(d), args.window))
            results[kind].append(trial)
            print(kind, trial, file=sys.stderr, flush=True)
    summary = {}
    for kind, trials in results.items():
        if kind == "sweep":
            summary[kind] = {"trials": len(trials), "resumed": sum(t["resumed"] for t in trials),
                             "all_runs_done": sum(t["resumed"] and t["done"] == 4 for t in trials)}
        else:
            summary[kind] = {"trials": len(trials), "opened": sum(t["opened"] for t in trials),
                             "intact": sum(t["intact"] for t in trials),
                             "stray_tmp_after_kill": sum(t["stray_tmp"] for t in trials),
                             "stray_tmp_after_next_save": sum(t["stray_after_next_save"] for t in trials)}
    print(json.dumps(summary, indent=1))
    return 0 if all(s.get("intact", s.get("all_runs_done")) == s["trials"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
