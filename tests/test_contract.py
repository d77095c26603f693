"""A stream's contract (names, header, width) is fixed once, by a call that is accepted; a call
that raises or is left out changes nothing; a name that cannot be written is refused when given."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import files

ROOT = Path(__file__).resolve().parent.parent


def header(store: modeltap.LocalStore) -> str:
    (path,) = files(store)
    return path.read_text().splitlines()[0]


def test_a_disabled_call_fixes_nothing(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", enabled=False)
    c.collect(pd.DataFrame(np.ones((1, 6)), columns=list("abcdef")))
    assert c.feature_names is None
    c.enabled = True
    c.collect(np.ones((2, 7)))
    with pytest.raises(ValueError, match="6 columns but this collector takes 7"):
        c.collect(np.ones((1, 6)))
    assert c.feature_names == tuple(f"col_{i}" for i in range(7))
    assert modeltap.flush()
    assert header(store) == ",".join(
        [*(f"col_{i}" for i in range(7)), "$correlation_id,$scoring_timestamp,$request_id,$row"]
    )


def test_a_process_switch_off_or_sampled_out_call_fixes_nothing(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", sample_rate=0.0)
    c.collect(np.ones((1, 3)))
    assert c.feature_names is None
    c.sample_rate = 1.0
    modeltap.set_enabled(False)
    try:
        c.collect(np.ones((1, 4)))
    finally:
        modeltap.set_enabled(True)
    assert c.feature_names is None
    c.collect(np.ones((1, 5)))
    assert c.feature_names is not None and len(c.feature_names) == 5
    assert modeltap.stats()["rows_sampled_out"] == 1
    assert modeltap.stats()["rows_disabled"] == 1


def test_a_rejected_call_fixes_nothing(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m")
    with pytest.raises(TypeError):
        c.collect(np.ones((1, 6), dtype=complex))
    with pytest.raises(ValueError, match="duplicates"):
        c.collect(pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]))
    with pytest.raises(TypeError):
        c.collect({"a": [object()]})
    assert c.feature_names is None
    c.collect(pd.DataFrame([[1.0, 2.0, 3.0]], columns=["x", "y", "z"]))
    assert c.feature_names == ("x", "y", "z")
    assert modeltap.flush()
    assert header(store).startswith("x,y,z,$correlation_id")


def test_names_that_cannot_be_written_are_refused_when_given(store: modeltap.LocalStore) -> None:
    with pytest.raises(ValueError, match=r"feature_names\[1\] is not valid Unicode"):
        modeltap.Collector("m", feature_names=["ok", "\ud800"])
    with pytest.raises(ValueError, match="a column modeltap adds itself"):
        modeltap.Collector("m", feature_names=["$row"])
    with pytest.raises(TypeError, match="not one str"):
        modeltap.Collector("m", feature_names="abc")
    with pytest.raises(TypeError, match=r"feature_names\[0\] is a int"):
        modeltap.Collector("m", feature_names=[1])  # type: ignore[list-item]
    c = modeltap.Collector("m")
    with pytest.raises(ValueError, match="not valid Unicode"):
        c.collect({"\udcff": [1.0]})
    assert c.feature_names is None
    c.collect(pd.DataFrame([[1.0]], columns=["fine"]))
    assert modeltap.flush()
    stats = modeltap.stats()
    assert stats["rows_written"] == 1
    assert not any(stats["rows_dropped"].values())


def test_headers_quote_names_as_values_are_quoted(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a,b", 'say "hi"', " pad", "é"])
    c.collect(np.ones((1, 4)))
    assert modeltap.flush()
    assert header(store).startswith('"a,b","say ""hi"""," pad",é,$correlation_id')


def _python(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_stats_starts_nothing(tmp_path: Path) -> None:
    out = _python(
        """
        import threading, modeltap
        before = threading.active_count()
        s = modeltap.stats()
        assert s["rows_written"] == 0 and s["rows_dropped"]["closed"] == 0, s
        assert modeltap.lifecycle._process.pipeline is None
        assert threading.active_count() == before
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_spark_and_drift_are_reachable_from_the_package(tmp_path: Path) -> None:
    out = _python(
        """
        import modeltap
        print(callable(modeltap.drift.compare), callable(modeltap.spark.read))
        import modeltap.readers.frames
        print(callable(modeltap.read), modeltap.read is modeltap.readers.read)
        """
    )
    assert out.split() == ["True", "True", "True", "True"]


def test_the_version_comes_from_cargo_toml() -> None:
    # tomllib is 3.11+; the package supports 3.10.
    cargo = re.search(r'^version = "([^"]+)"$', (ROOT / "Cargo.toml").read_text(), re.MULTILINE)
    assert cargo is not None
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^version *=", pyproject, re.MULTILINE) is None
    assert 'dynamic = ["version"]' in pyproject
    assert modeltap.__version__ == importlib.metadata.version("modeltap") == cargo.group(1)


def test_a_configure_that_raises_changes_nothing(store: modeltap.LocalStore, tmp_path: Path) -> None:
    class Broken(modeltap.LocalStore):
        @property
        def flush_interval_hint(self) -> float:
            raise RuntimeError("this store cannot start")

    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    with pytest.raises(RuntimeError, match="cannot start"):
        modeltap.configure(store=Broken(tmp_path / "elsewhere"), flush_interval=None)
    c.collect(np.array([2.0]))
    assert modeltap.flush()
    assert [line.split(",")[0] for line in files(store)[0].read_text().splitlines()[1:]] == ["1.0", "2.0"]
    assert modeltap.lifecycle.default_store() is store
