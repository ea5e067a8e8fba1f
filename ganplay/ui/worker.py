"""The bridge between the GUI thread and training: a QObject worker living on a QThread.

The GUI talks to it through :class:`~ganplay.ui.command_worker.CommandWorker`'s thread-safe
command queue and ``threading.Event`` flags, never through queued slots. Only the worker touches
the training state; the GUI receives finished NumPy ``Snapshot`` objects, at most ``max_fps``
times a second: the worker puts the newest one in a one-slot mailbox and emits
``snapshot_ready``. Python objects never travel inside queued Qt events (PySide6 can mis-count
references of objects left in the queue at shutdown), and a slow GUI never builds a backlog: it
simply draws the newest snapshot.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from PySide6.QtCore import Signal

from ganplay.config import Config
from ganplay.engine.session import SUBSTEPS, ChunkSizer, Pacer, Session
from ganplay.logs import log_failure
from ganplay.ui.command_worker import CommandWorker, Mailbox, WorkerThread
from ganplay.ui.timeline_worker import TimelineCommands
from ganplay.ui.worker_handlers import SUBSTEP_MESSAGES, WorkerHandlers  # noqa: F401 (re-exported)

__all__ = ["SPEEDS", "TrainingWorker", "WorkerThread"]

STALE_S = 1 / 30  # publish at least this often while playing, read or not (the frame-rate goal)
SPEEDS = (None, 100.0, 10.0, 1.0)  # the speed control's steps/s (None: as fast as it goes)
PIPELINE_DEPTH = 2  # chunks kept in flight while playing (the device trains on while the window paints)
MAX_PACED_RATE = 1000.0  # above this a paced run would be slower than an unpaced one anyway




class TrainingWorker(WorkerHandlers, TimelineCommands, CommandWorker):
    snapshot_ready = Signal(int)  # step of the snapshot now waiting in ``latest_snapshot()``
    saved = Signal(str)  # path of the run file just written
    opened = Signal(str)  # the opened run's config as JSON (the GUI mirrors it in the controls)
    diverged = Signal(str)  # training blew up; ``divergence()`` says where and what to roll back to
    target_reached = Signal(int)
    old_future_saved = Signal(str, int)  # (run file, step continued from): Continue from here kept it

    CRASH_HINT = " Press Reset to start again."

    def __init__(self, config: Config, max_fps: float = 60.0, clock=time.monotonic, warm_up: bool = False):
        super().__init__()
        self._warm_up = warm_up  # compile the training program as soon as a run is built
        self._clock = clock  # the pacer's (tests inject a fake one)
        self._pacer: Pacer | None = None  # slow motion: None runs as fast as it goes
        self._config = config
        self._min_emit_s = 1.0 / max_fps
        self.session: Session | None = None  # worker thread only
        self._target: int | None = None
        self._sizer = self._new_sizer()
        self._mailbox = Mailbox()
        self._divergence_lock = threading.Lock()
        self._divergence: tuple[str, int] | None = None  # (message, step a rollback returns to)
        self._overlays: dict[str, bool] = {}
        self._draw_class: int | None = None  # conditional models: the class to draw
        self._view: tuple[float, float, float, float] | None = None
        # Recording a GIF: chunks end on multiples of this and each such step is published, so
        # the timeline records it (kept from thinning) and no frame is skipped.
        self._frame_every: int | None = None
        # Chunks dispatched and not yet recorded, oldest first (worker thread only).
        self._inflight: deque = deque()
        self._last_emit = 0.0
        self.spectrum = None  # the game's eigenvalues (engine.spectrum.GameSpectrum) while a view shows them
        self._spectrum_kept = None  # the same observer while hidden: its trail survives a tab switch
        self._probe = None  # worker thread: the spectrum observer subscribed to the session's loop
        # The timeline (ui/timeline.py reads it; thread-safe): frames of what was published,
        # marks, and past states for Continue from here. ``save_recording``: run files carry it.
        self.recorder = self.new_recorder()
        self.save_recording = True

    # -- called from the GUI thread (thread-safe) ---------------------------------------------------
    def watch_spectrum(self, on: bool):
        """Evaluate the game's eigenvalues while ``on`` (their dock is visible): the worker
        subscribes the observer to the run's loop, and unsubscribes it (keeping its trail for the
        next time) when the view is hidden."""
        from ganplay.engine.spectrum import GameSpectrum

        if on and self._spectrum_kept is None:
            self._spectrum_kept = GameSpectrum()
        self.spectrum = self._spectrum_kept if on else None
        self._post("spectrum", self.spectrum)

    def rollback(self):
        """Return to the last good state kept before a divergence."""
        self._post("rollback")

    def set_overlays(self, **flags: bool):
        """Toggle what snapshots carry: field, arrows, manifold, interpolation."""
        self._post("overlays", dict(flags))

    def set_view(self, x0: float, x1: float, y0: float, y1: float):
        """The scatter's visible range (the decision field is evaluated over it)."""
        self._post("view", (float(x0), float(x1), float(y0), float(y1)))

    def step_d(self):
        """One discriminator update only (GAN Lab's step modes)."""
        self._post("step_d")

    def step_g(self):
        """One generator update only."""
        self._post("step_g")

    def substep(self, upto: str | None = None):
        """Step-by-step mode: the next sub-step (sample, D update, G update), or on to ``upto``;
        the snapshot that follows carries its ``substep`` (see ``Session.substep``)."""
        if upto is not None and upto not in SUBSTEPS:
            raise ValueError(f"sub-step {upto!r} is not one of {', '.join(SUBSTEPS)}")
        self._post("substep", upto)

    def set_speed(self, steps_per_s: float | None):
        """Slow motion while playing: at most this many steps a second, each one published
        (None: as fast as it goes, today's chunks)."""
        if steps_per_s is not None:
            steps_per_s = float(steps_per_s)
            if not (0 < steps_per_s <= MAX_PACED_RATE):
                raise ValueError(f"speed {steps_per_s:g} steps/s is out of range; allowed: (0, "
                                 f"{MAX_PACED_RATE:g}] or None (max)")
        self._post("speed", steps_per_s)

    def refresh_noise(self):
        """New fixed noise for the displayed samples."""
        self._post("refresh_noise")

    def start_baseline(self):
        """Semi-supervised models: train the supervised-only baseline beside the GAN."""
        self._post("baseline")

    def set_draw_class(self, c: int | None):
        """Conditional models: the class to draw (None: one row per class)."""
        self._post("draw_class", c)

    def save_run(self, path: str):
        self._post("save", str(path))

    def open_run(self, path: str, data_dir: str | None = None):
        self._post("open", str(path), data_dir)

    def divergence(self) -> tuple[str, int] | None:
        """(message, rollback step) of the divergence that paused training, or None."""
        with self._divergence_lock:
            return self._divergence

    def set_config(self, config: Config):
        self._post("config", config)

    def set_target(self, step: int | None):
        self._post("target", step)

    def set_frame_every(self, steps: int | None):
        """Publish a snapshot at every multiple of ``steps`` (a GIF's frames); None: stop."""
        self._post("frames", int(steps) if steps else None)

    def latest_snapshot(self):
        """The newest Snapshot (or None); the GUI reads it when ``snapshot_ready`` fires."""
        return self._mailbox.take()

    # -- worker thread --------------------------------------------------------------------------------
    def _loop(self):
        self._rebuild(self._config, announce=False)
        while not self._stop.is_set():
            self._drain_commands()
            if self._stop.is_set() or self.session is None:
                if self.session is None:
                    self._wait()
                continue
            if not (self._playing or self._pending_steps):
                self._idle()
                continue
            if self._playing and self._pacer is not None:
                self._paced_step()
                continue
            if not self._inflight:
                k = self._next_k()
                if k <= 0:
                    self._reach_target()
                    continue
                chunk = self._launch(k)
                if chunk is None:
                    continue
                self._inflight.append(chunk)
            # While playing, the next chunks are queued before the oldest is recorded and drawn:
            # the device trains on while this thread waits for the GIL (the window painting),
            # copies out a snapshot and hands it over (one chunk queued costs a fifth of the
            # headless speed: docs/decisions.md).
            while self._playing and len(self._inflight) < PIPELINE_DEPTH:
                k = self._next_k()
                chunk = self._launch(k) if k > 0 else None
                if chunk is None:
                    break
                self._inflight.append(chunk)
            if self._inflight:  # (a failed launch has dropped them all)
                self._complete(self._inflight.popleft())

    @staticmethod
    def _new_sizer() -> ChunkSizer:
        """A chunk sizer for a new run (tests fix its size by patching this module's ChunkSizer)."""
        return ChunkSizer()

    def _next_k(self) -> int:
        """Steps for the next dispatch: the sizer's, or what a step request, a target, the next
        GIF frame or the guard's next kept step leaves (counted from the newest step dispatched)."""
        s = self.session
        if self._pending_steps and not self._playing:
            k = self._pending_steps - s.inflight_steps
        else:
            k = self._sizer.k
        if self._target is not None:
            k = min(k, max(self._target - s.head_step, 0))
        if self._frame_every:
            k = min(k, self._frame_every - s.head_step % self._frame_every)
        # End on the divergence guard's next kept step, so a rollback never goes further back
        # than its spacing, however many steps the sizer puts in a dispatch.
        return s.good.limit(s.head_step, k) if k > 0 else k

    def _paced_step(self):
        """Slow motion: one step when it is due (no chunk queued behind it), then its snapshot."""
        wait = self._pacer.wait_s()
        if wait > 0:  # sleep until it is due, or until a command arrives
            if self._wake.wait(wait):
                self._wake.clear()
            return
        k = min(self._next_k(), 1)
        if k <= 0:
            self._reach_target()
            return
        chunk = self._launch(k)
        if chunk is not None:
            self._pacer.tick()
            self._complete(chunk)

    def _launch(self, k: int):
        try:
            return self.session.launch(k)
        except Exception as exc:  # a compile failure, out of memory: pause, report
            self._fail(exc)
            return None

    def _fail(self, exc: Exception):
        self._drop_inflight()
        self._set_playing(False)
        self._pending_steps = 0
        self._report_crash(f"training stopped at step {self.session.step:,}", exc)

    def _drop_inflight(self):
        """Forget the chunks in flight: training resumes from the newest recorded state."""
        if self._inflight:
            self.session.discard(self._inflight[0])
            self._inflight.clear()

    def _settle(self):
        """Record the chunk in flight, if any (before a command changes the run)."""
        while self._inflight and self.session is not None:
            self._complete(self._inflight.popleft())

    def _complete(self, chunk):
        s = self.session
        try:
            s.finish(chunk)
        except Exception as exc:  # an XLA runtime error, out of memory, a bug: pause, report
            self._fail(exc)
            return
        # (The loop has told its observers: the recorder kept the state, the spectrum evaluated.)
        self._sizer.update(chunk.k, s.last_train_seconds)
        if not self._playing:
            self._pending_steps = max(0, self._pending_steps - chunk.k)
        if s.divergence is not None:
            self._drop_inflight()  # queued from the diverged state
            self._on_divergence()
        now = time.perf_counter()
        done_target = self._target is not None and s.step >= self._target
        # While playing, a new snapshot once the window has taken the last one, or after STALE_S:
        # a window busy drawing curves would otherwise skip the next frame too. (Snapshots are
        # cheap now: their samples are computed on the device right behind each chunk.)
        wanted = self._mailbox.taken or now - self._last_emit >= STALE_S
        # A GIF's frame step is published, so the timeline records it (kept from thinning:
        # ``Recorder.pin``); the GIF is exported from the recording, drawn or not.
        frame = bool(self._frame_every) and s.step % self._frame_every == 0
        if (frame or (now - self._last_emit >= self._min_emit_s and wanted) or not self._playing or done_target
                or self._pacer is not None):  # slow motion: every step is seen
            self._publish()
            self._last_emit = now
        if done_target:
            self._reach_target()

    def _on_divergence(self):
        self._set_playing(False)
        self._pending_steps = 0
        d = self.session.divergence
        good = self.session.good.step  # (the recorder, a loop observer, has marked it)
        message = (f"{d.message()}. Training is paused. Roll back to step {good:,} (the last good state "
                   "kept) after lowering the learning rates or adding label smoothing, or reset the run.")
        with self._divergence_lock:
            self._divergence = (message, good)
        log_failure(message, self._config)
        self.diverged.emit(message)

    def _failure_config(self) -> Config:
        return self._config

    def _diverged(self) -> bool:
        return self.session is not None and self.session.divergence is not None

    def _publish(self):
        snap = self.session.snapshot()
        probe = self._probe
        if probe is not None:
            snap = snap.replace(spectrum=probe.snapshot())
        self.recorder.record(snap)  # what the display path just fetched: no extra device sync
        self._mailbox.put(snap)
        self.snapshot_ready.emit(snap.step)

    def _reach_target(self):
        self._set_playing(False)
        self._pending_steps = 0
        step = self.session.step
        self._target = None
        self.target_reached.emit(step)

    # One handler per command (``_post`` refuses a name that is not here, in the caller's thread).
    @property
    def _handlers(self) -> dict:
        return {
            "play": self._on_play, "pause": self._on_pause, "step": self._on_step,
            "target": self._on_target, "frames": self._on_frames,
            "reset": lambda: self._rebuild(self._config, announce=True, reason="reset"),
            "rollback": self._rollback, "overlays": self._on_overlays, "view": self._on_view,
            "step_d": lambda: self._single("step_d"), "step_g": lambda: self._single("step_g"),
            "substep": self._on_substep, "speed": self._on_speed,
            "refresh_noise": lambda: self._single("refresh_noise"), "baseline": self._start_baseline,
            "draw_class": self._on_draw_class, "save": self._save, "open": self._open,
            "config": self._apply_config, "continue_from": self._continue_from,
            "spectrum": self._on_spectrum,
        }

