"""The training timeline's memory: thinned frames of what the views drew, marks, and past states.

A :class:`Recorder` is an observer of the training loop (``engine/observers.py``). It keeps
*frames*: the generated samples from the fixed display noise (2-D points as float16, images as
uint8), the decision field (uint8) and the noise manifold (float16) when those overlays were on,
and one row of metrics. It takes what the display path already fetched (``ChunkEvent.display``,
or a window's ``Snapshot`` through :meth:`Recorder.record`), so recording adds no device sync.

Thinning: the newest ``dense`` frames are all kept; a frame older than that is kept only when
its arrival number is a multiple of 2, 4, 8, ... the further back it lies (every 2nd frame
between ``dense`` and ``2*dense`` frames ago, every 4th up to ``4*dense``, ...). Step 0's frame
and the latest are always kept, so a run of ``n`` frames keeps about
``dense + dense/2 * log2(n/dense)`` of them: a 100,000-step toy run with the field on, about
10 MB. A byte budget halves the dense window further if frames are large (colour images).

:class:`KeptStates` holds a bounded set of past training states (the guard's spacing, thinned
the same way) for "Continue from here"; JAX arrays are immutable, so keeping one costs no copy.
"""
from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from ganplay.engine.observers import ChunkEvent, Observer
from ganplay.engine.snapshot import DecisionField
from ganplay.heap import off_heap

DENSE_FRAMES = 200
BUDGET_BYTES = 150 * 2**20
MAX_PINNED = 240  # frames a GIF being recorded keeps from thinning (then its spacing doubles)
MAX_STATES = 24  # past states kept for "Continue from here" (the latest always among them)
STATES_BUDGET_BYTES = 512 * 2**20  # ... and fewer when states are large (a dcgan's, say)
PREFIX = "recording/"
HEADER_KEY = "recording"
FORMAT_VERSION = 1


@dataclass
class Frame:
    """One recorded picture of the run: ``step``, arrival number ``index``, and compact arrays."""

    step: int
    index: int
    generated: np.ndarray  # float16 [N, 2] points or uint8 [N, H, W, C] images
    field: np.ndarray | None = None  # uint8 [100, 100]: round(255 D(x)), rows = y
    extent: tuple | None = None  # (x0, x1, y0, y1) of the field
    manifold: np.ndarray | None = None  # float16 [a, b, 2]
    metrics: dict = dataclass_field(default_factory=dict)  # name -> float (losses; quality when scored)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.generated, self.field, self.manifold) if a is not None) + 200

    def points(self) -> np.ndarray:
        """The generated samples as the views draw them: float32 points or images in [-1, 1]."""
        if self.generated.dtype == np.uint8:
            return self.generated.astype(np.float32) / 127.5 - 1.0
        return self.generated.astype(np.float32)

    def field_values(self) -> np.ndarray | None:
        return None if self.field is None else self.field.astype(np.float32) / 255.0


@dataclass(frozen=True)
class Mark:
    """Something that happened at ``step``: "modes" (gained or lost), "divergence", "rollback",
    "settings" (a live change) or "continue" (Continue from here); ``text`` says what."""

    step: int
    kind: str
    text: str


def neighbour_step(steps, step: int, direction: int) -> int | None:
    """In sorted ``steps``, the one just after (+1) or before (-1) ``step`` (the last or the
    first at either end; None when there are none)."""
    if not len(steps):
        return None
    if direction > 0:
        i = int(np.searchsorted(steps, step, side="right"))
        return int(steps[min(i, len(steps) - 1)])
    i = int(np.searchsorted(steps, step, side="left")) - 1
    return int(steps[max(i, 0)])


