"""The latent lab's mathematics: steering a trained generator by hand.

* :class:`GeneratorSnapshot`: G as the views show it (the EMA generator when that is drawn), as
  plain NumPy, so the training thread can hand it to any other thread.
* :func:`discover_directions`: GANSpace (Härkönen et al. 2020). N noise vectors go through G up
  to the first layer that the noise reaches (the first linear layer's output, where GANSpace puts
  its PCA for BigGAN), PCA finds that layer's principal components, and a linear regression of the
  noise on the components' coordinates turns each into a direction in noise space.
* :func:`steer`, :func:`truncate`, :func:`direction_sheet`, :func:`class_style_grid`,
  :func:`class_interpolation`: moving the focus noise and drawing what G makes of it.

Everything here is Qt-free; :mod:`ganplay.engine.latent_export` draws sheets and walks to files.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganplay.errors import GanplayError

SHEET_STEPS = 9  # images per sheet row, from -SHEET_SPAN to +SHEET_SPAN sd
SHEET_SPAN = 3.0
SHEET_ROWS = 6  # focus samples per sheet
DISCOVER_SAMPLES = 2000
RAW_AXES_MAX_Z = 16  # raw noise axes are offered up to this noise size


@dataclass(frozen=True)
class GeneratorSnapshot:
    """G's module and variables (NumPy), with what the lab needs to feed it.

    ``display_z`` / ``display_labels``: the noise (and class) of each tile of the window's grid,
    row-major, so a click on tile i can make it the focus. ``dataset``: the training set in use
    (for the nearest real images), or None.
    """

    generator: nn.Module
    variables: dict
    z_dim: int
    noise: str  # "normal" or "uniform" (U(-1, 1))
    n_classes: int  # 0: unconditional; K: G takes a [B, K] class vector
    step: int
    image_shape: tuple
    display_z: np.ndarray | None = None
    display_labels: np.ndarray | None = None
    dataset: Any = field(default=None, compare=False, repr=False)

    @property
    def conditional(self) -> bool:
        return self.n_classes > 0


def snapshot_generator(trainer, state, display_z=None, display_labels=None) -> GeneratorSnapshot:
    """The generator that ``trainer.generate`` draws from ``state``, copied to the host."""
    params = trainer._shown_g_params(state)
    variables = jax.device_get({"params": params, "batch_stats": state.g_stats})
    conditional = getattr(trainer, "game", "gan") == "cgan"
    return GeneratorSnapshot(
        generator=trainer.pair.generator,
        variables=variables,
        z_dim=trainer.config.z_dim,
        noise=trainer.config.noise,
        n_classes=int(trainer.n_classes) if conditional else 0,
        step=int(state.step),
        image_shape=tuple(trainer.data_shape),
        display_z=None if display_z is None else np.asarray(display_z, np.float32),
        display_labels=None if display_labels is None else np.asarray(display_labels, np.int32),
        dataset=trainer.dataset,
    )


def same_network(a: GeneratorSnapshot | None, b: GeneratorSnapshot | None) -> bool:
    """Whether two snapshots are of one network (only the training step apart): same module,
    noise, classes and parameter shapes."""
    if a is None or b is None:
        return False
    if (a.generator, a.z_dim, a.noise, a.n_classes, a.image_shape) != (b.generator, b.z_dim, b.noise, b.n_classes,
                                                                        b.image_shape):
        return False
    shapes = lambda v: jax.tree_util.tree_map(np.shape, v)
    return shapes(a.variables) == shapes(b.variables)


class GeneratorFeed:
    """Hands out a fresh :class:`GeneratorSnapshot` at most every ``every_s`` seconds (the same
    object in between, so a reader can tell by identity that nothing changed)."""

    def __init__(self, every_s: float = 2.0, clock=time.monotonic):
        self.every_s = every_s
        self._clock = clock
        self._last: GeneratorSnapshot | None = None
        self._at = 0.0
        self._step = 0
        self._display_key = None

    def offer(self, trainer, state, step: int, display_z=None, display_labels=None,
              display_key=None, settled: bool = False) -> GeneratorSnapshot:
        """The latest snapshot, renewed when training moved on ``every_s`` ago or more (at once
        when it has ``settled``: nothing in flight, so this state is the one that stays on
        screen), went back (a rollback), or the grid's noise changed (``display_key``)."""
        last, now = self._last, self._clock()
        moved = step != self._step and (settled or now - self._at >= self.every_s)
        due = last is None or step < self._step or moved
        if due or display_key != self._display_key:
            self._last = snapshot_generator(trainer, state, display_z, display_labels)
            self._at, self._step, self._display_key = now, step, display_key
        return self._last


