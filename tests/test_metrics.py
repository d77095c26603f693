"""Prometheus metrics read the pipeline's counters at scrape time."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest

import modeltap
import modeltap.metrics


def test_metrics_show_rows_and_drops_by_reason(store: modeltap.LocalStore) -> None:
    registry = CollectorRegistry()
    modeltap.metrics.register(registry)
    c = modeltap.Collector("m", feature_names=["a"])
    c.collect(np.ones((3, 1)))
    c.enabled = False
    c.collect(np.ones((2, 1)))
    assert modeltap.flush()
    text = generate_latest(registry).decode()
    assert "modeltap_rows_collected_total 3.0" in text
    assert "modeltap_rows_written_total 3.0" in text
    assert "modeltap_rows_disabled_total 2.0" in text
    assert 'modeltap_rows_dropped_total{reason="ring_full"} 0.0' in text
    assert "modeltap_queue_depth 0.0" in text
    assert "modeltap_encoder_failed 0.0" in text
