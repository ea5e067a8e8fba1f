"""Image quality metrics from an evaluation classifier trained inside ganplay.

FID and Inception Score need a network that knows the data. The usual Inception-v3 weights are a
100 MB download made for 299x299 photographs; for MNIST-sized data a small convnet trained on the
dataset itself is the standard substitute (e.g. the "classifier FID/IS" of the mode-collapse
literature). It trains once per dataset on its training split (about half a minute on two CPU
cores for 8,000 MNIST images) and is cached in ``<cache root>/classifiers``.

Which images are which: the classifier trains on the dataset's training split and is scored on
its test split. The offline MNIST copy has only the 10,000-image test set, which the GAN trains
on whole; here a fixed 20% of it (2,000 images) is held out from the classifier instead, and the
same images serve as the real reference of FID (they are not held out from the GAN then).

Scores are comparable only between runs on the same dataset and classifier (the cache
file's fingerprint); they are not comparable to published Inception-network figures.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganplay.data.download import ProgressFn  # (done, total, message)
from ganplay.data.images import held_out_indices
from ganplay.data.locate import cache_root
from ganplay.files import atomic_write_bytes, first_line, read_npz
from ganplay.errors import DataError, GanplayError
from ganplay.models.conv_transpose import Conv

FORMAT = "ganplay-classifier"
# Bump when the network, the training recipe or the file layout changes: old cache files then
# no longer match any fingerprint and are retrained.
VERSION = 1
# A cache file holds about 1 MB of parameters; one that declares more is refused unread.
MAX_CACHE_BYTES = 64 << 20
BATCH = 250  # images per jitted forward pass (one compiled shape; the last batch is padded)


@dataclass(frozen=True)
class ClassifierSettings:
    """How the evaluation classifier trains; part of the cache fingerprint."""

    epochs: int = 5
    # A cap on optimizer steps keeps the one-off training affordable on big training sets
    # (60,000 Fashion-MNIST images: about 1 epoch instead of 5, ~15 s on 2 cores).
    max_steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0


class EvaluationClassifier(nn.Module):
    """Three stride-2 3x3 convolutions and a dense layer whose activations are the features.

    28x28 -> 14 -> 7 -> 4 (32x32 -> 16 -> 8 -> 4); ``__call__`` returns ``(features, logits)``.
    """

    n_classes: int
    channels: tuple[int, ...] = (32, 64, 128)
    n_features: int = 128

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        for c in self.channels:
            x = nn.relu(Conv(c, 3, strides=2)(x))
        features = nn.relu(nn.Dense(self.n_features)(x.reshape((x.shape[0], -1))))
        return features, nn.Dense(self.n_classes)(features)


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvaluationSplit:
    """uint8 images [N, H, W, C] and int labels for training and scoring the classifier."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    n_classes: int
    note: str


def evaluation_split(dataset) -> EvaluationSplit:
    """The dataset's train/test split, or, without a test split, a fixed 80/20 split of it."""
    title = getattr(dataset, "name", "dataset")
    if getattr(dataset, "labels", None) is None:
        raise DataError(
            f"{title} has no labels; the evaluation classifier (FID, Inception Score) needs a "
            "labelled dataset such as mnist, fashion-mnist or svhn"
        )
    images, labels = np.asarray(dataset.images), np.asarray(dataset.labels).astype(np.int32)
    if dataset.test_images is not None and dataset.test_labels is not None:
        test_images = np.asarray(dataset.test_images)
        test_labels = np.asarray(dataset.test_labels).astype(np.int32)
        note = (
            f"{title}: classifier trained on the {len(images):,} training images, scored on the "
            f"{len(test_images):,} test images"
        )
    else:
        train, test = held_out_indices(len(images))
        images, labels, test_images, test_labels = images[train], labels[train], images[test], labels[test]
        note = (
            f"{title}: no test split, so the classifier trains on {len(images):,} images and "
            f"{len(test_images):,} are held out for its accuracy and as FID's real reference"
        )
    if len(images) < 2 or len(test_images) < 4:
        raise DataError(
            f"{title} has too few labelled images ({len(images)} + {len(test_images)}) for an "
            "evaluation classifier"
        )
    n_classes = int(max(labels.max(), test_labels.max())) + 1
    return EvaluationSplit(images, labels, test_images, test_labels, n_classes, note)