# -- noise ------------------------------------------------------------------------------------------
def noise_from_seed(seed: int, z_dim: int, noise: str = "normal") -> np.ndarray:
    """float32 ``[z_dim]``: the focus noise of a seed (the same for a seed everywhere)."""
    rng = np.random.default_rng(int(seed))
    if noise == "uniform":
        return rng.uniform(-1.0, 1.0, z_dim).astype(np.float32)
    return rng.standard_normal(z_dim).astype(np.float32)


def sample_noise(n: int, z_dim: int, noise: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(int(seed))
    if noise == "uniform":
        return rng.uniform(-1.0, 1.0, (n, z_dim)).astype(np.float32)
    return rng.standard_normal((n, z_dim)).astype(np.float32)


def noise_sd(noise: str) -> float:
    """The noise's standard deviation along any axis: 1 for N(0, 1), 1/sqrt(3) for U(-1, 1)."""
    return 1.0 / np.sqrt(3.0) if noise == "uniform" else 1.0


def truncate(z: np.ndarray, psi: float, mean: np.ndarray | float = 0.0) -> np.ndarray:
    """The truncation trick: ``z`` pulled towards the mean noise (psi 0: the mean, 1: ``z``)."""
    if not 0.0 <= psi <= 1.5:
        raise ValueError(f"truncation psi {psi} is out of range; allowed: 0 to 1.5")
    z = np.asarray(z, np.float32)
    if psi == 1.0:
        return z
    mean = np.asarray(mean, np.float32)
    return (mean + np.float32(psi) * (z - mean)).astype(np.float32)


def save_noise(path, z: np.ndarray) -> None:
    """Write the focus noise as a ``.npy`` (float32 ``[z_dim]``) that :func:`load_noise` reads."""
    import io

    from ganplay.files import atomic_write_bytes

    buf = io.BytesIO()
    np.save(buf, np.asarray(z, np.float32).reshape(-1), allow_pickle=False)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_noise(path, z_dim: int) -> np.ndarray:
    """Read a focus noise saved by :func:`save_noise` (or any ``.npy`` of ``z_dim`` numbers)."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise GanplayError(f"{path}: cannot be read as a NumPy .npy file ({exc})") from None
    if z.size != z_dim or not np.issubdtype(z.dtype, np.number):
        raise GanplayError(f"{path}: holds {z.dtype} {z.shape}; this generator needs {z_dim} numbers")
    z = np.asarray(z, np.float32).reshape(z_dim)
    if not np.all(np.isfinite(z)):
        raise GanplayError(f"{path}: the noise holds non-finite numbers")
    return z


# -- the generator -------------------------------------------------------------------------------
def _bucket(n: int) -> int:
    """Batch sizes are rounded up to a power of two, so a handful of programs serve every call."""
    return 1 << max(0, int(n - 1).bit_length())


class _Reached(Exception):
    def __init__(self, value):
        super().__init__("layer reached")
        self.value = value


class LatentLab:
    """One generator snapshot and the compiled programs that draw from it.

    :meth:`update` takes a newer snapshot of the same network (training moved on) without
    compiling anything; a different network needs a new lab.
    """

    def __init__(self, snap: GeneratorSnapshot):
        self.snap = snap
        self._variables = jax.device_put(snap.variables)
        self._apply = jax.jit(self._apply_impl)
        self._layer_path: tuple | None = None
        self._features = None

    def same_network(self, snap: GeneratorSnapshot) -> bool:
        return same_network(self.snap, snap)

    def update(self, snap: GeneratorSnapshot) -> None:
        if snap is self.snap:
            return
        if not self.same_network(snap):
            raise ValueError("a snapshot of a different generator; build a new LatentLab for it")
        if snap.variables is not self.snap.variables:
            self._variables = jax.device_put(snap.variables)
        self.snap = snap

    # -- drawing ----------------------------------------------------------------------------
    def _class_input(self, labels, n: int):
        if not self.snap.conditional:
            return None
        k = self.snap.n_classes
        if labels is None:
            labels = np.arange(n) % k
        labels = np.asarray(labels)
        if labels.ndim == 1:
            if labels.size and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(f"class labels must lie in 0..{k - 1}")
            return np.eye(k, dtype=np.float32)[labels.astype(np.int64)]
        return labels.astype(np.float32)  # soft class vectors [n, K]

    def _apply_impl(self, variables, z, y):
        inputs = (z,) if y is None else (z, y)
        return self.snap.generator.apply(variables, *inputs, train=False)

    def generate(self, z, labels=None) -> np.ndarray:
        """G(z) as float32 ``[n, H, W, C]`` in [-1, 1]; ``labels``: int ``[n]`` or soft ``[n, K]``
        class vectors (conditional models only; default: classes 0, 1, ... in turn)."""
        z = np.asarray(z, np.float32).reshape(-1, self.snap.z_dim)
        n = len(z)
        y = self._class_input(labels, n)
        size = _bucket(n)
        if size != n:  # padded rows are thrown away (inference mode: rows do not interact)
            z = np.concatenate([z, np.zeros((size - n, z.shape[1]), np.float32)])
            y = None if y is None else np.concatenate([y, np.repeat(y[:1], size - n, axis=0)])
        out = self._apply(self._variables, z, y)
        return np.asarray(jax.device_get(out), np.float32)[:n]

    # -- the first layer the noise reaches ------------------------------------------------------
    def first_layer_path(self) -> tuple:
        """The module path of the first layer whose output depends on the noise (found once by
        running G on two noise batches with the same classes and comparing every layer)."""
        if self._layer_path is None:
            s = self.snap
            z = sample_noise(4, s.z_dim, s.noise, seed=1)
            y = self._class_input(np.zeros(2, np.int64), 2)
            outputs = [self._record(z[:2], y), self._record(z[2:], y)]
            for (path, a), (_, b) in zip(*outputs):
                if path and not np.allclose(a, b):
                    self._layer_path = path
                    break
            else:
                raise ValueError("no layer of this generator depends on its noise")
        return self._layer_path

    def _record(self, z, y) -> list:
        seen = []

        def record(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            if context.method_name == "__call__" and isinstance(out, jax.Array) and out.shape[:1] == (len(z),):
                seen.append((context.module.path, np.asarray(out)))
            return out

        with nn.intercept_methods(record):
            self._apply_impl(self._variables, jnp.asarray(z), y)
        return seen

    def features(self, z, labels=None) -> np.ndarray:
        """The first noise-dependent layer's output for each ``z``, flattened: ``[n, F]``."""
        path = self.first_layer_path()
        if self._features is None:
            def stop_there(next_fun, args, kwargs, context):
                out = next_fun(*args, **kwargs)
                if context.method_name == "__call__" and context.module.path == path:
                    raise _Reached(out)
                return out

            def upto(variables, z, y):
                try:  # (the exception leaves the trace at that layer: the rest is never built)
                    with nn.intercept_methods(stop_there):
                        self._apply_impl(variables, z, y)
                except _Reached as reached:
                    return reached.value.reshape(z.shape[0], -1)
                raise ValueError(f"layer {path} was not reached")

            self._features = jax.jit(upto)
        z = np.asarray(z, np.float32)
        return np.asarray(self._features(self._variables, z, self._class_input(labels, len(z))), np.float32)


# -- directions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Directions:
    """Unit directions in noise space, ``vectors`` ``[k, z_dim]``, strongest first.

    ``explained_variance``: each one's share of the layer's total variance (NaN for raw axes);
    ``sd``: the noise's standard deviation along it (a slider's unit); ``step``: the training
    step of the generator they were found on (-1: not found, e.g. raw axes).
    """

    vectors: np.ndarray
    explained_variance: np.ndarray
    sd: np.ndarray
    step: int = -1
    kind: str = "ganspace"  # or "raw"

    def __len__(self) -> int:
        return len(self.vectors)

    @staticmethod
    def raw(z_dim: int, noise: str = "normal") -> Directions:
        """The noise's own axes (for small noise sizes, where each axis can mean something)."""
        return Directions(np.eye(z_dim, dtype=np.float32), np.full(z_dim, np.nan, np.float32),
                          np.full(z_dim, noise_sd(noise), np.float32), -1, "raw")


def principal_components(a: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """The top ``k`` principal axes of the rows of ``a`` ``[n, F]``: (axes ``[k, F]`` unit rows,
    their variances ``[k]``, the total variance). Exact (an eigendecomposition of the covariance)
    for F up to 1,024; above that a randomized SVD with two power iterations (Halko et al. 2011)."""
    a = np.asarray(a, np.float64)
    a = a - a.mean(axis=0)
    n, f = a.shape
    total = float(np.sum(a * a) / max(n - 1, 1))
    k = min(k, n, f)
    if f <= 1024:
        values, vectors = np.linalg.eigh(a.T @ a / max(n - 1, 1))
        order = np.argsort(values)[::-1][:k]
        return vectors[:, order].T, np.maximum(values[order], 0.0), total
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(a @ rng.standard_normal((f, k + 10)))[0]
    for _ in range(2):
        q = np.linalg.qr(a @ (a.T @ q))[0]
    _, s, vt = np.linalg.svd(q.T @ a, full_matrices=False)
    return vt[:k], s[:k] ** 2 / max(n - 1, 1), total


def discover_directions(lab: LatentLab, k: int = 10, n: int = DISCOVER_SAMPLES, seed: int = 0) -> Directions:
    """GANSpace: PCA of the first noise-dependent layer over ``n`` noise vectors, each of the top
    ``k`` components regressed back to a unit direction in noise space, strongest first.

    Conditional models draw a random class for each vector. A direction's sign is chosen so that
    its largest entry is positive (so the same model gives the same signs run after run).
    """
    s = lab.snap
    if k < 1:
        raise ValueError(f"directions {k} must be at least 1")
    k = min(k, s.z_dim)  # (more components than noise dimensions cannot map back to distinct directions)
    z = sample_noise(n, s.z_dim, s.noise, seed)
    labels = np.random.default_rng(seed + 1).integers(0, s.n_classes, n) if s.conditional else None
    feats = np.concatenate([lab.features(z[i:i + 500], None if labels is None else labels[i:i + 500])
                            for i in range(0, n, 500)])
    axes, variances, total = principal_components(feats, k, seed)
    coords = (feats - feats.mean(axis=0)) @ axes.T  # [n, k] principal coordinates
    zc = z - z.mean(axis=0)
    # Noise from coordinates: zc ≈ coords @ U. The coordinates are uncorrelated, so row i of U
    # is what moving along component i alone does in noise space.
    # (least squares by its normal equations: k x k, where lstsq's SVD of [n, k] took 0.2 s under load)
    u = np.linalg.solve(coords.T @ coords, coords.T @ zc)  # [k, z_dim]
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    u = u / np.maximum(norms, 1e-12)
    signs = np.sign(u[np.arange(len(u)), np.argmax(np.abs(u), axis=1)])
    u = (u * signs[:, None]).astype(np.float32)
    sd = np.std(z @ u.T, axis=0).astype(np.float32)
    ratio = (variances / max(total, 1e-30)).astype(np.float32)
    return Directions(u, ratio, sd, s.step)


def steer(z: np.ndarray, directions: Directions, amounts) -> np.ndarray:
    """``z`` moved along each direction by its amount, in standard deviations along it. Amounts
    of 0 give ``z`` back exactly."""
    z = np.asarray(z, np.float32)
    amounts = np.asarray(amounts, np.float32).reshape(-1)
    if len(amounts) != len(directions):
        raise ValueError(f"{len(amounts)} amounts for {len(directions)} directions")
    if not np.any(amounts):
        return z.copy()
    return (z + (amounts * directions.sd) @ directions.vectors).astype(np.float32)


def sheet_offsets(steps: int = SHEET_STEPS, span: float = SHEET_SPAN) -> np.ndarray:
    return np.linspace(-span, span, steps).astype(np.float32)


def direction_sheet(lab: LatentLab, directions: Directions, index: int, focus: np.ndarray,
                    labels=None, steps: int = SHEET_STEPS, span: float = SHEET_SPAN) -> np.ndarray:
    """Row r: focus sample r moved along direction ``index`` from -span to +span sd in ``steps``
    images. ``[rows * steps, H, W, C]``, row-major."""
    focus = np.asarray(focus, np.float32).reshape(-1, lab.snap.z_dim)
    offsets = sheet_offsets(steps, span) * directions.sd[index]
    z = focus[:, None, :] + offsets[None, :, None] * directions.vectors[index][None, None, :]
    if labels is not None:
        labels = np.repeat(np.asarray(labels), steps, axis=0)
    return lab.generate(z.reshape(-1, lab.snap.z_dim), labels)


def walk(lab: LatentLab, z: np.ndarray, directions: Directions, index: int, frames: int = 24,
         span: float = SHEET_SPAN, labels=None) -> np.ndarray:
    """The focus walked along a direction and back: -span -> +span -> -span sd, ``frames`` images."""
    t = np.sin(np.linspace(0.0, 2.0 * np.pi, frames, endpoint=False) - np.pi / 2)  # -1 .. 1 .. -1
    zs = np.asarray(z, np.float32)[None] + (span * t * directions.sd[index])[:, None] * directions.vectors[index]
    return lab.generate(zs.astype(np.float32), None if labels is None else np.repeat(np.asarray(labels)[None], frames, 0))


def class_style_grid(lab: LatentLab, z_columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conditional models: row r is class r, column j the noise ``z_columns[j]`` (its style).
    Returns (images ``[K * C, H, W, C]`` row-major, their int classes)."""
    k = lab.snap.n_classes
    if not k:
        raise ValueError("a class x style grid needs a conditional model")
    z_columns = np.asarray(z_columns, np.float32).reshape(-1, lab.snap.z_dim)
    labels = np.repeat(np.arange(k), len(z_columns))
    return lab.generate(np.tile(z_columns, (k, 1)), labels), labels


def class_interpolation(lab: LatentLab, z: np.ndarray, a: int, b: int, steps: int = SHEET_STEPS) -> np.ndarray:
    """One noise, its class vector moved continuously from one-hot ``a`` to one-hot ``b``."""
    k = lab.snap.n_classes
    if not k:
        raise ValueError("class interpolation needs a conditional model")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    eye = np.eye(k, dtype=np.float32)
    y = (1.0 - t) * eye[a] + t * eye[b]
    return lab.generate(np.repeat(np.asarray(z, np.float32).reshape(1, -1), steps, axis=0), y)
