"""Sweeps: a grid of settings × seeds trained headless, with tables and a chart of the results
(behind ``ganplay sweep``).

A grid is a base config, ``--vary key=v1,v2,…`` axes and seeds. Runs that share every structural
setting (they differ only in ``seed`` and live settings, ``LIVE_FIELDS``) train together as one
``jax.vmap``-ed program when the model scans its steps; the rest train one after another with
:func:`~ganplay.engine.runner.train_headless`. Either way each run gets its own folder
``DIR/runs/<name>/`` with what ``ganplay train`` writes (config.json, metrics.csv, samples.npy,
run.npz) and, written last, ``done.json``: its result, which a restarted sweep reads instead of
training the run again. ``DIR/sweep.json`` records the grid (a different grid is refused),
``DIR/runs.csv`` has one row per run, ``DIR/summary.csv`` the mean and sd over seeds and
``DIR/summary.png`` a chart of them.

A run trained in a vmapped group is the same run trained alone up to float rounding (parameters
within 1e-6 after 500 toy steps; tested): each member starts from its own seed's state, draws its
own batches from its own ``state.key``, evaluates quality on the same schedule as a run alone
(within the same 4% time budget, shared by the group) and is always scored on its last step.
A member that diverges keeps its rows and state up to the last dispatch before the fault and is
marked ``diverged``; the others go on. A sweep never rolls back.
"""
from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jax
import numpy as np

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine.checkpoint import save_run
from ganplay.engine.quality import QualityMonitor, is_conditional, quality_columns
from ganplay.engine.runner import (
    CHECKPOINT,
    DivergenceError,
    _prepare_out_dir,
    _write_rows,
    default_chunk,
    generate_samples,
    train_headless,
    write_samples,
)
from ganplay.engine.train import (
    HYPER_FIELDS,
    Trainer,
    active_remedies,
    build_trainer,
    describe_fault,
    fetch_metrics,
    find_fault,
    steps_bucket,
)
from ganplay.errors import ConfigError, GanplayError
from ganplay.files import atomic_write_bytes
from ganplay.formatting import format_value
from ganplay.quality_metrics import QUALITY_METRICS
from ganplay.models import MODELS

MAX_RUNS = 256  # more needs ``allow_many`` (``--yes``)
MAX_GROUP = 64  # runs per vmapped program: bounds its memory; a larger group is split
GRID_FILE = "sweep.json"
DONE_FILE = "done.json"  # a run's result, written last: its presence means the run is complete
FORMAT = "ganplay-sweep"
VERSION = 1
# Settings a sweep cannot vary, and why (list-valued settings are refused separately).
FIXED = {
    "model": "one model per sweep (run one sweep per model)",
    "dataset": "one dataset per sweep (run one sweep per dataset)",
    "data_dir": "one dataset per sweep",
    "seed": "seeds come from --seeds",
}
# Objectives whose runs can train together: the semi-supervised trainer draws its label budget
# from the seed (its data differs per run) and reports test accuracy from its own monitor.
VMAP_OBJECTIVES = ("gan", "cgan")
# The best value of a quality metric over a run's evaluations: higher or lower is better.
BEST = {name: QUALITY_METRICS.get(name).best for name in QUALITY_METRICS}


# -- the grid -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Vary:
    """One ``--vary`` axis: a setting and its values, typed as the Config field."""
    key: str
    values: tuple


@dataclass(frozen=True)
class Run:
    name: str  # its folder under DIR/runs/
    config: Config  # the base config with this run's varied settings and seed
    settings: tuple[tuple[str, Any], ...]  # (key, value) of each varied setting, in --vary order

    @property
    def seed(self) -> int:
        return self.config.seed

    def describe(self) -> str:
        return " ".join(f"{k}={format_value(v)}" for k, v in (*self.settings, ("seed", self.seed)))


