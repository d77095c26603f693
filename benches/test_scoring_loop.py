"""Suite 3, a scoring service loop: decode a JSON request of 1x6 features, run a small numpy
model (a 6-32-32-1 MLP), collect inputs and predictions, encode the JSON answer; timed until
everything collected is written. Against the same loop without collection and with each peer.
Budget: modeltap <= 1.10x the loop without collection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import median, size
from peers import azureml_v1, azureml_v2
from peers.handwritten import QueueCsvWriter

REQUESTS = size(20_000, 2_000)
ROUNDS = size(5, 4)
FEATURES = [f"f{i}" for i in range(6)]
_RNG = np.random.default_rng(0)
W1, W2, W3 = _RNG.normal(size=(6, 32)), _RNG.normal(size=(32, 32)), _RNG.normal(size=(32, 1))
BODIES = [json.dumps({"data": row}) for row in _RNG.random((REQUESTS, 6)).tolist()]
MEDIANS: dict[str, float] = {}
#: The fastest round of each: what CI's gross check compares, as the least disturbed by a busy machine.
FASTEST: dict[str, float] = {}
NOTES: dict[str, str] = {}

Collect = Callable[[np.ndarray, np.ndarray], object]


def predict(x: np.ndarray) -> np.ndarray:
    return np.tanh(np.tanh(x @ W1) @ W2) @ W3


def serve(collect: Collect | None) -> None:
    for body in BODIES:
        x = np.asarray(json.loads(body)["data"]).reshape(1, 6)
        y = predict(x)
        if collect is not None:
            collect(x, y)
        json.dumps({"prediction": y.ravel().tolist()})


def _bench(benchmark: Any, name: str, setup: Callable[[], tuple[Collect | None, Callable[[], None]]]) -> None:
    benchmark.group = "scoring loop"

    def run(collect: Collect | None, finish: Callable[[], None]) -> None:
        serve(collect)
        finish()

    benchmark.pedantic(run, setup=lambda: (setup(), {}), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    m = median(benchmark)
    if m is not None:
        MEDIANS[name] = m
        FASTEST[name] = float(benchmark.stats.stats.min)
        benchmark.extra_info["requests/s"] = round(REQUESTS / m)


@pytest.fixture(scope="module")
def modeltap_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[modeltap.LocalStore]:
    # No fsync: the peers write to the page cache too; "written" means the same for all.
    store = modeltap.LocalStore(tmp_path_factory.mktemp("scoring"), fsync=False)
    modeltap.configure(store=store, spool_max_bytes=0)
    yield store
    assert modeltap.close()


def test_no_collection(benchmark: Any) -> None:
    _bench(benchmark, "no collection", lambda: (None, lambda: None))


def test_modeltap(benchmark: Any, modeltap_store: modeltap.LocalStore) -> None:
    inputs = modeltap.Collector("bench", "inputs", FEATURES)
    outputs = modeltap.Collector("bench", "predictions", ["y"])

    def collect(x: np.ndarray, y: np.ndarray) -> None:
        outputs.collect(y, correlation=inputs.collect(x))

    def finish() -> None:
        assert modeltap.flush(timeout=120)

    _bench(benchmark, "modeltap", lambda: (collect, finish))
    s = modeltap.stats()
    assert sum(s["rows_dropped"].values()) == 0


def test_handwritten_queue_thread_csv(benchmark: Any, tmp_path: Path) -> None:
    def setup() -> tuple[Collect, Callable[[], None]]:
        inputs = QueueCsvWriter(tmp_path / "inputs.csv", FEATURES)
        outputs = QueueCsvWriter(tmp_path / "outputs.csv", ["y"])

        def collect(x: np.ndarray, y: np.ndarray) -> None:
            inputs.collect(x)
            outputs.collect(y)

        def finish() -> None:
            inputs.close()
            outputs.close()

        return collect, finish

    _bench(benchmark, "queue + thread + csv", setup)


def test_azureml_v1(benchmark: Any) -> None:
    mdc = azureml_v1.model_data_collector()
    if mdc is None:
        pytest.skip("azureml-monitoring==0.1.0a21 is not installed (make bench-peers)")
    NOTES["azureml v1"] = azureml_v1.LOWER_BOUND_NOTE
    inputs = mdc("bench", designation="inputs", feature_names=FEATURES)
    outputs = mdc("bench", designation="predictions", feature_names=["y"])

    def collect(x: np.ndarray, y: np.ndarray) -> None:
        outputs.collect(y, inputs.collect(x))

    _bench(benchmark, "azureml v1", lambda: (collect, lambda: None))


@pytest.mark.timeout(900)  # ~1 ms a request: the full run takes minutes
def test_azureml_v2(benchmark: Any, tmp_path: Path) -> None:
    os.environ["AZUREML_MDC_QUEUE_CAPACITY"] = str(4 * REQUESTS)  # never full: measure cost, not drops
    errors: list[Exception] = []

    def setup() -> tuple[Collect, Callable[[], None]]:
        started = azureml_v2.start(tmp_path / "capture.log")
        if started is None:
            pytest.skip("azureml-ai-monitoring is not installed")
        collector_class, handler = started
        inputs = collector_class(name="model_inputs", on_error=errors.append)
        outputs = collector_class(name="model_outputs", on_error=errors.append)

        def collect(x: np.ndarray, y: np.ndarray) -> None:
            # v2 takes DataFrames only: building one per request is part of what it costs.
            context = inputs.collect(pd.DataFrame(x, columns=FEATURES))
            outputs.collect(pd.DataFrame(y, columns=["y"]), context)

        return collect, lambda: azureml_v2.stop(handler)

    _bench(benchmark, "azureml v2", setup)
    assert not errors, errors[:3]


def test_gross_regressions() -> None:
    if not {"no collection", "modeltap"} <= MEDIANS.keys():
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    base = MEDIANS["no collection"]
    for name, m in MEDIANS.items():
        note = NOTES.get(name, "")
        print(f"\nscoring loop: {name}: {REQUESTS / m:,.0f} requests/s, {m / base:.2f}x no collection {note}")
    assert FASTEST["modeltap"] / FASTEST["no collection"] < 2.0
