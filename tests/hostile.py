"""The values readers get wrong, written by modeltap, and a strict check of what a reader read.

Shared by the reader tests (pandas, polars, pyarrow, DuckDB, csv) and the Spark tests, which run
the README's reader recipes against the file and compare every value, type included.
"""

from __future__ import annotations

import decimal
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

I64 = np.iinfo(np.int64)
U64_MAX = int(np.iinfo(np.uint64).max)
STAMP = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)

#: The collected columns and what each row must read back as (None: missing).
VALUES: dict[str, list[Any]] = {
    "f": [math.nan, math.inf, -math.inf, -0.0, 0.1, 1e300, 5e-324, 9007199254740994.0],
    "i": [int(I64.min), int(I64.max), 0, -1, 1, 2, 3, 4],
    "u": [U64_MAX, 0, 1, 2, 3, 4, 5, 6],
    "s": ["a,b", 'say "hi"', "l1\nl2", "cr\r\nlf", "x\ry", "héllo ☃ 𝄞", "", None],
    # Strings that default missing-value lists (pandas, pyarrow) take for missing.
    "na": ["NA", "null", "N/A", "None", "nan", "NULL", "#N/A", "NaN"],
    "b": [True, False, True, False, True, False, True, False],
    # modeltap's own instant: the clock is set to STAMP while the rows are collected.
    "$scoring_timestamp": [STAMP] * 8,
}
ROWS = 8


def frame() -> pd.DataFrame:
    """The collected columns (modeltap adds ``$scoring_timestamp`` and its other columns)."""
    return pd.DataFrame(
        {
            "f": np.array(VALUES["f"], dtype=np.float64),
            "i": np.array(VALUES["i"], dtype=np.int64),
            "u": np.array(VALUES["u"], dtype=np.uint64),
            "s": np.array(VALUES["s"], dtype=object),
            "na": np.array(VALUES["na"], dtype=object),
            "b": np.array(VALUES["b"], dtype=bool),
        }
    )


def same(got: Any, want: Any, *, naive_is_utc: bool = False) -> bool:
    """``got`` is ``want``: same kind of value (a number is not a string), NaN is NaN, -0.0 keeps
    its sign, an instant is aware (or, for Spark, naive in a UTC session)."""
    if want is None:
        # pandas marks a missing str as NaN (its str dtype) or pd.NA; no column here holds a NaN string.
        return got is None or got is pd.NA or (isinstance(got, float) and math.isnan(got))
    if isinstance(want, bool):
        return isinstance(got, (bool, np.bool_)) and bool(got) is want
    if isinstance(want, float):
        if not isinstance(got, (float, np.floating)):
            return False
        if math.isnan(want):
            return math.isnan(got)
        return float(got) == want and math.copysign(1.0, got) == math.copysign(1.0, want)
    if isinstance(want, int):
        if isinstance(got, decimal.Decimal):
            return got == want and got == got.to_integral_value()
        return isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)) and int(got) == want
    if isinstance(want, datetime):
        if isinstance(got, pd.Timestamp):
            got = got.to_pydatetime()
        if not isinstance(got, datetime):
            return False
        if got.tzinfo is None:
            return naive_is_utc and got == want.astimezone(timezone.utc).replace(tzinfo=None)
        return got == want
    return isinstance(got, str) and got == want


def mismatches(columns: dict[str, list[Any]], *, naive_is_utc: bool = False) -> dict[str, list[tuple[Any, Any]]]:
    """Per column, the (read, written) pairs that differ; empty when every value is exact."""
    out: dict[str, list[tuple[Any, Any]]] = {}
    for name, want in VALUES.items():
        got = list(columns.get(name, []))
        if len(got) != len(want):
            out[name] = [(f"{len(got)} rows", f"{len(want)} rows")]
            continue
        bad = [(g, w) for g, w in zip(got, want, strict=True) if not same(g, w, naive_is_utc=naive_is_utc)]
        if bad:
            out[name] = bad
    return out


_BLOCK = re.compile(r"<!-- reader: (?P<name>[\w ]+) -->\n```python\n(?P<code>.*?)```", re.S)


def readme_recipes(readme: Path) -> dict[str, str]:
    """The README's reader recipes: each ```python block after a ``<!-- reader: NAME -->`` line."""
    return {m["name"]: m["code"] for m in _BLOCK.finditer(readme.read_text(encoding="utf-8"))}
