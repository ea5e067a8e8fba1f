"""Semi-supervised GAN training: D is a K-class classifier that also tells real from fake.

D's loss is the supervised cross-entropy on a batch of *labelled* images plus the unsupervised
real/fake losses on a batch of training images (labelled or not) and a batch of generated ones;
G's loss is ``adv_weight`` x fake-is-real + ``fm_weight`` x feature matching (the squared
difference of the batch means of D's penultimate features on real and generated images, as seed
003 and Salimans et al. 2016). The heads, and how their logits give p(real) and the classes, are
in :mod:`ganplay.models.sgan`.

The label budget is drawn once per run (:func:`draw_label_budget`), and only the budget's labels
ever reach the device: the training arrays are ``images`` (every training image, for the
unsupervised losses), ``labelled_images`` and ``labelled_labels``. The supervised loss reads only
the last two, so the label of an image outside the budget cannot influence training (PyTorch-GAN
#112 and Keras-GAN #185 are SGANs that train on every label).
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import Config
from ganplay.data import DATASETS
from ganplay.engine.objectives import (
    OBJECTIVES,
    DBatch,
    GBatch,
    Objective,
    feature_matching,
)
from ganplay.engine.train import (
    Trainer,
    TrainState,
    _adam,
    apply_gradients,
    check_compatible,
    loop_steps,
    run_steps,
)
from ganplay.errors import DataError
from ganplay.models import MODELS
from ganplay.models.sgan import supervised_cross_entropy

# The unsupervised real/fake losses' weight in D's loss, per head: seed 003 adds them to the
# supervised loss as they are; Salimans et al.'s code halves them (their ``loss_unl``).
UNSUPERVISED_WEIGHT = {"k+1": 1.0, "k": 0.5}
EVAL_BATCH = 500  # test images per jitted evaluation call (the last batch is padded)
INIT_BATCH = 500  # real images for a data-dependent initialisation of D (weight norm)


# -- the label budget -----------------------------------------------------------------------------
def budget_per_class(labels: np.ndarray, n_classes: int, *, labels_per_class: int = 0,
                     label_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """How many labels of each class the budget holds: ``[n_classes]`` ints.

    ``labels_per_class`` of each when above 0; otherwise ``round(label_fraction * N)`` split
    evenly, the remainder one each to classes picked with ``seed``. Raises ``DataError`` when
    some class would get no label or has fewer images than its share.
    """
    n = len(labels)
    if labels_per_class > 0:
        quota = np.full(n_classes, labels_per_class, np.int64)
        asked = f"labels_per_class={labels_per_class}"
    else:
        total = round(label_fraction * n)
        quota = np.full(n_classes, total // n_classes, np.int64)
        extra = np.random.default_rng([seed, 1]).permutation(n_classes)[: total % n_classes]
        quota[extra] += 1
        asked = f"label_fraction={label_fraction:g} ({total:,} of {n:,} training images)"
        if total < n_classes:
            raise DataError(
                f"{asked} gives fewer labels than the {n_classes} classes; the budget is "
                "balanced per class, so it needs at least one label of each: raise "
                f"label_fraction to at least {n_classes / n:.2g} or set labels_per_class"
            )
    counts = np.bincount(labels[labels >= 0].astype(np.int64), minlength=n_classes)[:n_classes]
    short = np.flatnonzero(counts < quota)
    if len(short):
        c = int(short[0])
        most = int(counts.min())
        raise DataError(
            f"{asked} asks for {int(quota[c]):,} labelled images of class {c}, but the training "
            f"split has only {int(counts[c]):,} of them; the budget is balanced per class, so at "
            f"most {most:,} per class ({most * n_classes:,} labels) are possible"
        )
    return quota


def draw_label_budget(labels: np.ndarray, n_classes: int, *, labels_per_class: int = 0,
                      label_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """Sorted indices of the labelled training images, balanced per class and fixed by ``seed``.

    The images are visited in one random order drawn from ``seed`` and each class takes its
    first images in that order (as Salimans et al. pick theirs). Labels below 0 mean "unknown"
    and are never drawn.
    """
    labels = np.asarray(labels)
    quota = budget_per_class(labels, n_classes, labels_per_class=labels_per_class,
                             label_fraction=label_fraction, seed=seed)
    order = np.random.default_rng([seed, 0]).permutation(len(labels))
    ordered = labels[order]
    chosen = [order[ordered == c][: quota[c]] for c in range(n_classes)]
    return np.sort(np.concatenate(chosen))


def random_shift(key: jax.Array, images: jax.Array, max_shift: int) -> jax.Array:
    """Each image ``[B, H, W, C]`` moved by its own random offset of up to ``max_shift`` pixels
    in each direction, the border pixels repeated into the gap (pure and jittable; the classic
    translation augmentation of MNIST classifiers: a digit moved by two pixels is the same digit)."""
    if not max_shift:
        return images
    s = int(max_shift)
    _, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
    offsets = jax.random.randint(key, (images.shape[0], 2), 0, 2 * s + 1)

    def crop(image, offset):
        return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, image.shape[-1]))

    return jax.vmap(crop)(padded, offsets)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``[K, K]`` int64 counts; row = true class, column = predicted class."""
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (np.asarray(true, np.int64), np.asarray(predicted, np.int64)), 1)
    return confusion


