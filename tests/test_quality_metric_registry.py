"""Every quality column a run can write is described once (label, format, which way is better),
and the tables and chart read that description."""
import pytest

from ganplay.engine import quality
from ganplay.quality_metrics import QUALITY_METRICS


def test_every_column_a_run_writes_is_described():
    columns = {*quality.MIXTURE_COLUMNS, *quality.POINT_COLUMNS, *quality.IMAGE_COLUMNS,
               *quality.CONDITIONAL_COLUMNS, "test_acc", "baseline_acc"}
    assert columns <= set(QUALITY_METRICS.names())


@pytest.mark.parametrize(("name", "a", "b", "best"), [("fid", 3.0, 5.0, 3.0), ("modes", 7.0, 8.0, 8.0),
                                                      ("reverse_kl", 0.2, 0.1, 0.1)])
def test_best_follows_the_direction_that_is_better(name, a, b, best):
    assert QUALITY_METRICS.get(name).best(a, b) == best


def test_sweep_and_compare_read_the_registry():
    from ganplay.engine.sweep import BEST
    from ganplay.report.sweep_chart import QUALITY_METRICS as chart_metrics

    assert BEST["fid"](1.0, 2.0) == 1.0 and BEST["inception_score"](1.0, 2.0) == 2.0
    assert chart_metrics is QUALITY_METRICS
