"""The training worker's timeline commands (mixed into ``TrainingWorker``): a new timeline per
run, and Continue from here. Worker thread only, like the rest of the worker's handlers."""
from __future__ import annotations

import time

from ganplay.engine.recorder import Recorder
from ganplay.errors import GanplayError


class TimelineCommands:
    """Needs the worker's ``session``, ``recorder``, ``message``, ``old_future_saved``, ``_post``, ``_publish``,
    ``_frame_every``, ``_drop_inflight`` and ``_divergence_lock``."""

    keep_old_future = True  # Continue from here saves the run it leaves (Open run continues it)

    @staticmethod
    def new_recorder() -> Recorder:
        return Recorder()

    def continue_from(self, step: int):
        """Restart training from the kept state at ``step``, dropping the steps after it
        (called from the GUI thread)."""
        self._post("continue_from", int(step))

    def _new_timeline(self, recording: Recorder | None = None):
        """A new run, a new timeline (or the one its file carried); its first state is kept."""
        self.recorder = self.new_recorder() if recording is None else recording
        self.recorder.states.offer(self.session.state, self.session.step, self.session.trainer)
        self.recorder.pin(self._frame_every, self.session.step)  # a GIF being recorded goes on
        self.session.loop.add(self.recorder)  # it hears of every chunk, divergence and rollback

    def _continue_from(self, step: int):
        s = self.session
        state = None if s is None else self.recorder.states.get(step)
        if state is None:
            self.message.emit(f"no kept state at step {step:,}: choose a marked step")
            return
        self._drop_inflight()
        self._pending_steps = 0
        was = s.step
        kept = self._save_old_future(step) if was > step and self.keep_old_future else None
        s.good.state, s.good.step = state, step  # the guard's rollback, to the chosen state
        self.recorder.continue_at(step)  # its ``on_rollback`` marks a continue, not a rollback
        s.rollback()  # observers (the recorder, the spectrum) forget the steps after ``step``
        with self._divergence_lock:
            self._divergence = None
        dropped = "" if was <= step else (f"; the old future (steps {step + 1:,}–{was:,}) is saved in {kept} "
                                         "(File ▸ Open run continues it; Run ▸ Compare with the old "
                                         "future shows it beside this branch)" if kept else
                                         f"; the old future (steps {step + 1:,}–{was:,}) is dropped")
        self.message.emit(f"continued from step {step:,}{dropped}")
        if kept:
            self.old_future_saved.emit(kept, step)
        self._publish()

    def _save_old_future(self, step: int) -> str | None:
        """Save the run as it is before Continue from here cuts it (with its timeline) into the
        cache's ``branches`` folder; the path, or None when it cannot be written (said)."""
        from ganplay.data.locate import cache_root

        s = self.session
        name = f"{s.config.model}-{s.config.dataset}-{s.step}-before-{step}-{time.strftime('%Y%m%d-%H%M%S')}.npz"
        path = cache_root() / "branches" / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            s.save(path, recording=self.recorder)
        except (GanplayError, OSError) as exc:
            self.message.emit(f"could not keep the old future: {exc}")
            return None
        return str(path)