# -- the trainer ----------------------------------------------------------------------------------
class SganTrainer(Trainer):
    """:class:`~ganplay.engine.train.Trainer` for ``objective="sgan"`` models.

    Attributes beyond the base's: ``n_classes``, ``labelled_indices`` (into the training images,
    ``dataset.images``), ``label_note`` (one sentence for the user) and ``head``.
    """

    game = "sgan"

    def __init__(self, config: Config, dataset=None):
        check_compatible(config.model, config.dataset)
        spec = MODELS.get(config.model)
        if dataset is None:
            dataset = DATASETS.get(config.dataset).load(config, spec.image_size)
        if getattr(dataset, "labels", None) is None:
            raise DataError(
                f"{config.model} is a semi-supervised GAN: it needs a labelled dataset to draw its "
                f"label budget from, and {config.dataset} has no labels; choose mnist, "
                "fashion-mnist or svhn"
            )
        dataset = dataset.with_test_split()
        self.n_classes = dataset.n_classes
        self.labelled_indices = draw_label_budget(
            dataset.labels, self.n_classes, labels_per_class=config.labels_per_class,
            label_fraction=config.label_fraction, seed=config.seed,
        )
        # The base puts ``dataset.device_arrays()`` on the device, labels included: it gets the
        # dataset without them, and the arrays are replaced below.
        super().__init__(config, dataclasses.replace(dataset, labels=None))
        self.dataset = dataset
        self.head = config.sgan_head
        self.pair = spec.build(config, self.data_shape, n_classes=self.n_classes)
        budget = self.labelled_indices
        self.data_arrays = self.replicate({
            "images": dataset.images,
            "labelled_images": dataset.images[budget],
            "labelled_labels": np.asarray(dataset.labels[budget], np.int32),
        })
        self.label_note = self._describe_budget()
        self._predict = jax.jit(self._predict_impl)
        self._test_batches = None  # device copy of the padded test split, made on first use

    def _describe_budget(self) -> str:
        c, n = self.config, len(self.dataset.images)
        per = np.bincount(self.dataset.labels[self.labelled_indices].astype(np.int64),
                          minlength=self.n_classes)
        each = f"{per.min():,}" if per.min() == per.max() else f"{per.min():,}-{per.max():,}"
        return (
            f"{len(self.labelled_indices):,} labels ({each} per class) of {n:,} training images, "
            f"drawn with seed {c.seed}; {len(self.dataset.test_images):,} test images held out"
        )

    # -- state ------------------------------------------------------------------------------
    def _init_impl(self) -> TrainState:
        state = super()._init_impl()
        d = self.pair.discriminator
        if not getattr(d, "data_dependent_init", False):
            return state
        # The base initialises D on zeros; weight norm's data-dependent start needs real images:
        # a fixed set of training images (a small constant of this program), the base's key, and
        # D's noise on, as Salimans et al. initialise theirs.
        _, _, kd = jax.random.split(jax.random.PRNGKey(self.config.seed), 3)
        images = self.dataset.images
        pick = np.random.default_rng([self.config.seed, 2]).choice(
            len(images), size=min(INIT_BATCH, len(images)), replace=False)
        x = (images[np.sort(pick)].astype(np.float32) - 127.5) / 127.5
        d_vars = d.init({"params": kd, "dropout": kd}, x, train=True)
        return state._replace(d_params=d_vars["params"], d_stats=d_vars.get("batch_stats", {}),
                              d_opt=self.d_tx.init(d_vars["params"]))

    # -- public ------------------------------------------------------------------------------
    def test_accuracy(self, state: TrainState) -> tuple[float, np.ndarray]:
        """(accuracy, confusion ``[K, K]`` int64, row = true class) of D on the whole test split,
        in inference mode."""
        return self._evaluate(state.d_params, state.d_stats)

    # -- the game's batches -------------------------------------------------------------------
    def _sample_labelled(self, data, key, n: int):
        """``n`` images of the label budget and their labels: the only labels training sees."""
        return self.dataset.sample_labelled(
            {"images": data["labelled_images"], "labels": data["labelled_labels"]}, key, n)

    def _d_batch(self, state: TrainState, key, data) -> DBatch:
        """D's inputs for one update: a labelled batch and its labels (from the budget only),
        a batch of training images and a batch of G's samples. Without batch norm D treats rows
        independently, so the three go through it in one pass (the MLP D update: ~25% faster
        on 2 cores); with it, one pass each, each normalised by its own statistics."""
        c = self.config
        k_batches, k_d = jax.random.split(key)
        kl, kx, kz, kg = jax.random.split(k_batches, 4)
        x_l, y = self._sample_labelled(data, kl, c.batch_size)
        real = self.dataset.sample(data, kx, c.batch_size)
        k_shift_l, k_shift_x = jax.random.split(jax.random.fold_in(k_batches, 1))  # (unused at 0)
        x_l = random_shift(k_shift_l, x_l, c.sgan_shift)
        real = random_shift(k_shift_x, real, c.sgan_shift)
        x_l, y, real, fake = self._batch((x_l, y, real, self._fakes(state, kz, kg)))
        keys = tuple(jax.random.split(k_d, 3)) if state.d_stats else (k_d,)
        return DBatch(real, fake, keys, labelled=x_l, classes=y)

    def _g_batch(self, state: TrainState, key, data) -> GBatch:
        """G's inputs; with feature matching, the mean of D's features on a fresh batch of
        training images (Salimans et al. draw G's real batch separately from D's; D's batch-norm
        statistics are not updated by G's step)."""
        c = self.config
        kx, kz, kg, kd_real, kd_fake = jax.random.split(key, 5)
        z = self._batch(self.noise(kz, c.batch_size))
        real_mean = None
        if c.fm_weight:
            real = self.dataset.sample(data, kx, c.batch_size)
            # The real images' features as D sees them in its own step (moved, with sgan_shift).
            real = self._batch(random_shift(jax.random.fold_in(kx, 1), real, c.sgan_shift))
            out, _ = self._d_forward(state.d_params, state.d_stats, real, None, kd_real)
            real_mean = jnp.mean(out.features, axis=0)
        return GBatch(z, kg, kd_fake, real_feature_mean=real_mean)

    # -- test accuracy ---------------------------------------------------------------------------
    def _predict_impl(self, d_params, d_stats, images):
        """Predicted classes ``[B]`` of uint8 images, D in inference mode."""
        x = (images.astype(jnp.float32) - 127.5) / 127.5
        return jnp.argmax(self._d_infer(d_params, d_stats, x).class_logits, axis=-1)

    def _evaluate(self, d_params, d_stats) -> tuple[float, np.ndarray]:
        """(accuracy, confusion) on the test split, in fixed-size batches (one compile)."""
        if self._test_batches is None:
            images = self.dataset.test_images
            pad = -len(images) % EVAL_BATCH
            padded = np.concatenate([images, np.zeros((pad, *images.shape[1:]), images.dtype)])
            self._test_batches = jax.device_put(padded.reshape(-1, EVAL_BATCH, *images.shape[1:]))
        predicted = [self._predict(d_params, d_stats, batch) for batch in self._test_batches]
        labels = self.dataset.test_labels
        predicted = np.concatenate(jax.device_get(predicted))[: len(labels)]
        confusion = confusion_matrix(labels, predicted, self.n_classes)
        return float(np.trace(confusion) / len(labels)), confusion


