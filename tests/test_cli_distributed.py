"""``ganplay train --distributed``: two processes on this machine (one CPU device each, Gloo
between them) train what one process trains, and only process 0 writes its --out."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from ganplay.cli import main
from ganplay.config import Config
from ganplay.engine.checkpoint import read_run
from ganplay.engine.train import build_trainer

STEPS = 50
SETTINGS = ["--model", "toy-mlp", "--set", "hidden=16", "--set", "batch_size=32", "--steps", str(STEPS)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_as_one_and_only_the_first_writes(tmp_path):
    port = free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)  # one CPU device per process: the mesh spans the two processes
    procs = [
        subprocess.Popen([sys.executable, "-m", "ganplay", "train", "--distributed", "--coordinator",
                          f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(i), *SETTINGS,
                          "--out", str(tmp_path / f"out{i}")],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in (0, 1)
    ]
    try:
        results = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-2000:]
    assert not (tmp_path / "out1").exists()  # process 1 trained into a scratch folder
    header, arrays = read_run(tmp_path / "out0" / "run.npz")
    assert header["config"]["devices"] == "all"
    rows = (tmp_path / "out0" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + STEPS

    # The same run in one process, on one device.
    trainer = build_trainer(Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32))
    state, _ = trainer.run(trainer.init(), STEPS)
    leaves = jax.tree_util.tree_flatten_with_path(jax.device_get((state.g_params, state.d_params)))[0]
    for path, one in leaves:
        key = "state." + ("g_params", "d_params")[path[0].idx] + jax.tree_util.keystr(path[1:])
        assert np.max(np.abs(arrays[key] - np.asarray(one))) <= 1e-5, key


def test_distributed_flags_need_distributed(capsys):
    assert main(["train", "--process-id", "1", "--steps", "1", "--out", "x"]) == 1
    assert "need --distributed" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--coordinator", "nohost"], "must be HOST:PORT"),
    (["--num-processes", "2", "--process-id", "2"], "must lie in 0..1"),
])
def test_bad_distributed_flags_are_one_line(flags, message, capsys):
    # Refused before JAX is asked to join anything (this process's backend is already up).
    assert main(["train", "--distributed", *flags, "--steps", "1", "--out", "x"]) == 1
    assert message in capsys.readouterr().err