def keep_index(i: int, newest: int, dense: int) -> bool:
    """Whether frame number ``i`` survives once frame number ``newest`` has arrived."""
    age = newest - i
    if i == 0 or age < dense:
        return True
    # ceil(log2((age + 1) / dense)): 1 for ages dense..2*dense-1, 2 up to 4*dense-1, ...
    level = (-(-(age + 1) // dense) - 1).bit_length()
    return i % (1 << level) == 0


def compact(samples) -> np.ndarray:
    """Images in [-1, 1] as uint8, points as float16 (a thousandth of the data's range), outside
    malloc's heap when large (``heap.off_heap``: a frame kept for long leaves no hole there)."""
    samples = np.asarray(samples)
    if samples.ndim == 4:
        return off_heap(np.clip(np.rint((samples.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8))
    return off_heap(samples.astype(np.float16))


class Recorder(Observer):
    """Thinned frames and marks of a run (see the module's docstring). Thread-safe: the
    training thread records while the window reads."""

    def __init__(self, dense: int = DENSE_FRAMES, budget_bytes: int = BUDGET_BYTES, sampler=None,
                 keep_states: bool = True):
        if dense < 2:
            raise ValueError(f"dense={dense} must be at least 2 frames")
        self.dense = int(dense)
        self.budget_bytes = int(budget_bytes)
        self.sampler = sampler  # headless runs: state -> display dict (see ``Sampler``)
        self.frames: list[Frame] = []
        self.marks: list[Mark] = []
        self.nbytes = 0
        self._next_index = 0
        self._lock = threading.Lock()
        self._last_modes: float | None = None
        self.states = KeptStates()
        self.keep_states = keep_states  # past states for "Continue from here" (not in Compare)
        self.real: np.ndarray | None = None  # the real sample the views draw (float16), set once
        self.pinned_every: int | None = None  # see ``pin``
        self.pinned_from = 0
        self._continue_step: int | None = None  # see ``continue_at``

    # -- recording -------------------------------------------------------------------------------
    def on_chunk(self, event: ChunkEvent) -> None:
        # A chunk with a non-finite step (its host metrics say so: no device read) keeps no state.
        if self.keep_states and not np.any(event.metrics.get("fault", 0)):
            self.states.offer(event.state, event.step, event.trainer)
        display = event.display
        if display is None and self.sampler is not None:
            display = self.sampler(event.state, event.step)
        if display is None:
            return
        if self.real is None and display.get("real") is not None:
            self.real = compact(display["real"])
        metrics = {k: float(np.mean(v)) for k, v in event.metrics.items()
                   if k in ("d_loss", "g_loss", "d_real", "d_fake") and len(v)}
        self.add(event.step, display["generated"], field=display.get("field"),
                 manifold=display.get("manifold"), metrics=metrics)

    def record(self, snap) -> None:
        """Record a window's ``Snapshot`` (what the display path fetched), with its latest
        metric row and quality cells."""
        h = snap.history
        metrics = {k: float(h[k][-1]) for k in ("d_loss", "g_loss", "d_real", "d_fake")
                   if k in h and len(h[k])}
        q = snap.quality.series
        if len(q.get("step", ())):
            metrics.update({k: float(v[-1]) for k, v in q.items() if k != "step" and len(v)})
        if snap.quality.modes_total is not None:
            metrics["modes_total"] = float(snap.quality.modes_total)
        if self.real is None or len(self.real) != len(snap.real):
            self.real = compact(snap.real)
        self.add(snap.step, snap.generated, field=snap.field, manifold=snap.manifold, metrics=metrics)

    def add(self, step: int, generated, field=None, manifold=None, metrics: dict | None = None) -> None:
        """Keep a frame at ``step`` (a frame at a step already recorded replaces it)."""
        generated = np.asarray(generated)
        frame = Frame(int(step), 0, compact(generated), metrics=dict(metrics or {}))
        if field is not None:  # (a DecisionField)
            frame.field = off_heap(np.clip(np.rint(np.asarray(field.values) * 255), 0, 255).astype(np.uint8))
            frame.extent = tuple(float(v) for v in field.extent)
        if manifold is not None:
            frame.manifold = off_heap(np.asarray(manifold, np.float16))
        with self._lock:
            if self.frames and self.frames[-1].step >= frame.step:
                self._drop_after(frame.step - 1)  # the same step again, or a run that went back
            frame.index = self._next_index
            self._next_index += 1
            self.frames.append(frame)
            self.nbytes += frame.nbytes
            self._thin()
        self._mark_modes(frame)

    def pin(self, every: int | None, from_step: int = 0) -> None:
        """Keep the frames at multiples of ``every`` steps from ``from_step`` on out of the thinning
        (a GIF being recorded, ``--record-gif``); past ``MAX_PINNED`` of them the spacing doubles,
        so a long recording still spans the whole run. None: nothing pinned from now on."""
        with self._lock:
            self.pinned_every = None if every is None else max(int(every), 1)
            self.pinned_from = int(from_step)

    def pinned(self, step: int) -> bool:
        every = self.pinned_every
        return every is not None and step >= self.pinned_from and step % every == 0

    def _thin(self) -> None:
        newest = self.frames[-1].index
        first = self.frames[0]
        while self.pinned_every and sum(map(self.pinned, (f.step for f in self.frames))) > MAX_PINNED:
            self.pinned_every *= 2
        kept = [f for f in self.frames if f is first or keep_index(f.index, newest, self.dense) or self.pinned(f.step)]
        if len(kept) < len(self.frames):
            self.nbytes = sum(f.nbytes for f in kept)
        while self.nbytes > self.budget_bytes and self.dense > 8:
            self.dense //= 2  # large frames: a shorter dense stretch, the same geometric tail
            kept = [f for f in kept if f is first or keep_index(f.index, newest, self.dense) or self.pinned(f.step)]
            self.nbytes = sum(f.nbytes for f in kept)
        self.frames = kept

    def _mark_modes(self, frame: Frame) -> None:
        """Mark a change of the captured modes from the level last marked, by at least 1 mode
        of up to 12 (ring8), else by 2 (grid25's count wavers by one between evaluations)."""
        modes = frame.metrics.get("modes")
        if modes is None or not np.isfinite(modes):
            return
        level = self._last_modes
        if level is None:
            self._last_modes = modes
            return
        total = frame.metrics.get("modes_total", modes)
        if abs(modes - level) >= (1 if total <= 12 else 2):
            verb = "gained" if modes > level else "lost"
            self.mark(frame.step, "modes", f"modes {verb}: {level:g} → {modes:g}")
            self._last_modes = modes

    def mark(self, step: int, kind: str, text: str) -> None:
        with self._lock:
            self.marks.append(Mark(int(step), kind, text))

    def on_divergence(self, step: int, network: str, what: str) -> None:
        self.mark(step, "divergence", f"{network}'s {what} became non-finite at step {step:,}")

    def continue_at(self, step: int) -> None:
        """The next :meth:`on_rollback` to ``step`` is the user's Continue from here (marked so)."""
        self._continue_step = int(step)

    def on_rollback(self, step: int) -> None:
        later = [m.text for m in self.marks if m.step > step and m.kind == "divergence"]
        self.truncate(step)
        if self._continue_step == step:
            self.mark(step, "continue", f"continued from step {step:,}")
        else:
            self.mark(step, "rollback", f"rolled back to step {step:,}" + (f" ({later[-1]})" if later else ""))
        self._continue_step = None

    def on_settings(self, step: int, changed: dict) -> None:
        text = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items())
        self.mark(step, "settings", text)

    def truncate(self, last_step: int) -> None:
        """Forget frames, marks and states after ``last_step`` (the run went back there)."""
        with self._lock:
            self._drop_after(last_step)
            self.marks = [m for m in self.marks if m.step <= last_step]
        self.states.truncate(last_step)
        self._last_modes = None

    def _drop_after(self, last_step: int) -> None:
        self.frames = [f for f in self.frames if f.step <= last_step]
        self.nbytes = sum(f.nbytes for f in self.frames)

    # -- reading ---------------------------------------------------------------------------------
    def steps(self) -> np.ndarray:
        with self._lock:
            return np.asarray([f.step for f in self.frames], np.int64)

    def __len__(self) -> int:
        return len(self.frames)

    def frame_at(self, step: int) -> Frame | None:
        """The newest frame at or before ``step`` (the first frame for an earlier step)."""
        with self._lock:
            frames = list(self.frames)
        if not frames:
            return None
        steps = [f.step for f in frames]
        i = int(np.searchsorted(steps, step, side="right")) - 1
        return frames[max(i, 0)]

    def neighbour(self, step: int, direction: int) -> int | None:
        """The step of the recorded frame just after (+1) or before (-1) ``step``."""
        return neighbour_step(self.steps(), step, direction)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric over the frames that have it."""
        with self._lock:
            rows = [(f.step, f.metrics[name]) for f in self.frames if name in f.metrics]
        if not rows:
            return np.zeros(0), np.zeros(0)
        s, v = zip(*rows)
        return np.asarray(s, np.float64), np.asarray(v, np.float64)

    def marks_between(self, first: int, last: int) -> list[Mark]:
        with self._lock:
            return [m for m in self.marks if first <= m.step <= last]

    # -- files -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Plain arrays (``recording/...``) plus a JSON-able ``header``; see :func:`save_arrays`."""
        with self._lock:
            frames, marks = list(self.frames), list(self.marks)
        out = {"steps": np.asarray([f.step for f in frames], np.int64),
               "index": np.asarray([f.index for f in frames], np.int64)}
        for name in ("generated", "field", "manifold"):
            have = [f for f in frames if getattr(f, name) is not None]
            if not have:
                continue
            shape = have[-1].__dict__[name].shape  # a class picker changes the grid: keep the latest's
            have = [f for f in have if getattr(f, name).shape == shape]
            out[name] = np.stack([getattr(f, name) for f in have])
            out[f"{name}_steps"] = np.asarray([f.step for f in have], np.int64)
        if self.real is not None:
            out["real"] = self.real
        ext = [f for f in frames if f.extent is not None]
        if ext:
            out["extent"] = np.asarray([f.extent for f in ext], np.float32)
        names = sorted({k for f in frames for k in f.metrics})
        out["metrics"] = np.asarray([[f.metrics.get(k, np.nan) for k in names] for f in frames],
                                    np.float64).reshape(len(frames), len(names))
        header = {"version": FORMAT_VERSION, "dense": self.dense, "next_index": self._next_index,
                  "metric_names": names, "marks": [[m.step, m.kind, m.text] for m in marks]}
        return {"header": header, "arrays": out}

    def load_state_dict(self, state: dict) -> None:
        header, a = state["header"], state["arrays"]
        steps = [int(s) for s in a["steps"]]
        names = header["metric_names"]
        frames = []
        by_step = {}
        for row, (s, i) in enumerate(zip(steps, a["index"])):
            m = {k: float(v) for k, v in zip(names, a["metrics"][row]) if np.isfinite(v)}
            by_step[s] = Frame(s, int(i), np.zeros(0, np.float16), metrics=m)
            frames.append(by_step[s])
        for name in ("generated", "field", "manifold"):
            if name in a:
                for s, arr in zip(a[f"{name}_steps"], a[name]):
                    setattr(by_step[int(s)], name, arr)
        if "extent" in a:
            for f, e in zip([f for f in frames if f.field is not None], a["extent"]):
                f.extent = tuple(float(v) for v in e)
        with self._lock:
            self.frames = [f for f in frames if f.generated.size]
            self.marks = [Mark(int(s), str(k), str(t)) for s, k, t in header.get("marks", [])]
            self.dense = int(header.get("dense", self.dense))
            self._next_index = int(header.get("next_index", len(frames)))
            self.nbytes = sum(f.nbytes for f in self.frames)
        self.real = a.get("real")


class KeptStates:
    """Past training states at the guard's spacing, for "Continue from here": at most
    ``max_states`` (fewer if they would pass ``budget_bytes``: toy-mlp 0.4 MB a state, gia-mlp
    2.5 MB), the older ones thinned geometrically; step 0 and the newest always kept."""

    def __init__(self, every: int | None = None, max_states: int = MAX_STATES,
                 budget_bytes: int = STATES_BUDGET_BYTES):
        self.every = every
        self.max_states = int(max_states)
        self.budget_bytes = int(budget_bytes)
        self._sized = False
        self._states: dict[int, object] = {}
        self._count = 0
        self._index: dict[int, int] = {}

    def offer(self, state, step: int, trainer=None) -> None:
        """Keep ``state`` if ``step`` is on the spacing (the caller knows it is finite)."""
        every = self.every
        if every is None:
            from ganplay.engine.guard import keep_every

            kind = getattr(getattr(trainer, "dataset", None), "kind", "points")
            every = self.every = keep_every(kind)
        step = int(step)
        if step % every or step in self._states:
            return
        if not self._sized:  # (array sizes are metadata: no device sync)
            import jax

            size = sum(getattr(x, "nbytes", 0) for x in jax.tree_util.tree_leaves(state))
            self.max_states = int(min(self.max_states, max(2, self.budget_bytes // max(size, 1))))
            self._sized = True
        self._states[step] = state
        self._index[step] = self._count
        self._count += 1
        dense = max(self.max_states // 2, 2)
        newest = self._count - 1
        for s in sorted(self._states):
            if len(self._states) <= self.max_states:
                break
            i = self._index[s]
            if s != 0 and not keep_index(i, newest, dense):
                del self._states[s], self._index[s]
        while len(self._states) > self.max_states:  # still over: drop the oldest after step 0
            s = sorted(self._states)[1]
            del self._states[s], self._index[s]

    # The window reads while the training thread offers: ``sorted``/``list`` copy the keys in one
    # C call (no thread switch inside), so a reader never iterates a dict being changed.
    def steps(self) -> list[int]:
        return sorted(self._states)

    def get(self, step: int):
        return self._states.get(int(step))

    def at_or_before(self, step: int) -> int | None:
        earlier = [s for s in sorted(self._states) if s <= step]
        return earlier[-1] if earlier else None

    def truncate(self, last_step: int) -> None:
        for s in [s for s in self._states if s > last_step]:
            del self._states[s], self._index[s]


# -- run files ------------------------------------------------------------------------------------
def save_arrays(recorder: Recorder) -> tuple[dict, dict[str, np.ndarray]]:
    """(header entry, arrays) to add to a run file: each array zlib-compressed into uint8 bytes
    under ``recording/NAME`` (run files are plain ``np.savez``), described in the header."""
    state = recorder.state_dict()
    header = dict(state["header"])
    header["arrays"] = {}
    arrays = {}
    for name, arr in state["arrays"].items():
        arr = np.ascontiguousarray(arr)
        header["arrays"][name] = {"dtype": arr.dtype.str, "shape": list(arr.shape)}
        arrays[PREFIX + name] = np.frombuffer(zlib.compress(arr.tobytes(), 6), np.uint8)
    return header, arrays


def read_recording(path) -> Recorder | None:
    """The recording stored in a run file, or None (a file written without one)."""
    from ganplay.errors import CheckpointError

    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                return None
            header = json.loads(z["header"].tobytes().decode()).get(HEADER_KEY)
            if not header:
                return None
            arrays = {}
            for name, spec in header["arrays"].items():
                raw = zlib.decompress(z[PREFIX + name].tobytes())
                arrays[name] = np.frombuffer(raw, np.dtype(spec["dtype"])).reshape(spec["shape"]).copy()
    except (OSError, ValueError, KeyError, zlib.error) as exc:
        raise CheckpointError(f"{path}: the stored timeline recording is unreadable ({exc})") from None
    rec = Recorder()
    rec.load_state_dict({"header": header, "arrays": arrays})
    return rec


class Sampler:
    """Headless runs: what a window would have drawn, computed every ``every`` steps (its own
    schedule: this is the one place recording asks the device, and only without a window)."""

    def __init__(self, trainer, every: int, field: bool = False, n: int = 1500):
        import jax

        self.trainer, self.every, self.want_field = trainer, max(int(every), 1), field
        self.z = trainer.fixed_noise(n if trainer.dataset.kind == "points" else 64)
        self._last = None
        self.extent = None
        key = jax.random.PRNGKey(777)
        self.real = np.asarray(jax.device_get(trainer.sample_real(key, len(self.z))))
        if field and trainer.dataset.kind == "points":
            real = self.real
            lo, hi = real.min(axis=0), real.max(axis=0)
            pad = 0.15 * np.maximum(hi - lo, 1e-3)
            self.extent = (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))

    def __call__(self, state, step: int):
        import jax

        if self._last is not None and step // self.every == self._last // self.every and step != 0:
            return None
        self._last = step
        out = {"generated": self.trainer.generate(state, self.z), "real": self.real}
        if self.extent is not None:
            out["field"] = self.trainer.discriminator_field(state, self.extent, 100)
        host = jax.device_get(out)
        if "field" in host:
            host["field"] = DecisionField(np.asarray(host["field"], np.float32), self.extent)
        return host


class HeadlessRecorder(Recorder):
    """A recorder for runs without a window (``ganplay train --video``): it draws its own frames
    every ``every`` steps (a :class:`Sampler`, made once the run's trainer is known) and keeps
    each one (a video wants every frame it asked for; the byte budget still holds). ``chunk``:
    the steps per dispatch that lets a frame fall every ``every`` steps."""

    def __init__(self, every: int, field: bool = True):
        if every < 1:
            raise ValueError(f"a frame every {every} steps: must be 1 or more")
        super().__init__(dense=10**9)
        self.every = self.chunk = int(every)
        self._field = field

    def on_chunk(self, event: ChunkEvent) -> None:
        if self.sampler is None:
            points = event.trainer.dataset.kind == "points"
            self.sampler = Sampler(event.trainer, self.every, field=self._field and points)
        super().on_chunk(event)