def semi_supervised_d_loss(adversarial, outputs, batch: DBatch, config):
    """The supervised cross-entropy on the labelled batch plus the head's weight of the
    adversarial (real/fake) loss; metrics: the supervised loss and the labelled batch's accuracy."""
    labelled = outputs[0]
    sup = jnp.mean(supervised_cross_entropy(labelled, batch.classes, config.sgan_head))
    predicted = jnp.argmax(labelled.class_logits, axis=-1)
    return sup + UNSUPERVISED_WEIGHT[config.sgan_head] * adversarial, {
        "sup_loss": sup, "train_acc": jnp.mean(predicted == batch.classes)}


def semi_supervised_g_loss(per_sample, output, batch: GBatch, config):
    """``adv_weight`` x the adversarial loss + ``fm_weight`` x feature matching (each left out
    at weight 0)."""
    loss = jnp.float32(0.0)
    if config.adv_weight:
        loss += config.adv_weight * jnp.mean(per_sample)
    if config.fm_weight:
        loss += config.fm_weight * feature_matching(output.features, batch.real_feature_mean)
    return loss


OBJECTIVES.register("sgan", Objective(
    name="sgan",
    summary="The semi-supervised game (Salimans et al. 2016): D also classifies the labelled "
            "images; G can match D's features on real images.",
    trainer=SganTrainer,
    d_loss=semi_supervised_d_loss,
    g_loss=semi_supervised_g_loss,
    metric_names=("sup_loss", "train_acc"),
))


