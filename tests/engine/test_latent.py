"""The latent lab's engine: GANSpace directions, steering, sheets, class grids, nearest images,
walk export and focus noise files."""
from pathlib import Path

import flax.linen as nn
import jax
import numpy as np
import pytest
from PIL import Image

from ganplay.config import Config
from ganplay.engine import build_trainer
from ganplay.engine.latent import (
    Directions,
    GeneratorFeed,
    GeneratorSnapshot,
    LatentLab,
    class_interpolation,
    class_style_grid,
    direction_sheet,
    discover_directions,
    load_noise,
    noise_from_seed,
    save_noise,
    snapshot_generator,
    steer,
    truncate,
    walk,
)
from ganplay.engine.latent_export import export_walk, write_directions
from ganplay.engine.neighbours import NearestImages
from ganplay.errors import GanplayError

from test_cgan import halves_dataset

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # (as tests/conftest.py has it)


class LinearFirst(nn.Module):
    """z -> Dense(F) (linear: the layer GANSpace looks at) -> tanh(Dense(16)) -> 4x4x1 images."""

    features: int

    @nn.compact
    def __call__(self, z, train: bool = True):
        h = nn.Dense(self.features, name="first")(z)
        return nn.tanh(nn.Dense(16, name="out")(nn.relu(h))).reshape(z.shape[0], 4, 4, 1)


