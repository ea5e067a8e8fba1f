"""The engine must work where Qt cannot even be imported (napari's rule, checked, not trusted)."""
import subprocess
import sys

SCRIPT = r"""
import importlib.abc, sys

class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"):
            raise ImportError(f"Qt is blocked in this test: {name}")
        return None

sys.meta_path.insert(0, BlockQt())
import ganplay.config, ganplay.data, ganplay.models, ganplay.engine, ganplay.engine.runner, ganplay.engine.session
import ganplay.engine.sweep, ganplay.report.sweep_chart
import ganplay.engine.dirac, ganplay.report.dirac_plot, ganplay.engine.spectrum, ganplay.cli.dirac
from ganplay.config import Config
from ganplay.engine import Trainer
t = Trainer(Config.for_model("toy-mlp", hidden=8, batch_size=8))
state, _ = t.run(t.init(), 2)
assert int(state.step) == 2
assert not any(m.split(".")[0] in ("PySide6", "pyqtgraph") for m in sys.modules)
print("engine ok")
"""


def test_engine_imports_and_trains_with_qt_blocked():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "engine ok" in result.stdout


NO_BACKEND = r"""
from jax._src import xla_bridge
import ganplay.config, ganplay.data, ganplay.models, ganplay.losses, ganplay.engine.train, ganplay.presets
from ganplay.config import Config
Config.for_model("toy-mlp"); Config.for_model("gia-mlp"); Config()
assert not xla_bridge._backends, "JAX's backends were started"
print("no backend")
"""


def test_importing_the_engine_and_making_configs_starts_no_jax_backend():
    # A distributed run must meet its peers before JAX starts its backends (ganplay/distributed.py);
    # the models once asked for the backend at import (the conv models' default width).
    result = subprocess.run([sys.executable, "-c", NO_BACKEND], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no backend" in result.stdout
