"""Training engine: the jitted step, run history, checkpoints and the headless runner. No Qt."""
# The conditional and semi-supervised games register their objectives on import, as losses do;
# importing any engine module runs this first, so build_trainer always finds all three.
from ganplay.engine import cgan, sgan  # noqa: F401  (registers)
from ganplay.engine.train import (
    METRIC_NAMES,
    Trainer,
    TrainState,
    build_trainer,
    check_compatible,
    fetch_metrics,
)

__all__ = ["METRIC_NAMES", "TrainState", "Trainer", "build_trainer", "check_compatible", "fetch_metrics"]
