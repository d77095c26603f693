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

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_part(value: object, what: str) -> str:
    """A path part from user input, refused unless it is one plain folder name.

    >>> check_part("best_model", "model_name")
    'best_model'
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value or value.strip() != value:
        raise ValueError(f"{what} must be a non-empty name without surrounding spaces, got {value!r}")
    if value in (".", "..") or "/" in value or "\\" in value or _CONTROL.search(value):
        raise ValueError(f"{what} must not contain '/', '\\\\', control characters or be '.' or '..', got {value!r}")
    return value


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
