"""Benchmark scripts imported by the tests that check their pieces (they are not a package)."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_benchmark(name: str, module_name: str):
    """``benchmarks/<name>.py`` as a module registered as ``module_name``."""
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
