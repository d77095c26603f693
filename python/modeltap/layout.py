"""Where rows land: the blob layout Azure ML wrote, kept exactly.

``<subscription>/<resourcegroup>/<workspace>/<webservice>/<model>/<version>/<designation>/<yyyy>/<m>/<d>[/<hh>]/data.csv``

under the ``modeldata`` container (or a LocalStore's root). Month and day carry no zero padding,
as Azure ML wrote them; the hour, when partitioning by hour, is two digits. A file that cannot
take more rows (a full append blob, or an existing file with another header) continues in
``data.1.csv``, ``data.2.csv``, ... in the same folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTAINER = "modeldata"
FILE_STEM = "data"

#: The longest file or folder name local file systems take (ext4, XFS, APFS, NTFS): bytes of UTF-8.
MAX_SEGMENT_BYTES = 255
#: The longest blob name Azure Storage takes, in characters, and its most path segments.
MAX_BLOB_NAME = 1024
MAX_SEGMENTS = 254
#: Room kept for a rolled-over file's index: ``<stem>.999999.csv``.
_MAX_INDEX_DIGITS = 6

# What neither a blob name nor a folder name carries: C0 and C1 controls, DEL, the backslash
# (a separator on Windows, and the SDK signs it wrongly), lone surrogates (no UTF-8 exists for
# them) and Unicode noncharacters, which Azure refuses in URL paths.
_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def check_part(value: object, what: str) -> str:
    """A path part from user input (or read back from a spool file), refused unless it is one
    folder or file name that every store can write.

    >>> check_part("best_model", "model_name")
    'best_model'

    Refused, with a ValueError that says why: an empty name, surrounding spaces, ``.``, ``..``,
    a trailing dot (Windows and Data Lake drop it), ``/``, ``\\``, control characters, lone
    surrogates, Unicode noncharacters, and names longer than 255 bytes of UTF-8. The whole path a
    name ends up in is checked by :func:`check_folder`.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value or value.strip() != value:
        raise ValueError(f"{what} must be a non-empty name without surrounding spaces, got {_show(value)}")
    if value in (".", "..") or "/" in value:
        raise ValueError(f"{what} must be one folder name: not '.', '..' or with '/', got {_show(value)}")
    bad = _REFUSED.search(value)
    if bad:
        raise ValueError(
            f"{what} must not contain {_char(bad.group())} (no control characters, backslashes, lone "
            f"surrogates or Unicode noncharacters), got {_show(value)}"
        )
    if value.endswith("."):
        raise ValueError(f"{what} must not end with '.', got {_show(value)}")
    size = len(value.encode("utf-8"))
    if size > MAX_SEGMENT_BYTES:
        raise ValueError(f"{what} is {size} bytes of UTF-8, longer than a folder name can be ({MAX_SEGMENT_BYTES})")
    return value


def check_folder(folder: object, what: str = "folder", stem: str = "data") -> str:
    """A folder path (``sub/rg/.../2026/11/24``), each part checked by :func:`check_part`, and
    short enough that its files (``<stem>.csv`` up to ``<stem>.999999.csv``) have names a blob
    and a path take: at most 1,024 characters and 254 segments.

    >>> check_folder("sub/rg/ws/svc/model/1/inputs/2018/12/31")
    'sub/rg/ws/svc/model/1/inputs/2018/12/31'
    """
    if not isinstance(folder, str):
        raise TypeError(f"{what} must be a str, got {type(folder).__name__}")
    parts = folder.split("/")
    for i, part in enumerate(parts):
        check_part(part, f"{what} part {i + 1}")
    check_stem(stem)
    longest = len(folder) + 1 + len(file_name(10**_MAX_INDEX_DIGITS - 1, stem))
    if longest > MAX_BLOB_NAME:
        raise ValueError(
            f"{what} makes file paths of up to {longest} characters; a blob name takes at most {MAX_BLOB_NAME}"
        )
    if len(parts) + 1 > MAX_SEGMENTS:
        raise ValueError(f"{what} has {len(parts)} parts; a blob name takes at most {MAX_SEGMENTS} segments")
    return folder


