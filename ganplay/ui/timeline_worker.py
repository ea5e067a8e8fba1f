"""The training worker's timeline commands (mixed into ``TrainingWorker``): a new timeline per
run, and Continue from here. Worker thread only, like the rest of the worker's handlers."""
from __future__ import annotations

from ganplay.engine.recorder import Recorder


class TimelineCommands:
    """Needs the worker's ``session``, ``recorder``, ``message``, ``_post``, ``_publish``,
    ``_drop_inflight`` and ``_mailbox_lock``."""

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

    def _continue_from(self, step: int):
        s = self.session
        state = None if s is None else self.recorder.states.get(step)
        if state is None:
            self.message.emit(f"no kept state at step {step:,}: choose a marked step")
            return
        self._drop_inflight()
        self._pending_steps = 0
        was = s.step
        s.good.state, s.good.step = state, step  # the guard's rollback, to the chosen state
        s.rollback()
        self.recorder.truncate(step)
        self.recorder.mark(step, "continue", f"continued from step {step:,}")
        with self._mailbox_lock:
            self._divergence = None
        dropped = f"; the old future (steps {step + 1:,}–{was:,}) is dropped" if was > step else ""
        self.message.emit(f"continued from step {step:,}{dropped}")
        self._publish()

