"""The drift report: one self-contained HTML file (inline SVG, no script, nothing fetched).

>>> Path("report.html").write_text(render(result, title="best_model inputs"))
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

import numpy as np

from modeltap.drift.compare import DriftResult, FeatureDrift

_BASE, _CURRENT = "#4c78a8", "#f58518"
_PALETTE = ["#c0392b", _BASE, _CURRENT, "#54a24b", "#b279a2", "#9d755d", "#e45756", "#72b7b2"]
_W, _H, _PAD = 520, 180, 36

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.verdict { display: inline-block; padding: .3rem .8rem; border-radius: 4px; color: #fff; font-weight: 600; }
.drift { background: #c0392b; } .stable { background: #27ae60; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { padding: .3rem .7rem; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.drifted td:first-child { color: #c0392b; font-weight: 600; }
.features { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 1rem; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: middle; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
"""


def _svg(body: str, label: str, width: int = _W, height: int = _H) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{html.escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _bars(groups: list[str], base: np.ndarray, cur: np.ndarray, label: str) -> str:
    """Side-by-side bars of two distributions (shares) over the same groups."""
    top = max(float(base.max(initial=0)), float(cur.max(initial=0))) or 1.0
    n = max(len(groups), 1)
    slot = (_W - 2 * _PAD) / n
    body = [f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>']
    for i, g in enumerate(groups):
        x = _PAD + i * slot
        for j, (share, color) in enumerate(((base[i], _BASE), (cur[i], _CURRENT))):
            h = (_H - 2 * _PAD) * float(share) / top
            body.append(
                f'<rect x="{x + j * slot * 0.42 + slot * 0.08:.1f}" y="{_H - _PAD - h:.1f}" width="{slot * 0.4:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{html.escape(g)}: {share:.1%}</title></rect>'
            )
        if n <= 12 or i % max(1, n // 5) == 0:
            body.append(
                f'<text x="{x + slot / 2:.1f}" y="{_H - _PAD + 14}" text-anchor="middle">{html.escape(g[:10])}</text>'
            )
    body.append(f'<text x="{_PAD}" y="14">{html.escape(label)}</text>')
    return _svg("".join(body), label)


def _distribution(f: FeatureDrift) -> str:
    if f.kind == "numeric":
        both = np.concatenate([f.baseline, f.current])
        lo, hi = (float(np.min(both)), float(np.max(both))) if both.size else (0.0, 1.0)
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 21)
        base = np.histogram(f.baseline, edges)[0] / max(len(f.baseline), 1)
        cur = np.histogram(f.current, edges)[0] / max(len(f.current), 1)
        groups = [f"{e:.3g}" for e in edges[:-1]]
    else:
        groups = sorted(set(f.baseline.tolist()) | set(f.current.tolist()), key=str)[:30]
        base = np.array([np.mean(f.baseline == g) if len(f.baseline) else 0 for g in groups])
        cur = np.array([np.mean(f.current == g) if len(f.current) else 0 for g in groups])
    return _bars(groups, base, cur, f"{f.name}: baseline vs current")


def _lines(days: list[str], series: dict[str, list[float]], label: str, threshold: float | None) -> str:
    """Lines over days, one per series, on a 0..max(100) scale."""
    width, height = 1000, 240
    top = max([100.0 if threshold else 1.0, *(v for vs in series.values() for v in vs)])
    n = len(days)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = _PAD + (width - 2 * _PAD) * (i / (n - 1) if n > 1 else 0.5)
        return x, height - _PAD - (height - 2 * _PAD) * v / top

    body = [f'<line x1="{_PAD}" y1="{height - _PAD}" x2="{width - _PAD}" y2="{height - _PAD}" stroke="#999"/>']
    if threshold is not None:
        y = xy(0, threshold)[1]
        body.append(
            f'<line x1="{_PAD}" y1="{y:.1f}" x2="{width - _PAD}" y2="{y:.1f}" stroke="#c0392b" stroke-dasharray="4 4"/>'
        )
    for k, (name, values) in enumerate(series.items()):
        color = _PALETTE[k % len(_PALETTE)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        width_px = 3 if k == 0 else 1.5
        body.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="{width_px}" points="{points}">'
            f"<title>{html.escape(name)}</title></polyline>"
        )
        for i, v in enumerate(values):
            x, y = xy(i, v)
            tip = f"{html.escape(name)} {days[i]}: {v:.1f}"
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{tip}</title></circle>')
    for i, day in enumerate(days):
        if n <= 14 or i % max(1, n // 10) == 0:
            body.append(f'<text x="{xy(i, 0)[0]:.1f}" y="{height - _PAD + 14}" text-anchor="middle">{day}</text>')
    body.append(f'<text x="{_PAD}" y="14">{html.escape(label)}</text>')
    return _svg("".join(body), label, width, height)


def render(result: DriftResult, title: str = "modeltap drift report") -> str:
    """The report as one HTML document."""
    verdict = "drift" if result.drifted else "stable"
    t = result.thresholds
    rows = []
    for f in result.features:
        m = f.metrics
        detail = (
            f"PSI {m['psi']:.3f} · KS {m['ks_statistic']:.3f} (p={m['ks_pvalue']:.2g}) · "
            f"Wasserstein {m['wasserstein']:.3g} ({m['wasserstein_normalized']:.2f} sd)"
            if f.kind == "numeric"
            else f"χ² {m['chi2']:.1f} (p={m['chi2_pvalue']:.2g}) · Jensen-Shannon {m['jensen_shannon']:.3f}"
        )
        rows.append(
            f'<tr class="{"drifted" if f.drifted else ""}"><td>{html.escape(f.name)}</td><td>{f.kind}</td>'
            f'<td class="num">{f.score:.3f}</td><td class="num">{f.contribution:.1%}</td><td>{detail}</td>'
            f"<td>{'drifted' if f.drifted else ''}</td></tr>"
        )
    days = sorted(result.magnitude_per_day)
    over_time = ""
    if days:
        series = {"drift magnitude (%)": [result.magnitude_per_day[d] for d in days]}
        for f in result.features[:7]:
            series[f"{f.name} (score x100)"] = [100 * f.per_day.get(d, 0.0) for d in days]
        legend = "".join(
            f'<span style="background:{_PALETTE[k % len(_PALETTE)]}"></span>{html.escape(name)}'
            for k, name in enumerate(series)
        )
        over_time = _lines(days, series, "drift over time (dashed: magnitude threshold)", t.magnitude)
        over_time += f'<p class="legend">{legend}</p>'
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p><span class="verdict {verdict}">{"Drift detected" if result.drifted else "No drift"}</span>
 drift magnitude <strong>{result.magnitude:.1f}%</strong> · {result.rows_current:,} collected rows against
 {result.rows_baseline:,} baseline rows · thresholds: PSI {t.psi}, Jensen-Shannon {t.jensen_shannon},
 magnitude {t.magnitude}% · generated {generated}</p>
<h2>Features, ranked by contribution to drift</h2>
<table><tr><th>feature</th><th>kind</th><th>score</th><th>contribution</th><th>metrics</th><th></th></tr>
{"".join(rows)}</table>
<h2>Drift over time</h2>
{over_time or "<p>No per-day breakdown: the collected rows carry no timestamps.</p>"}
<h2>Distributions</h2>
<p class="legend"><span style="background:{_BASE}"></span>baseline<span style="background:{_CURRENT}"></span>current</p>
<div class="features">{"".join(f"<div>{_distribution(f)}</div>" for f in result.features)}</div>
</body></html>
"""
