"""A drift comparison: every feature, over the whole range and per day, with a verdict.

A feature's *score* is within 0..1: the Kolmogorov-Smirnov statistic for numbers, the
Jensen-Shannon distance for categories. The overall *drift magnitude* is the mean score of the
features, in percent; a feature's *contribution* is its share of the scores' sum, and features
are ranked by it, as Azure ML's dataset monitors rank them. A feature drifted when its PSI
(numbers) or Jensen-Shannon distance (categories) reaches its threshold; the comparison
drifted when any feature did or the magnitude reaches its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modeltap.columns import SCORING_TIMESTAMP, is_own
from modeltap.drift import metrics


@dataclass(frozen=True)
class Thresholds:
    """When to call drift: PSI 0.2 is the usual "significant shift" mark."""

    psi: float = 0.2
    jensen_shannon: float = 0.1
    magnitude: float = 50.0


@dataclass
class FeatureDrift:
    name: str
    kind: str  # "numeric" or "categorical"
    metrics: dict[str, float]
    score: float
    drifted: bool
    contribution: float = 0.0
    per_day: dict[str, float] = field(default_factory=dict)
    baseline: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)
    current: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)


@dataclass
class DriftResult:
    features: list[FeatureDrift]
    magnitude: float
    magnitude_per_day: dict[str, float]
    thresholds: Thresholds
    rows_baseline: int
    rows_current: int

    @property
    def drifted(self) -> bool:
        return self.magnitude >= self.thresholds.magnitude or any(f.drifted for f in self.features)

    def summary(self) -> dict[str, Any]:
        """What a script needs: the verdict, the magnitude, the features ranked."""
        return {
            "drifted": self.drifted,
            "magnitude": round(self.magnitude, 2),
            "features": [
                {"name": f.name, "kind": f.kind, "score": round(f.score, 4), "contribution": round(f.contribution, 4),
                 "drifted": f.drifted, **{k: round(v, 6) for k, v in f.metrics.items()}}
                for f in self.features
            ],
        }  # fmt: skip


def _is_numeric(values: Any) -> bool:
    return values.dtype.kind in "biuf"


def _feature(name: str, base: Any, cur: Any, t: Thresholds) -> FeatureDrift:
    b, c = base.dropna(), cur.dropna()
    if _is_numeric(b) and _is_numeric(c):
        bv, cv = b.to_numpy(dtype=float), c.to_numpy(dtype=float)
        bv, cv = bv[np.isfinite(bv)], cv[np.isfinite(cv)]
        m = metrics.numeric(bv, cv)
        return FeatureDrift(name, "numeric", m, m["ks_statistic"], m["psi"] >= t.psi, baseline=bv, current=cv)
    bv, cv = b.astype(str).to_numpy(), c.astype(str).to_numpy()
    m = metrics.categorical(bv, cv)
    return FeatureDrift(
        name, "categorical", m, m["jensen_shannon"], m["jensen_shannon"] >= t.jensen_shannon, baseline=bv, current=cv
    )


def compare(
    baseline: Any,
    current: Any,
    *,
    features: list[str] | None = None,
    thresholds: Thresholds = Thresholds(),
    day_column: str | None = SCORING_TIMESTAMP,
) -> DriftResult:
    """Compares the columns of ``current`` (pandas) with the same columns of ``baseline``.

    >>> result = compare(pd.read_csv("train.csv"), modeltap.read("./modeldata", "best_model"))
    """
    if features is None:
        features = [c for c in baseline.columns if c in current.columns and not is_own(c)]
    missing = [f for f in features if f not in baseline.columns or f not in current.columns]
    if missing:
        raise ValueError(f"features missing from the baseline or the collected rows: {missing}")
    if not features:
        raise ValueError("the baseline and the collected rows have no feature column in common")
    if len(baseline) == 0 or len(current) == 0:
        raise ValueError(f"nothing to compare: {len(baseline)} baseline rows, {len(current)} collected rows")
    results = [_feature(f, baseline[f], current[f], thresholds) for f in features]
    total = sum(r.score for r in results) or 1.0
    for r in results:
        r.contribution = r.score / total
    per_day: dict[str, float] = {}
    if day_column is not None and day_column in current.columns:
        days = current[day_column].dt.strftime("%Y-%m-%d")
        for day in sorted(days.unique()):
            rows = current[days == day]
            scores = []
            for r in results:
                daily = _feature(r.name, baseline[r.name], rows[r.name], thresholds)
                r.per_day[day] = daily.score
                scores.append(daily.score)
            per_day[day] = 100.0 * float(np.mean(scores))
    results.sort(key=lambda r: r.contribution, reverse=True)
    return DriftResult(
        results, 100.0 * float(np.mean([r.score for r in results])), per_day, thresholds, len(baseline), len(current)
    )
