"""Prometheus metrics for the process's pipeline: rows collected, dropped (by reason), written.

>>> import modeltap.metrics
>>> modeltap.metrics.register()

Needs ``prometheus-client`` (``pip install modeltap[prometheus]``). Values are read from
:func:`modeltap.stats` at scrape time, so collecting pays nothing for them. Counters restart
from zero when the pipeline is replaced (``configure()``, a forked worker), which Prometheus
treats as a counter reset.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from modeltap import lifecycle

_COUNTERS = (
    ("rows_collected", "Rows accepted by collect()."),
    ("rows_encoded", "Rows encoded to CSV."),
    ("rows_written", "Rows the store took."),
    ("rows_disabled", "Rows skipped because their collector was switched off."),
    ("rows_sampled_out", "Rows left out by sample_rate."),
    ("bytes_encoded", "CSV bytes encoded."),
    ("bytes_written", "CSV bytes the store took."),
    ("chunks_written", "Chunks the store took."),
    ("store_errors", "Failed store appends (each is retried)."),
)
_GAUGES = (
    ("queue_depth", "collect() calls queued for the encoder."),
    ("queue_bytes", "Bytes of collected arrays the queue keeps alive."),
    ("open_chunks", "Chunks being filled."),
    ("open_bytes", "Bytes in chunks being filled."),
)


class PipelineCollector(Collector):
    """A Prometheus collector reading the current pipeline's counters."""

    def collect(self) -> Iterator[Metric]:
        stats = lifecycle.current_stats()
        if stats is None:
            return
        for name, doc in _COUNTERS:
            yield CounterMetricFamily(f"modeltap_{name}", doc, value=stats[name])
        dropped = CounterMetricFamily("modeltap_rows_dropped", "Rows lost, by reason.", labels=["reason"])
        for reason, value in stats["rows_dropped"].items():
            dropped.add_metric([reason], value)
        yield dropped
        for name, doc in _GAUGES:
            yield GaugeMetricFamily(f"modeltap_{name}", doc, value=stats[name])
        yield from _pacing(stats["pacing"])
        yield GaugeMetricFamily(
            "modeltap_encoder_failed",
            "1 if the encoder thread failed (see logs).",
            value=int(bool(stats["encoder_error"])),
        )


#: Per destination file of a paced store (see modeltap.paces): its key in stats()["pacing"].
_PACING = (
    ("append_interval_seconds", "interval", "Seconds between this process's appends to the blob, as paced now."),
    ("blob_blocks", "blocks", "The blob's committed block count, as its last append answered."),
    ("blob_projected_blocks", "projected_blocks", "The blob's block count projected at its partition's end."),
    ("blob_block_budget", "budget", "Blocks the pacing plans for (the blob's limit less a reserve)."),
)


def _pacing(pacing: dict[str, dict[str, float]]) -> Iterator[Metric]:
    for name, key, doc in _PACING:
        family = GaugeMetricFamily(f"modeltap_{name}", doc, labels=["file"])
        for file, state in pacing.items():
            family.add_metric([file], float(state[key]))
        yield family


def register(registry: CollectorRegistry = REGISTRY) -> PipelineCollector:
    """Adds modeltap's metrics to ``registry`` (prometheus_client's default one unless given)."""
    collector = PipelineCollector()
    registry.register(collector)
    return collector