def classifier_fingerprint(split: EvaluationSplit, settings: ClassifierSettings) -> str:
    """12 hex digits naming the classifier a split and settings produce.

    From the shapes, counts, labels and a thin sample of pixels (every 97th image), the settings
    and :data:`VERSION`: cheap to compute, and different for any other data that matters.
    """
    h = hashlib.sha256()
    header = {
        "version": VERSION, "train": list(split.train_images.shape), "test": list(split.test_images.shape),
        "classes": split.n_classes, "settings": asdict(settings),
    }
    h.update(json.dumps(header, sort_keys=True).encode())
    for a in (split.train_labels, split.test_labels, split.train_images[::97], split.test_images[::97]):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def to_classifier_input(images, shape: tuple[int, int, int]) -> np.ndarray:
    """float32 [N, *shape] in [-1, 1] from uint8 or [-1, 1] float images of ``shape``.

    Images padded for a bigger model (28x28 MNIST in a 32x32 generator) are centre-cropped back.
    """
    x = np.asarray(images)
    if x.ndim == 3 and shape[2] == 1:
        x = x[..., None]
    if x.ndim != 4 or x.shape[3] != shape[2] or x.shape[1] < shape[0] or x.shape[2] < shape[1]:
        raise ValueError(f"images of shape {x.shape[1:]} do not fit the classifier's {shape}")
    top, left = (x.shape[1] - shape[0]) // 2, (x.shape[2] - shape[1]) // 2
    x = x[:, top:top + shape[0], left:left + shape[1]]
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 127.5) / 127.5
    return x.astype(np.float32, copy=False)


# -- training -----------------------------------------------------------------------------------
class ClassifierCancelled(GanplayError):
    """The classifier's training was stopped by its ``cancel`` callback."""


