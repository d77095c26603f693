"""``modeltap ls``, ``modeltap head`` and ``modeltap export``: what was collected, and getting it out."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from modeltap.cli.common import OK, add_stream_options, fail, progress, read_stream, stream_kwargs
from modeltap.columns import TIMESTAMP_COLUMNS
from modeltap.readers import export, partitions, streams
from modeltap.readers.frames import parse_csv
from modeltap.readers.partitions import as_store


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ls = subparsers.add_parser(
        "ls", help="list partitions: rows, bytes, first and last timestamp; without --model, the streams"
    )
    add_stream_options(ls, model_required=False)
    ls.set_defaults(handler=_ls)

    head = subparsers.add_parser("head", help="print the first rows of a range as CSV")
    add_stream_options(head)
    head.add_argument("-n", "--rows", type=int, default=10, help="how many rows (default 10)")
    head.set_defaults(handler=_head)

    exp = subparsers.add_parser("export", help="write inputs, predictions and labels joined, as a training set")
    add_stream_options(exp, designation=None)
    exp.add_argument("--out", required=True, help="the file to write")
    exp.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="default parquet")
    exp.add_argument(
        "--designations",
        default="inputs,predictions,labels",
        help="joined in this order (default inputs,predictions,labels)",
    )
    exp.set_defaults(handler=_export)


def _ls_streams(args: argparse.Namespace) -> int:
    found = streams(args.store)
    if not found:
        return fail(f"no streams in {args.store}")
    out = sys.stdout
    out.write(
        f"{'workspace':<32} {'service':<16} {'model':<16} {'version':<8} {'designation':<12} {'files':>6}  days\n"
    )
    for s in found:
        out.write(
            f"{s.workspace:<32} {s.service:<16} {s.model:<16} {s.version:<8} {s.designation:<12} {s.files:>6}  "
            f"{s.first_day} to {s.last_day}\n"
        )
    return OK


def _ls(args: argparse.Namespace) -> int:
    if args.model is None:
        return _ls_streams(args)
    store = as_store(args.store)
    parts = list(partitions(store, args.model, args.designation, args.start, args.end, **stream_kwargs(args)))
    if not parts:
        others = "; ".join(s.options for s in streams(store, args.model))
        return fail(
            f"no {args.designation} rows of {args.model} from {args.start or 'a week ago'} to {args.end or 'today'}"
            + (f"; the streams of {args.model}: {others}" if others else f"; the store has no streams of {args.model}")
        )
    step, done = progress("reading")
    out = sys.stdout
    out.write(f"{'partition':<16} {'files':>5} {'rows':>10} {'bytes':>12}  {'first':<27} {'last':<27}\n")
    try:
        for part in parts:
            rows, first, last = 0, None, None
            for f in part.files:
                step(f)
                table = parse_csv(store.read_bytes(f.path), f.path)
                rows += table.num_rows
                stamp = next((c for c in TIMESTAMP_COLUMNS if c in table.column_names), None)
                if stamp is not None and table.num_rows:
                    column = table.column(stamp)
                    lo, hi = _min_max(column)
                    first = lo if first is None or (lo is not None and lo < first) else first
                    last = hi if last is None or (hi is not None and hi > last) else last
            name = f"{part.day:%Y-%m-%d}" + ("" if part.hour is None else f" {part.hour:02d}h")
            out.write(
                f"{name:<16} {len(part.files):>5} {rows:>10,} {part.bytes:>12,}  {_iso(first):<27} {_iso(last):<27}\n"
            )
    finally:
        done()
    return OK


def _min_max(column: Any) -> tuple[Any, Any]:
    import pyarrow.compute as pc  # noqa: PLC0415

    result = pc.min_max(column)
    return result["min"].as_py(), result["max"].as_py()


def _iso(value: Any) -> str:
    return "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


def _head(args: argparse.Namespace) -> int:
    if args.rows < 1:
        return fail("-n must be at least 1", 2)
    frame = read_stream(args)
    if frame.empty:
        return fail(f"no {args.designation} rows of {args.model} in that range")
    frame.head(args.rows).to_csv(sys.stdout, index=False)
    return OK


def _export(args: argparse.Namespace) -> int:
    designations = [d.strip() for d in args.designations.split(",") if d.strip()]
    step, done = progress("reading")
    try:
        rows = export(
            args.store, args.model, args.out, args.start, args.end,
            format=args.format, designations=designations, progress=step, **stream_kwargs(args),
        )  # fmt: skip
    finally:
        done()
    sys.stderr.write(f"modeltap: wrote {rows:,} rows to {args.out}\n")
    return OK
