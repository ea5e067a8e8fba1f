"""Sweeps: a grid of settings × seeds trained headless, with tables and a chart of the results
(behind ``ganplay sweep``).

A grid is a base config, ``--vary key=v1,v2,…`` axes and seeds. Runs that share every structural
setting (they differ only in ``seed`` and live settings, ``LIVE_FIELDS``) form a group, trained
together as one ``jax.vmap``-ed program (:mod:`ganplay.engine.groups`) where that pays
(:func:`~ganplay.engine.groups.choose_vmap`; ``vmap`` True or False forces it), else each run
alone with :func:`~ganplay.engine.runner.train_headless`, exactly as ``ganplay train`` trains it.
The choice is said in the progress lines and recorded in ``sweep.json`` (``"training"``).

Each run gets its own folder ``DIR/runs/<name>/`` with what ``ganplay train`` writes and, written
last, ``done.json``: its result, which a restarted sweep reads instead of training the run again.
``DIR/sweep.json`` records the grid (a different grid is refused), ``DIR/runs.csv`` has one row
per run, ``DIR/summary.csv`` the mean and sd over seeds and ``DIR/summary.png`` a chart of them.

A vmapped member starts from its own seed's state, draws its own batches from its own
``state.key``, is scored on the schedule of a run alone (the group shares the time budget) and
always on its last step. A member that diverges keeps its rows and state up to the last dispatch
before the fault and is marked ``diverged``; the others go on. A sweep never rolls back.
"""
from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ganplay.config import SAMPLERS, Config
from ganplay.engine.checkpoint import save_run
from ganplay.engine.groups import (  # noqa: F401 (re-exported: callers import them here)
    VmappedGroup,
    can_vmap,
    choose_vmap,
    initial_states,
    member_state,
    member_trainer,
    splitter,
    structural_key,
    vmapped_run,
)
from ganplay.engine.guard import GoodStates, keep_every
from ganplay.engine.loop import ChunkLoop
from ganplay.engine.quality import QualityMonitor, is_conditional, quality_columns, sample_count, sampler_columns
from ganplay.engine.run_folder import CHECKPOINT, MetricsCsv, prepare_out_dir, write_sampler_samples, write_samples
from ganplay.engine.runner import DivergenceError, LastCells, default_chunk, train_headless
from ganplay.engine.scorers import QualityScorer, SamplerScorer
from ganplay.engine.sweep_tables import (  # noqa: F401 (re-exported)
    BEST,
    best_metrics,
    format_duration,
    format_value,
    headline,
    summarize,
    write_runs_csv,
    write_summary_csv,
)
from ganplay.engine.sweep_tables import _chart_title, _final_columns
from ganplay.engine.train import build_trainer
from ganplay.errors import ConfigError, GanplayError
from ganplay.files import atomic_write_bytes

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
def plan_groups(runs: list[Run], max_group: int = MAX_GROUP) -> list[list[Run]]:
    """The runs as training units, in grid order of their first run: groups of two or more runs
    that train together (vmapped) and single runs that train alone."""
    buckets: dict[str, list[Run]] = {}
    for i, run in enumerate(runs):
        key = structural_key(run.config) if can_vmap(run.config) else f"alone {i}"
        buckets.setdefault(key, []).append(run)
    return [b[i:i + max_group] for b in buckets.values() for i in range(0, len(b), max_group)]


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


def run_sweep(grid: Grid, steps: int, out_dir, *, quality: bool = True, vmap: bool | None = None,
              progress: Callable[[str], None] | None = None) -> SweepResult:
    """Train every run of ``grid`` for ``steps`` steps into ``out_dir`` (resuming a sweep of the
    same grid found there), then write runs.csv, summary.csv and summary.png.

    ``vmap`` None chooses per group (:func:`~ganplay.engine.groups.choose_vmap`), True trains
    every group together, False every run alone. ``progress`` receives one line per finished run
    (with an ETA and how it trained) and a few notes."""
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
    say(f"sweep of {len(runs)} run{'s' * (len(runs) > 1)} × {steps:,} steps into {out}")
    if skipped:
        say(f"resuming {out}: {skipped} of {len(runs)} runs already done, skipped")
    units = _plan(todo, vmap, say)
    _record_training(out, units)
    t0 = time.perf_counter()
    finished = 0
    index = {r.name: i + 1 for i, r in enumerate(runs)}
    for unit in units:
        dirs = [out / "runs" / r.name for r in unit.runs]
        if unit.trainer is None:
            results = [_train_alone(unit.runs[0], steps, dirs[0], quality, say)]
        else:
            results = _train_together(unit.runs, steps, dirs, quality, say, unit.trainer)
        finished += len(unit.runs)
        eta = (time.perf_counter() - t0) / finished * (len(todo) - finished)
        for run, d, record in zip(unit.runs, dirs, results):
            record["best"] = best_metrics(d / "metrics.csv", record["final"])
            atomic_write_bytes(d / DONE_FILE, (json.dumps(record, indent=2) + "\n").encode())
            records[run.name] = record
            say(f"run {index[run.name]}/{len(runs)} ({run.describe()}): {headline(record)}; "
                f"ETA {format_duration(eta)}; trained {record['trained']}")
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
                       [len(u.runs) for u in units])


@dataclass
class _Unit:
    """Runs trained as one: a vmapped group (``trainer`` is the group's) or one run alone."""

    runs: list[Run]
    trainer: Any = None
    why: str = ""


