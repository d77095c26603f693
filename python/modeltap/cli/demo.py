"""``modeltap demo``: train a model, serve it, score it with collection on and off."""

from __future__ import annotations

import argparse
import os

from modeltap.demo import run as demo_run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="train a model, serve it over HTTP, score it and collect: see what modeltap costs",
        description=(
            "Trains a ridge regression on scikit-learn's diabetes data, serves it as an HTTP scoring "
            "service (ASGI, uvicorn) whose entry script collects inputs and predictions, drives it with "
            "concurrent clients with collection on, then off (switched at run time), and prints "
            "requests/s, p50/p99 latency, rows collected and dropped, and the files written."
        ),
    )
    p.add_argument("--duration", type=_positive, default=5.0, help="seconds of scoring per phase (default 5)")
    p.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (default 8)")
    p.add_argument("--rows", type=int, default=1, dest="rows_per_request", help="rows per request (default 1)")
    p.add_argument(
        "--store",
        default=os.environ.get("MODELTAP_STORAGE") or "./modeldata",
        help="where rows go: a folder, an Azure account URL or a connection string "
        "(default: $MODELTAP_STORAGE, else ./modeldata)",
    )
    p.add_argument("--port", type=int, default=0, help="the service's port on 127.0.0.1 (default: a free one)")
    p.add_argument("--lines", type=int, default=3, dest="show_lines", help="first lines shown per file (default 3)")
    p.set_defaults(handler=_handle)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _handle(args: argparse.Namespace) -> int:
    if args.clients < 1 or args.rows_per_request < 1:
        raise SystemExit("modeltap demo: --clients and --rows must be at least 1")
    settings = demo_run.Settings(
        duration=args.duration,
        clients=args.clients,
        rows_per_request=args.rows_per_request,
        store=args.store,
        port=args.port,
        show_lines=args.show_lines,
    )
    return demo_run.run(settings)