@dataclass(frozen=True)
class Grid:
    base: Config
    vary: tuple[Vary, ...]
    seeds: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(len(v.values) for v in self.vary) * len(self.seeds)

    def combinations(self) -> list[tuple[tuple[str, Any], ...]]:
        """Every combination of the varied settings, the first --vary outermost."""
        return [tuple(zip((v.key for v in self.vary), values))
                for values in itertools.product(*(v.values for v in self.vary))]

    def runs(self) -> list[Run]:
        """Combinations × seeds, seeds innermost."""
        out = []
        for combo in self.combinations():
            config = self.base.replace(**dict(combo))
            for seed in self.seeds:
                name = "_".join(f"{k}={_name_part(format_value(v))}" for k, v in (*combo, ("seed", seed)))
                out.append(Run(name, config.replace(seed=seed), combo))
        return out

    def to_dict(self) -> dict:
        """What ``sweep.json`` records (with the steps and the quality flag): the grid's identity."""
        base = self.base.to_dict()
        base.pop("seed")
        return {"base": base, "vary": [[v.key, list(v.values)] for v in self.vary], "seeds": list(self.seeds)}


def _name_part(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".+-" else "-" for c in text)


def varyable_settings() -> list[str]:
    return [f.name for f in fields(Config) if f.name not in FIXED and not _is_list(f.name)]


def _is_list(key: str) -> bool:
    kind = {f.name: f.type for f in fields(Config)}[key]
    return str(kind).startswith("tuple")


def parse_vary(spec: str, base: Config) -> Vary:
    """``key=v1,v2,…`` -> Vary, each value typed and checked by the Config field."""
    key, sep, raw = spec.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--vary expects key=v1,v2,…, got {spec!r}")
    known = {f.name for f in fields(Config)}
    if key not in known:
        raise ConfigError(f"--vary {key}: unknown setting; settings a sweep can vary: {', '.join(varyable_settings())}")
    if key in FIXED:
        raise ConfigError(f"--vary {key}: {key} cannot vary in a sweep ({FIXED[key]})")
    if _is_list(key):
        raise ConfigError(f"--vary {key}: list-valued settings cannot vary in a sweep; set it once with --set")
    raws = [r.strip() for r in raw.split(",")]
    if not any(raws) or not all(raws):
        raise ConfigError(f"--vary {key}={raw}: give one or more values separated by commas, e.g. {key}=a,b")
    values = []
    for r in raws:
        try:
            value = getattr(base.replace(**{key: r}), key)
        except ConfigError as exc:
            raise ConfigError(f"--vary {key}: {exc}") from None
        if value in values:
            raise ConfigError(f"--vary {key} lists {format_value(value)} twice")
        values.append(value)
    return Vary(key, tuple(values))


def parse_seeds(spec: str) -> tuple[int, ...]:
    """``0-4``, ``0,2,5`` or a mix (``0-2,7``) -> the seeds, in the order given."""
    seeds: list[int] = []
    hint = "give seeds like 0-4 or 0,2,5"
    for part in str(spec).split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if dash else (int(part), int(part))
        except ValueError:
            raise ConfigError(f"--seeds {spec}: {part!r} is not a seed or a range; {hint}") from None
        if first > last:
            raise ConfigError(f"--seeds {spec}: the range {part} runs backwards; write {last}-{first}")
        for seed in range(first, last + 1):
            if not 0 <= seed <= 2**31 - 1:
                raise ConfigError(f"--seeds {spec}: seed {seed} is out of range; allowed: [0, 2147483647]")
            if seed in seeds:
                raise ConfigError(f"--seeds {spec} lists seed {seed} twice")
            seeds.append(seed)
            if len(seeds) > 100_000:
                raise ConfigError(f"--seeds {spec} lists too many seeds")
    return tuple(seeds)


def build_grid(base: Config, vary_specs: list[str], seeds_spec: str | None = None, *,
               allow_many: bool = False) -> Grid:
    """Parse and check a whole grid before anything trains: every axis, the run count (more than
    ``MAX_RUNS`` needs ``allow_many``) and every combination of settings."""
    vary = [parse_vary(spec, base) for spec in vary_specs]
    keys = [v.key for v in vary]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"--vary {key} is given twice; list all its values in one --vary {key}=a,b,c")
    seeds = parse_seeds(seeds_spec) if seeds_spec is not None else (base.seed,)
    grid = Grid(base, tuple(vary), seeds)
    if grid.size > MAX_RUNS and not allow_many:
        axes = " × ".join([f"{len(v.values)} {v.key}" for v in vary] + [f"{len(seeds)} seeds"])
        raise ConfigError(f"this sweep has {grid.size:,} runs ({axes}); more than {MAX_RUNS} runs needs --yes")
    for combo in grid.combinations():
        try:
            base.replace(**dict(combo))
        except ConfigError as exc:
            shown = " ".join(f"{k}={format_value(v)}" for k, v in combo)
            raise ConfigError(f"--vary combination {shown} is invalid: {exc}") from None
    return grid


