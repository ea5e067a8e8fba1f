"""The bench's workloads: what is trained, our engine's side of it, and how one side is timed.

A workload is a model, its settings and its data, plus the peers it is compared with. Every
contender (ours and each peer) is a :class:`Contender`: ``warmup()`` compiles and settles, and
``run()`` trains some whole GAN steps (D update on a real and a fake batch, then G update) and
returns when they are finished, returning how many it did.
"""
from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import Config
from ganplay.errors import GanplayError
from ganplay.models.dcgan import default_width

PEER_INSTALL_HINT = "pip install 'ganplay[bench]'"
MNIST_SHAPE = (28, 28, 1)
SYNTHETIC_IMAGES = 10_000  # as many as the offline MNIST copy


class PeerUnavailable(GanplayError):
    """A peer cannot run here (its library is missing or misconfigured); ours still runs."""


class Contender(Protocol):
    label: str  # e.g. "PyTorch 2.13.0 eager"

    def warmup(self) -> None:
        """Compile, allocate and run a few steps, so that timing sees the steady state."""

    def run(self) -> int:
        """Train some whole GAN steps, finished (no asynchronous work left); return how many."""

    def parameter_count(self) -> int:
        """Trainable parameters of G and D together (a check that both sides train the same)."""


@dataclass(frozen=True)
class Target:
    """The issue's goal for one pairing: ours/peer steps/s ratio at least ``min_ratio``."""

    peer: str
    min_ratio: float
    text: str  # as the issue states it


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    model: str
    settings: Mapping[str, Any]  # Config.for_model overrides
    peers: tuple[str, ...]  # "torch", "keras"
    chunk: int  # our steps per timed call: the lax.scan length for MLPs, 1 for conv models
    targets: tuple[Target, ...] = field(default=())

    def config(self) -> Config:
        return Config.for_model(self.model, **self.settings)

    def dataset(self, config: Config):
        """In-memory data, so that the bench runs anywhere (no dataset files)."""
        if config.dataset == "gmm2":
            from ganplay.data import DATASETS

            return DATASETS.get("gmm2").load(config, None)
        return synthetic_images(MNIST_SHAPE, seed=config.seed)


def synthetic_images(shape: tuple[int, int, int], seed: int = 0, n: int = SYNTHETIC_IMAGES):
    """Uniform-noise uint8 images of ``shape``: the cost of a step does not depend on content."""
    from ganplay.data.images import ImageDataset

    images = np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)
    return ImageDataset(
        name="synthetic", images=images,
        split_note=f"synthetic: {n:,} uniform-noise images of shape {shape}",
    )


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "toy-mlp", "seed 002 MLPs on gmm2, hidden 128, batch 256", "toy-mlp",
            {"dataset": "gmm2", "hidden": 128, "batch_size": 256}, ("torch",), chunk=200,
            targets=(Target("torch", 5.0, ">= 5x PyTorch eager steps/s"),),
        ),
        Workload(
            "gia-mlp", "seed 004 MLPs, batch 128, MNIST-shaped noise images", "gia-mlp",
            {"dataset": "mnist", "batch_size": 128}, ("torch", "keras"), chunk=200,
            targets=(Target("keras", 3.0, ">= 3x Keras train_on_batch steps/s"),),
        ),
        Workload(
            "dcgan28", "seed 000 DCGAN at width 1.0 (the seed's own), batch 64", "dcgan28",
            {"dataset": "mnist", "width": 1.0, "batch_size": 64}, ("torch",), chunk=1,
            # step time <= 0.95x PyTorch's  <=>  steps/s ratio >= 1 / 0.95
            targets=(Target("torch", 1 / 0.95, "step time <= 0.95x PyTorch eager"),),
        ),
        Workload(
            "dcgan28-default",
            f"seed 000 DCGAN at this platform's default width "
            f"({default_width(jax.default_backend())}), batch 64",
            "dcgan28", {"dataset": "mnist", "batch_size": 64}, ("torch",), chunk=1,
        ),
    )
}