def check_stem(stem: object, what: str = "file name") -> str:
    """A file stem (files are ``<stem>.csv``, ``<stem>.1.csv``, ...) whose every file name,
    rolled-over ones included, is one name a store can write.

    >>> check_stem("data")
    'data'
    """
    stem = check_part(stem, what)
    check_part(file_name(10**_MAX_INDEX_DIGITS - 1, stem), what)
    return stem


def _show(value: str) -> str:
    return repr(value) if len(value) <= 60 else f"{value[:40]!r}... ({len(value)} characters)"


def _char(c: str) -> str:
    return f"{c!r} (U+{ord(c):04X})"


def file_name(index: int, stem: str = FILE_STEM) -> str:
    """The name of the ``index``-th file of a folder: ``data.csv``, then ``data.1.csv``, ...
    (Azure ML's v1 drop-in names its files after the collection: ``<stem>.csv``)."""
    return f"{stem}.csv" if index == 0 else f"{stem}.{index}.csv"


def parse_file_index(name: str, stem: str = FILE_STEM) -> int | None:
    """The index of a file name made by :func:`file_name`; None for any other name.

    >>> parse_file_index("data.csv"), parse_file_index("data.12.csv"), parse_file_index("x.csv")
    (0, 12, None)
    """
    if name == f"{stem}.csv":
        return 0
    middle = name.removeprefix(f"{stem}.").removesuffix(".csv")
    if len(middle) + len(stem) + 5 == len(name) and middle.isdigit() and middle.isascii():
        return int(middle)
    return None


def file_order(path: str) -> tuple[str, int, str]:
    """A sort key putting a folder's files in the order they were written: ``data.csv``,
    ``data.1.csv``, ``data.2.csv``, ..., ``data.10.csv`` (not by name, which puts ``data.10.csv``
    before ``data.2.csv`` and ``data.csv`` last).

    >>> sorted(["f/data.10.csv", "f/data.csv", "f/data.2.csv"], key=file_order)
    ['f/data.csv', 'f/data.2.csv', 'f/data.10.csv']
    """
    folder, _, name = path.rpartition("/")
    stem, dot, _ = name.partition(".")
    index = parse_file_index(name, stem) if dot else None
    return (f"{folder}/{stem}", -1, name) if index is None else (f"{folder}/{stem}", index, "")


@dataclass(frozen=True)
class StreamPath:
    """The folders of one stream, down to the designation.

    >>> StreamPath("sub", "rg", "ws", "svc", "model", "1", "inputs").folder(2018, 12, 31)
    'sub/rg/ws/svc/model/1/inputs/2018/12/31'
    """

    subscription: str
    resource_group: str
    workspace: str
    service: str
    model: str
    version: str
    designation: str

    def __post_init__(self) -> None:
        for field, value in self.__dict__.items():
            check_part(value, field)
        self.check_file(FILE_STEM)

    def check_file(self, stem: str) -> str:
        """``stem`` (files are ``<stem>.csv``, ...) if the longest path of this stream's files,
        hourly folders and rolled-over files included, is one every store can write."""
        check_folder(self.folder(9999, 12, 31, 23), "the stream's folder", stem)
        return stem

    @classmethod
    def parse_workspace(cls, workspace: str) -> tuple[str, str, str]:
        """``"<subscription>/<resourcegroup>/<workspace>"`` into its three parts."""
        if not isinstance(workspace, str):
            raise TypeError(f"workspace must be a str, got {type(workspace).__name__}")
        parts = workspace.split("/")
        if len(parts) != 3:
            raise ValueError(f"workspace must be '<subscription>/<resourcegroup>/<workspace>', got {workspace!r}")
        return (
            check_part(parts[0], "subscription"),
            check_part(parts[1], "resource group"),
            check_part(parts[2], "workspace"),
        )

    def folder(self, year: int, month: int, day: int, hour: int | None = None) -> str:
        parts = [
            self.subscription,
            self.resource_group,
            self.workspace,
            self.service,
            self.model,
            self.version,
            self.designation,
            str(year),
            str(month),
            str(day),
        ]
        if hour is not None:
            parts.append(f"{hour:02d}")
        return "/".join(parts)
