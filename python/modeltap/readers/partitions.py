"""Which files hold a stream's rows for a date range: listing only the partitions in range."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from modeltap.layout import StreamPath, file_order
from modeltap.stores import ReadableStore, StoredFile, open_store


@dataclass(frozen=True)
class Partition:
    """One day (or hour) folder of a stream, with its files."""

    day: date
    hour: int | None
    files: tuple[StoredFile, ...]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def as_store(store: ReadableStore | str) -> ReadableStore:
    if isinstance(store, str):
        opened = open_store(store)
        assert isinstance(opened, ReadableStore)
        return opened
    if not isinstance(store, ReadableStore):
        raise TypeError(
            f"store must be a path, a URL or a store that can list and read files, got {type(store).__name__}"
        )
    return store


def as_day(value: date | datetime | str | None, what: str) -> date | None:
    """``2026-11-24``, a date or a datetime (its UTC day)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f"{what} must be a date like 2026-11-24, got {value!r}") from None
    raise TypeError(f"{what} must be a date, a datetime or an ISO date string, got {type(value).__name__}")


def day_range(start: date | datetime | str | None, end: date | datetime | str | None) -> tuple[date, date]:
    """``start`` and ``end`` as UTC days; by default the last 7 days up to today."""
    last = as_day(end, "end") or datetime.now(timezone.utc).date()
    first = as_day(start, "start") or last - timedelta(days=6)
    if first > last:
        raise ValueError(f"start ({first}) is after end ({last})")
    return first, last


def stream_path(model: str, version: str, designation: str, service: str, workspace: str) -> StreamPath:
    sub, rg, ws = StreamPath.parse_workspace(workspace)
    return StreamPath(sub, rg, ws, service, model, str(version), designation)


def partitions(
    store: ReadableStore | str,
    model: str,
    designation: str = "inputs",
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    *,
    version: str = "default",
    service: str = "default",
    workspace: str = "default/default/default",
) -> Iterator[Partition]:
    """The partitions of a stream from ``start`` to ``end`` (UTC days, both included; default:
    the last 7 days up to today), oldest first, each listed on its own.

    >>> [p.day for p in partitions("./modeldata", "best_model", start="2026-11-01")]
    """
    readable = as_store(store)
    path = stream_path(model, version, designation, service, workspace)
    first, last = day_range(start, end)
    day = first
    while day <= last:
        folder = path.folder(day.year, day.month, day.day)
        by_hour: dict[int | None, list[StoredFile]] = {}
        for f in readable.list_files(folder):
            rest = f.path[len(folder) + 1 :].split("/")
            hour = int(rest[0]) if len(rest) == 2 and rest[0].isdigit() else None
            if len(rest) <= 2 and f.path.endswith(".csv"):
                by_hour.setdefault(hour, []).append(f)
        for hour in sorted(by_hour, key=lambda h: -1 if h is None else h):
            yield Partition(day, hour, tuple(sorted(by_hour[hour], key=lambda f: file_order(f.path))))
        day += timedelta(days=1)
