"""Semi-supervised GAN training on the offline MNIST: the label budget, the split, the proof that
labels outside the budget never reach the supervised loss, accuracy and the baseline."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.data.images import ImageDataset, load_dataset_files
from ganplay.engine import build_trainer, fetch_metrics
from ganplay.engine import sgan as sgan_engine
from ganplay.engine.sgan import (
    SganTrainer,
    SupervisedBaseline,
    budget_per_class,
    confusion_matrix,
    draw_label_budget,
)
from ganplay.errors import DataError
from ganplay.models.sgan import head_logits

from shared_data import MNIST_DIR as MNIST, mnist_available, why_no_mnist  # noqa: E402
# Tiny networks (D 62-31-16-16-16, G 31-31) keep each compile and step cheap.
TINY = {"width": 0.0625, "batch_size": 32, "labels_per_class": 10, "sgan_head": "k"}


def _config(**overrides) -> Config:
    return Config.for_model("sgan-mlp", **{"dataset": "mnist", "data_dir": str(MNIST), **TINY, **overrides})


@pytest.fixture(scope="module")
def split() -> ImageDataset:
    """The offline MNIST, split 8,000 train / 2,000 test as every SGAN run splits it."""
    if not mnist_available():
        pytest.skip(why_no_mnist())
    return load_dataset_files("mnist", MNIST, 28).with_test_split()


@pytest.fixture(scope="module")
def trainer(split) -> SganTrainer:
    return SganTrainer(_config(), split)


@pytest.fixture(scope="module")
def trained(trainer):
    """(state, host metrics) after 3 scanned steps of the module's trainer."""
    state, metrics = trainer.run(trainer.init(), 3)
    return state, fetch_metrics(metrics)


def _params(state) -> np.ndarray:
    return np.concatenate([np.ravel(x) for x in jax.tree.leaves((state.g_params, state.d_params))])


# -- the budget -----------------------------------------------------------------------------------
def test_budget_is_balanced_per_class_and_fixed_by_the_seed(split):
    labels = split.labels
    a = draw_label_budget(labels, 10, labels_per_class=10, seed=0)
    assert len(a) == len(np.unique(a)) == 100
    np.testing.assert_array_equal(np.bincount(labels[a], minlength=10), 10)
    np.testing.assert_array_equal(a, draw_label_budget(labels, 10, labels_per_class=10, seed=0))
    assert not np.array_equal(a, draw_label_budget(labels, 10, labels_per_class=10, seed=1))
    # seed 003's fraction: 0.2 of 8,000 = 1,600, 160 of each class
    b = draw_label_budget(labels, 10, label_fraction=0.2, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[b], minlength=10), 160)
    # a total that does not divide: the remainder goes one each to some classes
    quota = budget_per_class(labels, 10, label_fraction=0.0126, seed=3)  # 101 labels
    assert quota.sum() == 101 and set(quota) == {10, 11}


def test_trainer_draws_the_budget_and_describes_it(trainer, split):
    np.testing.assert_array_equal(
        trainer.labelled_indices, draw_label_budget(split.labels, 10, labels_per_class=10, seed=0))
    assert trainer.n_classes == 10
    assert trainer.label_note == ("100 labels (10 per class) of 8,000 training images, drawn with "
                                  "seed 0; 2,000 test images held out")


def test_impossible_budgets_and_unlabelled_data_are_refused(split):
    with pytest.raises(DataError, match=r"labels_per_class=1000 asks for 1,000 labelled images of class \d"):
        SganTrainer(_config(labels_per_class=1000), split)
    with pytest.raises(DataError, match="at least one label of each"):
        SganTrainer(_config(labels_per_class=0, label_fraction=0.0005), split)  # 4 labels
    with pytest.raises(DataError, match="label_fraction=1 .* at most"):
        SganTrainer(_config(labels_per_class=0, label_fraction=1.0), split)  # not balanced
    folder = ImageDataset(name="image-folder", images=np.zeros((6, 28, 28, 1), np.uint8))
    with pytest.raises(DataError, match="needs a labelled dataset"):
        SganTrainer(_config(dataset="image-folder"), folder)


