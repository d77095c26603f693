"""``modeltap drift``: collected inputs against a baseline, an HTML report, and an exit status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from modeltap.cli.common import DRIFT, OK, add_stream_options, fail, read_stream
from modeltap.drift import Thresholds, compare, render


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "drift",
        help="compare collected inputs with a baseline; exit 1 when drift passes a threshold",
        description=(
            "Compares each feature of the collected rows with the baseline, over the range and per day: "
            "PSI, Kolmogorov-Smirnov and Wasserstein for numbers, chi-square and Jensen-Shannon for "
            "categories. Writes a self-contained HTML report. Exit status: 0 no drift, 1 drift, "
            "2 bad arguments, 3 no data."
        ),
    )
    add_stream_options(p)
    p.add_argument("--baseline", required=True, help="a CSV or Parquet file of the training data")
    p.add_argument("--out", default="drift.html", help="the HTML report (default drift.html)")
    p.add_argument("--features", help="comma-separated features (default: every column in both)")
    p.add_argument("--psi", type=float, default=0.2, help="a number feature drifted at this PSI (default 0.2)")
    p.add_argument("--js", type=float, default=0.1, help="a category drifted at this Jensen-Shannon distance (0.1)")
    p.add_argument("--magnitude", type=float, default=50.0, help="overall drift at this magnitude, in %% (default 50)")
    p.add_argument("--json", action="store_true", help="also print the result as JSON on stdout")
    p.set_defaults(handler=_drift)


def _drift(args: argparse.Namespace) -> int:
    import pandas as pd  # noqa: PLC0415 - the analysis extra

    baseline_path = Path(args.baseline)
    if not baseline_path.is_file():
        return fail(f"no baseline file {baseline_path}", 2)
    baseline = pd.read_parquet(baseline_path) if baseline_path.suffix == ".parquet" else pd.read_csv(baseline_path)
    current = read_stream(args)
    if current.empty:
        return fail(f"no {args.designation} rows of {args.model} in that range")
    features = [f.strip() for f in args.features.split(",")] if args.features else None
    try:
        result = compare(baseline, current, features=features, thresholds=Thresholds(args.psi, args.js, args.magnitude))
    except ValueError as exc:
        return fail(str(exc), 2)
    Path(args.out).write_text(render(result, title=f"Drift of {args.model} {args.designation}"), encoding="utf-8")
    top = ", ".join(f"{f.name} {f.contribution:.0%}" for f in result.features[:5])
    sys.stderr.write(
        f"modeltap: {'DRIFT' if result.drifted else 'no drift'}: magnitude {result.magnitude:.1f}%; "
        f"top features: {top}; report: {args.out}\n"
    )
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return DRIFT if result.drifted else OK
