"""The README's reader recipes, run as written on a file of hostile values modeltap wrote.

Each recipe must read every value back exactly: same value, same kind (a number is not a
string), NaN as NaN, -0.0 with its sign, ``""`` apart from missing. Spark's recipe runs in
test_spark.py (one Spark session per module).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import hostile
import modeltap
from modeltap.testing import ManualClock

README = Path(__file__).resolve().parents[1] / "README.md"
RECIPES = hostile.readme_recipes(README)


@pytest.fixture
def written(tmp_path: Path) -> Iterator[Path]:
    modeltap.configure(store=modeltap.LocalStore(tmp_path / "modeldata"), clock=ManualClock(hostile.STAMP))
    modeltap.Collector("m", "inputs").collect(hostile.frame())
    assert modeltap.close()
    (path,) = (tmp_path / "modeldata").rglob("*.csv")
    yield path


def _columns(result: Any) -> dict[str, list[Any]]:
    """A recipe's result as lists of Python values, the way each library hands them out."""
    if isinstance(result, pd.DataFrame):
        return {c: result[c].tolist() for c in result.columns}
    if type(result).__module__.startswith("polars"):
        return dict(result.to_dict(as_series=False))
    if type(result).__module__.startswith("pyarrow"):
        return dict(result.to_pydict())
    if type(result).__module__.startswith("duckdb"):
        rows = result.fetchall()
        return {c: [r[i] for r in rows] for i, c in enumerate(result.columns)}
    raise TypeError(f"unexpected result {type(result).__name__}")


def test_the_readme_has_a_recipe_for_every_reader() -> None:
    assert set(RECIPES) == {"pandas", "polars", "pyarrow", "duckdb", "csv", "spark"}


@pytest.mark.parametrize("reader", ["pandas", "polars", "pyarrow", "duckdb"])
def test_readme_recipe_reads_every_value_back_exactly(reader: str, written: Path) -> None:
    scope: dict[str, Any] = {"path": str(written)}
    exec(RECIPES[reader], scope)
    assert hostile.mismatches(_columns(scope["df"])) == {}


def test_readme_csv_recipe_reads_the_text_back_exactly(written: Path) -> None:
    scope: dict[str, Any] = {"path": str(written)}
    exec(RECIPES["csv"], scope)
    rows: list[dict[str, str]] = scope["df"]
    # Every value is a str: converted as the README says, they are exact.
    convert = {"f": float, "i": int, "u": int, "b": lambda v: v == "True", "$scoring_timestamp": datetime.fromisoformat}
    columns = {name: [convert.get(name, str)(r[name]) for r in rows] for name in hostile.VALUES}
    problems = hostile.mismatches(columns)
    # Before Python 3.13 the csv module reads a missing value as '' too: the README says so.
    assert problems == {"s": [("", None)]}


def test_the_doc_recipe_alone_is_not_exact_where_the_readme_says(written: Path) -> None:
    """The measured gaps the README's table names, so it cannot claim more than is true."""
    pandas_default = _columns(pd.read_csv(written))
    assert math.isnan(pandas_default["na"][0]) and math.isnan(pandas_default["s"][6])  # "NA" and "" lost
    pyarrow_scope: dict[str, Any] = {}
    exec("import pyarrow.csv as pv\ndf = pv.read_csv(path)", pyarrow_scope | {"path": str(written)}, pyarrow_scope)
    assert pyarrow_scope["df"].column("f")[0].as_py() is None  # NaN read as null by default
