"""``ganplay compare`` as a user runs it: one-line refusals before any window, the window on a
--vary grid (titles, Play), and --open of a saved set."""
import pytest

from ganplay.cli import main
from ganplay.cli.compare import build_window
from ganplay.config import Config
from ganplay.engine.compare import Comparison
from ui.conftest import no_leaked_threads_or_windows, show_window  # noqa: F401  (the GUI tests' fixtures)

WAIT = 300_000  # only catches hangs: compiles on a loaded machine take a while
TINY = ["--model", "toy-mlp", "--dataset", "grid25", "--set", "hidden=16", "--set", "batch_size=32"]
BASE = Config.for_model("toy-mlp", dataset="grid25", hidden=16, batch_size=32)


@pytest.fixture
def no_window(monkeypatch):
    """Fails the test if the command gets as far as starting the GUI (``build_window`` does not)."""
    def start_app():
        raise AssertionError("the GUI was started")

    monkeypatch.setattr("ganplay.ui.app.start_app", start_app)


@pytest.mark.parametrize("args, message", [
    ([*TINY], "--vary and --seeds make 1 run; Compare mode shows 2 to 4: e.g. --vary loss=ns,hinge"),
    ([*TINY, "--vary", "loss=ns,hinge,lsgan", "--seeds", "0-1"], "--vary and --seeds make 6 runs; Compare mode shows"),
    ([*TINY, "--vary", "dataset=grid25,ring8"], "--vary dataset: the runs of a comparison share one dataset"),
    ([*TINY, "--vary", "loss=ns,nope"], "--vary loss: loss='nope' is not allowed"),
    ([*TINY, "--seeds", "1-0"], "--seeds 1-0: the range 1-0 runs backwards"),
    (["--open", "set.ganplay-compare", "--vary", "loss=ns,hinge"],
     "--open continues the runs saved in set.ganplay-compare; leave out --vary"),
    (["--open", "missing.ganplay-compare"], "missing.ganplay-compare: no such file or folder"),
])
def test_bad_input_is_one_error_line_before_any_window(args, message, capsys, no_window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ganplay: error: ") and message in err and err.count("\n") == 1, err


def test_the_grid_opens_as_titled_runs_that_play(qtbot, show_window):  # noqa: F811
    w = show_window(build_window([*TINY, "--vary", "loss=ns,hinge", "--autostart"]))
    assert w.configs == [BASE, BASE.replace(loss="hinge")]
    assert [v.toolTip() for v in w.run_views] == ["A: toy-mlp, ns on grid25", "B: loss hinge"]
    qtbot.waitUntil(lambda: len(w.steps()) == 2 and min(w.steps()) > 0, timeout=WAIT)  # Play was pressed


def test_open_continues_a_saved_set_and_a_corrupt_one_is_one_line(qtbot, show_window, tmp_path,  # noqa: F811
                                                                 capsys, no_window):
    saved = Comparison([BASE, BASE.replace(label_smoothing=0.2, seed=3)])
    saved.advance(20)
    path = saved.save(tmp_path / "set")
    saved.close()
    w = show_window(build_window(["--open", str(path)]))
    assert [v.toolTip() for v in w.run_views] == ["A: toy-mlp, ns on grid25", "B: label_smoothing 0.2, seed 3"]
    qtbot.waitUntil(lambda: w.steps() == [20, 20], timeout=WAIT)  # the saved runs, not fresh ones
    assert w.worker.comparison.configs == saved.configs and w.error_label.text() == ""
    w.close()

    path.write_bytes(b"not a zip")
    assert main(["compare", "--open", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ganplay: error: {path} is not a readable ganplay comparison file") and err.count("\n") == 1