# -- which runs train together ---------------------------------------------------------------------
def structural_key(config: Config) -> str:
    """Equal for configs whose runs can share one compiled program: everything but the seed and
    the live settings (whether the EMA is on is structural: it changes the state's shape)."""
    values = {k: v for k, v in config.to_dict().items() if k not in LIVE_FIELDS and k != "seed"}
    values["ema"] = config.ema_decay > 0
    # Which remedies are compiled in (a weight of 0 leaves its code out of the step).
    values["active"] = sorted(active_remedies(config))
    return json.dumps(values, sort_keys=True)


def can_vmap(config: Config) -> bool:
    """Whether the run can train in a vmapped group: a model that scans its steps, a plain or
    conditional GAN, on one device (a data-parallel run splits each batch over a mesh)."""
    spec = MODELS.get(config.model)
    return spec.scan_steps and spec.objective in VMAP_OBJECTIVES and getattr(config, "devices", "1") == "1"


def plan_groups(runs: list[Run], max_group: int = MAX_GROUP) -> list[list[Run]]:
    """The runs as training units, in grid order of their first run: groups of two or more runs
    that train together (vmapped) and single runs that train alone."""
    buckets: dict[str, list[Run]] = {}
    for i, run in enumerate(runs):
        key = structural_key(run.config) if can_vmap(run.config) else f"alone {i}"
        buckets.setdefault(key, []).append(run)
    return [b[i:i + max_group] for b in buckets.values() for i in range(0, len(b), max_group)]


def member_trainer(trainer: Trainer, config: Config) -> Trainer:
    """The group's trainer seen as one member's: it shares the compiled functions and the data
    (which read only structural settings and the state) and reads the member's own config where
    a run's seed matters (fixed noise, the quality reference sample).

    Its ``init`` is the group's (compiled for the group's seed): use :func:`initial_states`."""
    view = copy.copy(trainer)
    view.config = config
    return view


def initial_states(trainer: Trainer, configs: list[Config]):
    """The members' first states, stacked: each equal to ``build_trainer(config).init()`` (tested,
    bit for bit). One compiled program for the whole group: the trainer's own ``_init_impl`` with
    the seed and the live settings as traced arguments instead of constants (its optimizers were
    built with the group's learning rates, so the members' are set after)."""
    seeds = np.asarray([c.seed for c in configs], np.int32)
    live = {k: np.asarray([getattr(c, k) for c in configs], np.float32) for k in sorted(LIVE_FIELDS)}

    def init(seed, live):
        view = copy.copy(trainer)
        # ``_init_impl`` reads the seed and ``initial_hyper`` the live settings from its config.
        view.config = SimpleNamespace(**{**trainer.config.to_dict(), "seed": seed, **live})
        return trainer.set_hyper(view._init_impl(), lr_g=live["lr_g"], lr_d=live["lr_d"])

    return jax.jit(jax.vmap(init))(seeds, live)


def member_state(host_states, i: int):
    """Run ``i``'s state from the group's stacked state (already on the host: no device ops)."""
    return jax.tree_util.tree_map(lambda x: x[i], host_states)


