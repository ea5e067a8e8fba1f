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
import ganplay.engine.sweep, ganplay.engine.sweep_plot
import ganplay.engine.dirac, ganplay.engine.dirac_plot, ganplay.engine.spectrum, ganplay.cli_dirac
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
