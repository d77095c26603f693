"""Runs every benchmark suite and prints one table: each figure, its peer, the ratio, the budget.

    python benches/report.py            # full sizes (a few minutes)
    python benches/report.py --short    # CI's sizes, for a quick look

Medians throughout. Nothing is written to the tree: the figures belong to the machine they were
measured on, which the table names.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import cpu_model  # noqa: E402


def run_suites(short: bool) -> tuple[dict[str, dict[str, Any]], str]:
    with tempfile.TemporaryDirectory() as tmp:
        out_json = Path(tmp) / "bench.json"
        env = {**os.environ, "MODELTAP_BENCH": "short" if short else "full"}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", str(HERE), "-q", "-s", "-p", "no:cacheprovider", "--benchmark-enable",
             f"--benchmark-json={out_json}"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-3000:])
            sys.stderr.write(f"\nsome benchmark suites failed (exit {proc.returncode}); the table shows the rest\n")
        if not out_json.exists():
            raise SystemExit("the benchmark suites wrote no results")
        data = json.loads(out_json.read_text())
    by_name = {b["fullname"].rsplit("/", 1)[-1]: b for b in data["benchmarks"]}
    return by_name, proc.stdout


def _median(b: dict[str, dict[str, Any]], name: str) -> float | None:
    entry = b.get(name)
    return None if entry is None else float(entry["stats"]["median"])


def _fmt_time(s: float) -> str:
    if s < 1e-5:
        return f"{s * 1e9:,.0f} ns"
    return f"{s * 1e6:,.1f} us" if s < 1e-2 else f"{s * 1e3:,.1f} ms"


Row = tuple[str, str, str, str, str, str]


def hot_path(b: dict[str, dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    one = _median(b, "test_hot_path.py::test_collect[1x6]")
    put = _median(b, "test_hot_path.py::test_peer_queue_put_1x6")
    for case in ("1x6", "32x6", "1000x100", "1x6 with two strings", "DataFrame 1x6"):
        m = _median(b, f"test_hot_path.py::test_collect[{case}]")
        if m is None or one is None or put is None:
            continue
        budget = ""
        if case == "1x6":
            budget = f"<= 500 ns: {'met' if m <= 5e-7 else 'MISSED'}"
        elif case == "1000x100":
            budget = f"<= 2x the 1x6: {'met' if m <= 2 * one else 'MISSED'}"
        peer = f"queue.put 1x6 {_fmt_time(put)}"
        rows.append(("hot path", f"collect() {case}", _fmt_time(m), peer, f"{m / put:.2f}x", budget))
    return rows


# Issue "Frames at numpy speed": each input's budget as a multiple of its reference.
FRAME_BUDGETS = {
    "pandas 1x6 float64": ("x_numpy_1x6", 8.0),
    "pandas 1x6 4 float + 2 str": ("x_numpy_1x6", 12.0),
    "numpy 1x6 object row, two strings": ("x_numpy_1x6", 8.0),
    "polars 1x6 float64": ("x_numpy_1x6", 8.0),
    "pyarrow RecordBatch 1x6 float64": ("x_numpy_1x6", 8.0),
    "pyarrow Table 1x6 float64": ("x_numpy_1x6", 8.0),
    "pandas 1000x100 float64": ("x_same_library_1x6", 2.0),
    "polars 1000x100 float64": ("x_same_library_1x6", 2.0),
}


def frames(b: dict[str, dict[str, Any]]) -> list[Row]:
    """test_frames.py: every input as a ratio to the numpy 1x6 row (or to its library's 1x6)."""
    rows: list[Row] = []
    base = _median(b, "test_frames.py::test_collect[numpy 1x6 float64]")
    if base is None:
        return rows
    for name, (ratio_key, budget) in FRAME_BUDGETS.items():
        entry = b.get(f"test_frames.py::test_collect[{name}]")
        if entry is None:
            rows.append(("frames", f"collect() {name}", "not measured (refused)", "", "", f"<= {budget:g}x"))
            continue
        ratio = entry["extra_info"].get(ratio_key)
        peer = f"numpy 1x6 {_fmt_time(base)}" if ratio_key == "x_numpy_1x6" else "same library's 1x6"
        export = entry["extra_info"].get("producer_export_us")
        if export is not None:
            peer += f"; the producer's export alone {_fmt_time(export * 1e-6)}"
        verdict = "" if ratio is None else ("met" if ratio <= budget else "MISSED")
        shown = "" if ratio is None else f"{ratio:.2f}x"
        value = _fmt_time(float(entry["stats"]["median"]))
        rows.append(("frames", f"collect() {name}", value, peer, shown, f"<= {budget:g}x: {verdict}"))
    return rows


# test_encoder.py: (figure, modeltap's test, its peers' tests); the budget is against polars.
ENCODING = (
    ("float64 x 6", "test_modeltap", "test_polars_one_thread", "test_pyarrow"),
    ("mixed x 6, numpy columns", "test_modeltap_mixed_numpy", "test_polars_mixed_one_thread", "test_pyarrow_mixed"),
    ("mixed x 6, pandas frame", "test_modeltap_mixed_pandas", "test_polars_mixed_one_thread", "test_pyarrow_mixed"),
)


def encoding(b: dict[str, dict[str, Any]]) -> list[Row]:
    """1M rows to CSV, each table against polars on one thread (budget >= 1.5x) and pyarrow."""
    rows: list[Row] = []
    for figure, ours, polars, pyarrow in ENCODING:
        mt = b.get(f"test_encoder.py::{ours}")
        for peer_name, test in (("polars write_csv, 1 thread", polars), ("pyarrow.csv", pyarrow)):
            peer = b.get(f"test_encoder.py::{test}")
            if mt is None or peer is None:
                continue
            ratio = peer["stats"]["median"] / mt["stats"]["median"]
            budget = f">= 1.5x: {'met' if ratio >= 1.5 else 'MISSED'}" if test == polars else ""
            info = mt["extra_info"]
            value = f"{info['MB/s']} MB/s, {info['Mrows/s']} M rows/s"
            peer_value = f"{peer_name} {peer['extra_info']['MB/s']} MB/s"
            rows.append(("encoding", f"modeltap encoder, {figure}", value, peer_value, f"{ratio:.2f}x faster", budget))
    return rows


# test_scoring_loop.py: (label, test, its loop's no-collection test, budget or None).
SCORING_LOOPS = (
    ("modeltap", "test_modeltap", "test_no_collection", 1.10),
    ("queue + thread + csv", "test_handwritten_queue_thread_csv", "test_no_collection", None),
    ("azureml v1 (Python side, native stubbed: lower bound)", "test_azureml_v1", "test_no_collection", None),
    ("azureml v2 (local capture)", "test_azureml_v2", "test_no_collection", None),
    ("DataFrames: modeltap", "test_frames_modeltap", "test_frames_no_collection", 1.03),
    ("DataFrames: azureml v2 (local capture)", "test_frames_azureml_v2", "test_frames_no_collection", None),
)


def scoring_loop(b: dict[str, dict[str, Any]]) -> list[Row]:
    """Each loop's time as a multiple of the same loop without collection."""
    rows: list[Row] = []
    for label, test, baseline, limit in SCORING_LOOPS:
        entry = b.get(f"test_scoring_loop.py::{test}")
        none = b.get(f"test_scoring_loop.py::{baseline}")
        if entry is None or none is None:
            continue
        ratio = entry["stats"]["median"] / none["stats"]["median"]
        budget = "" if limit is None else f"<= {limit:.2f}x: {'met' if ratio <= limit else 'MISSED'}"
        value = f"{entry['extra_info']['requests/s']:,} req/s"
        peer = f"no collection {none['extra_info']['requests/s']:,} req/s"
        rows.append(("scoring loop", label, value, peer, f"{ratio:.2f}x the time", budget))
    return rows


def end_to_end(b: dict[str, dict[str, Any]], printed: str) -> list[Row]:
    rows: list[Row] = []
    e2e = "test_end_to_end.py::"
    local = b.get(f"{e2e}test_block_policy_rows_per_second[local]")
    azurite = b.get(f"{e2e}test_block_policy_rows_per_second[azurite]")
    hand = b.get(f"{e2e}test_peer_queue_thread_csv_rows_per_second")
    if local and hand:
        lr, hr = local["extra_info"]["rows/s"], hand["extra_info"]["rows/s"]
        peer = f"queue + thread + csv {hr:,} rows/s"
        rows.append(("end to end", "LocalStore, policy=block", f"{lr:,} rows/s", peer, f"{lr / hr:.1f}x", ""))
    if local and azurite:
        ar, lr = azurite["extra_info"]["rows/s"], local["extra_info"]["rows/s"]
        rows.append(("end to end", "Azurite, policy=block", f"{ar:,} rows/s", "LocalStore", f"{ar / lr:.2f}x", ""))
    for pattern, suite, budget in ((r"drop policy: (.*)", "end to end", ""), (r"memory: (.*)", "memory", "flat")):
        found = re.search(pattern, printed)
        if found:
            rows.append((suite, found.group(1), "", "", "", budget))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="CI's small sizes: quick, noisier")
    args = parser.parse_args()
    benchmarks, printed = run_suites(args.short)
    rows = [
        *hot_path(benchmarks),
        *frames(benchmarks),
        *encoding(benchmarks),
        *scoring_loop(benchmarks),
        *end_to_end(benchmarks, printed),
    ]
    mode = "short" if args.short else "full"
    print(f"modeltap benchmarks on {cpu_model()}, {os.cpu_count()} cores; {mode} sizes; medians")
    headers = ("suite", "figure", "value", "peer", "ratio", "budget")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
