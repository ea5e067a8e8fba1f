"""The conditional GAN: the class reaches both networks, training learns it, and the trainer keeps
the base trainer's interface (steps, metrics, checkpoints) with class-aware sampling on top."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.data.images import ImageDataset
from ganplay.engine import METRIC_NAMES, build_trainer, fetch_metrics
from ganplay.engine.cgan import CganTrainer
from ganplay.engine.checkpoint import load_run, read_run, restore_state, save_run
from ganplay.errors import DataError

from test_training import params_vector

SMALL = dict(hidden=32, batch_size=32)
# Where each synthetic class is bright: rows 0-13, rows 14-27, columns 0-13.
REGIONS = (np.s_[:14, :], np.s_[14:, :], np.s_[:, :14])


def halves_dataset(n: int = 300, seed: int = 0) -> ImageDataset:
    """28x28 images whose class says which region is bright (the rest dark): the class is all
    there is to learn, so a conditional G that ignores it cannot match the data."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(REGIONS)
    images = rng.integers(0, 60, (n, 28, 28, 1))
    for i, label in enumerate(labels):
        images[i][REGIONS[label]] = rng.integers(160, 256, images[i][REGIONS[label]].shape)
    return ImageDataset(name="halves", images=images.astype(np.uint8), labels=labels.astype(np.int64))


def region_contrast(images: np.ndarray, label: int) -> np.ndarray:
    """Per image: mean brightness inside class ``label``'s region minus outside it."""
    mask = np.zeros((28, 28), bool)
    mask[REGIONS[label]] = True
    return images[..., 0][:, mask].mean(axis=1) - images[..., 0][:, ~mask].mean(axis=1)


K = 25  # steps per dispatch everywhere: one compiled scan for the module
N = 12  # samples per generate / discriminate call: one compiled program each


@pytest.fixture(scope="module")
def trainer() -> CganTrainer:
    return CganTrainer(Config.for_model("cgan-mlp", dataset="mnist", **SMALL), halves_dataset())


def run(trainer, state, steps: int):
    for _ in range(steps // K):
        state, metrics = trainer.run(state, K)
    return state, fetch_metrics(metrics)


@pytest.fixture(scope="module")
def trained(trainer):
    """The run after 300 steps (every class was learnt by step 200 here), and its last metrics."""
    return run(trainer, trainer.init(), 300)


def real_batch(trainer):
    """N real images in [-1, 1] and their labels, without compiling a sampler."""
    images = (trainer.dataset.images[:N].astype(np.float32) - 127.5) / 127.5
    return images, trainer.dataset.labels[:N].astype(np.int32)


def test_build_trainer_picks_the_conditional_trainer(trainer):
    assert isinstance(build_trainer(trainer.config, trainer.dataset), CganTrainer)
    assert trainer.n_classes == 3 and trainer.metric_names == METRIC_NAMES


def test_unlabelled_data_is_refused_with_a_clear_error():
    folder = ImageDataset(name="image-folder", images=np.zeros((4, 28, 28, 1), np.uint8))
    config = Config.for_model("cgan-mlp", dataset="image-folder", **SMALL)
    with pytest.raises(DataError, match="needs class labels.*image-folder has none"):
        CganTrainer(config, folder)


def test_the_class_changes_what_g_draws(trainer):
    state = trainer.init()
    z = jnp.tile(trainer.fixed_noise(1), (N, 1))  # one noise, every class
    images = np.asarray(trainer.generate(state, z, np.arange(N) % 3))
    assert images.shape == (N, 28, 28, 1) and np.abs(images).max() <= 1.0
    assert not np.allclose(images[0], images[1]) and not np.allclose(images[1], images[2])
    np.testing.assert_array_equal(images[0], images[3])


def test_d_sees_the_class(trainer):
    state = trainer.init()
    x, _ = real_batch(trainer)

    @jax.jit
    def label_gradient(d_params, y):
        logit = lambda y: trainer.pair.discriminator.apply({"params": d_params}, x, y, train=False).sum()
        return jax.grad(logit)(y)

    grad = np.asarray(label_gradient(state.d_params, trainer.one_hot(np.arange(N) % 3)))
    assert grad.shape == (N, 3) and np.abs(grad).min() > 0
    p0 = np.asarray(trainer.discriminate(state, x, np.zeros(N, np.int32)))
    p1 = np.asarray(trainer.discriminate(state, x, np.ones(N, np.int32)))
    assert p0.shape == (N,) and not np.allclose(p0, p1)


def test_training_learns_each_class(trainer, trained):
    state, metrics = trained
    assert not metrics["fault"].any() and set(metrics) == set(METRIC_NAMES) | {"fault"}
    z = trainer.fixed_noise(N)
    for label in range(3):
        images = np.asarray(trainer.generate(state, z, np.full(N, label)))
        # every sample bright where its class is bright (real data: about +1.2)
        assert region_contrast(images, label).min() > 0.3, label
    # D has learnt the pairing: real images score higher with their own class than another's
    x, y = real_batch(trainer)
    own = np.asarray(trainer.discriminate(state, x, y))
    other = np.asarray(trainer.discriminate(state, x, (y + 1) % 3))
    assert (own > other).mean() > 0.9


def test_unlabelled_calls_cycle_through_the_classes(trainer, trained):
    state, _ = trained
    np.testing.assert_array_equal(trainer.display_labels(7), [0, 1, 2, 0, 1, 2, 0])
    assert trainer.display_labels(7).dtype == np.int32
    z = trainer.fixed_noise(N)
    x = trainer.generate(state, z)
    np.testing.assert_array_equal(x, trainer.generate(state, z, trainer.display_labels(N)))
    np.testing.assert_array_equal(trainer.discriminate(state, x), trainer.discriminate(state, x, trainer.display_labels(N)))
    with pytest.raises(ValueError, match=f"labels for {N} samples"):
        trainer.generate(state, z, np.zeros(N - 1, np.int32))
    with pytest.raises(ValueError, match=r"must lie in 0\.\.2, got 0\.\.3"):
        trainer.discriminate(state, x, np.arange(N) % 4)


def test_class_grid_is_one_row_per_class_with_shared_noise_per_column(trainer, trained):
    state, _ = trained
    columns = N // 3
    images, labels = trainer.class_grid(state, columns)
    assert images.shape == (N, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], columns))
    np.testing.assert_array_equal(images, trainer.class_grid(state, columns)[0])  # fixed noise
    # row r, column c is G(z_c | class r)
    z = trainer.noise(jax.random.PRNGKey(3), columns)
    images, labels = trainer.class_grid(state, columns, z)
    np.testing.assert_array_equal(images, trainer.generate(state, jnp.tile(z, (3, 1)), labels))
    for r in range(3):
        assert region_contrast(images[r * columns:(r + 1) * columns], r).min() > 0.3
    with pytest.raises(ValueError, match=f"for {columns + 1} columns"):
        trainer.class_grid(state, columns + 1, z)