# -- the split and what reaches the device -----------------------------------------------------------
def test_test_images_never_train(trainer):
    train = {bytes(x) for x in np.asarray(trainer.data_arrays["images"])}
    test = [bytes(x) for x in trainer.dataset.test_images]
    assert len(test) == 2000 and len(train) > 7900
    assert not train.intersection(test)
    assert trainer.dataset.split_note.startswith("offline MNIST")


def test_only_the_budget_labels_reach_the_device(trainer, split):
    arrays = trainer.data_arrays
    assert set(arrays) == {"images", "labelled_images", "labelled_labels"}
    idx = trainer.labelled_indices
    np.testing.assert_array_equal(np.asarray(arrays["labelled_images"]), split.images[idx])
    np.testing.assert_array_equal(np.asarray(arrays["labelled_labels"]), split.labels[idx])
    np.testing.assert_array_equal(np.asarray(arrays["images"]), split.images)


# -- THE proof: labels outside the budget never reach the supervised loss --------------------------------
def test_labels_outside_the_budget_do_not_change_training(trainer, trained, split, monkeypatch):
    """Erasing every non-budget label (-1, "unknown") leaves the budget and the whole trained
    state bit-identical; changing the *budget's* labels does not. An SGAN that trained on every
    label (PyTorch-GAN #112, Keras-GAN #185) fails the first half; one that ignored labels
    altogether, the second."""
    state, metrics = trained
    outside = np.setdiff1d(np.arange(len(split.labels)), trainer.labelled_indices)
    erased = split.labels.astype(np.int64)
    erased[outside] = -1
    t = SganTrainer(_config(), dataclasses.replace(split, labels=erased))
    np.testing.assert_array_equal(t.labelled_indices, trainer.labelled_indices)
    s, m = t.run(t.init(), 3)
    np.testing.assert_array_equal(_params(s), _params(state))
    for name in trainer.metric_names:
        np.testing.assert_array_equal(fetch_metrics(m)[name], metrics[name])

    # The converse, so that the check above can fail: the budget's own labels do matter.
    wrong = split.labels.astype(np.int64)
    wrong[trainer.labelled_indices] = (wrong[trainer.labelled_indices] + 1) % 10
    monkeypatch.setattr(sgan_engine, "draw_label_budget", lambda *a, **k: trainer.labelled_indices)
    t = SganTrainer(_config(), dataclasses.replace(split, labels=wrong))
    s, _ = t.run(t.init(), 3)
    assert not np.array_equal(_params(s), _params(state))


def test_shuffled_labels_outside_the_budget_do_not_change_training(trainer, trained, split, monkeypatch):
    """Every non-budget label replaced by a random wrong one, with the same budget drawn: the
    trained state is bit-identical."""
    rng = np.random.default_rng(7)
    outside = np.setdiff1d(np.arange(len(split.labels)), trainer.labelled_indices)
    wrong = split.labels.astype(np.int64)
    wrong[outside] = (wrong[outside] + rng.integers(1, 10, size=len(outside))) % 10
    assert (wrong[outside] != split.labels[outside]).all()
    monkeypatch.setattr(sgan_engine, "draw_label_budget", lambda *a, **k: trainer.labelled_indices)
    t = SganTrainer(_config(), dataclasses.replace(split, labels=wrong))
    s, _ = t.run(t.init(), 3)
    np.testing.assert_array_equal(_params(s), _params(trained[0]))


def test_supervised_loss_has_no_gradient_wrt_unlabelled_images(trainer):
    """D's loss on one update's batches: the supervised part's gradient with respect to every
    image in the ``images`` array is exactly zero; with respect to the budget's images it is not.
    (Images as float copies, so that the gradient exists; sampling is the training code's own.)"""
    state = trainer.init()
    data = {k: jnp.asarray(v, jnp.float32) for k, v in trainer.data_arrays.items()}

    @jax.jit
    def grads(data):
        def supervised(images):
            d = {**data, **images}
            batch = trainer._d_batch(state, jax.random.PRNGKey(1), d)
            passes = [(batch.labelled, None), (batch.real, None), (batch.fake, None)]
            outputs, _ = trainer._d_passes(state.d_params, state.d_stats, passes, batch.keys)
            _, metrics = trainer.objective.d_loss(jnp.float32(0.0), outputs, batch, trainer.config)
            return metrics["sup_loss"]  # the supervised cross-entropy

        return jax.grad(supervised)({"images": data["images"], "labelled_images": data["labelled_images"]})

    g = grads(data)
    assert not np.asarray(g["images"]).any()
    assert np.count_nonzero(np.asarray(g["labelled_images"])) > 1000