def _plan(todo: list[Run], vmap: bool | None, say) -> list[_Unit]:
    """The training units, each group's way of training chosen (and said)."""
    units: list[_Unit] = []
    for group in plan_groups(todo, 1 if vmap is False else MAX_GROUP):
        if len(group) == 1:
            units.append(_Unit(group, why="--no-vmap" if vmap is False and can_vmap(group[0].config) else ""))
            continue
        trainer = build_trainer(group[0].config)
        together, why = choose_vmap(trainer, vmap)
        names = f"{len(group)} runs like {group[0].name}"
        if together:
            units.append(_Unit(group, trainer, why))
            say(f"{names} train together ({why})")
        else:
            units += [_Unit([run], why=why) for run in group]
            say(f"{names} train {why}")
    return units


def _record_training(out: Path, units: list[_Unit]) -> None:
    """Add to sweep.json how this invocation trains its runs (``"training"``: one entry per
    unit, with ``vmap`` and why)."""
    path = out / GRID_FILE
    found = json.loads(path.read_text(encoding="utf-8"))
    done = {tuple(e["runs"]): e for e in found.get("training", []) if isinstance(e, dict) and "runs" in e}
    for u in units:
        done[tuple(r.name for r in u.runs)] = {"runs": [r.name for r in u.runs], "vmap": u.trainer is not None,
                                               "why": u.why}
    found["training"] = list(done.values())
    atomic_write_bytes(path, (json.dumps(found, indent=2) + "\n").encode())


def _claim_out_dir(out: Path, identity: dict) -> None:
    """Record the grid in ``out/sweep.json``, or check that the sweep found there is this one."""
    path = out / GRID_FILE
    if path.exists():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GanplayError(f"{path} is unreadable ({exc}); choose another --out folder") from None
        mine = json.loads(json.dumps(identity))
        if isinstance(found, dict):
            found.pop("training", None)  # how runs trained, not the sweep's identity
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
    outputs = ("config.json", "metrics.csv", "samples.npy", "labels.npy", "samples.png", CHECKPOINT,
               *(f"samples_{s}.npy" for s in SAMPLERS if s != "none"))
    for name in outputs:
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


def _train_together(runs: list[Run], steps: int, dirs: list[Path], quality: bool, say, trainer=None) -> list[dict]:
    """Train ``runs`` (one structural config) as one vmapped group; write each run's folder as
    :func:`train_headless` would. Each member is a loop of its own, with its observers."""
    start = time.perf_counter()
    n = len(runs)
    trainer = trainer or build_trainer(runs[0].config)
    configs = [r.config for r in runs]
    stacked = initial_states(trainer, configs)
    names = trainer.metric_names
    columns = quality_columns(trainer.dataset, is_conditional(trainer))
    members = []
    for run, d, state in zip(runs, dirs, splitter(n)(stacked)):
        _fresh_dir(d)
        sampler = run.config.sampler
        own = columns + sampler_columns(sampler, columns)  # the sampler's beside G's, as train_headless
        prepare_out_dir(d, run.config, 0, False, own, names)
        view = member_trainer(trainer, run.config)
        loop = ChunkLoop(view, state, GoodStates(keep_every(trainer.dataset.kind)))
        monitor = QualityMonitor(view) if quality and columns else None
        scorer = loop.add(QualityScorer(monitor, final_step=steps))
        sampled = None if sampler == "none" else loop.add(
            SamplerScorer(sampler, monitor, steps, sample_count(trainer.dataset.kind), run.config.seed))
        members.append(_Member(loop, scorer, loop.add(LastCells(steps)),
                               loop.add(MetricsCsv(d, names, own, rows_before_fault=False)),
                               loop.add(_Kept(state)), sampled))
    group = VmappedGroup(trainer, configs, [m.loop for m in members], stacked)
    chunk = even_chunk(steps, default_chunk(trainer))
    done = 0
    last_note = time.perf_counter()
    try:
        while done < steps:
            k = min(chunk, steps - done)
            group.advance(k)
            done += k
            if all(m.loop.divergence is not None for m in members):
                break
            now = time.perf_counter()
            if now - last_note > 60 and done < steps:
                say(f"{n} runs together: step {done:,}/{steps:,}")
                last_note = now
    finally:
        for m in members:
            m.rows.close()
    seconds = (time.perf_counter() - start) / n  # each run's share of the group's time
    records = []
    trained = f"together with {n - 1} other runs (vmap)"
    for run, d, m in zip(runs, dirs, members):
        d_ = m.loop.divergence
        if d_ is not None:
            step, state = m.kept.step, m.kept.state
            save_run(d / CHECKPOINT, run.config, state)
            message = f"{d_.message()}; rows and run.npz stop at step {step:,}, the last state before it"
            records.append(_record(run, "diverged", seconds, {}, step, trained, message))
            continue
        save_run(d / CHECKPOINT, run.config, m.loop.state)
        write_samples(m.loop.trainer, m.loop.state, d, m.scorer.samples)
        if m.sampled is not None and m.sampled.samples is not None:
            write_sampler_samples(d, run.config.sampler, m.sampled.samples)
        records.append(_record(run, "done", seconds, m.final.cells, steps, trained))
    return records


@dataclass
class _Member:
    loop: ChunkLoop
    scorer: QualityScorer
    final: LastCells
    rows: MetricsCsv
    kept: _Kept
    sampled: SamplerScorer | None = None


class _Kept:
    """A member's state after its last chunk without a fault (what a diverged member keeps)."""

    def __init__(self, state):
        self.state, self.step = state, 0

    def on_chunk(self, event) -> None:
        self.state, self.step = event.state, event.step
