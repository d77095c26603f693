"""The ``modeltap`` command: each sub-command lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from modeltap.redact import redact
from modeltap.stores.errors import StoreError

# Modules that each define ``register(subparsers)``; the handler they set returns an exit status.
_COMMAND_MODULES: tuple[str, ...] = ("demo", "data", "drift")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modeltap",
        description="Record what deployed models see and say; read, export and watch what was recorded.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what modeltap does (to stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"modeltap.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``modeltap <command>``; returns the exit status.

    >>> main(["--help"])  # doctest: +SKIP
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    # Bad input is the caller's to fix (2); a store that cannot be read is not (3). No tracebacks.
    try:
        status: int = args.handler(args)
    except (ValueError, TypeError) as exc:
        sys.stderr.write(f"modeltap {args.command}: {exc}\n")
        return 2
    except (OSError, StoreError, LookupError) as exc:
        sys.stderr.write(f"modeltap {args.command}: {redact(str(exc))}\n")
        return 3
    return status