# -- training ---------------------------------------------------------------------------------------
def test_runs_report_every_metric(trainer, trained):
    state, m = trained
    assert isinstance(build_trainer(_config()), SganTrainer)
    assert set(m) == set(trainer.metric_names) | {"fault"}
    assert {"sup_loss", "train_acc"} <= set(trainer.metric_names)
    for name in trainer.metric_names:
        assert m[name].shape == (3,) and np.isfinite(m[name]).all(), name
    assert not m["fault"].any() and int(state.step) == 3
    assert ((m["train_acc"] >= 0) & (m["train_acc"] <= 1)).all()


@pytest.mark.parametrize("head", ["k+1", "k"])
def test_discriminate_is_the_heads_p_real(trainer, split, head):
    t = trainer if head == trainer.head else SganTrainer(_config(sgan_head=head), split)
    state = t.init()
    x = t.generate(state, t.fixed_noise(6))
    p = np.asarray(t.discriminate(state, x), np.float64)
    out = t.pair.discriminator.apply({"params": state.d_params, "batch_stats": state.d_stats}, x, train=False)
    logits = np.asarray(head_logits(out, head), np.float64)  # the head layer's own
    if head == "k+1":
        assert logits.shape == (6, 11)
        expected = 1.0 - 1.0 / (1.0 + np.exp(-logits[:, 0]))  # seed 003: logit 0 is "fake"
    else:
        assert logits.shape == (6, 10)
        z = np.exp(logits).sum(1)
        expected = z / (z + 1.0)
    assert p.shape == (6,)
    np.testing.assert_allclose(p, expected, rtol=1e-5, atol=1e-6)
    if t is not trainer:
        # a single G update (the GUI's G button), which feature matching gives real images
        s, gm = t.g_step(state)
        assert int(s.step) == 1 and np.isfinite(float(gm["g_loss"])) and int(gm["fault"]) == 0
        assert not np.array_equal(np.asarray(s.g_params["out"]["kernel"]),
                                  np.asarray(state.g_params["out"]["kernel"]))


