"""Compare mode's engine: 2 to 4 runs (A, B, C, D) of one dataset, trained in lockstep.

Runs that share every structural setting (they differ only in ``seed`` and live settings) train
as one ``jax.vmap``-ed group (:mod:`ganplay.engine.groups`, as a sweep's do) where that pays
(``vmap=None``: on a GPU, or for small steps on a CPU; elsewhere each run alone reproduces what
``ganplay train`` gives, bit for bit); each member still gets its own
:class:`~ganplay.engine.session.Session` for its history, quality metrics and snapshots, fed
with its slice of the group's state and metrics. Runs that differ
structurally (loss, model, batch size…) are sessions of their own, and a step of the comparison
dispatches every unit before waiting for any, so they alternate on the device. Every advance
moves every run by the same number of steps: the runs are always at the same step.

Each run's loop has a timeline :class:`~ganplay.engine.recorder.Recorder` (``recorders``) that
keeps the frames its snapshots drew, so Compare's bar scrubs every run at one step. A set of runs
is saved as one ``.ganplay-compare`` file or a folder of run files (:mod:`ganplay.engine.compare_sets`).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import fields

import jax

from ganplay.config import Config
from ganplay.engine.compare_export import (  # noqa: F401 (re-exported: the window imports them here)
    RECENT_POINTS,
    STEP_METRICS,
    comparison_csv,
    latest_metrics,
)
from ganplay.engine.compare_sets import (  # noqa: F401 (re-exported: callers import them here)
    FORMAT,
    INDEX,
    MAX_INDEX_BYTES,
    MAX_RUNS,
    NAMES,
    RUN_FILE_RATIO,
    SAME_DATA,
    SUFFIX,
    VERSION,
    ComparisonFiles,
    check_runs,
)
from ganplay.engine.groups import (
    VmappedGroup,
    choose_vmap,
    initial_states,
    member_trainer,
    splitter,
    stack,
    structural_key,
)
from ganplay.engine.loop import Chunk
from ganplay.engine.pacing import TICK_S, TickSizer  # noqa: F401 (re-exported)
from ganplay.engine.quality import EVAL_BUDGET, QualityMonitor
from ganplay.engine.recorder import Recorder
from ganplay.engine.session import Session, Snapshot
from ganplay.engine.sweep import Run, plan_groups
from ganplay.engine.train import build_trainer
from ganplay.errors import ConfigError
from ganplay.formatting import format_value


def differences(a: Config, b: Config) -> list[tuple[str, object]]:
    """(setting, b's value) for every setting where ``b`` differs from ``a``, in Config order."""
    return [(f.name, getattr(b, f.name)) for f in fields(Config) if getattr(a, f.name) != getattr(b, f.name)]


def diff_label(a: Config, b: Config, name: str = "B") -> str:
    """``"B: label_smoothing 0.2"``: a run's name and what it changes from run A."""
    changed = differences(a, b)
    if not changed:
        return f"{name}: same settings as A"
    return f"{name}: " + ", ".join(f"{k} {format_value(v)}" for k, v in changed)


def labels(configs: list[Config]) -> list[str]:
    """Each run's title: A's is its model, loss and dataset; the others' what they change."""
    a = configs[0]
    return [f"A: {a.model}, {a.loss} on {a.dataset}"] + [diff_label(a, c, n) for n, c in zip(NAMES[1:], configs[1:])]


# -- training units ---------------------------------------------------------------------------------
class EvaluationBudget:
    """One quality-evaluation budget for every run of a comparison.

    A run's own monitor would count each tick, which trains every run, as its own training
    time, so n runs would spend up to n x 4% on evaluation. Here evaluation takes at most
    ``EVAL_BUDGET`` of the time the comparison trains, all runs together; the runs take turns
    (the one with fewest evaluations first, one evaluation per tick after each run's first), so
    a frame never waits for several evaluations and every run's curve gets as many points."""

    def __init__(self, budget: float = EVAL_BUDGET):
        self.budget = budget
        self.train_seconds = 0.0
        self.monitors: list[SharedQuality] = []
        self._evaluated = False  # an evaluation ran in this tick
        self._preparing: SharedQuality | None = None

    def tick(self, seconds: float) -> None:
        """A tick trained every run for ``seconds``; evaluations may follow it."""
        self.train_seconds += max(0.0, float(seconds))
        self._evaluated = False

    def evaluated(self) -> None:
        self._evaluated = True

    @property
    def eval_seconds(self) -> float:
        return sum(m.eval_seconds for m in self.monitors)

    def due(self, monitor: SharedQuality) -> bool:
        if not monitor.ready:  # ``maybe_evaluate`` then only starts training its classifier:
            # one run at a time, the others then load it from the classifier cache.
            if self._preparing is None or self._preparing.ready or self._preparing not in self.monitors:
                self._preparing = monitor
            return monitor is self._preparing
        if monitor.evaluations == 0:  # every curve starts at once
            return True
        if self._evaluated or self.eval_seconds > self.budget * self.train_seconds:
            return False
        return monitor is min((m for m in self.monitors if m.ready), key=lambda m: m.evaluations)


class SharedQuality(QualityMonitor):
    """A run's quality monitor that spends the comparison's :class:`EvaluationBudget`."""

    def __init__(self, trainer, shared: EvaluationBudget):
        super().__init__(trainer, background=True)
        self.shared = shared

    def record_training(self, seconds: float) -> None:
        """Ignored: the comparison records each tick once, for all runs (``EvaluationBudget.tick``)."""

    def due(self) -> bool:
        return self.shared.due(self)

    def evaluate(self, state, step: int, samples=None):
        result = super().evaluate(state, step, samples)
        self.shared.evaluated()
        return result


class _Alone:
    """One run trained by its own session (which may have several chunks in flight)."""

    def __init__(self, index: int, session: Session):
        self.indices = [index]
        self.sessions = [session]
        self._chunks: deque[Chunk] = deque()

    def launch(self, k: int) -> None:
        # What a snapshot draws is dispatched right behind the chunk: drawn later, it would wait
        # for the next tick, already queued on the device (the profile's largest cost).
        self._chunks.append(self.sessions[0].launch(k))

    def wait(self) -> None:
        jax.block_until_ready(self._chunks[0].metrics)

    def finish(self) -> None:
        self.sessions[0].finish(self._chunks.popleft())

    def discard(self) -> None:
        self._chunks.clear()
        self.sessions[0].discard(None)


class _Together(VmappedGroup):
    """Runs of one structure trained as one vmapped group whose members are their sessions:
    each session's history, quality monitor and snapshots work unchanged."""

    def __init__(self, indices: list[int], trainer, sessions: list[Session], stacked):
        super().__init__(trainer, [s.config for s in sessions], sessions, stacked,
                         displays=[s.display_device for s in sessions], share=False)
        self.indices = indices
        self.sessions = sessions

    @classmethod
    def start(cls, indices: list[int], trainer, configs: list[Config], states=None) -> _Together:
        """A fresh group (each member as ``build_trainer(config).init()``) or, with ``states``,
        one continuing those member states."""
        stacked = initial_states(trainer, configs) if states is None else stack(states)
        members = splitter(len(configs))(stacked)
        sessions = [Session(c, member_trainer(trainer, c), m) for c, m in zip(configs, members)]
        return cls(indices, trainer, sessions, stacked)

    @classmethod
    def regroup(cls, indices: list[int], trainer, sessions: list[Session]) -> _Together:
        """The same group with fewer members (a run removed), their sessions kept."""
        return cls(indices, trainer, sessions, stack([s.state for s in sessions]))


class Comparison(ComparisonFiles):
    """2 to 4 runs of one dataset at the same step (one run is allowed while a set is built)."""

    def __init__(self, configs: list[Config], *, vmap: bool | None = None):
        configs = list(configs)
        check_runs(configs)
        self.configs = configs
        self.vmap = vmap
        self._trainers: dict[str, object] = {}  # reused by reset: no second compile
        self._inflight: deque[tuple[int, float]] = deque()  # (steps, dispatch time) of each tick
        self._last_ready = 0.0
        self.budget = EvaluationBudget()
        self._set_units(self._build(None))

    # -- the runs ---------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(NAMES[: len(self.configs)])

    @property
    def labels(self) -> list[str]:
        return labels(self.configs)

    @property
    def sessions(self) -> list[Session]:
        """The runs' sessions, in run order."""
        out: list = [None] * len(self.configs)
        for unit in self.units:
            for i, s in zip(unit.indices, unit.sessions):
                out[i] = s
        return out

    @property
    def step(self) -> int:
        return self.sessions[0].step

    @property
    def groups(self) -> list[list[str]]:
        """The training units by run name: ``[["A", "B"], ["C"]]`` (A and B vmapped together)."""
        return [[NAMES[i] for i in u.indices] for u in self.units]

    def _trainer(self, key: str, config: Config):
        if key not in self._trainers:
            self._trainers[key] = build_trainer(config)
        return self._trainers[key]

    def _build(self, states: list | None) -> list:
        """The training units: vmapped groups where runs share a structure, sessions otherwise."""
        runs = [Run(NAMES[i], c, ()) for i, c in enumerate(self.configs)]
        units = []
        self.training = []  # (run names, vmapped, why) of each unit
        for group in plan_groups(runs, 1 if self.vmap is False else MAX_RUNS):
            indices = [NAMES.index(r.name) for r in group]
            configs = [r.config for r in group]
            if len(group) > 1:
                trainer = self._trainer("group " + structural_key(configs[0]), configs[0])
                together, why = choose_vmap(trainer, self.vmap)
                self.training.append(([NAMES[i] for i in indices], together, why))
                if together:
                    units.append(_Together.start(indices, trainer, configs,
                                                 None if states is None else [states[i] for i in indices]))
                    continue
            for i, config in zip(indices, configs):
                trainer = self._trainer("alone " + config.to_json(), config)
                if states is None:
                    session = Session(config, trainer)
                else:
                    session = Session(config, trainer, trainer.place(states[i]))
                units.append(_Alone(i, session))
        return units

    def _set_units(self, units: list, recorders: list[Recorder | None] | None = None) -> None:
        """Train ``units`` from now on; every run's quality monitor spends ``budget``, and every
        run's loop has a timeline recorder (``recorders``, a new one where None)."""
        self.units = units
        monitors = []
        recorders = list(recorders or [None] * len(self.configs))
        for i, s in enumerate(self.sessions):
            if not isinstance(s.quality, SharedQuality):
                s.use_quality(SharedQuality(s.trainer, self.budget))
            monitors.append(s.quality)
            if recorders[i] is None:  # no past states: Compare has no Continue from here
                recorders[i] = Recorder(keep_states=False)
            if not any(o is recorders[i] for o in s.loop.observers):
                s.loop.add(recorders[i])
        self.budget.monitors = monitors
        self.recorders: list[Recorder] = recorders

    def reset(self) -> None:
        """Every run back to step 0 (its seed's first state); compiled programs are reused."""
        self.discard()
        self.close()
        self.budget = EvaluationBudget()
        self._set_units(self._build(None))

    def remove(self, index: int) -> None:
        """Drop run ``index`` (the later runs are renamed: C becomes B); the others keep training."""
        if len(self.configs) <= 1:
            raise ConfigError("a comparison keeps at least one run")
        if not 0 <= index < len(self.configs):
            raise ConfigError(f"there is no run {index}; runs: {', '.join(self.names)}")
        self.discard()
        units = []
        for unit in self.units:
            keep = [(i - (i > index), s) for i, s in zip(unit.indices, unit.sessions) if i != index]
            gone = [s for i, s in zip(unit.indices, unit.sessions) if i == index]
            for s in gone:
                s.close()
            if not keep:
                continue
            if len(keep) == len(unit.indices):
                unit.indices = [i for i, _ in keep]
                units.append(unit)
            elif len(keep) == 1:  # a group of one: the member's trainer view runs it alone
                units.append(_Alone(keep[0][0], keep[0][1]))
            else:
                units.append(_Together.regroup([i for i, _ in keep], unit.trainer, [s for _, s in keep]))
        del self.configs[index]
        self._set_units(units, [r for i, r in enumerate(self.recorders) if i != index])

    def close(self) -> None:
        for s in self.sessions:
            s.close()

    # -- training ---------------------------------------------------------------------------------
    def launch(self, k: int) -> None:
        """Dispatch ``k`` steps of every run after the newest dispatched, without waiting. Every
        unit is dispatched before any is waited for, so structurally different runs take turns
        on the device without a gap; a window keeps one such tick queued while it records and
        draws the last, so the device never waits for Python."""
        for unit in self.units:
            unit.launch(int(k))
        self._inflight.append((int(k), time.perf_counter()))

    def finish(self) -> tuple[int, float]:
        """Wait for the oldest tick in flight and record it in every run; returns its steps and
        the seconds it trained (from its dispatch, or the previous tick's end), not counting the
        recording and quality evaluations that follow (timed with them, a chunk sizer shrinks
        the chunks)."""
        k, launched = self._inflight.popleft()
        for unit in self.units:
            unit.wait()
        ready = time.perf_counter()
        seconds = ready - max(launched, self._last_ready)
        self._last_ready = ready
        self.budget.tick(seconds)
        for unit in self.units:
            unit.finish()
        return k, seconds

    def discard(self) -> None:
        """Drop the ticks in flight (a run diverged before them): training resumes from ``step``."""
        for unit in self.units:
            unit.discard()
        self._inflight.clear()

    def advance(self, k: int) -> float:
        """Train every run ``k`` steps; returns the seconds the training took."""
        self.launch(k)
        return self.finish()[1]

    @property
    def in_flight(self) -> int:
        """Ticks dispatched and not yet recorded."""
        return len(self._inflight)

    @property
    def head_step(self) -> int:
        """The step every run will be at once the ticks in flight finish."""
        return self.step + sum(k for k, _ in self._inflight)

    def next_k(self, k: int) -> int:
        """At most ``k`` steps after the newest dispatched, ending on the divergence guard's next
        kept step (as the single window does), so every run keeps good states at the same steps."""
        return self.sessions[0].good.limit(self.head_step, k)

    def divergences(self) -> list[str]:
        """One line per diverged run: ``"B: training diverged at step …"``."""
        return [f"{n}: {s.divergence.message()}" for n, s in zip(self.names, self.sessions)
                if s.divergence is not None]

    def snapshots(self) -> list[Snapshot]:
        """Each run's snapshot, also kept as a frame of its timeline (what the display path
        fetched: recording adds no device sync)."""
        snaps = [s.snapshot() for s in self.sessions]
        for recorder, snap in zip(self.recorders, snaps):
            recorder.record(snap)
        return snaps

    def recorder_bytes(self) -> int:
        """The memory every run's timeline holds."""
        return sum(r.nbytes for r in self.recorders)
