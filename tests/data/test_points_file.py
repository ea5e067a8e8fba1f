"""points-file: the user's own 2-D data from a CSV of x,y rows, and the draw mode's writer."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.data import DATASETS
from ganplay.data.points_file import read_points_csv, save_points_csv
from ganplay.errors import DataError


def write(tmp_path, text, name="points.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [
    "x,y\n0,1\n2.5,-3\n1e-3, 4\n",  # header
    "0,1\n2.5,-3\n1e-3,4",  # no header, no final newline
    "# drawn by hand\n\nx , y\n0,1  # first\n\n2.5,-3\r\n1e-3,4\n",  # comments, blanks, CRLF
])
def test_reads_rows_with_or_without_a_header(tmp_path, text):
    points = read_points_csv(write(tmp_path, text))
    assert points.dtype == np.float32
    np.testing.assert_array_equal(points, np.float32([[0, 1], [2.5, -3], [1e-3, 4]]))


@pytest.mark.parametrize("text, line, message", [
    ("x,y\n0,1\n2,abc\n", 3, "'abc' is not a number"),
    ("0,1\n2,3,4\n", 2, "expected 2 values (x,y), found 3"),
    ("0,1\n5\n", 2, "expected 2 values (x,y), found 1"),
    ("0,1\n1,2\nnan,1\n", 3, "'nan' is not finite"),
    ("0,1\n1,-inf\n", 2, "'-inf' is not finite"),
    ("0,1\n1,1e39\n", 2, "too large"),
    ("0,1\nx,y\n", 2, "'x' is not a number"),  # a header is only allowed first
])
def test_a_bad_row_names_the_file_and_the_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_points_csv(path)
    assert f"{path}, line {line}:" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("text", ["", "x,y\n", "x,y\n3,4\n"])
def test_fewer_than_two_points_is_refused(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match="at least 2 x,y rows"):
        read_points_csv(path)


def test_missing_file_folder_and_empty_data_dir(tmp_path):
    with pytest.raises(DataError, match="no such file; set data_dir to a CSV file"):
        read_points_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_points_csv(tmp_path)
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match="not a text file"):
        read_points_csv(tmp_path / "binary.csv")
    with pytest.raises(DataError, match="data_dir, which is empty"):
        DATASETS.get("points-file").load(Config(dataset="points-file"), None)


def test_save_round_trips_exactly_and_atomically(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32) * 1e3
    path = tmp_path / "drawn" / "points.csv"
    save_points_csv(points, path)
    assert path.read_text().startswith("x,y\n")
    np.testing.assert_array_equal(read_points_csv(path), points)
    assert [p.name for p in path.parent.iterdir()] == ["points.csv"]  # no temporary left behind
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        save_points_csv(np.zeros((3, 3)), path)
    with pytest.raises(ValueError, match="finite"):
        save_points_csv(np.array([[0.0, np.nan]]), path)


def test_sampling_draws_rows_uniformly_with_replacement_on_the_device(tmp_path):
    rows = np.float32([[0, 0], [1, 0], [0, 1]])
    path = tmp_path / "three.csv"
    save_points_csv(rows, path)
    spec = DATASETS.get("points-file")
    assert spec.kind == "points" and not spec.needs_files
    ds = spec.load(Config(dataset="points-file", data_dir=str(path)), None)
    assert ds.kind == "points" and ds.shape == (2,)
    x = np.asarray(jax.jit(ds.sample, static_argnums=2)(ds.device_arrays(), jax.random.PRNGKey(0), 30_000))
    assert x.shape == (30_000, 2)
    assert (x[:, None, :] == rows[None]).all(-1).any(1).all()  # every draw is one of the rows
    counts = np.array([(x == r).all(-1).sum() for r in rows])
    np.testing.assert_allclose(counts / len(x), 1 / 3, atol=0.015)  # binomial std 0.003


def test_a_toy_gan_trains_on_a_points_file(tmp_path):
    from ganplay.engine import Trainer, fetch_metrics
    from ganplay.engine.quality import QualityMonitor

    path = tmp_path / "line.csv"
    save_points_csv(np.stack([np.linspace(-1, 1, 100), np.zeros(100)], axis=-1), path)
    trainer = Trainer(Config.for_model("toy-mlp", dataset="points-file", data_dir=str(path),
                                       hidden=16, batch_size=32))
    state, metrics = trainer.run(trainer.init(), 20)
    assert np.isfinite(fetch_metrics(metrics)["d_loss"]).all()
    monitor = QualityMonitor(trainer)
    assert monitor.columns == ("kl",) and monitor.modes_total is None
    result = monitor.evaluate(state, 20)
    assert set(result) == {"kl"} and np.isfinite(result["kl"])


def test_the_cli_reports_a_bad_points_file_in_one_line(tmp_path, capsys):
    from ganplay.cli import main

    path = write(tmp_path, "x,y\n0,1\n1,two\n")
    code = main(["train", "--model", "toy-mlp", "--dataset", "points-file", "--data-dir", str(path),
                 "--steps", "5", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and f"{path}, line 3: 'two' is not a number" in err[0]