def linear_first_lab(z_dim=4, features=12, seed=0):
    """A generator whose first layer is W = U diag(s) V^T with known U and distinct s: the
    activations' principal axes, taken back to noise space, are U's columns, strongest first."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((z_dim, z_dim)))[0]
    v = np.linalg.qr(rng.standard_normal((features, z_dim)))[0]
    s = np.array([5.0, 3.0, 2.0, 1.0][:z_dim])
    module = LinearFirst(features)
    variables = jax.device_get(module.init(jax.random.PRNGKey(0), np.zeros((1, z_dim), np.float32)))
    variables["params"]["first"]["kernel"] = (u * s) @ v.T
    snap = GeneratorSnapshot(module, variables, z_dim, "normal", 0, 0, (4, 4, 1))
    return LatentLab(snap), u, s


def test_directions_recover_the_principal_axes_of_a_linear_first_layer():
    lab, u, s = linear_first_lab()
    d = discover_directions(lab, k=4, n=20_000)
    assert lab.first_layer_path() == ("first",)
    np.testing.assert_allclose(np.linalg.norm(d.vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(np.diff(d.explained_variance) <= 0)  # strongest first
    for i in range(4):
        assert abs(float(d.vectors[i] @ u[:, i])) > 0.99, i
    # each component's share of the variance is s_i^2 / sum(s^2)
    np.testing.assert_allclose(d.explained_variance, s**2 / np.sum(s**2), atol=0.02)
    np.testing.assert_allclose(d.sd, 1.0, atol=0.03)  # N(0, 1) noise: sd 1 along any unit vector


@pytest.fixture(scope="module")
def gia():
    trainer = build_trainer(Config.for_model("gia-mlp", dataset="mnist", hidden=24, z_dim=12),
                            halves_dataset(60))
    return trainer, LatentLab(snapshot_generator(trainer, trainer.init()))


def test_directions_of_an_mlp_generator_are_unit_rows_ordered_by_variance(gia):
    _, lab = gia
    d = discover_directions(lab, k=6, n=600)
    assert d.vectors.shape == (6, 12) and d.step == 0
    np.testing.assert_allclose(np.linalg.norm(d.vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(np.diff(d.explained_variance) <= 0) and np.all(d.explained_variance > 0)
    assert float(np.sum(d.explained_variance)) <= 1.0 + 1e-5


def test_moving_by_zero_returns_the_focus_image_exactly(gia):
    trainer, lab = gia
    d = discover_directions(lab, k=5, n=300)
    z = noise_from_seed(7, 12)
    focus = lab.generate(z[None])
    np.testing.assert_array_equal(lab.generate(steer(z, d, np.zeros(5))[None]), focus)
    assert not np.array_equal(lab.generate(steer(z, d, [2, 0, 0, 0, 0])[None]), focus)
    # the lab draws what the trainer draws (same generator, inference mode)
    np.testing.assert_allclose(focus, np.asarray(trainer.generate(trainer.init(), z[None])), atol=1e-6)


def test_the_feed_copies_g_at_most_every_few_seconds(gia):
    trainer, _ = gia
    state, now = trainer.init(), [0.0]
    feed = GeneratorFeed(every_s=2.0, clock=lambda: now[0])
    first = feed.offer(trainer, state, 10)
    assert isinstance(first.variables["params"]["hidden"]["kernel"], np.ndarray)  # a host copy
    now[0] = 1.0
    assert feed.offer(trainer, state, 20) is first  # too soon: the same snapshot
    settled = feed.offer(trainer, state, 20, settled=True)  # training stopped there: this one stays
    assert settled is not first and feed.offer(trainer, state, 20, settled=True) is settled
    first = settled
    now[0] = 3.5
    second = feed.offer(trainer, state, 30)
    assert second is not first
    assert feed.offer(trainer, state, 5) is not second  # went back (a rollback, an opened run): at once
    z = np.zeros((3, 12), np.float32)
    assert feed.offer(trainer, state, 5, z, display_key=1).display_z.shape == (3, 12)  # new grid noise


def test_truncation_pulls_towards_the_mean_noise():
    z = noise_from_seed(1, 8)
    np.testing.assert_array_equal(truncate(z, 1.0), z)
    np.testing.assert_array_equal(truncate(z, 0.0), np.zeros(8, np.float32))
    np.testing.assert_allclose(truncate(z, 0.5), 0.5 * z)
    with pytest.raises(ValueError, match="psi"):
        truncate(z, 2.0)


def test_sheet_rows_are_the_focus_samples_moved_along_one_direction(gia):
    _, lab = gia
    d = Directions.raw(12)
    focus = np.stack([noise_from_seed(s, 12) for s in range(6)])
    sheet = direction_sheet(lab, d, 3, focus)
    assert sheet.shape == (54, 28, 28, 1)
    middle = sheet.reshape(6, 9, 28, 28, 1)[:, 4]  # offset 0: the focus samples themselves
    np.testing.assert_allclose(middle, lab.generate(focus), atol=1e-6)


def test_nearest_images_agree_with_brute_force():
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (3_001, 8, 8, 1), dtype=np.uint8)  # 3,001: a partial last chunk
    index = NearestImages(real, chunk=512)
    queries = np.concatenate([(real[[5, 2_999]].astype(np.float32) - 127.5) / 127.5,
                              rng.uniform(-1, 1, (3, 8, 8, 1)).astype(np.float32)])
    got, dist = index.query(queries, k=3)
    flat = ((real.astype(np.float64) - 127.5) / 127.5).reshape(len(real), -1)
    brute = np.linalg.norm(queries.reshape(5, -1)[:, None, :] - flat[None], axis=2)
    np.testing.assert_array_equal(got, np.argsort(brute, axis=1)[:, :3])
    # (float32 ‖x‖² - 2x·r + ‖r‖² leaves ~1e-5 of rounding in d², visible as 0.002 in d near 0)
    np.testing.assert_allclose(dist, np.sort(brute, axis=1)[:, :3], rtol=1e-4, atol=5e-3)
    assert got[0, 0] == 5 and got[1, 0] == 2_999 and dist[0, 0] < 1e-2  # a training image finds itself


def test_a_walk_exports_as_a_gif_of_its_frames(gia, tmp_path):
    _, lab = gia
    frames = walk(lab, noise_from_seed(3, 12), Directions.raw(12), 0, frames=12, span=3.0)
    path = export_walk(tmp_path / "walk.gif", frames)
    with Image.open(path) as gif:
        assert gif.n_frames == 12
        assert gif.size == (28 * 4, 28 * 4)


def test_focus_noise_round_trips_through_npy(tmp_path):
    z = noise_from_seed(11, 10, "uniform")
    assert np.all(np.abs(z) <= 1)
    save_noise(tmp_path / "focus.npy", z)
    np.testing.assert_array_equal(load_noise(tmp_path / "focus.npy", 10), z)
    with pytest.raises(GanplayError, match="needs 12 numbers"):
        load_noise(tmp_path / "focus.npy", 12)
    (tmp_path / "bad.npy").write_text("nope")
    with pytest.raises(GanplayError, match="cannot be read as a NumPy"):
        load_noise(tmp_path / "bad.npy", 10)


def test_directions_npz_holds_unit_rows_and_shares(gia, tmp_path):
    _, lab = gia
    write_directions(tmp_path / "directions.npz", discover_directions(lab, k=4, n=200))
    with np.load(tmp_path / "directions.npz") as f:
        assert f["directions"].shape == (4, 12) and f["explained_variance"].shape == (4,)
        np.testing.assert_allclose(np.linalg.norm(f["directions"], axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def cgan():
    trainer = build_trainer(Config.for_model("cgan-mlp", dataset="mnist", hidden=32, batch_size=32, z_dim=10),
                            halves_dataset(90))
    return LatentLab(snapshot_generator(trainer, trainer.init()))


def test_class_grid_rows_are_classes_and_columns_share_noise(cgan):
    z = np.stack([noise_from_seed(s, 10) for s in range(4)])
    images, labels = class_style_grid(cgan, z)
    assert images.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 4))
    np.testing.assert_allclose(images[4:8], cgan.generate(z, np.full(4, 1)), atol=1e-6)
    path = class_interpolation(cgan, z[0], 0, 2, steps=5)
    np.testing.assert_allclose(path[0], images[0], atol=1e-6)  # t=0: one-hot class 0
    np.testing.assert_allclose(path[-1], images[8], atol=1e-6)  # t=1: one-hot class 2
    assert cgan.first_layer_path() == ("hidden1",)  # the class embedding does not see the noise


@pytest.mark.slow
def test_class_grid_of_a_trained_cgan_draws_its_rows_classes():
    """On the offline MNIST, 2,000 steps of cgan-mlp: the evaluation classifier calls at least 90%
    of the class x style grid's images the class of their row."""
    from ganplay.engine.evaluator import Evaluator

    if not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found in {SHARED_DATA / 'mnist'}: put t10k-images-idx3-ubyte.gz and "
                    "t10k-labels-idx1-ubyte.gz there (ganplay train --dataset mnist --download fetches them)")
    config = Config.for_model("cgan-mlp", dataset="mnist", data_dir=str(SHARED_DATA), seed=0)
    trainer = build_trainer(config)
    state = trainer.init()
    for _ in range(2_000 // 100):
        state, _ = trainer.run(state, 100)
    lab = LatentLab(snapshot_generator(trainer, state))
    images, labels = class_style_grid(lab, np.stack([noise_from_seed(s, config.z_dim) for s in range(10)]))
    fraction = Evaluator.for_dataset(trainer.dataset).intended_class_fraction(images, labels)
    assert fraction >= 0.9, fraction


def test_cli_writes_the_sheet_and_directions(tmp_path):
    from ganplay.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    run = tmp_path / "run"
    assert main(["train", "--model", "gia-mlp", "--dataset", "image-folder", "--data-dir", str(folder),
                 "--set", "hidden=16", "--set", "z_dim=8", "--set", "batch_size=8", "--steps", "5",
                 "--out", str(run), "--no-quality", "--quiet"]) == 0
    sheet = tmp_path / "out" / "sheet.png"
    assert main(["latent", str(run), "--directions", "3", "--sheet", str(sheet), "--quiet"]) == 0
    with Image.open(sheet) as img:  # 3 blocks of 6 rows x 9 columns of 28x28 images, scaled 3x
        assert img.width == 3 * (9 * 29 + 1)
    with np.load(tmp_path / "out" / "directions.npz") as f:
        assert f["directions"].shape == (3, 8)
        assert np.all(np.diff(f["explained_variance"]) <= 0)
    assert main(["latent", str(tmp_path), "--sheet", str(sheet)]) == 1  # no run.npz: one line


def test_cli_refuses_a_bad_direction_in_one_line(tmp_path, capsys):
    from ganplay.cli import main

    (tmp_path / "run.npz").write_bytes(b"")
    assert main(["latent", str(tmp_path), "--sheet", "x.png", "--direction", "x"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--direction" in err
