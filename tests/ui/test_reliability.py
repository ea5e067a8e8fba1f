"""Reliability: each fault a user (or their machine) can cause is injected here, and the app must
answer with a clear message (a dialog in the GUI, one line in the CLI), lose nothing, and keep
running.

Faults: a diverging run (GUI and CLI), corrupt/truncated/wrong-magic data files, corrupt and
mismatched run files, an unwritable output folder, a full disk, an exception inside the worker,
a storm of play/pause/reset/knob commands, and closing during a compile, a step and a download.
"""
from __future__ import annotations

import errno
import gzip
import json
import time

import numpy as np
import pytest
from gui_helpers import caught, fix_dispatch_size
from PySide6.QtWidgets import QApplication

from ganplay import cli, files
from ganplay.cli import train as cli_train
from ganplay.config import Config
from ganplay.engine import checkpoint
from ganplay.engine import session as session_module
from ganplay.engine.session import Session
from ganplay.engine.train import Trainer
from ganplay.logs import log_file
from ganplay.ui.errors import DialogErrors
from ganplay.ui.worker import WorkerThread

TOY = dict(hidden=16, batch_size=32)
SLOW = 300_000  # ms: only a hang should reach this, not a slow or loaded machine


# -- divergence: CLI ---------------------------------------------------------------------------------
def _train(args, capsys):
    code = cli.main(["train", "--model", "toy-mlp", "--dataset", "gmm2", "--set", "hidden=16",
                     "--set", "batch_size=32", "--set", "lr_g=2e-3", *args])
    return code, capsys.readouterr().err


