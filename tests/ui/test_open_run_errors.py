"""One ``open_run()`` behind every way to open a run file: a header without a config, a missing
array and a truncated file each give one line naming the file, from ``ganplay train --resume``,
the window's Open (a dialog) and Compare's Open (the window's error line)."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from gui_helpers import caught

from ganplay import cli
from ganplay.config import Config
from ganplay.engine import checkpoint
from ganplay.engine.train import Trainer
from ganplay.ui.compare_window import CompareWindow
from ganplay.ui.errors import DialogErrors

TOY = dict(hidden=16, batch_size=32)
WAIT = 300_000  # only catches hangs: compiles on a loaded machine take a while


def _rewrite(path, header, arrays):
    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    path.write_bytes(buf.getvalue())


def _bad_run(kind: str, folder):
    """``folder/run.npz``, a toy run spoiled as ``kind`` says, and what its message must say."""
    folder.mkdir()
    path = folder / "run.npz"
    t = Trainer(Config.for_model("toy-mlp", dataset="ring8", **TOY))
    checkpoint.save_run(path, t.config, t.init())
    header, arrays = checkpoint.read_run(path)
    if kind == "no config":
        del header["config"]
        _rewrite(path, header, arrays)
        return path, "holds no config"
    if kind == "missing array":
        missing = next(k for k in arrays if k.startswith("state.g_params"))
        del arrays[missing]
        _rewrite(path, header, arrays)
        return path, "is missing"
    path.write_bytes(path.read_bytes()[:-300])  # truncated: the zip's directory is cut
    return path, "is not a readable ganplay run file"


def _one_line_naming(message: str, path, expected: str) -> None:
    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert str(path) in message and expected in message, message


@pytest.mark.parametrize("kind", ["no config", "missing array", "truncated"])
def test_a_bad_run_file_is_one_line_from_the_cli_the_window_and_compare(kind, tmp_path, capsys, qtbot,
                                                                        make_window, show_window):
    path, expected = _bad_run(kind, tmp_path / "run")

    # ganplay train --resume
    code = cli.main(["train", "--resume", str(path.parent), "--steps", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    _one_line_naming(err, path, expected)

    # the window's Open: a dialog, and the run that was loaded stays
    w = make_window(Config.for_model("toy-mlp", dataset="gmm2", **TOY), errors=DialogErrors())
    with caught(qtbot, w.worker.failed, timeout=WAIT) as blocker:
        w.open_run(str(path))
    _one_line_naming(blocker.args[0], path, expected)
    qtbot.waitUntil(lambda: w.message_box is not None and w.message_box.isVisible(), timeout=WAIT)
    _one_line_naming(w.message_box.text(), path, expected)
    w.message_box.close()
    assert w.config.dataset == "gmm2"

    # Compare's Open: a set (a folder) whose run is this file
    (path.parent / "compare.json").write_text(json.dumps(
        {"format": "ganplay-compare", "version": 1, "step": 0,
         "runs": [{"name": "A", "file": path.name, "label": "A"}]}))
    c = show_window(CompareWindow([Config.for_model("toy-mlp", dataset="ring8", **TOY)]))
    c.open_set(str(path.parent))
    qtbot.waitUntil(lambda: c.error_label.text() != "", timeout=WAIT)
    _one_line_naming(c.error_label.text(), path, expected)
