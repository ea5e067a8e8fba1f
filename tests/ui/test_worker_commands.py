"""The worker's command table: every command the window sends has a handler, and a misspelled one
fails loudly where it is sent instead of vanishing in the training thread."""
import inspect

import pytest

from ganplay.config import Config
from ganplay.ui.worker import TrainingWorker


def test_an_unknown_command_is_refused_where_it_is_posted(qtbot):
    worker = TrainingWorker(Config.for_model("toy-mlp", hidden=16, batch_size=32))
    with pytest.raises(ValueError, match=r"unknown worker command 'pasue'; known: .*pause"):
        worker._post("pasue")
    assert worker._commands.empty()


def test_every_public_command_has_a_handler_taking_its_arguments(qtbot):
    worker = TrainingWorker(Config.for_model("toy-mlp", hidden=16, batch_size=32))
    sent = []
    worker._post = lambda *cmd: sent.append(cmd)  # record instead of queueing
    worker.play(); worker.pause(); worker.step(3); worker.reset(); worker.rollback()  # noqa: E702
    worker.set_overlays(field=True); worker.set_view(0, 1, 0, 1); worker.step_d(); worker.step_g()  # noqa: E702
    worker.refresh_noise(); worker.start_baseline(); worker.set_draw_class(2)  # noqa: E702
    worker.save_run("x.npz"); worker.open_run("x.npz"); worker.set_target(10); worker.set_frame_every(5)  # noqa: E702
    worker.set_config(Config.for_model("toy-mlp", hidden=16, batch_size=32))
    worker.substep(); worker.substep("d"); worker.set_speed(10); worker.continue_from(1000)  # noqa: E702
    worker.watch_spectrum(True)
    handlers = worker._handlers
    assert {cmd for cmd, *_ in sent} == set(handlers)
    for cmd, *args in sent:
        inspect.signature(handlers[cmd]).bind(*args)  # raises TypeError on a mismatch
