"""The public API end to end into a LocalStore."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import files, read

META = ["$correlation_id", "$scoring_timestamp", "$request_id", "$row"]


def test_inputs_and_predictions_join_row_by_row(store: modeltap.LocalStore) -> None:
    inputs = modeltap.Collector(
        "best_model",
        designation="inputs",
        feature_names=["feat1", "feat2"],
        model_version="10",
        service="aks-w-collv9",
        workspace="sub/rg/ws",
    )
    preds = modeltap.Collector(
        "best_model",
        designation="predictions",
        feature_names=["prediction"],
        model_version="10",
        service="aks-w-collv9",
        workspace="sub/rg/ws",
    )
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    corr = inputs.collect(X)
    preds.collect(X.sum(axis=1), correlation=corr)
    assert modeltap.flush()
    paths = files(store)
    assert [p.relative_to(store.root).parts[:7] for p in paths] == [
        ("sub", "rg", "ws", "aks-w-collv9", "best_model", "10", "inputs"),
        ("sub", "rg", "ws", "aks-w-collv9", "best_model", "10", "predictions"),
    ]
    x, y = read(paths[0]), read(paths[1])
    assert list(x.columns) == ["feat1", "feat2", *META]
    assert list(y.columns) == ["prediction", *META]
    joined = x.merge(y, on=["$correlation_id", "$row"])
    assert len(joined) == 3
    np.testing.assert_array_equal(joined["feat1"] + joined["feat2"], joined["prediction"])
    assert (x["$correlation_id"] == corr.id).all()
    assert list(x["$row"]) == [0, 1, 2]
    stamp = pd.Timestamp(x["$scoring_timestamp"][0])
    assert stamp.tzinfo is not None
    assert abs(stamp - pd.Timestamp(corr.timestamp)) < pd.Timedelta(microseconds=1)


def test_path_has_no_zero_padding_and_ends_in_data_csv(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", designation="inputs", feature_names=["a"])
    c.collect(np.array([1.0]))
    modeltap.flush()
    (path,) = files(store)
    parts = path.relative_to(store.root).parts
    assert parts[-1] == "data.csv"
    year, month, day = parts[-4:-1]
    assert year.isdigit() and len(year) == 4
    assert not month.startswith("0") and not day.startswith("0")
    assert parts[:7] == ("default", "default", "default", "default", "m", "default", "inputs")


def test_caller_id_prefixes_the_generated_one(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", designation="inputs", feature_names=["a"])
    corr = c.collect(np.array([1.0]), correlation_id="LoanNumber-123", request_id="req-9")
    assert corr.id.startswith("LoanNumber-123-")
    assert corr.request_id == "req-9"
    modeltap.flush()
    df = read(files(store)[0])
    assert df["$correlation_id"][0] == corr.id
    assert df["$request_id"][0] == "req-9"


def test_ids_are_unique_per_request(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a"])
    ids = {c.collect(np.array([1.0])).id for _ in range(1000)}
    assert len(ids) == 1000


def test_dataframe_gives_the_header(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", designation="inputs")
    df = pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Lima, Peru"], "score": [0.5, np.nan]})
    c.collect(df)
    modeltap.flush()
    out = read(files(store)[0])
    assert list(out.columns) == ["age", "city", "score", *META]
    assert list(out["city"]) == ["Oslo", "Lima, Peru"]
    assert out["score"].isna().tolist() == [False, True]
    assert c.feature_names == ("age", "city", "score")


def test_dataframe_columns_are_taken_by_name(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", designation="inputs", feature_names=["b", "a"])
    c.collect(pd.DataFrame({"a": [1, 2], "b": [10, 20]}))
    modeltap.flush()
    out = read(files(store)[0])
    assert list(out["b"]) == [10, 20] and list(out["a"]) == [1, 2]


def test_lists_of_rows_and_single_rows(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["x", "label", "ok"])
    c.collect([[1.5, "a", True], [2.5, None, False]])
    c.collect([3.5, "c,d", True])
    modeltap.flush()
    out = read(files(store)[0])
    assert list(out["x"]) == [1.5, 2.5, 3.5]
    assert out["label"].tolist()[0] == "a" and pd.isna(out["label"][1]) and out["label"][2] == "c,d"
    assert list(out["ok"]) == [True, False, True]


def test_predictions_as_a_1d_column(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", designation="predictions", feature_names=["prediction"])
    c.collect(np.array([0.1, 0.2, 0.3]))
    modeltap.flush()
    out = read(files(store)[0])
    assert list(out["prediction"]) == [0.1, 0.2, 0.3]
    assert list(out["$row"]) == [0, 1, 2]


def test_first_collect_fixes_the_columns_without_names(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m")
    c.collect(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"has 4 columns but this collector takes 3"):
        c.collect(np.zeros((2, 4)))
    modeltap.flush()
    assert list(read(files(store)[0]).columns[:3]) == ["col_0", "col_1", "col_2"]


def test_disabled_collect_is_a_counted_no_op(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a", "b"])
    c.enabled = False
    c.collect(np.zeros((5, 2)))
    assert modeltap.stats()["rows_disabled"] == 5
    c.enabled = True
    c.collect(np.zeros((1, 2)))
    modeltap.flush()
    s = modeltap.stats()
    assert s["rows_written"] == 1 and s["rows_collected"] == 1


def test_sampling_keeps_inputs_and_predictions_together(store: modeltap.LocalStore) -> None:
    inputs = modeltap.Collector("m", designation="inputs", feature_names=["a"], sample_rate=0.3)
    preds = modeltap.Collector("m", designation="predictions", feature_names=["p"], sample_rate=0.3)
    for i in range(2000):
        corr = inputs.collect(np.array([float(i)]))
        preds.collect(np.array([float(i)]), correlation=corr)
    modeltap.flush()
    x, y = (read(p) for p in files(store))
    assert 450 < len(x) < 750
    assert set(x["$correlation_id"]) == set(y["$correlation_id"])
    assert modeltap.stats()["rows_sampled_out"] == 2 * (2000 - len(x))


def test_copy_true_protects_against_later_mutation(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a"])
    x = np.array([1.0])
    c.collect(x, copy=True)
    x[0] = 99.0
    modeltap.flush()
    assert read(files(store)[0])["a"].tolist() == [1.0]


def _objects(n: int) -> np.ndarray:
    column = np.empty(n, dtype=object)
    column[:] = "a"
    return column


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        # Rendered during the call: nothing is kept, so nothing is copied.
        (_objects(100_000).reshape(-1, 1), 0),
        ({"a": _objects(100_000)}, 0),
        # Made native (a copy) anyway: not copied before that.
        (np.arange(100_000, dtype=">f8").reshape(-1, 1), 1),
        ({"a": np.arange(100_000, dtype=">f8")}, 1),
        (pd.DataFrame({"a": pd.Series(_objects(100_000), dtype=object)}), 0),
        # Read in place: copied once.
        (np.arange(100_000.0).reshape(-1, 1), 1),
        (pd.DataFrame({"a": np.arange(100_000.0)}), 1),
    ],
    ids=[
        "object array",
        "dict of objects",
        "byte-swapped array",
        "dict of byte-swapped",
        "object frame",
        "array",
        "frame",
    ],
)
def test_copy_true_copies_only_what_is_kept(store: modeltap.LocalStore, data: object, kept: int) -> None:
    # tracemalloc sees every thread: no chunk is sealed (and made bytes) while it looks.
    modeltap.configure(store=store, flush_interval=60.0, chunk_bytes=1 << 30)
    c = modeltap.Collector("m", feature_names=["a"])
    nbytes = 100_000 * 8
    c.collect(data, copy=True)  # the stream's contract is fixed; imports are done
    tracemalloc.start()
    try:
        c.collect(data, copy=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept * nbytes <= peak < (kept + 0.5) * nbytes
    if isinstance(data, pd.DataFrame):
        first = data.iloc[0, 0]
        data.iloc[0, 0] = 99.0 if data.dtypes.iloc[0].kind == "f" else "changed"
    else:
        source = data if isinstance(data, np.ndarray) else data["a"]  # type: ignore[index]
        first = source.flat[0]
        source.flat[0] = 99.0 if source.dtype.kind == "f" else "changed"
    assert modeltap.flush()
    written = read(files(store)[0])["a"]
    assert len(written) == 200_000 and written[0] == written[100_000] == first, "written as collected"


def test_stats_count_the_whole_path(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a", "b"])
    for _ in range(10):
        c.collect(np.ones((3, 2)))
    modeltap.flush()
    s = modeltap.stats()
    assert s["rows_collected"] == s["rows_encoded"] == s["rows_written"] == 30
    assert s["bytes_written"] == s["bytes_encoded"] > 0
    assert s["rows_dropped"] == dict.fromkeys(
        ("ring_full", "timeout", "closed", "encoder", "arrow_import", "store", "spool_full", "dead_letter"), 0
    )
    assert s["encoder_error"] is None
    assert s["queue_depth"] == 0


def test_collect_after_close_is_counted(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a"])
    assert modeltap.close()
    assert modeltap.flush(), "nothing is pending after a close that finished"
    c.collect(np.ones((4, 1)))
    assert modeltap.stats()["rows_dropped"]["closed"] == 4


def test_context_manager_flushes_on_exit(store: modeltap.LocalStore) -> None:
    with modeltap.Collector("m", designation="labels", feature_names=["y"]) as labels:
        labels.collect(np.array([1.0, 0.0, 1.0]).reshape(3, 1))
        assert files(store) == []
    assert read(files(store)[0])["y"].tolist() == [1.0, 0.0, 1.0]
    assert not modeltap.lifecycle.pipeline().closed, "other collectors keep collecting"


def test_empty_batches_write_nothing(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a", "b"])
    c.collect(np.zeros((0, 2)))
    c.collect(pd.DataFrame({"a": [], "b": []}))
    c.collect([])
    modeltap.flush()
    assert files(store) == []
    assert modeltap.stats()["rows_collected"] == 0


def test_rows_are_written_after_flush_interval_without_a_flush(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, flush_interval=0.2)
    c = modeltap.Collector("m", feature_names=["a"])
    c.collect(np.array([1.0]))
    deadline = time.monotonic() + 10
    while not files(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read(files(store)[0])["a"].tolist() == [1.0]
    assert modeltap.close()
