"""The distances between a baseline and a current sample of one feature.

Numbers: population stability index (PSI, on ten bins at the baseline's deciles), the
Kolmogorov-Smirnov statistic and p-value, and the Wasserstein distance (also divided by the
baseline's standard deviation, so features of any scale compare). Categories: the chi-square
test on the two count tables, and the Jensen-Shannon distance (base 2, so within 0..1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_EPS = 1e-4  # a bin empty on one side still has a finite PSI


def psi(baseline: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index over ``bins`` quantile bins of the baseline."""
    edges = np.unique(np.quantile(baseline, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return 0.0 if np.all(current == edges[0]) else float("inf")
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(baseline, edges)[0] / len(baseline)
    actual = np.histogram(current, edges)[0] / len(current)
    expected, actual = np.clip(expected, _EPS, None), np.clip(actual, _EPS, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric(baseline: np.ndarray, current: np.ndarray) -> dict[str, float]:
    from scipy import stats  # noqa: PLC0415 - the analysis extra

    ks = stats.ks_2samp(baseline, current)
    wasserstein = float(stats.wasserstein_distance(baseline, current))
    scale = float(np.std(baseline)) or 1.0
    return {
        "psi": psi(baseline, current),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "wasserstein": wasserstein,
        "wasserstein_normalized": wasserstein / scale,
    }


def categorical(baseline: np.ndarray, current: np.ndarray) -> dict[str, Any]:
    from scipy import stats  # noqa: PLC0415 - the analysis extra
    from scipy.spatial import distance  # noqa: PLC0415

    categories = sorted(set(baseline.tolist()) | set(current.tolist()), key=str)
    b = np.array([np.sum(baseline == c) for c in categories], dtype=float)
    c = np.array([np.sum(current == c) for c in categories], dtype=float)
    if len(categories) < 2:
        chi2, pvalue = 0.0, 1.0
    else:
        table = np.vstack([b, c]) + 0.5  # no zero cells: the test needs expected counts > 0
        chi2, pvalue = (float(v) for v in stats.chi2_contingency(table)[:2])
    js = float(distance.jensenshannon(b / b.sum(), c / c.sum(), base=2)) if b.sum() and c.sum() else 0.0
    return {"chi2": chi2, "chi2_pvalue": pvalue, "jensen_shannon": 0.0 if np.isnan(js) else js}
