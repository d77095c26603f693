"""Finding rows whose append's outcome is unknown, the same way in every store.

A resume token, ``<offset>@<file>``, says where an append may have landed: at or after byte
``offset`` of ``file`` (a path relative to the store's root, ``<folder>/data.csv``). The
position is taken before the append, so everything appended after it, by this writer or any
other, lands at or after it; the rows are there exactly when their bytes appear from a row
boundary at or after it.
"""

from __future__ import annotations

from modeltap.layout import parse_file_index


def token(offset: int, file: str) -> str:
    """The resume token of an append at or after ``offset`` of ``file``.

    >>> token(7, "sub/rg/ws/svc/m/1/inputs/2026/11/24/data.csv")
    '7@sub/rg/ws/svc/m/1/inputs/2026/11/24/data.csv'
    """
    return f"{offset}@{file}"


def parse(resume: str, folder: str, stem: str) -> tuple[int, str]:
    """The offset and file of ``resume``; ValueError unless it names a file of ``folder``
    with ``stem`` (a token is read back from disk: it must not point anywhere else)."""
    if not isinstance(resume, str):
        raise TypeError(f"a resume token must be a str, got {type(resume).__name__}")
    offset, _, file = resume.partition("@")
    name = file[len(folder) + 1 :] if file.startswith(folder + "/") else ""
    if not (offset.isdigit() and offset.isascii() and len(offset) <= 20) or parse_file_index(name, stem) is None:
        raise ValueError(f"not a resume token of a file of this folder: {resume!r}")
    return int(offset), file


def holds_rows(window: bytes, piece: bytes, *, at_row_start: bool) -> bool:
    """Whether ``piece`` (whole rows) appears in ``window`` starting at a row boundary.

    >>> holds_rows(b"a\\nb\\nc\\n", b"b\\n", at_row_start=True), holds_rows(b"ab\\n", b"b\\n", at_row_start=False)
    (True, False)
    """
    i = window.find(piece)
    while i >= 0:
        if (i == 0 and at_row_start) or (i > 0 and window[i - 1] == 0x0A):
            return True
        i = window.find(piece, i + 1)
    return False


def count_rows(data: bytes) -> int:
    """The CSV rows in ``data`` (whole rows): its newlines outside quoted fields.

    >>> count_rows(b'1,"a\\nb"\\n2,c\\n')
    2
    """
    if b'"' not in data:
        return data.count(b"\n")
    rows, quoted, i = 0, False, 0
    while True:
        nl = data.find(b"\n", i)
        if nl < 0:
            return rows
        quoted ^= data.count(b'"', i, nl) % 2 == 1
        if not quoted:
            rows += 1
        i = nl + 1