def select_workloads(names: str | None) -> list[Workload]:
    """``"a,b"`` -> those workloads in that order; None -> all. Unknown names raise."""
    if names is None:
        return list(WORKLOADS.values())
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    if not chosen:
        raise GanplayError(f"--workloads is empty; choose from: {', '.join(WORKLOADS)}")
    unknown = [n for n in chosen if n not in WORKLOADS]
    if unknown:
        raise GanplayError(
            f"unknown workload {unknown[0]!r}; choose from: {', '.join(WORKLOADS)}"
        )
    return [WORKLOADS[n] for n in dict.fromkeys(chosen)]


# -- our side ------------------------------------------------------------------------------------
class Ours:
    """Our engine as the app runs it: ``Trainer.run(state, k)``, blocked on until done."""

    label = "ganplay (JAX)"

    def __init__(self, workload: Workload):
        from ganplay.engine.train import build_trainer

        self.config = workload.config()
        self.dataset = workload.dataset(self.config)
        self.trainer = build_trainer(self.config, self.dataset)
        self.device = self.trainer.device_description()
        self.state = self.trainer.init()
        self.chunk = workload.chunk

    def warmup(self) -> None:
        for _ in range(2):
            self.run()

    def run(self) -> int:
        self.state, metrics = self.trainer.run(self.state, self.chunk)
        jax.block_until_ready((self.state, metrics))
        return self.chunk

    def parameter_count(self) -> int:
        return sum(
            math.prod(p.shape)
            for p in jax.tree.leaves((self.state.g_params, self.state.d_params))
        )

    def flops_per_step(self) -> float:
        """XLA's cost analysis of the compiled program that ``run`` executes (NaN if none).

        The MLPs' program is the k-step loop: XLA's HloCostAnalysis counts a while loop's body
        once (it does not know trip counts), so that is one step too. Either program is already
        compiled, so this costs no compile.
        """
        from ganplay.engine.train import steps_bucket

        t, data = self.trainer, self.trainer.data_arrays
        if t.scan_steps:
            lowered = t._run.lower(self.state, jnp.int32(self.chunk), steps_bucket(self.chunk), data)
        else:
            lowered = t._step.lower(self.state, data)
        return float(_cost(lowered.compile()).get("flops", math.nan))


def _cost(compiled) -> dict:
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older jax: one dict per computation
        cost = cost[0] if cost else {}
    return dict(cost or {})


# -- timing --------------------------------------------------------------------------------------
def steps_per_second(contender: Contender, seconds: float) -> float:
    """Run whole calls of ``contender.run`` for at least ``seconds`` (at least one call)."""
    steps, start = 0, time.perf_counter()
    while True:
        steps += contender.run()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


@dataclass(frozen=True)
class MatmulPeak:
    n: int
    gflops: float


def matmul_peak(seconds: float, n: int = 2048) -> MatmulPeak:
    """The best GFLOP/s of an ``n x n`` f32 matmul under jit, over ``seconds`` (>= 3 runs)."""
    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (n, n), jnp.float32)
    b = jax.random.normal(kb, (n, n), jnp.float32)
    matmul = jax.jit(jnp.matmul)
    matmul(a, b).block_until_ready()
    best, runs, start = math.inf, 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        matmul(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t)
        runs += 1
    return MatmulPeak(n, 2 * n**3 / best / 1e9)


def build_peer(kind: str, config: Config, dataset) -> Contender:
    """The ``kind`` peer ("torch" or "keras") training ``config``'s model on ``dataset``.

    Raises PeerUnavailable when its library is missing; only here is it imported.
    """
    if kind not in ("torch", "keras"):
        raise ValueError(f"unknown peer {kind!r}")
    return importlib.import_module(f"ganplay.bench.{kind}_peers").build(config, dataset)
