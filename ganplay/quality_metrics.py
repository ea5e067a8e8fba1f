"""The quality metrics a run is scored by, described once: their metrics.csv column, how a person
reads them (label, short header, number format) and which way is better. The views, the sweep's
tables and chart, and Compare's table all read this registry."""
from __future__ import annotations

from dataclasses import dataclass

from ganplay.registry import Registry


@dataclass(frozen=True)
class QualityMetric:
    name: str  # the metrics.csv column
    label: str  # an axis or a chart panel's title
    short: str  # a table's header
    fmt: str  # one value, as a format spec ("{:.3f}")
    better: str  # "higher" or "lower"

    def format(self, value: float) -> str:
        return self.fmt.format(value)

    def best(self, a: float, b: float) -> float:
        """The better of two values."""
        return max(a, b) if self.better == "higher" else min(a, b)


QUALITY_METRICS: Registry[QualityMetric] = Registry("quality metric")

for _m in (
    QualityMetric("modes", "modes captured", "Modes", "{:.0f}", "higher"),
    QualityMetric("high_quality", "high quality", "High quality", "{:.1%}", "higher"),
    QualityMetric("reverse_kl", "reverse KL", "Reverse KL", "{:.3f}", "lower"),
    QualityMetric("kl", "KL(real || gen)", "KL", "{:.3f}", "lower"),
    QualityMetric("fid", "classifier FID", "FID", "{:.1f}", "lower"),
    QualityMetric("inception_score", "Inception Score", "IS", "{:.2f}", "higher"),
    QualityMetric("class_fraction", "intended class", "Intended class", "{:.1%}", "higher"),
    QualityMetric("test_acc", "test accuracy", "Test accuracy", "{:.2%}", "higher"),
    QualityMetric("baseline_acc", "baseline accuracy", "Baseline accuracy", "{:.2%}", "higher"),
):
    QUALITY_METRICS.register(_m.name, _m)
