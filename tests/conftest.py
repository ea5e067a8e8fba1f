"""Shared test set-up: Qt offscreen, per-session settings/cache folders, and paths to shared data."""
import atexit
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

import pytest  # noqa: E402

from ganplay.engine.compile_cache import enable_compilation_cache  # noqa: E402

# One compilation cache for the whole session (subprocesses find it through GANPLAY_CACHE_DIR):
# the same model compiled by several tests is compiled once.
enable_compilation_cache()

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def mnist_dir() -> Path:
    d = SHARED_DATA / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"offline MNIST not found at {d}")
    return d


@pytest.fixture
def explode_generator_at(monkeypatch):
    """From step ``step`` on, while G's learning rate is above ``lr_limit``, G's update yields NaN.

    A learning rate that is too high is what makes real runs blow up; halving it (what the
    rollback does) makes this one train normally again.
    """

    def install(step: int, lr_limit: float = 1.5e-3):
        from ganplay.engine.train import Trainer
        import jax
        import jax.numpy as jnp

        original = Trainer._g_update

        def g_update(self, state, key, *data):
            new, loss = original(self, state, key, *data)
            lr = new.g_opt.hyperparams["learning_rate"]
            bad = (state.step >= step - 1) & (lr > lr_limit)
            g = jax.tree_util.tree_map(lambda p: jnp.where(bad, p * jnp.nan, p), new.g_params)
            return new._replace(g_params=g), loss

        monkeypatch.setattr(Trainer, "_g_update", g_update)

    return install