# -- the supervised-only baseline ---------------------------------------------------------------
class BaselineState(NamedTuple):
    step: jax.Array  # int32: updates done
    key: jax.Array
    params: Any
    stats: Any
    opt: Any


class SupervisedBaseline:
    """The SGAN's discriminator trained on its labelled images alone, for comparison.

    Same architecture, head, label budget, batch size and Adam settings (``lr_d``, betas) as the
    ``trainer``'s D, and it starts from the same initial D parameters; only the supervised
    cross-entropy trains it (the unlabelled and generated images never do). A step costs one
    labelled batch through D.
    """

    def __init__(self, trainer: SganTrainer):
        self.trainer = trainer
        self.config = trainer.config
        self.tx = _adam(trainer.config.lr_d, trainer.config)
        data = trainer.data_arrays
        self.data_arrays = {"labelled_images": data["labelled_images"],
                            "labelled_labels": data["labelled_labels"]}
        self._run = jax.jit(self._loop_impl, static_argnums=(2,))
        self._step = jax.jit(self._one_step)

    def init(self) -> BaselineState:
        start = self.trainer.init()  # the SGAN run's initial D (and its compiled init)
        key = jax.random.fold_in(jax.random.PRNGKey(self.config.seed), 20_000)
        return BaselineState(step=jnp.int32(0), key=key, params=start.d_params,
                             stats=start.d_stats, opt=self.tx.init(start.d_params))

    def run(self, bstate: BaselineState, k: int):
        """``k`` updates; returns (bstate, {"loss", "train_acc"} as ``[k]`` device arrays)."""
        return run_steps(self._run, self._step, bstate, k, self.data_arrays, self.trainer.scan_steps)

    def test_accuracy(self, bstate: BaselineState) -> tuple[float, np.ndarray]:
        return self.trainer._evaluate(bstate.params, bstate.stats)

    def _one_step(self, bstate: BaselineState, data):
        key, k_batch, k_d = jax.random.split(bstate.key, 3)
        t = self.trainer
        x, y = t._batch(t._sample_labelled(data, k_batch, self.config.batch_size))

        def loss_fn(params):
            out, stats = t._d_forward(params, bstate.stats, x, None, k_d)
            return jnp.mean(supervised_cross_entropy(out, y, t.head)), (stats, out.class_logits)

        (loss, (stats, logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(bstate.params)
        params, opt = apply_gradients(self.tx, grads, bstate.opt, bstate.params)
        metrics = {"loss": loss, "train_acc": jnp.mean(jnp.argmax(logits, axis=-1) == y)}
        return BaselineState(bstate.step + 1, key, params, stats, opt), metrics

    def _loop_impl(self, bstate: BaselineState, n, length: int, data):
        return loop_steps(self._one_step, bstate, n, length, data)