def test_cli_divergence_stops_with_the_step_and_keeps_the_last_good_state(tmp_path, capsys, explode_generator_at):
    explode_generator_at(1150)
    code, err = _train(["--steps", "1400", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "diverged at step 1,150" in lines[0] and "generator's parameters" in lines[0]
    assert "--resume" in lines[0]
    # Nothing lost: the last good state (kept every 1,000 toy steps) is the checkpoint, and
    # metrics.csv ends where it does.
    header, _ = checkpoint.read_run(tmp_path / "run.npz")
    assert header["step"] == 1000
    rows = np.genfromtxt(tmp_path / "metrics.csv", delimiter=",", skip_header=1, usecols=range(7))
    assert rows[-1, 0] == 1000 and np.isfinite(rows).all()


def test_cli_on_diverge_rollback_halves_the_rates_and_finishes(tmp_path, capsys, explode_generator_at):
    explode_generator_at(1150)
    code, err = _train(["--steps", "1400", "--out", str(tmp_path), "--on-diverge", "rollback"], capsys)
    assert code == 0, err
    assert "rolled back to step 1,000 and halved the learning rates (lr_g=0.001" in err
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["lr_g"] == pytest.approx(1e-3)
    rows = np.genfromtxt(tmp_path / "metrics.csv", delimiter=",", skip_header=1, usecols=range(7))
    np.testing.assert_array_equal(rows[:, 0], np.arange(1, 1401))  # one row per step, no gaps
    assert np.isfinite(rows).all()
    assert np.isfinite(np.load(tmp_path / "samples.npy")).all()


# -- divergence: GUI ---------------------------------------------------------------------------------
@pytest.mark.parametrize("forced_k", [None, 1, 1024], ids=["sizer", "k1", "k1024"])
def test_gui_divergence_pauses_explains_and_rolls_back(qtbot, make_window, explode_generator_at,
                                                       monkeypatch, forced_k):
    if forced_k is not None:  # dispatch sizes fixed, whatever the machine's speed
        fix_dispatch_size(monkeypatch, forced_k)
    # States kept every 100 steps instead of 1,000: the same guarantee in a tenth of the steps, so
    # the test does not hinge on how fast a loaded machine trains (under a load of 10 on 2 cores,
    # 1,150 steps in the window once took more than 120 s).
    monkeypatch.setattr(session_module, "keep_every", lambda kind: 100)
    explode_generator_at(115)
    w = make_window(Config.for_model("toy-mlp", dataset="gmm2", lr_g=2e-3, **TOY))
    with caught(qtbot, w.worker.diverged, timeout=SLOW) as blocker:
        w.play()
    message = blocker.args[0]
    good = w.worker.divergence()[1]
    # Dispatches end on the kept steps, whatever their size: the rollback goes back to step 100.
    assert good == 100
    assert "step 115" in message and "generator" in message and f"Roll back to step {good:,}" in message
    qtbot.waitUntil(lambda: w.divergence_box is not None and w.divergence_box.isVisible(), timeout=SLOW)
    qtbot.waitUntil(lambda: not w._running, timeout=SLOW)
    assert w.rollback_button.text() == f"Roll back to step {good:,}"
    # Play is refused while diverged (no silent training on NaNs).
    w.play()
    qtbot.wait(300)
    assert not w._running
    # The user lowers the learning rate, then rolls back.
    w.controls["lr_g"].setValue(1e-3)
    with qtbot.waitSignal(w.snapshot_drawn, timeout=SLOW, check_params_cb=lambda s: s == good):
        w.rollback_button.click()
    assert w.divergence_box is None
    w.worker.set_target(130)
    with caught(qtbot, w.worker.target_reached, timeout=SLOW):
        w.play()
    qtbot.waitUntil(lambda: w._latest is not None and w._latest.step == 130, timeout=SLOW)
    assert w._latest.finite and np.isfinite(w._latest.generated).all()
    log = log_file().read_text()
    assert "diverged at step 115" in log and '"lr_g": 0.002' in log  # with the config


# -- worker errors -----------------------------------------------------------------------------------
def test_worker_exception_reaches_a_dialog_and_the_log_with_its_config(qtbot, make_window, monkeypatch):
    original = Session.finish  # where an XLA runtime error surfaces: waiting for a chunk
    calls = []

    def finish(self, chunk):
        calls.append(chunk.k)
        if len(calls) == 3:
            raise RuntimeError("XLA ran out of memory (injected)")
        return original(self, chunk)

    monkeypatch.setattr(Session, "finish", finish)
    w = make_window(Config.for_model("toy-mlp", dataset="ring8", seed=7, **TOY), errors=DialogErrors())
    with caught(qtbot, w.worker.failed, timeout=30_000) as blocker:
        w.play()
    assert "XLA ran out of memory (injected)" in blocker.args[0] and str(log_file()) in blocker.args[0]
    qtbot.waitUntil(lambda: w.message_box is not None and w.message_box.isVisible())
    assert "out of memory" in w.message_box.text()
    qtbot.waitUntil(lambda: not w._running, timeout=5000)
    log = log_file().read_text()
    assert "RuntimeError: XLA ran out of memory (injected)" in log
    assert "Traceback" in log and '"seed": 7' in log and '"dataset": "ring8"' in log
    # The thread survived: training goes on after the error.
    with qtbot.waitSignal(w.snapshot_drawn, timeout=30_000):
        w.step_once()
    w.message_box.close()


# -- corrupt data files in the GUI ---------------------------------------------------------------------
def _mnist_files(directory, images: bytes, labels: bytes):
    directory.mkdir()
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    return directory


def _idx(shape, magic_type=0x08, count_override=None):
    data = np.zeros(shape, np.uint8)
    dims = list(shape)
    if count_override is not None:
        dims[0] = count_override
    return bytes([0, 0, magic_type, len(shape)]) + np.asarray(dims, ">u4").tobytes() + data.tobytes()


@pytest.mark.parametrize("fault,images,labels,expected", [
    ("truncated", _idx((50, 28, 28))[:-500], _idx((50,)), "t10k-images"),
    ("wrong magic", b"\x00\x00\x0d\x03" + _idx((50, 28, 28))[4:], _idx((50,)), "t10k-images"),
    ("count mismatch", _idx((50, 28, 28)), _idx((40,)), "t10k"),
], ids=["truncated", "wrong-magic", "count-mismatch"])
def test_corrupt_idx_files_give_a_dialog_and_keep_the_app(qtbot, make_window, tmp_path, fault, images, labels, expected):
    folder = _mnist_files(tmp_path / "mnist", images, labels)
    w = make_window(errors=DialogErrors())
    with caught(qtbot, w.worker.failed, timeout=60_000) as blocker:
        w.apply_config(Config.for_model("gia-mlp", dataset="mnist", data_dir=str(folder)))
    assert expected in blocker.args[0] and "Traceback" not in blocker.args[0]
    qtbot.waitUntil(lambda: w.message_box is not None and w.message_box.isVisible())
    w.message_box.close()
    # Back to a dataset that works: the app carries on.
    with qtbot.waitSignal(w.snapshot_drawn, timeout=60_000):
        w.apply_config(Config.for_model("toy-mlp", dataset="gmm2", **TOY))


def test_corrupt_mat_file_gives_a_clear_error(tmp_path, capsys):
    folder = tmp_path / "svhn"
    folder.mkdir()
    (folder / "train_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file, but then garbage" + bytes(200))
    (folder / "test_32x32.mat").write_bytes(b"not a mat file at all")
    code = cli.main(["train", "--model", "dcgan32", "--dataset", "svhn", "--data-dir", str(folder),
                     "--steps", "1", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "_32x32.mat" in err


# -- run files -------------------------------------------------------------------------------------------
@pytest.fixture
def saved_run(tmp_path):
    t = Trainer(Config.for_model("toy-mlp", dataset="ring8", **TOY))
    state, _ = t.run(t.init(), 5)
    path = tmp_path / "good.npz"
    checkpoint.save_run(path, t.config, state)
    return path


def _bad_run_files(tmp_path, saved_run):
    data = saved_run.read_bytes()
    files = {
        "truncated": data[: len(data) // 2],
        "garbage": b"\x89PNG not a run" * 20,
        "empty": b"",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.npz"
        paths[name].write_bytes(content)
    # A run of another model whose header was edited to claim toy-mlp: shapes must not match.
    header, arrays = checkpoint.read_run(saved_run)
    arrays["state.g_params['hidden1']['kernel']"] = np.zeros((3, 3), np.float32)
    header_bytes = np.frombuffer(json.dumps(header).encode(), np.uint8)
    import io

    buf = io.BytesIO()
    np.savez(buf, header=header_bytes, **arrays)
    paths["mismatched"] = tmp_path / "mismatched.npz"
    paths["mismatched"].write_bytes(buf.getvalue())
    return paths


def test_bad_run_files_give_clear_errors(tmp_path, saved_run):
    """Each bad run file gives a CheckpointError naming the file (the worker shows it in a dialog).

    The GUI variant of this test (open_run through the window, dialog checked) hung twice in
    qtbot.waitSignal on the worker's ``failed`` (issue 7; the cause is in gui_helpers.py). The same
    dialog path is exercised by the corrupt IDX tests above.
    """
    from ganplay.errors import CheckpointError

    for name, path in _bad_run_files(tmp_path, saved_run).items():
        with pytest.raises(CheckpointError) as info:
            Session.open(str(path))
        msg = str(info.value)
        assert path.name in msg, (name, msg)
        if name == "mismatched":
            assert "does not match this model" in msg and "expected float32" in msg
    s = Session.open(str(saved_run))
    assert s.step == 5 and s.config.dataset == "ring8"


def test_cli_resume_from_a_corrupt_checkpoint_is_one_line(tmp_path, saved_run, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.npz").write_bytes(saved_run.read_bytes()[:300])
    code = cli.main(["train", "--resume", str(out), "--steps", "3"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "run.npz" in err and "Traceback" not in err


# -- unwritable and full disks -----------------------------------------------------------------------------
def test_unwritable_output_folder_is_one_clear_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = cli.main(["train", "--steps", "2", "--out", str(blocker / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot create output folder" in err and "Traceback" not in err


class _FullDisk:
    """A file object whose writes fail the way a full disk does."""

    def __init__(self, real):
        self.real = real

    def write(self, data):
        self.real.write(bytes(data)[: len(data) // 3])  # part of it got written before ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()


def _fill_disk(monkeypatch):
    real_fdopen = files.os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: _FullDisk(real_fdopen(fd, mode)))


def test_full_disk_leaves_the_previous_file_intact_and_no_temp_files(tmp_path, saved_run, monkeypatch):
    before = saved_run.read_bytes()
    t = Trainer(Config.for_model("toy-mlp", dataset="ring8", **TOY))
    state, _ = t.run(t.init(), 9)
    _fill_disk(monkeypatch)
    with pytest.raises(Exception, match="No space left on device; free some space"):
        checkpoint.save_run(saved_run, t.config, state)
    assert saved_run.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npz"]


def test_full_disk_in_the_gui_save_is_a_dialog(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(errors=DialogErrors())
    qtbot.waitUntil(lambda: w._latest is not None, timeout=30_000)
    _fill_disk(monkeypatch)
    # (With qtbot.waitSignal this once hung for good on a fresh clone: see gui_helpers.py.)
    with caught(qtbot, w.worker.failed, timeout=SLOW) as failed:
        w.save_run(str(tmp_path / "mine.npz"))
    assert "No space left on device" in failed.args[0]
    qtbot.waitUntil(lambda: w.message_box is not None and w.message_box.isVisible(), timeout=300_000)
    w.message_box.close()
    assert list(tmp_path.glob("*mine*")) == []


def test_full_disk_in_the_cli_is_one_line(tmp_path, capsys, monkeypatch):
    _fill_disk(monkeypatch)
    code = cli.main(["train", "--steps", "2", "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err


# -- thread storms and closing ----------------------------------------------------------------------------
def test_a_hundred_rapid_commands_neither_deadlock_nor_crash(qtbot, make_window):
    w = make_window()
    qtbot.waitUntil(lambda: w._latest is not None, timeout=30_000)
    rng = np.random.default_rng(0)
    for i in range(100):
        action = rng.integers(5)
        if action == 0:
            w.toggle_play()
        elif action == 1:
            w.reset()
        elif action == 2:
            w.controls["lr_g"].setValue(float(rng.choice([1e-4, 5e-4, 1e-3])))
        elif action == 3:
            w.controls["label_smoothing"].setValue(float(rng.choice([0.0, 0.1, 0.2])))
        else:
            w.step_once()
        if i % 10 == 0:
            QApplication.processEvents()
    # Still responsive: a target is reached and drawn.
    w.pause()
    step = w._latest.step if w._latest else 0
    w.worker.set_target(step + 50)
    with caught(qtbot, w.worker.target_reached, timeout=60_000):
        w.play()
    assert w.worker_thread.is_running()
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 2.0 and not w.worker_thread.is_running()


def test_close_during_a_step_is_quick(qtbot, make_window):
    w = make_window()
    w.play()
    # Training, not compiling: the first snapshot (step 0) is drawn before the training loop's
    # compile, which closing does not wait for (the test below), so waiting for it alone closed
    # the window during that compile on a busy machine and the thread was still running.
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step > 0, timeout=120_000)
    qtbot.wait(300)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 2.0
    assert not w.worker_thread.is_running()


def test_close_during_a_compile_returns_within_two_seconds(qtbot, make_window, monkeypatch):
    """A compile cannot be interrupted; closing must not wait for it (here: a 6 s 'compile')."""
    import threading

    release = threading.Event()
    entered = threading.Event()
    original = Trainer.init

    def slow_init(self):
        entered.set()
        release.wait(6.0)
        return original(self)

    monkeypatch.setattr(Trainer, "init", slow_init)
    w = make_window()
    assert entered.wait(30)
    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    thread = w.worker_thread
    release.set()
    assert elapsed < 2.0
    assert thread in WorkerThread.orphans  # kept alive until it ends; not destroyed while running
    assert thread.thread.wait(60_000)


def test_close_during_a_download_returns_within_two_seconds(qtbot, make_window, monkeypatch, tmp_path):
    """A slow server: closing the window cancels the transfer at once, the .part file stays."""
    import http.server
    import threading

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from ganplay.data import download

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"\0" * 4096)
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    source = download.source_for("mnist")
    monkeypatch.setitem(download.SOURCES, "mnist", download.Source(source.title, (base,), source.files))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    monkeypatch.setenv("GANPLAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GANPLAY_DATA", raising=False)
    w = make_window()
    w.offer_downloads = True
    closed_at = []

    def close_now():
        closed_at.append(time.perf_counter())
        w.close()

    QTimer.singleShot(1500, close_now)
    w.apply_config(Config.for_model("gia-mlp", dataset="mnist"))
    returned = time.perf_counter()
    server.shutdown()
    assert closed_at, "the download finished before the window was closed"
    assert returned - closed_at[0] < 2.0
    assert not w.isVisible() and not w.worker_thread.is_running()
    parts = list((tmp_path / "cache").rglob("*.part"))
    assert parts, "the partial download should stay for a later resume"


# -- fuzzing the command line ---------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st

_FLAGS = ["--model", "--dataset", "--seed", "--data-dir", "--config", "--set", "--steps", "--out",
          "--resume", "--on-diverge", "--quiet", "--download", "--nonsense", "-x"]
_VALUES = st.one_of(
    st.sampled_from(["toy-mlp", "gia-mlp", "dcgan28", "gmm2", "mnist", "svhn", "-1", "0", "1e9", "nan",
                     "lr_g=abc", "lr_g=1e-3", "batch_size=0", "z_dim=-3", "=", "hidden=2**40",
                     "gmm_weights=[1,2]", "rollback", "stop", "/nonexistent/dir", ""]),
    st.text(max_size=10),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(argv=st.lists(st.one_of(st.sampled_from(_FLAGS), _VALUES), max_size=8))
def test_fuzzed_train_command_lines_never_trace_back(argv, monkeypatch_session_train, capsys):
    try:
        code = cli.main(["train", *argv])
    except SystemExit as exc:  # argparse: --help exits 0, usage errors exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 1:
        assert err.startswith("ganplay: error: ") and len(err.strip().splitlines()) == 1, (argv, err)


@pytest.fixture(scope="module")
def monkeypatch_session_train():
    """Parsing and validation are what is fuzzed: training itself is replaced by a check."""
    from ganplay.engine import runner

    mp = pytest.MonkeyPatch()

    def fake_train(config, steps, out, **kw):
        if config is not None:
            assert isinstance(config, Config)
        return runner.RunSummary(out, steps, 0.0, 0.0)

    mp.setattr(runner, "train_headless", fake_train)
    mp.setattr(cli_train, "_download_if_missing", lambda *a, **k: None)
    yield
    mp.undo()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(list(Config().to_dict()) + ["bogus"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                                 st.lists(st.floats(), max_size=3)), max_size=5))
def test_fuzzed_config_files_are_valid_or_clear_errors(values):
    from ganplay.errors import ConfigError

    try:
        c = Config.from_json(json.dumps(values))
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert Config.from_json(c.to_json()) == c
