"""Run files: atomic, pickle-free, validated, and resuming continues the same run."""
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine import Trainer
from ganplay.engine.checkpoint import load_run, save_run
from ganplay.engine.history import MetricHistory
from ganplay.errors import CheckpointError

from test_training import params_vector

SMALL = dict(hidden=16, batch_size=32)


def test_save_load_then_continue_equals_uninterrupted(tmp_path):
    t = Trainer(Config.for_model("toy-mlp", dataset="ring8", **SMALL))
    straight, _ = t.run(t.init(), 30)
    half, _ = t.run(t.init(), 12)
    save_run(tmp_path / "run.npz", t.config, half)
    config, t2, restored, _ = load_run(tmp_path / "run.npz")
    assert config == t.config and int(restored.step) == 12
    resumed, _ = t2.run(restored, 18)
    np.testing.assert_array_equal(params_vector(straight), params_vector(resumed))
    assert list(tmp_path.iterdir()) == [tmp_path / "run.npz"]  # no temp files left


def test_history_round_trips(tmp_path):
    t = Trainer(Config.for_model("toy-mlp", **SMALL))
    h = MetricHistory(["d_loss"], capacity=8)
    h.extend(1, {"d_loss": np.arange(20.0)})
    save_run(tmp_path / "r.npz", t.config, t.init(), history=h)
    _, _, _, arrays = load_run(tmp_path / "r.npz")
    h2 = MetricHistory(["d_loss"], capacity=8)
    h2.load_state_dict(arrays)
    np.testing.assert_array_equal(h2.values("d_loss"), h.values("d_loss"))


def test_wrong_model_shapes_are_named(tmp_path):
    t = Trainer(Config.for_model("toy-mlp", **SMALL))
    save_run(tmp_path / "r.npz", t.config, t.init())
    other = Trainer(Config.for_model("toy-mlp", hidden=8, batch_size=32))
    from ganplay.engine.checkpoint import read_run, restore_state

    _, arrays = read_run(tmp_path / "r.npz")
    with pytest.raises(CheckpointError, match=r"does not match this model: .*hidden1.*expected float32\[2, 8\]"):
        restore_state(tmp_path / "r.npz", other.init(), arrays)


@pytest.mark.parametrize("content", [b"", b"garbage" * 10, b"PK\x03\x04broken"])
def test_corrupt_files_give_checkpoint_errors(tmp_path, content):
    p = tmp_path / "bad.npz"
    p.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.npz"):
        load_run(p)


def test_truncated_file(tmp_path):
    t = Trainer(Config.for_model("toy-mlp", **SMALL))
    save_run(tmp_path / "r.npz", t.config, t.init())
    data = (tmp_path / "r.npz").read_bytes()
    (tmp_path / "r.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_run(tmp_path / "r.npz")


def test_history_stays_bounded_and_keeps_shape():
    h = MetricHistory(["x"], capacity=64)
    total = 100_000
    for start in range(1, total + 1, 1000):
        h.extend(start, {"x": np.arange(start, start + 1000, dtype=float)})
    assert len(h) <= 64 and h.stride >= total // 64
    steps, values = h.steps(), h.values("x")
    np.testing.assert_allclose(values, steps)  # averaging a ramp keeps the ramp
    assert steps[-1] > 0.9 * total


def test_atomic_writes_honour_the_umask(tmp_path):
    import os

    from ganplay.files import atomic_write_bytes

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "out.bin", b"data")
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").read_bytes() == b"data"
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
