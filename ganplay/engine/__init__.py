"""Training engine: the jitted step, run history, checkpoints and the headless runner. No Qt."""
from ganplay.engine.train import METRIC_NAMES, Trainer, TrainState, build_trainer, check_compatible, fetch_metrics

__all__ = ["METRIC_NAMES", "Trainer", "TrainState", "build_trainer", "check_compatible", "fetch_metrics"]
