"""Data drift: collected inputs against a baseline, per feature and per day, and its HTML report.

>>> result = modeltap.drift.compare(baseline_df, current_df)
"""

from modeltap.drift.compare import DriftResult, FeatureDrift, Thresholds, compare
from modeltap.drift.report import render

__all__ = ["DriftResult", "FeatureDrift", "Thresholds", "compare", "render"]