def test_single_network_steps_and_live_hyperparameters(trainer):
    state = trainer.init()
    state, m = trainer.d_step(state)
    assert int(state.step) == 0 and set(m) == {"d_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "d_grad_norm",
                                               "fault"}
    before = params_vector(state)
    state, m = trainer.g_step(state)
    assert int(state.step) == 1 and set(m) == {"g_loss", "g_grad_norm", "fault"} and int(m["fault"]) == 0
    assert not np.array_equal(before, params_vector(state))
    state = trainer.set_hyper(state, lr_g=1e-4, lr_d=1e-4, label_smoothing=0.1)
    state, m = trainer.run(state, K)
    assert int(state.step) == 1 + K and bool(state.finite)


def test_save_restore_then_continue_equals_uninterrupted(trainer, tmp_path):
    straight, _ = run(trainer, trainer.init(), 2 * K)
    half, _ = run(trainer, trainer.init(), K)
    save_run(tmp_path / "run.npz", trainer.config, half)
    _, arrays = read_run(tmp_path / "run.npz")
    restored = restore_state(tmp_path / "run.npz", trainer.init(), arrays)
    resumed, _ = run(trainer, restored, K)
    np.testing.assert_array_equal(params_vector(straight), params_vector(resumed))


def test_load_run_rebuilds_the_conditional_trainer_from_its_config(mnist_dir, tmp_path):
    config = Config.for_model("cgan-mlp", dataset="mnist", data_dir=str(mnist_dir), hidden=8, batch_size=16)
    t = build_trainer(config)
    assert isinstance(t, CganTrainer) and t.n_classes == 10
    state = t.init()
    save_run(tmp_path / "run.npz", config, state)
    loaded_config, t2, restored, _ = load_run(tmp_path / "run.npz")
    assert loaded_config == config and isinstance(t2, CganTrainer) and t2.n_classes == 10
    np.testing.assert_array_equal(params_vector(state), params_vector(restored))
    images, labels = t2.class_grid(restored, 2)
    assert images.shape == (20, 28, 28, 1) and list(labels) == [c for c in range(10) for _ in range(2)]