def vmapped_run(trainer: Trainer, configs: list[Config]) -> Callable:
    """``run(states, k, data) -> (states, metrics)``: ``k`` steps of every stacked run in one
    program. The data is an argument shared by all runs (not vmapped, not a baked constant).

    The step count (equal across the group) and the live settings the runs share go in unbatched:
    batched, the step's ``lax.cond``s on them (penalties, instance noise, weight clipping) would
    become selects that compute both branches, every step, for every run.

    The steps run in :func:`~ganplay.engine.train.loop_steps` with the count an argument, as a
    single run's do: one program serves every chunk of up to 64 steps (Compare mode's window
    sizes its ticks freely), and a vmapped run stays bit-identical to a single run's program."""
    shared = sorted(k for k in HYPER_FIELDS if len({getattr(c, k) for c in configs}) == 1)

    def looped(states, n, length: int, data):
        common = {key: states.hyper[key][0] for key in shared}
        own = states._replace(step=None, hyper={key: v for key, v in states.hyper.items() if key not in common})
        return jax.vmap(partial(_loop_member, trainer, length), in_axes=(0, None, None, None, None))(
            own, states.step[0], common, data, n)

    program = jax.jit(looped, static_argnums=(2,))

    def run(states, k: int, data):
        length = steps_bucket(k)
        states, buffers = program(states, np.int32(k), length, data)
        return states, buffers if length == k else _first_columns(buffers, int(k))

    run.program = program  # (tests count its compiles)
    return run


def _loop_member(trainer, length, state, step, common, data, n):
    return trainer._loop_impl(state._replace(step=step, hyper={**state.hyper, **common}), n, length, data)


@partial(jax.jit, static_argnums=1)
def _first_columns(buffers, k: int):
    """Each run's first ``k`` steps of ``[runs, length]`` metric buffers."""
    return jax.tree_util.tree_map(lambda b: b[:, :k], buffers)


