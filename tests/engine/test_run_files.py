"""A run file keeps the quality history: a reopened run shows the curves it had."""
import json

import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine.session import Session
from ganplay.errors import CheckpointError

CONFIG = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    s = Session(CONFIG)
    for _ in range(3):
        s.advance(20)
        s.quality.evaluate(s.state, s.step)
    path = tmp_path_factory.mktemp("runs") / "run.npz"
    s.save(path)
    return s, path


def test_a_reopened_run_has_its_quality_history(saved):
    s, path = saved
    before = s.quality.series()
    assert len(before["step"]) >= 3 and before["step"][-1] == 60
    again = Session.open(path).quality.series()
    assert set(again) == set(before)
    for k in before:
        np.testing.assert_array_equal(again[k], before[k])


def test_a_malformed_quality_history_names_the_file(saved, tmp_path):
    _, path = saved
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["header"].tobytes().decode())
    header["quality"] = {"step": ["not a step"]}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(CheckpointError, match=r"bad\.npz.*quality history is malformed"):
        Session.open(bad)
