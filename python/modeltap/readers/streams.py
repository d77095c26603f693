"""Which streams a store holds: what ``modeltap ls`` shows, and what a read that found nothing names.

A stream is the folder ``<subscription>/<resourcegroup>/<workspace>/<webservice>/<model>/<version>/<designation>``
with day folders (``<yyyy>/<m>/<d>[/<hh>]``) of CSV files under it. Finding them lists every file
under the prefix asked for, so it is meant for the command line and for error messages, not for
a loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from modeltap.readers.partitions import as_store
from modeltap.stores import ReadableStore

_STREAM_DEPTH = 7


@dataclass(frozen=True, order=True)
class Stream:
    """One stream of a store, and the UTC days it has files for."""

    workspace: str
    service: str
    model: str
    version: str
    designation: str
    first_day: date
    last_day: date
    files: int

    @property
    def options(self) -> str:
        """The keyword arguments that read this stream, as code."""
        return (
            f"model={self.model!r}, designation={self.designation!r}, version={self.version!r}, "
            f"service={self.service!r}, workspace={self.workspace!r}"
        )


def _day(parts: list[str]) -> date | None:
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except (ValueError, IndexError):
        return None


def streams(store: ReadableStore | str, model: str | None = None) -> list[Stream]:
    """The streams in ``store`` (of ``model`` only, if given), sorted.

    >>> [s.options for s in modeltap.streams("./modeldata", "best_model")]  # doctest: +SKIP
    """
    found: dict[tuple[str, ...], list[date]] = {}
    for f in as_store(store).list_files(""):
        parts = f.path.split("/")
        if len(parts) < _STREAM_DEPTH + 4 or (model is not None and parts[4] != model):
            continue
        day = _day(parts[_STREAM_DEPTH : _STREAM_DEPTH + 3])
        if day is not None:
            found.setdefault(tuple(parts[:_STREAM_DEPTH]), []).append(day)
    return sorted(
        Stream("/".join(key[:3]), key[3], key[4], key[5], key[6], min(days), max(days), len(days))
        for key, days in found.items()
    )