def even_chunk(steps: int, chunk: int) -> int:
    """Steps per dispatch: the divisor of ``steps`` nearest ``chunk`` (within -50%/+25%) when there
    is one (500 -> 250): every dispatch then runs the same program, compiled once, instead of a
    second one for the remainder."""
    near = [k for k in range(max(chunk // 2, 1), chunk * 5 // 4 + 1) if steps % k == 0]
    return min(near, key=lambda k: abs(k - chunk)) if near else min(chunk, steps)


# -- running a sweep -------------------------------------------------------------------------------
@dataclass
class SweepResult:
    out_dir: Path
    records: list[dict]  # one per run, in grid order (what runs.csv holds)
    trained: int  # runs trained by this call
    skipped: int  # runs already complete (a resumed sweep)
    seconds: float
    chart: Path | None = None  # summary.png, when there were quality metrics to draw
    groups: list[int] = field(default_factory=list)  # the size of each training unit trained


def run_sweep(grid: Grid, steps: int, out_dir, *, quality: bool = True, vmap: bool = True,
              progress: Callable[[str], None] | None = None) -> SweepResult:
    """Train every run of ``grid`` for ``steps`` steps into ``out_dir`` (resuming a sweep of the
    same grid found there), then write runs.csv, summary.csv and summary.png.

    ``vmap=False`` trains every run alone. On a CPU, training together pays for small models only
    (``benchmarks/sweep_vmap.py`` on 2 cores: 2.3x for 4 runs of hidden 16, batch 32; 0.8x for
    hidden 128, batch 256). ``progress`` receives one line per finished run (with an ETA) and a
    few notes."""
    if steps < 1:
        raise GanplayError(f"--steps={steps} must be 1 or more")
    out = Path(out_dir)
    say = progress or (lambda line: None)
    identity = {"format": FORMAT, "version": VERSION, "steps": int(steps), "quality": bool(quality),
                **grid.to_dict()}
    _claim_out_dir(out, identity)
    runs = grid.runs()
    records: dict[str, dict] = {}
    for run in runs:
        record = read_done(out / "runs" / run.name)
        if record is not None:
            records[run.name] = record
    todo = [r for r in runs if r.name not in records]
    skipped = len(runs) - len(todo)
    units = plan_groups(todo, MAX_GROUP if vmap else 1)
    say(f"sweep of {len(runs)} run{'s' * (len(runs) > 1)} × {steps:,} steps into {out}")
    if skipped:
        say(f"resuming {out}: {skipped} of {len(runs)} runs already done, skipped")
    together = [len(u) for u in units if len(u) > 1]
    if together:
        say(f"{sum(together)} of {len(todo)} runs train together in {len(together)} vmapped "
            f"group{'s' * (len(together) > 1)} of {', '.join(map(str, together))}")
    t0 = time.perf_counter()
    finished = 0
    index = {r.name: i + 1 for i, r in enumerate(runs)}
    for unit in units:
        dirs = [out / "runs" / r.name for r in unit]
        if len(unit) == 1:
            results = [_train_alone(unit[0], steps, dirs[0], quality, say)]
        else:
            results = _train_together(unit, steps, dirs, quality, say)
        finished += len(unit)
        eta = (time.perf_counter() - t0) / finished * (len(todo) - finished)
        for run, d, record in zip(unit, dirs, results):
            record["best"] = best_metrics(d / "metrics.csv", record["final"])
            atomic_write_bytes(d / DONE_FILE, (json.dumps(record, indent=2) + "\n").encode())
            records[run.name] = record
            say(f"run {index[run.name]}/{len(runs)} ({run.describe()}): {headline(record)}; "
                f"ETA {format_duration(eta)}")
        write_runs_csv(out / "runs.csv", grid, [records[r.name] for r in runs if r.name in records])
    ordered = [records[r.name] for r in runs]
    write_runs_csv(out / "runs.csv", grid, ordered)
    table = summarize(grid, ordered)
    write_summary_csv(out / "summary.csv", grid, table)
    chart = None
    metrics = _final_columns(ordered)
    if metrics:
        from ganplay.report.sweep_chart import summary_chart

        chart = out / "summary.png"
        atomic_write_bytes(chart, summary_chart(grid, table, metrics, _chart_title(grid, steps)))
    else:
        say("no quality metrics (--no-quality or none for this data): no summary.png")
    return SweepResult(out, ordered, len(todo), skipped, time.perf_counter() - t0, chart,
                       [len(u) for u in units])


def _claim_out_dir(out: Path, identity: dict) -> None:
    """Record the grid in ``out/sweep.json``, or check that the sweep found there is this one."""
    path = out / GRID_FILE
    if path.exists():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GanplayError(f"{path} is unreadable ({exc}); choose another --out folder") from None
        mine = json.loads(json.dumps(identity))
        if found != mine:
            raise GanplayError(f"{out} holds a different sweep ({_difference(found, mine)}); repeat that "
                               f"sweep's own command to resume it, or choose another --out folder")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GanplayError(f"{out} is not empty and holds no {GRID_FILE}; choose a new or empty --out folder")
    atomic_write_bytes(path, (json.dumps(identity, indent=2) + "\n").encode())


def _difference(found: dict, mine: dict) -> str:
    for key in ("steps", "quality", "vary", "seeds"):
        if found.get(key) != mine.get(key):
            return f"its {key}: {json.dumps(found.get(key))}, this one's: {json.dumps(mine.get(key))}"
    a, b = found.get("base") or {}, mine.get("base") or {}
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"its {key}: {json.dumps(a.get(key))}, this one's: {json.dumps(b.get(key))}"
    return "another format"


def read_done(run_dir: Path) -> dict | None:
    """A complete run's record, or None (not run yet, or interrupted before it finished)."""
    try:
        record = json.loads((run_dir / DONE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("status") in ("done", "diverged") else None


def _record(run: Run, status: str, seconds: float, final: dict, steps: int, trained: str,
            message: str = "") -> dict:
    return {"name": run.name, "settings": {k: v for k, v in run.settings}, "seed": run.seed,
            "status": status, "seconds": seconds, "steps": steps, "trained": trained,
            "final": {k: (None if v is None else float(v)) for k, v in final.items()},
            "message": message}


def _fresh_dir(d: Path) -> None:
    """A run folder left by an interrupted sweep starts over (no stale samples or checkpoint)."""
    for name in ("config.json", "metrics.csv", "samples.npy", "labels.npy", "samples.png", CHECKPOINT):
        try:
            (d / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise GanplayError(f"cannot clear {d / name}: {exc.strerror or exc}") from None


def _train_alone(run: Run, steps: int, d: Path, quality: bool, say) -> dict:
    _fresh_dir(d)
    start = time.perf_counter()
    try:
        summary = train_headless(run.config, steps, d, quality=quality, notify=say)
    except DivergenceError as exc:
        return _record(run, "diverged", time.perf_counter() - start, {}, steps, "alone", str(exc))
    return _record(run, "done", time.perf_counter() - start, summary.final, summary.steps, "alone")


def _train_together(runs: list[Run], steps: int, dirs: list[Path], quality: bool, say) -> list[dict]:
    """Train ``runs`` (one structural config) as one vmapped program; write each run's folder as
    :func:`train_headless` would."""
    start = time.perf_counter()
    n = len(runs)
    trainer = build_trainer(runs[0].config)
    views = [member_trainer(trainer, r.config) for r in runs]
    states = initial_states(trainer, [r.config for r in runs])
    program = vmapped_run(trainer, [r.config for r in runs])
    names = trainer.metric_names
    columns = quality_columns(trainer.dataset, is_conditional(trainer))
    for run, d in zip(runs, dirs):
        _fresh_dir(d)
        _prepare_out_dir(d, run.config, 0, False, columns, names)
    monitors = [QualityMonitor(v) if quality and columns else None for v in views]
    chunk = even_chunk(steps, default_chunk(trainer))
    done = 0
    good: list = [None] * n  # a diverged run's last good (step, state)
    faults = [""] * n
    finals: list[dict] = [{} for _ in range(n)]
    samples: list = [None] * n
    last_note = time.perf_counter()
    with ExitStack() as stack:
        files = [stack.enter_context(open(d / "metrics.csv", "a", encoding="utf-8")) for d in dirs]
        while done < steps:
            k = min(chunk, steps - done)
            started = time.perf_counter()
            new, metrics = program(states, k, trainer.data_arrays)
            m = fetch_metrics(metrics)  # each [n, k]: one transfer for the whole group
            seconds = time.perf_counter() - started
            last = done + k == steps
            before, after = _Host(states), _Host(new)  # fetched only when a member is needed
            for i in range(n):
                if faults[i]:
                    continue
                mine = {name: m[name][i] for name in m}
                fault = find_fault(mine, done + 1)
                if fault is not None:
                    faults[i] = describe_fault(*fault)
                    good[i] = (done, member_state(before.get(), i))
                    continue
                row = None
                monitor = monitors[i]
                if monitor is not None:
                    monitor.record_training(seconds / n)  # the budget is the group's, shared
                if last:
                    state = member_state(after.get(), i)
                    samples[i] = generate_samples(views[i], state)
                    if monitor is not None:
                        row = monitor.evaluate(state, steps, samples=samples[i])
                    finals[i] = dict(row or {})
                elif monitor is not None and monitor.due():
                    row = monitor.maybe_evaluate(member_state(after.get(), i), done + k)
                _write_rows(files[i], done + 1, {name: mine[name] for name in names}, columns, row)
            states, done = new, done + k
            if all(faults):
                break
            now = time.perf_counter()
            if now - last_note > 60 and done < steps:
                say(f"{n} runs together: step {done:,}/{steps:,}")
                last_note = now
    seconds = (time.perf_counter() - start) / n  # each run's share of the group's time
    host = _Host(states)
    records = []
    for i, (run, d) in enumerate(zip(runs, dirs)):
        trained = f"together with {n - 1} other runs (vmap)"
        if faults[i]:
            step, state = good[i]
            save_run(d / CHECKPOINT, run.config, state)
            message = f"{faults[i]}; rows and run.npz stop at step {step:,}, the last state before it"
            records.append(_record(run, "diverged", seconds, {}, step, trained, message))
            continue
        state = member_state(host.get(), i)
        save_run(d / CHECKPOINT, run.config, state)
        write_samples(views[i], state, d, samples[i])
        records.append(_record(run, "done", seconds, finals[i], steps, trained))
    return records


class _Host:
    """A stacked device state copied to the host on first use (one transfer for all runs)."""

    def __init__(self, states):
        self._states, self._host = states, None

    def get(self):
        if self._host is None:
            self._host = jax.device_get(self._states)
        return self._host


# -- results ---------------------------------------------------------------------------------------
def best_metrics(metrics_csv: Path, final: dict | None = None) -> dict:
    """The best value of each quality metric over the evaluations in a run's metrics.csv (and
    ``final``, the last evaluation at full precision: the csv keeps 6 digits)."""
    best: dict[str, float] = {}
    cols: list = []
    try:
        with open(metrics_csv, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            cols = [(j, c) for j, c in enumerate(header) if c in BEST]
            for row in reader:
                for j, c in cols:
                    if j < len(row) and row[j]:
                        v = float(row[j])
                        if math.isfinite(v):
                            best[c] = BEST[c](best[c], v) if c in best else v
    except FileNotFoundError:
        pass
    for c, v in (final or {}).items():
        if c in BEST and v is not None and math.isfinite(v):
            best[c] = BEST[c](best[c], v) if c in best else v
    order = [c for _, c in cols] + [c for c in (final or {}) if c not in dict(cols).values()]
    return {c: best[c] for c in order if c in best}


def headline(record: dict) -> str:
    """A run's result in a few words, for its progress line."""
    if record["status"] == "diverged":
        return "diverged: " + record["message"].split(";")[0].replace("training diverged ", "")
    f = record["final"]
    parts = []
    if f.get("modes") is not None:
        parts += [f"{f['modes']:.0f} mode{'s' * (f['modes'] != 1)}", f"{f['high_quality']:.2f} high quality"]
    elif f.get("fid") is not None:
        parts += [f"FID {f['fid']:.1f}", f"IS {f['inception_score']:.2f}"]
    elif f.get("kl") is not None:
        parts.append(f"KL {f['kl']:.3f}")
    if f.get("test_acc") is not None:
        parts.append(f"test accuracy {100 * f['test_acc']:.2f}%")
    return ", ".join(parts) or "done"


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _final_columns(records: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in records:
        cols += [c for c in r["final"] if c not in cols]
    return cols


def _best_columns(records: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in records:
        cols += [c for c in r.get("best", {}) if c not in cols]
    return cols


def _cell(v) -> str:
    if v is None:
        return ""
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def write_runs_csv(path: Path, grid: Grid, records: list[dict]) -> None:
    """One row per run: its name, varied settings, seed, status, seconds, final and best metrics."""
    keys = [v.key for v in grid.vary]
    final, best = _final_columns(records), _best_columns(records)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", *keys, "seed", "status", "seconds", *final, *(f"best_{c}" for c in best)])
    for r in records:
        w.writerow([r["name"], *(format_value(r["settings"][k]) for k in keys), r["seed"], r["status"],
                    f"{r['seconds']:.2f}", *(_cell(r["final"].get(c)) for c in final),
                    *(_cell(r.get("best", {}).get(c)) for c in best)])
    atomic_write_bytes(path, buf.getvalue().encode())


def summarize(grid: Grid, records: list[dict]) -> list[dict]:
    """Per combination of varied settings: ``n`` (finished runs), ``diverged``, and the mean and
    sample sd (n − 1) over seeds of each final and best metric (finished runs, finite values)."""
    final, best = _final_columns(records), _best_columns(records)
    metrics = [(m, lambda r, m=m: r["final"].get(m)) for m in final]
    metrics += [(f"best_{m}", lambda r, m=m: r.get("best", {}).get(m)) for m in best]
    table = []
    for combo in grid.combinations():
        settings = dict(combo)
        mine = [r for r in records if all(r["settings"].get(k) == v for k, v in settings.items())]
        ok = [r for r in mine if r["status"] == "done"]
        row: dict[str, Any] = {"settings": settings, "n": len(ok), "diverged": len(mine) - len(ok)}
        for name, get in metrics:
            values = [v for v in (get(r) for r in ok) if v is not None and math.isfinite(v)]
            row[f"{name}_mean"] = statistics.fmean(values) if values else None
            row[f"{name}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        table.append(row)
    return table


def write_summary_csv(path: Path, grid: Grid, table: list[dict]) -> None:
    keys = [v.key for v in grid.vary]
    stats = [c for c in (table[0] if table else {}) if c.endswith(("_mean", "_sd"))]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*keys, "n", "diverged", *stats])
    for row in table:
        w.writerow([*(format_value(row["settings"][k]) for k in keys), row["n"], row["diverged"],
                    *(_cell(row[c]) for c in stats)])
    atomic_write_bytes(path, buf.getvalue().encode())


def _chart_title(grid: Grid, steps: int) -> str:
    b = grid.base
    return (f"{b.model} on {b.dataset}, {steps:,} steps: mean ± sd over "
            f"{len(grid.seeds)} seed{'s' * (len(grid.seeds) > 1)}")
