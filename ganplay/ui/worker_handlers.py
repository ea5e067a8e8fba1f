"""The training worker's command handlers (worker thread only): play and slow motion, overlays
and the view, single updates and sub-steps, the baseline, save and open, rollback, new
settings and rebuilding the run. A mixin of TrainingWorker, which routes commands here."""
from __future__ import annotations

from ganplay.config import VIEW_FIELDS, Config
from ganplay.engine.recorder import read_recording
from ganplay.engine.session import Pacer, Session
from ganplay.errors import GanplayError
from ganplay.logs import log_failure

SUBSTEP_MESSAGES = {
    "sample": "sampled a batch: real x and noise z",
    "d": "updated D on that batch",
    "g": "updated G: one step done",
}


class WorkerHandlers:
    """The training worker's command handlers (worker thread only): play and slow motion, overlays"""

    def _on_play(self):
        if self._refused("before playing"):
            return
        if self._pacer is not None:
            self._pacer.restart()
        self._set_playing(True)

    def _on_speed(self, rate: float | None):
        self._pacer = None if rate is None else Pacer(rate, self._clock)

    def _on_target(self, step: int | None):
        self._target = step

    def _on_frames(self, every: int | None):
        """A GIF being recorded: chunks end on multiples of ``every``, each recorded in the
        timeline and kept from its thinning (``Recorder.pin``)."""
        self._frame_every = every
        self.recorder.pin(every, self.session.step if self.session is not None else 0)

    def _on_overlays(self, flags: dict):
        self._overlays.update(flags)
        if self.session is not None:
            self.session.overlays.update(flags)
            self._publish_soon = True

    def _on_view(self, view):
        x0, x1, y0, y1 = view
        if not (x1 > x0 and y1 > y0):  # a collapsed widget (not laid out yet)
            return
        self._view = view
        if self.session is not None:
            self.session.set_view(*view)
            self._publish_soon = True

    def _on_draw_class(self, c: int | None):
        self._draw_class = c
        if self.session is not None and self.session.conditional:
            self._configure_session()
            self._publish_soon = True

    def _single(self, cmd: str):
        if self.session is None:
            return
        if cmd != "refresh_noise" and self.session.divergence is not None:
            self.message.emit("the run has diverged: roll back or reset first")
            return
        self._set_playing(False)
        try:
            if cmd == "step_d":
                self.session.step_d()
                self.message.emit("one discriminator update (step count unchanged)")
            elif cmd == "step_g":
                self.session.step_g()
                self.message.emit("one generator update")
            else:
                self.session.refresh_noise()
        except Exception as exc:
            self._report_crash(f"{cmd} failed", exc)
            return
        self._publish()

    def _on_substep(self, upto: str | None):
        s = self.session
        if s is None:
            return
        if s.divergence is not None:
            self.message.emit("the run has diverged: roll back or reset first")
            return
        self._set_playing(False)
        self._pending_steps = 0
        try:
            ran = s.substep(upto)
        except Exception as exc:  # an XLA error, out of memory: report, keep the window
            self._report_crash("the sub-step failed", exc)
            return
        self.message.emit(" → ".join(SUBSTEP_MESSAGES[p] for p in ran) + f" (step {s.step:,})")
        if s.divergence is not None:
            self._on_divergence()
        self._publish()

    def _adopt(self, session: Session, recording=None):
        """Make ``session`` the run (a build, a reset, an Open run): a new timeline (or the one
        its file carried), the observers that watch it, the view's settings, a new sizer."""
        self.session = session
        self._new_timeline(recording)  # subscribes the recorder to the session's loop
        if self._probe is not None:  # the spectrum's view is showing: it watches the new run too
            session.loop.add(self._probe)
        self._configure_session()
        self._sizer = self._new_sizer()

    def _on_spectrum(self, probe):
        """Subscribe the spectrum observer to the run's loop (None: unsubscribe the one there)."""
        if self._probe is not None and self.session is not None:
            self.session.loop.remove(self._probe)
        self._probe = probe
        if probe is not None and self.session is not None:
            self.session.loop.add(probe)
            self._publish_soon = True

    def _configure_session(self):
        """Carry the view's overlay switches and range (and the class to draw) over to a new session."""
        self.session.overlays.update(self._overlays)
        if self._view is not None:
            self.session.set_view(*self._view)
        if self.session.conditional:
            c = self._draw_class
            self.session.set_draw_class(c if c is None or c < self.session.n_classes else None)

    def _start_baseline(self):
        if self.session is None or self.session.accuracy is None:
            self.message.emit("the baseline is for semi-supervised models (sgan-…)")
            return
        if self.session.accuracy.has_baseline:
            return
        try:
            self.session.start_baseline()
        except Exception as exc:
            self._report_crash("starting the baseline failed", exc)
            return
        self.message.emit("baseline: the same D trained on the same labels, supervised loss only; "
                          "it catches up, then trains in step with the GAN")
        self._publish()

    def _save(self, path: str):
        if self.session is None:
            self.failed.emit("nothing to save: no run is loaded")
            return
        try:
            self.session.save(path, recording=self.recorder if self.save_recording else None)
        except GanplayError as exc:
            log_failure(str(exc), self._config)
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            self._report_crash(f"cannot save {path}", exc)
            return
        self.saved.emit(path)

    def _open(self, path: str, data_dir: str | None):
        self._set_playing(False)
        self.message.emit(f"opening {path}…")
        try:
            session = Session.open(path, data_dir=data_dir)
        except GanplayError as exc:  # the current run stays as it was
            log_failure(str(exc), self._config)
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            self._report_crash(f"cannot open {path}", exc)
            return
        try:
            recording = read_recording(path)  # (None: a file saved without one)
        except GanplayError as exc:  # the run itself opened: keep it, say what was lost
            recording = None
            self.message.emit(str(exc))
        self._adopt(session, recording)
        self._config = session.config
        self._pending_steps = 0
        with self._divergence_lock:
            self._divergence = None
        self.opened.emit(session.config.to_json())
        self.message.emit(f"opened {path} at step {session.step:,}")
        self._publish()

    def _rollback(self):
        if self.session is None or self.session.good.state is None:
            return
        step = self.session.rollback()  # (the loop tells the recorder and the spectrum)
        with self._divergence_lock:
            self._divergence = None
        self.message.emit(f"rolled back to step {step:,}")
        self._publish()

    def _apply_config(self, new: Config):
        old = self._config
        if self.session is not None and not Session.needs_restart(old, new):
            self.session.apply_live(new)  # (the loop tells the recorder: a settings mark)
            self._config = new
            changed = {k for k, v in new.to_dict().items() if old.to_dict()[k] != v}
            if changed & VIEW_FIELDS:
                self._publish_soon = True  # a paused scatter shows the sampler's choice at once
            return
        changed = [k for k, v in new.to_dict().items() if old.to_dict()[k] != v]
        self._rebuild(new, announce=True, reason="changed " + ", ".join(changed))

    def _rebuild(self, config: Config, *, announce: bool, reason: str = ""):
        self._config = config
        self._pending_steps = 0
        with self._divergence_lock:
            self._divergence = None
        # A reset (or a change of live settings only) reuses the compiled trainer: it holds no
        # training state, so starting again costs one init instead of a rebuild and compile.
        old = self.session
        reuse = old is not None and not Session.needs_restart(old.config, config)
        self.message.emit(f"{'restarting' if reuse else 'building'} {config.model} on {config.dataset}…")
        try:
            session = Session(config, old.trainer if reuse else None)
        except GanplayError as exc:
            self.session = None
            self._set_playing(False)
            log_failure(str(exc), config)
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            self.session = None
            self._set_playing(False)
            self._report_crash(f"cannot build {config.model} on {config.dataset}", exc)
            return
        if self._stop.is_set():  # the window closed while this was compiling
            return
        self._adopt(session)
        note = getattr(self.session.trainer.dataset, "split_note", "")
        if announce:
            self.message.emit(f"restarted from step 0 ({reason})" + (f" · {note}" if note else ""))
        else:
            self.message.emit(note or "ready")
        self._publish()
        if self._warm_up:
            self._compile_ahead(note)

    def _compile_ahead(self, note: str):
        """Compile the training program and score the untrained generator now, while the user
        reads the window, so Play starts training at once (toy-mlp: 2-3 s sooner on 2 cores)."""
        self.message.emit("compiling the training step (Play works meanwhile: it starts when this ends)…")
        try:
            self.session.warm_up()
        except Exception as exc:  # the first Play would fail the same way: say so now
            self._fail(exc)
            return
        self.message.emit(note or "ready")
        self._publish_soon = True  # the quality plot's first point
