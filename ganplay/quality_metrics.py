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

# A sampling-time remedy's columns (``sampler`` drs or mh: engine/samplers.py): the same metrics
# on the sampler's samples, under their own names so they are never mixed with G's, and the
# share of G's proposals the sampler accepted.
SAMPLER_NAMES = {"drs": "DRS", "mh": "MH"}
SAMPLED_METRICS = ("modes", "high_quality", "reverse_kl", "kl", "fid", "inception_score")


def sampler_column(sampler: str, metric: str) -> str:
    """The column of ``metric`` on ``sampler``'s samples ("drs_high_quality"), or its acceptance
    rate (metric "acceptance")."""
    return f"{sampler}_{metric}"


for _s, _shown in SAMPLER_NAMES.items():
    for _base in SAMPLED_METRICS:
        _b = QUALITY_METRICS.get(_base)
        QUALITY_METRICS.register(sampler_column(_s, _base), QualityMetric(
            sampler_column(_s, _base), f"{_b.label} ({_shown})", f"{_b.short} ({_shown})", _b.fmt, _b.better))
    QUALITY_METRICS.register(sampler_column(_s, "acceptance"), QualityMetric(
        sampler_column(_s, "acceptance"), f"acceptance rate ({_shown})", f"Accepted ({_shown})", "{:.1%}", "higher"))
