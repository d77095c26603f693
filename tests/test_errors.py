"""Bad input: a clear exception naming what was wrong, and nothing written."""

from __future__ import annotations

import numpy as np
import pytest

import modeltap
from conftest import files


@pytest.fixture
def c(store: modeltap.LocalStore) -> modeltap.Collector:
    return modeltap.Collector("m", feature_names=["a", "b"])


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (np.zeros((2, 3)), ValueError, r"has 3 columns but this collector takes 2"),
        (np.zeros((1, 2, 2)), TypeError, r"3-D array"),
        (np.array(5.0), TypeError, r"0-D array"),
        (np.zeros((3, 0)), ValueError, r"3 rows but no columns"),
        (np.zeros((1, 2), dtype=complex), TypeError, r"complex"),
        (np.zeros((1, 2), dtype="m8[s]"), TypeError, r"timedelta64|dtype"),
        (np.array([[b"x", b"y"]]), TypeError, r"dtype"),
        (np.array([[{"k": 1}, 2]], dtype=object), TypeError, r"column 0 holds a dict"),
        ({1, 2}, TypeError, r"got set"),
        ("a,b", TypeError, r"got str"),
        (42, TypeError, r"got int"),
        ([[1, 2], [3]], ValueError, r"row 1 has 1 values, row 0 has 2"),
        (np.array([["\ud800", "x"]], dtype=object), ValueError, r"not valid Unicode"),
    ],
)
def test_rejected_and_nothing_written(
    c: modeltap.Collector, store: modeltap.LocalStore, data: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        c.collect(data)
    modeltap.flush()
    assert files(store) == []
    s = modeltap.stats()
    assert s["rows_collected"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"designation": "../etc"}, r"designation"),
        ({"designation": "a/b"}, r"designation"),
        ({"designation": ""}, r"designation"),
        ({"model_version": "1\n"}, r"model_version"),
        ({"workspace": "only/two"}, r"workspace must be"),
        ({"partition": "week"}, r"partition"),
        ({"policy": "wait"}, r"policy"),
        ({"feature_names": ["a", "a"]}, r"duplicates"),
        ({"feature_names": ["a", "$row"]}, r"adds itself"),
        ({"feature_names": []}, r"empty"),
        ({"sample_rate": 1.5}, r"sample_rate"),
        ({"timeout": -1}, r"timeout"),
    ],
)
def test_bad_settings(store: modeltap.LocalStore, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        modeltap.Collector("m", **kwargs)  # type: ignore[arg-type]


def test_bad_model_name_type(store: modeltap.LocalStore) -> None:
    with pytest.raises(TypeError, match="model_name must be a str"):
        modeltap.Collector(3)  # type: ignore[arg-type]


def test_correlation_and_correlation_id_together(c: modeltap.Collector) -> None:
    corr = c.collect(np.zeros(2))
    with pytest.raises(ValueError, match="either correlation"):
        c.collect(np.zeros(2), correlation=corr, correlation_id="x")


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="capacity"):
        modeltap.configure(capacity=0)
    with pytest.raises(ValueError, match="flush_interval"):
        modeltap.configure(flush_interval=-1)
