"""Collects a few thousand scored requests into ./modeldata and shows where they went.

Run it with ``make demo``; a full scoring service demo comes with ``modeltap demo``.
"""

from __future__ import annotations

import pathlib

import numpy as np

import modeltap


def main() -> None:
    rng = np.random.default_rng(7)
    weights = rng.normal(size=6)
    inputs = modeltap.Collector(
        "best_model", designation="inputs", feature_names=[f"feat{i}" for i in range(6)], model_version="10"
    )
    predictions = modeltap.Collector(
        "best_model", designation="predictions", feature_names=["prediction"], model_version="10"
    )
    for request in range(5_000):
        x = rng.normal(size=(1 + request % 4, 6))
        corr = inputs.collect(x, correlation_id=f"LoanNumber-{request}")
        predictions.collect(x @ weights, correlation=corr)
    modeltap.flush()
    stats = modeltap.stats()
    print(
        f"collected {stats['rows_collected']} rows, wrote {stats['rows_written']}, "
        f"dropped {sum(stats['rows_dropped'].values())}"
    )
    for path in sorted(pathlib.Path("modeldata").rglob("*.csv")):
        lines = path.read_text().splitlines()
        print(f"\n{path}  ({len(lines) - 1} rows)")
        for line in lines[:3]:
            print(f"  {line}")
    modeltap.close()


if __name__ == "__main__":
    main()
