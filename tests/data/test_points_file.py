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
    ds = spec.load(Config(dataset="points-file", data_dir=str(path), standardize=False), None)
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


def _ring_csv(path, scale=1.0, offset=(0.0, 0.0)):
    a = 2 * np.pi * np.arange(8) / 8
    modes = np.stack([np.cos(a), np.sin(a)], -1)
    rng = np.random.default_rng(0)
    pts = modes[rng.integers(0, 8, 2000)] + 0.05 * rng.standard_normal((2000, 2))
    save_points_csv(pts * scale + np.asarray(offset), path)
    return path


def test_standardised_points_train_at_unit_scale_and_samples_come_back_in_the_files_coordinates(tmp_path):
    from ganplay.data.points_file import standard_map
    from ganplay.engine import Trainer

    far = _ring_csv(tmp_path / "far.csv", scale=100.0, offset=(1000.0, 1000.0))
    config = Config.for_model("toy-mlp", dataset="points-file", data_dir=str(far), hidden=16, batch_size=32)
    assert config.standardize  # the default: the user's data may sit anywhere
    trainer = Trainer(config)
    centre, scale = trainer.dataset.data_map
    np.testing.assert_allclose(centre, read_points_csv(far).astype(np.float64).mean(0), rtol=1e-9)
    on_device = np.asarray(trainer.data_arrays["points"])
    np.testing.assert_allclose(on_device.mean(0), 0.0, atol=1e-4)  # what the networks see
    np.testing.assert_allclose(np.sqrt(on_device.var(0).mean()), 1.0, rtol=1e-4)
    assert standard_map(np.ones((5, 2)))[1] == 1.0  # all points equal: no division by zero
    real = np.asarray(trainer.sample_real(jax.random.PRNGKey(1), 500))
    assert (np.abs(real - 1000.0) < 200).all()  # the views get the file's own coordinates
    state = trainer.init()
    z = trainer.fixed_noise(64)
    raw = np.asarray(trainer._generate_impl(state, z))  # G's output, in training coordinates
    np.testing.assert_allclose(np.asarray(trainer.generate(state, z)), raw * scale + centre, rtol=1e-5)
    # D is asked about points in the file's coordinates: the same answer as for the standard ones.
    x = real[:16]
    np.testing.assert_allclose(np.asarray(trainer.discriminate(state, x)),
                               np.asarray(jax.nn.sigmoid(trainer._d_logits_each(state, (x - centre) / scale))),
                               rtol=1e-5)
    off = Trainer(config.replace(standardize=False))
    assert off.dataset.data_map is None
    np.testing.assert_array_equal(np.asarray(off.data_arrays["points"]), read_points_csv(far))


def test_a_shifted_and_scaled_copy_trains_to_the_same_samples_up_to_the_map(tmp_path):
    """The ring, and the ring x100 at (1000, 1000): the networks see the same standard data, so
    the same seed trains the same G (up to float32 rounding of the file's values), and the
    samples differ by the affine map."""
    from ganplay.engine import Trainer

    runs = []
    for name, scale, offset in (("near", 1.0, (0.0, 0.0)), ("far", 100.0, (1000.0, 1000.0))):
        path = _ring_csv(tmp_path / f"{name}.csv", scale, offset)
        trainer = Trainer(Config.for_model("toy-mlp", dataset="points-file", data_dir=str(path),
                                           hidden=32, batch_size=64))
        state, _ = trainer.run(trainer.init(), 300)
        runs.append((trainer, np.asarray(trainer.generate(state, trainer.fixed_noise(256)))))
    (near_t, near), (far_t, far) = runs
    np.testing.assert_allclose(near_t.data_arrays["points"], far_t.data_arrays["points"], atol=1e-5)
    # Mapped to each run's standard coordinates, the samples agree (not bit for bit: the
    # standard data differ in the last float32 bits, and 300 steps amplify that a little).
    a = (near - near_t.dataset.data_map[0]) / near_t.dataset.data_map[1]
    b = (far - far_t.dataset.data_map[0]) / far_t.dataset.data_map[1]
    assert np.abs(a - b).max() < 1e-2, np.abs(a - b).max()
    assert np.abs(a).max() > 0.5  # and they did move: G is not still at its start


def test_the_run_says_how_it_trains_the_points(tmp_path, capsys):
    from ganplay.cli import main

    path = _ring_csv(tmp_path / "far.csv", scale=100.0, offset=(1000.0, 1000.0))
    code = main(["train", "--model", "toy-mlp", "--dataset", "points-file", "--data-dir", str(path),
                 "--steps", "2", "--set", "hidden=8", "--out", str(tmp_path / "out")])
    out = capsys.readouterr()
    assert code == 0
    assert "2,000 points, trained standardised: centred on (99" in out.out + out.err
    code = main(["train", "--model", "toy-mlp", "--dataset", "points-file", "--data-dir", str(path),
                 "--steps", "2", "--set", "hidden=8", "--set", "standardize=false", "--out", str(tmp_path / "raw")])
    out = capsys.readouterr()
    assert code == 0 and "trained as read (standardize off)" in out.out + out.err
