"""Shared test set-up: Qt offscreen, per-session settings/cache folders, and paths to shared data."""
import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

# Before any Qt or ganplay import: no screen, and never touch the user's real settings or cache.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
_SANDBOX = Path(tempfile.mkdtemp(prefix="ganplay-tests-"))
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)  # settings, caches and logs of this run
os.environ["XDG_CONFIG_HOME"] = str(_SANDBOX / "config")
os.environ.setdefault("GANPLAY_CACHE_DIR", str(_SANDBOX / "cache"))
os.environ["GANPLAY_LOG_DIR"] = str(_SANDBOX / "log")
# The suite compiles far more than it runs: without XLA's costlier optimisations dcgan28's step
# compiles in half the CPU time (test_devices.py: 69 -> 48 s of CPU). Read by JAX at import, and
# inherited by the subprocesses. Switched back below where a compiled program runs for long.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import pytest  # noqa: E402

from ganplay.engine.compile_cache import enable_compilation_cache  # noqa: E402
from shared_data import require_mnist  # noqa: E402

# One compilation cache for the whole session (subprocesses find it through GANPLAY_CACHE_DIR):
# the same model compiled by several tests is compiled once.
enable_compilation_cache()

OPTIMISATIONS_OFF = "jax_disable_most_optimizations"


@contextlib.contextmanager
def optimised_compiles():
    """XLA's optimisations on for what is compiled inside (process-wide: a compile in another
    thread meanwhile is optimised too, which costs time only)."""
    import jax

    before = jax.config.values[OPTIMISATIONS_OFF]
    jax.config.update(OPTIMISATIONS_OFF, False)
    try:
        yield
    finally:
        jax.config.update(OPTIMISATIONS_OFF, before)


@pytest.fixture(autouse=True)
def optimised_compiles_for_learning_checks(request):
    """A learning check (marked slow) trains for thousands of steps: there XLA's optimisations pay
    (gia-mlp's 2,000 MNIST steps took 13 s with them, 24 s without)."""
    if request.node.get_closest_marker("slow") is None:
        yield
        return
    with optimised_compiles():
        yield


@pytest.fixture(scope="module")
def xla_optimised():
    """All of XLA's optimisations, as the app runs, for a module whose tests compare the float
    rounding of two programs (unoptimised, a vmapped program and the same run alone drifted
    1.7e-6 apart in 300 steps)."""
    with optimised_compiles():
        yield


@pytest.fixture(autouse=True, scope="session")
def optimised_classifier_training():
    """So does the evaluation classifier's training (hundreds of convnet steps, then cached)."""
    from ganplay.engine import evaluator

    original = evaluator.train_classifier

    def train_classifier(*args, **kwargs):
        with optimised_compiles():
            return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluator, "train_classifier", train_classifier)
        yield


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST test set (../shared/data/mnist), or a skip saying how to get it."""
    return require_mnist()


@pytest.fixture
def explode_generator_at(monkeypatch):
    """From step ``step`` on, while G's learning rate is above ``lr_limit``, G's update yields NaN.

    A learning rate that is too high is what makes real runs blow up; halving it (what the
    rollback does) makes this one train normally again.
    """

    def install(step: int, lr_limit: float = 1.5e-3):
        import jax
        import jax.numpy as jnp

        from ganplay.engine.train import Trainer

        original = Trainer._g_update

        def g_update(self, state, key, *data):
            new, loss = original(self, state, key, *data)
            lr = new.g_opt.hyperparams["learning_rate"]
            bad = (state.step >= step - 1) & (lr > lr_limit)
            g = jax.tree_util.tree_map(lambda p: jnp.where(bad, p * jnp.nan, p), new.g_params)
            return new._replace(g_params=g), loss

        monkeypatch.setattr(Trainer, "_g_update", g_update)

    return install