# -- accuracy ---------------------------------------------------------------------------------------
def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    c = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    np.testing.assert_array_equal(c, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert c.dtype == np.int64


def test_test_accuracy_of_a_d_that_always_says_three(trainer):
    """A head whose weights are zero and whose bias favours class 3 predicts 3 for every image:
    all of the confusion matrix sits in column 3, one row per true class (all 2,000, padding
    excluded), and the accuracy is the share of threes."""
    state = trainer.init()
    head = dict(state.d_params["head"])
    head["scale"] = jnp.zeros_like(head["scale"])
    head["bias"] = jnp.zeros_like(head["bias"]).at[3].set(5.0)  # "k" head: logits = classes
    acc, confusion = trainer.test_accuracy(state._replace(d_params={**state.d_params, "head": head}))
    counts = np.bincount(trainer.dataset.test_labels, minlength=10)
    assert confusion.shape == (10, 10) and confusion.dtype == np.int64
    np.testing.assert_array_equal(confusion[:, 3], counts)
    assert confusion.sum() == 2000 and acc == pytest.approx(counts[3] / 2000)


def test_test_accuracy_matches_a_direct_evaluation(trainer, trained):
    state = trained[0]
    acc, confusion = trainer.test_accuracy(state)
    x = (trainer.dataset.test_images.astype(np.float32) - 127.5) / 127.5
    out = jax.jit(lambda x: trainer.pair.discriminator.apply(
        {"params": state.d_params, "batch_stats": state.d_stats}, x, train=False))(x)
    predicted = np.asarray(jnp.argmax(out.class_logits, axis=-1))
    np.testing.assert_array_equal(confusion, confusion_matrix(trainer.dataset.test_labels, predicted, 10))
    assert acc == pytest.approx(np.mean(predicted == trainer.dataset.test_labels))


# -- the supervised-only baseline --------------------------------------------------------------------
def test_baseline_trains_on_the_labelled_images_only_and_learns(trainer):
    baseline = SupervisedBaseline(trainer)
    assert set(baseline.data_arrays) == {"labelled_images", "labelled_labels"}
    start = baseline.init()
    np.testing.assert_array_equal(  # the same initial D as the SGAN's
        np.asarray(start.params["dense1"]["kernel"]), np.asarray(trainer.init().d_params["dense1"]["kernel"]))
    before, _ = baseline.test_accuracy(start)
    bstate, m = baseline.run(start, 300)
    m = fetch_metrics(m)
    assert int(bstate.step) == 300 and m["loss"].shape == (300,)
    assert m["loss"][-20:].mean() < m["loss"][:20].mean()
    acc, confusion = baseline.test_accuracy(bstate)
    assert confusion.sum() == 2000
    assert acc > 0.4 and acc > before + 0.2, (before, acc)  # chance is 0.1


# -- the shift augmentation (sgan_shift) ------------------------------------------------------------
def test_random_shift_moves_each_image_by_its_own_offset_within_the_limit():
    """A one-pixel image lands at most ``s`` pixels away in each direction, the images of a batch
    at different offsets, and every offset in the range is drawn; 0 leaves the batch as it is."""
    images = -np.ones((400, 9, 9, 1), np.float32)
    images[:, 4, 4, 0] = 1.0
    moved = np.asarray(sgan_engine.random_shift(jax.random.PRNGKey(0), jnp.asarray(images), 2))
    assert moved.shape == images.shape
    assert (moved.max(axis=(1, 2, 3)) == 1.0).all() and ((moved == 1.0).sum(axis=(1, 2, 3)) == 1).all()
    rows, cols = np.nonzero(moved[..., 0] == 1.0)[1:]
    assert set(rows - 4) == set(cols - 4) == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(sgan_engine.random_shift(jax.random.PRNGKey(0), jnp.asarray(images), 0), images)


def test_random_shift_repeats_the_border_into_the_gap():
    """A bright edge stays bright over the gap (edge padding), so a shifted image has no new
    dark stripe along a border that was lit."""
    images = np.zeros((64, 6, 6, 1), np.float32)
    images[:, :, 0, 0] = 1.0  # the left column lit
    moved = np.asarray(sgan_engine.random_shift(jax.random.PRNGKey(3), jnp.asarray(images), 2))
    # Moved right by k pixels, the lit column repeats into the gap: k + 1 lit columns, never a
    # dark one left of a lit one. Moved left, the lit column leaves the image (the padding repeats
    # the dark right border).
    widths = (moved[:, 0, :, 0] == 1.0).sum(axis=1)
    assert set(widths) == {0, 1, 2, 3}
    for row in moved[:, 0, :, 0]:
        lit = np.flatnonzero(row == 1.0)
        assert len(lit) == 0 or (lit == np.arange(len(lit))).all()


def test_sgan_shift_is_a_setting_of_the_semi_supervised_models_only():
    assert _config(sgan_shift=2).sgan_shift == 2
    with pytest.raises(Exception, match="sgan_shift=2 is offered for the semi-supervised models"):
        Config.for_model("toy-mlp", sgan_shift=2)
    with pytest.raises(Exception, match="sgan_shift"):
        _config(sgan_shift=9)


def test_sgan_shift_changes_what_d_sees_of_the_real_and_labelled_images(trainer, split):
    """With the shift on, D's real and labelled batches are the same draws, each moved by an
    offset of at most 2 pixels (not all by none), the labels stay those of the budget, and a short
    run trains."""
    shifted = SganTrainer(_config(sgan_shift=2), split)
    state = shifted.init()
    key = jax.random.PRNGKey(5)
    plain_batch = trainer._d_batch(state, key, trainer.data_arrays)
    batch = shifted._d_batch(state, key, shifted.data_arrays)
    np.testing.assert_array_equal(batch.classes, plain_batch.classes)
    for a, b in ((batch.labelled, plain_batch.labelled), (batch.real, plain_batch.real)):
        a, b = np.asarray(a), np.asarray(b)
        padded = np.pad(b, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
        h, w = b.shape[1:3]
        found = [[(dy, dx) for dy in range(5) for dx in range(5)
                  if np.array_equal(padded[i, dy:dy + h, dx:dx + w], a[i])] for i in range(len(a))]
        assert all(found), "every image is a shifted copy of the unshifted draw"
        assert sum((2, 2) not in f for f in found) > len(a) // 2
    state, metrics = shifted.run(state, 3)
    assert np.isfinite(fetch_metrics(metrics)["d_loss"]).all()
