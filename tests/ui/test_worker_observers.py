"""The window's worker trains through its session's loop: the timeline's recorder and the
game's spectrum are observers of that loop, subscribed to each run the worker builds, opens,
resets or continues, and the spectrum only while its view shows it."""
from ganplay.config import Config
from ganplay.engine.observers import Observer
from ganplay.ui.worker import TrainingWorker

CONFIG = Config.for_model("toy-mlp", hidden=16, batch_size=32)


class Steps(Observer):
    def __init__(self):
        self.steps = []

    def on_chunk(self, event):
        self.steps.append(event.step)


def _train(worker, *ks):
    for k in ks:  # what the worker's loop does while playing, on this thread
        worker._complete(worker._launch(k))


def test_the_worker_feeds_the_loops_observers(qtbot, tmp_path):
    worker = TrainingWorker(CONFIG)
    worker._rebuild(CONFIG, announce=False)
    loop = worker.session.loop
    assert worker.recorder in loop.observers
    counted = loop.add(Steps())
    worker.watch_spectrum(True)
    worker._drain_commands()
    probe = worker.spectrum
    assert probe in loop.observers
    probe.every = 10
    _train(worker, 10, 10)
    assert counted.steps == [10, 20]
    assert [s.step for s in probe.history] == [10, 20]  # evaluated as the loop told it
    assert worker.recorder.states.steps() == [0]  # offered each chunk (kept at its spacing)

    worker.watch_spectrum(False)  # the view hidden: unsubscribed, its trail kept
    worker._drain_commands()
    assert probe not in loop.observers and worker._probe is None
    _train(worker, 10)
    assert counted.steps == [10, 20, 30] and len(probe.history) == 2
    worker.watch_spectrum(True)
    worker._drain_commands()
    assert worker.spectrum is probe and probe in loop.observers

    worker._continue_from(0)  # Continue from here: the observers hear of the rollback
    assert [s.step for s in probe.history] == []
    assert [m.kind for m in worker.recorder.marks] == ["continue"]

    path = tmp_path / "run.npz"
    _train(worker, 10)
    worker._save(str(path))
    worker._rebuild(CONFIG, announce=True, reason="reset")  # a reset: a new run, a new loop
    reset = worker.session.loop
    assert reset is not loop and worker.recorder in reset.observers and probe in reset.observers
    worker._open(str(path), None)
    opened = worker.session.loop
    assert opened is not reset and worker.recorder in opened.observers and probe in opened.observers
    _train(worker, 10)
    assert worker.session.step == 20 and worker.recorder in opened.observers
