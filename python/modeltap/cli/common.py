"""What the data commands share: the stream options, progress bars and exit statuses."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from modeltap.stores import StoredFile

#: Exit statuses a script can rely on.
OK = 0
DRIFT = 1  # modeltap drift: drift passed a threshold
USAGE = 2  # bad arguments (argparse's own status)
NO_DATA = 3  # nothing collected in the range, or the store could not be read


def add_stream_options(
    p: argparse.ArgumentParser, designation: str | None = "inputs", *, model_required: bool = True
) -> None:
    p.add_argument(
        "--store",
        default=os.environ.get("MODELTAP_STORAGE") or "./modeldata",
        help="a folder, an Azure account or container URL, or a connection string "
        "(default: $MODELTAP_STORAGE, else ./modeldata)",
    )
    p.add_argument(
        "--model",
        required=model_required,
        help="the model's name" + ("" if model_required else " (without it: list the streams in the store)"),
    )
    if designation is not None:
        p.add_argument("--designation", default=designation, help=f"what was collected (default {designation})")
    p.add_argument("--version", default="default", help="the model version (default: default)")
    p.add_argument("--service", default="default", help="the web service (default: default)")
    p.add_argument("--workspace", default="default/default/default", help="<subscription>/<resourcegroup>/<workspace>")
    p.add_argument("--start", help="first UTC day, 2026-11-01 (default: 6 days before --end)")
    p.add_argument("--end", help="last UTC day, included (default: today)")


def stream_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"version": args.version, "service": args.service, "workspace": args.workspace}


def progress(description: str) -> tuple[Callable[[StoredFile], None], Callable[[], None]]:
    """A progress bar over files read, on stderr, only on a terminal."""
    from tqdm import tqdm  # noqa: PLC0415 - the analysis extra

    bar = tqdm(desc=description, unit=" files", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)

    def step(f: StoredFile) -> None:
        bar.set_postfix_str(f.path.rsplit("/", 5)[-1] if len(f.path) > 60 else f.path, refresh=False)
        bar.update(1)

    return step, bar.close


def read_stream(args: argparse.Namespace) -> Any:
    """The rows the stream options name, as pandas, with a progress bar while reading."""
    from modeltap.readers import read  # noqa: PLC0415 - keeps `modeltap --help` light

    step, done = progress("reading")
    try:
        return read(
            args.store, args.model, args.designation, args.start, args.end, progress=step, **stream_kwargs(args)
        )
    finally:
        done()


def fail(message: str, status: int = NO_DATA) -> int:
    sys.stderr.write(f"modeltap: {message}\n")
    return status