def train_classifier(
    split: EvaluationSplit, settings: ClassifierSettings, progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
):
    """Train on ``split``'s training images with Adam; returns ``(params, test accuracy)``.

    ``cancel`` is polled before every batch; when it returns True, :class:`ClassifierCancelled`
    is raised (a background training must stop promptly, e.g. before the process exits).
    """
    model = EvaluationClassifier(split.n_classes)
    shape = split.train_images.shape[1:]
    params = init_params(model, shape, settings.seed)
    n, b = len(split.train_images), min(settings.batch_size, len(split.train_images))
    steps = min(settings.epochs * (n // b), settings.max_steps)
    # cosine decay to 0 over the run: +0.3-0.5% test accuracy over a constant rate at no cost
    tx = optax.adam(optax.cosine_decay_schedule(settings.learning_rate, max(steps, 1)))
    opt_state = tx.init(params)
    images = jax.device_put(split.train_images)
    labels = jax.device_put(split.train_labels)

    # The data is an argument, not a closure constant: a constant is baked into the compiled
    # program, which made compiling this step ~5x slower.
    @jax.jit
    def step(params, opt_state, images, labels, index):
        x = (jnp.take(images, index, axis=0).astype(jnp.float32) - 127.5) / 127.5
        y = jnp.take(labels, index)

        def loss_fn(p):
            _, logits = model.apply(p, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(settings.seed)
    if progress is not None:
        progress(0, settings.epochs, f"training the evaluation classifier on {n:,} images")
    done = 0
    for epoch in range(settings.epochs):
        if done >= steps:
            break
        order = rng.permutation(n)
        for start in range(0, n - b + 1, b):  # the incomplete last batch is dropped
            if done >= steps:  # the step cap (big training sets)
                break
            if cancel is not None and cancel():
                raise ClassifierCancelled("the evaluation classifier's training was cancelled")
            params, opt_state, loss = step(params, opt_state, images, labels, order[start:start + b])
            done += 1
        if progress is not None:
            message = f"training the evaluation classifier: epoch {epoch + 1}/{settings.epochs}"
            progress(epoch + 1, settings.epochs, f"{message}, loss {float(loss):.3f}")
    probs = _batched(model, params, to_classifier_input(split.test_images, shape))[1]
    accuracy = float(np.mean(probs.argmax(axis=1) == split.test_labels))
    return params, accuracy


def param_shapes(model: EvaluationClassifier, image_shape: tuple[int, ...]):
    """The parameter pytree's structure as ``jax.ShapeDtypeStruct`` leaves (nothing compiled)."""
    x = jax.ShapeDtypeStruct((1, *image_shape), jnp.float32)
    return jax.eval_shape(model.init, jax.random.PRNGKey(0), x)


def init_params(model: EvaluationClassifier, image_shape: tuple[int, ...], seed: int):
    """He-normal kernels and zero biases, drawn with NumPy.

    Compiling flax's initialisers (threefry and truncated normals, one program per layer) took
    6-9 s on a busy 2-core CPU, longer than two epochs of training; NumPy draws them at once.
    """
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        if jax.tree_util.keystr(path).endswith("['bias']"):
            return jnp.zeros(leaf.shape, leaf.dtype)
        fan_in = int(np.prod(leaf.shape[:-1]))
        return jnp.asarray(rng.standard_normal(leaf.shape) * math.sqrt(2.0 / fan_in), leaf.dtype)

    return jax.tree_util.tree_map_with_path(draw, param_shapes(model, image_shape))


@partial(jax.jit, static_argnums=0)
def _forward(model: EvaluationClassifier, params, x):
    features, logits = model.apply(params, x)
    return features, jax.nn.softmax(logits)


def _batched(model: EvaluationClassifier, params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features and probabilities of ``x`` in jitted batches of :data:`BATCH` (the last one
    padded, so that every call reuses one compiled program), as float64 host arrays."""
    n = len(x)
    feats, probs = [], []
    for start in range(0, n, BATCH):
        chunk = x[start:start + BATCH]
        if len(chunk) < BATCH:  # pad: one compiled shape for every call
            chunk = np.concatenate([chunk, np.zeros((BATCH - len(chunk), *x.shape[1:]), np.float32)])
        f, p = _forward(model, params, chunk)
        feats.append(f)
        probs.append(p)
    if not feats:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    f, p = jax.device_get((jnp.concatenate(feats), jnp.concatenate(probs)))
    return np.asarray(f[:n], np.float64), np.asarray(p[:n], np.float64)


# -- the cache file -----------------------------------------------------------------------------
def classifier_cache_path(name: str, fingerprint: str) -> Path:
    """Where the classifier for dataset ``name`` with this fingerprint is cached."""
    return cache_root() / "classifiers" / f"{name}-{fingerprint}.npz"


def save_classifier(path: Path, params, header: dict) -> None:
    """One ``.npz``: every parameter under its tree path and a JSON header, written atomically."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(jax.device_get(params))
    arrays = {"params" + jax.tree_util.keystr(p): np.asarray(v) for p, v in leaves}
    arrays["header"] = np.frombuffer(json.dumps({"format": FORMAT, **header}).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_classifier(path: Path, template, expected_fingerprint: str) -> tuple[Any, dict]:
    """``(params, header)`` from a cache file, checked against ``template``'s structure.

    Raises :class:`GanplayError` naming the problem when the file is unreadable, from another
    version or data, or does not match the network.
    """
    arrays = read_npz(path, MAX_CACHE_BYTES, what="classifier file")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (ValueError, KeyError, UnicodeDecodeError, RecursionError) as exc:
        raise GanplayError(f"{path} is not a readable classifier file (its header: {first_line(exc)})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise GanplayError(f"{path} is not a version-{VERSION} ganplay classifier file")
    if header.get("fingerprint") != expected_fingerprint:
        raise GanplayError(f"{path} was trained on other data (fingerprint {header.get('fingerprint')!r})")
    accuracy = header.get("test_accuracy")
    if not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
        raise GanplayError(f"{path}: test_accuracy {accuracy!r} is not a fraction")
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    values = []
    for p, tmpl in leaves:
        name = "params" + jax.tree_util.keystr(p)
        v = arrays.get(name)
        if v is None or v.shape != tmpl.shape or v.dtype != tmpl.dtype or not np.all(np.isfinite(v)):
            raise GanplayError(f"{path}: parameter {name} is missing, misshapen or not finite")
        values.append(jnp.asarray(v))
    return jax.tree_util.tree_unflatten(treedef, values), header


# -- the evaluator ------------------------------------------------------------------------------
class Evaluator:
    """An evaluation classifier for one image dataset, and the metrics it gives.

    Build it with :meth:`for_dataset` (trains, or loads the cached classifier). ``trained`` says
    whether that call trained it. The real-data figures (``fid_floor``, ``is_real``) and the real
    reference's feature statistics are computed on first use and kept.
    """

    def __init__(self, params, split: EvaluationSplit, test_accuracy: float, *, trained: bool,
                 cache_path: Path | None = None, train_seconds: float | None = None):
        self.model = EvaluationClassifier(split.n_classes)
        self.params = params
        self.split = split
        self.n_classes = split.n_classes
        self.image_shape = tuple(split.test_images.shape[1:])
        self.test_accuracy = float(test_accuracy)
        self.trained = trained
        self.cache_path = cache_path
        self.train_seconds = train_seconds
        self._real: dict[str, Any] | None = None

    @classmethod
    def for_dataset(cls, dataset, progress: ProgressFn | None = None,
                    settings: ClassifierSettings = ClassifierSettings(),
                    cancel: Callable[[], bool] | None = None) -> Evaluator:
        """The evaluator for an :class:`~ganplay.data.images.ImageDataset` with labels.

        Loads ``<cache root>/classifiers/<name>-<fingerprint>.npz`` when it is valid; otherwise
        (missing, corrupt, another version) trains the classifier, with a warning for a corrupt
        file, and writes the cache (a failed write is a warning, not an error). ``cancel``: see
        :func:`train_classifier`.
        """
        split = evaluation_split(dataset)
        fingerprint = classifier_fingerprint(split, settings)
        path = classifier_cache_path(getattr(dataset, "name", "images"), fingerprint)
        if path.exists():
            template = param_shapes(EvaluationClassifier(split.n_classes), split.train_images.shape[1:])
            try:
                params, header = load_classifier(path, template, fingerprint)
                return cls(params, split, header["test_accuracy"], trained=False, cache_path=path,
                           train_seconds=header.get("train_seconds"))
            except GanplayError as exc:
                warnings.warn(f"{exc}; retraining the evaluation classifier", stacklevel=2)
        start = time.perf_counter()
        params, accuracy = train_classifier(split, settings, progress, cancel)
        seconds = time.perf_counter() - start
        header = {
            "version": VERSION, "fingerprint": fingerprint, "dataset": getattr(dataset, "name", ""),
            "test_accuracy": accuracy, "n_classes": split.n_classes, "train_seconds": seconds,
            "image_shape": list(split.train_images.shape[1:]), "settings": asdict(settings),
            "note": split.note,
        }
        try:
            save_classifier(path, params, header)
        except GanplayError as exc:
            warnings.warn(f"the evaluation classifier was not cached: {exc}", stacklevel=2)
        return cls(params, split, accuracy, trained=True, cache_path=path, train_seconds=seconds)

    # -- the network ----------------------------------------------------------------------------
    def features_and_probs(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate-layer features [N, F] and class probabilities [N, classes], float64."""
        return _batched(self.model, self.params, to_classifier_input(images, self.image_shape))

    def features(self, images) -> np.ndarray:
        return self.features_and_probs(images)[0]

    def predict(self, images) -> np.ndarray:
        return self.features_and_probs(images)[1]

    # -- metrics --------------------------------------------------------------------------------
    def evaluate(self, generated) -> dict:
        """FID, Inception Score and class histogram of ``generated`` images ([-1, 1] or uint8).

        ``fid`` is against the held-out real images; ``fid_floor`` and ``is_real`` are what real
        data scores (see their properties), the reference points for the two.
        """
        features, probs = self.features_and_probs(generated)
        real = self._real_reference()
        return {
            "fid": frechet_distance(features, real["mean"], real["sqrt_cov"], real["cov"]),
            "inception_score": inception_score(probs),
            "class_hist": class_histogram(probs, self.n_classes),
            "fid_floor": self.fid_floor,
            "is_real": self.is_real,
            "n": len(features),
        }

    def intended_class_fraction(self, generated, intended_labels) -> float:
        """Fraction of ``generated`` images the classifier puts in their intended class
        (for a conditional generator)."""
        labels = np.asarray(intended_labels).reshape(-1)
        probs = self.predict(generated)
        if len(labels) != len(probs):
            raise ValueError(f"{len(labels)} intended labels for {len(probs)} images")
        return float(np.mean(probs.argmax(axis=1) == labels)) if len(labels) else float("nan")

    @property
    def fid_floor(self) -> float:
        """FID between two disjoint halves of the held-out real images: what a perfect generator
        scores, up to sample size (FID's bias shrinks as the samples grow, so a generator scored
        with more images than half the held-out set can come out slightly below it)."""
        return self._real_reference()["fid_floor"]

    @property
    def is_real(self) -> float:
        """Inception Score of the held-out real images (at most the number of classes)."""
        return self._real_reference()["is_real"]

    def _real_reference(self) -> dict:
        if self._real is None:
            features, probs = self.features_and_probs(self.split.test_images)
            mean, cov = _mean_cov(features)
            order = np.random.default_rng(0).permutation(len(features))
            a, b = features[order[: len(order) // 2]], features[order[len(order) // 2:]]
            b_mean, b_cov = _mean_cov(b)
            self._real = {
                "mean": mean, "cov": cov, "sqrt_cov": _sqrt_psd(cov),
                "fid_floor": frechet_distance(a, b_mean, _sqrt_psd(b_cov), b_cov),
                "is_real": inception_score(probs),
            }
        return self._real


# -- the formulas -------------------------------------------------------------------------------
def frechet_distance(features: np.ndarray, ref_mean: np.ndarray, ref_sqrt_cov: np.ndarray,
                     ref_cov: np.ndarray) -> float:
    """|μ - μ_r|² + Tr(Σ + Σ_r - 2 (Σ_r^½ Σ Σ_r^½)^½): the Fréchet distance of two Gaussians.

    Tr((Σ Σ_r)^½) is computed as the sum of square roots of the eigenvalues of the symmetric PSD
    matrix Σ_r^½ Σ Σ_r^½ (the same spectrum as Σ Σ_r), clipped at 0: real and stable even when
    a covariance is singular (fewer samples than features, a collapsed generator), where
    ``scipy.linalg.sqrtm`` of the non-symmetric product returns complex noise.
    """
    mean, cov = _mean_cov(features)
    middle = ref_sqrt_cov @ cov @ ref_sqrt_cov
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0, None)).sum())
    value = float(np.sum((mean - ref_mean) ** 2) + np.trace(cov) + np.trace(ref_cov) - 2 * trace_sqrt)
    return max(value, 0.0)


def inception_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """exp(E_x KL(p(y|x) || p(y))), p(y) the mean prediction: 1 for one repeated image, up to the
    number of classes for confident predictions spread evenly. ``eps`` guards log(0)."""
    p = np.asarray(probs, np.float64)
    if len(p) == 0:
        return float("nan")
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)
    return float(math.exp(kl.mean()))


def class_histogram(probs: np.ndarray, n_classes: int) -> list[float]:
    """Fraction of samples per predicted (argmax) class."""
    if len(probs) == 0:
        return [0.0] * n_classes
    counts = np.bincount(np.asarray(probs).argmax(axis=1), minlength=n_classes)
    return [float(c) for c in counts / counts.sum()]


def _mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    if len(f) < 2:
        raise ValueError(f"FID needs at least 2 images, got {len(f)}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix (eigenvalues clipped at 0)."""
    eig, vec = np.linalg.eigh((cov + cov.T) / 2)
    return (vec * np.sqrt(np.clip(eig, 0, None))) @ vec.T
