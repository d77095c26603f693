"""Azure ML's v2 ``Collector`` (``azureml-ai-monitoring``) with its local-capture sender, which
logs each payload through the ``local.capture`` logger: here into a file."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any


def start(path: Path) -> tuple[Any, logging.Handler] | None:
    """v2's Collector class, capturing into ``path``; None when the package is not installed."""
    os.environ["AZUREML_MDC_ENABLED"] = "true"
    os.environ["AZUREML_MDC_LOCAL_CAPTURE"] = "true"
    try:
        from azureml.ai.monitoring import Collector  # noqa: PLC0415 - an optional peer
    except ImportError:
        return None
    handler = logging.FileHandler(path)
    capture = logging.getLogger("local.capture")
    capture.setLevel(logging.INFO)
    capture.propagate = False
    capture.addHandler(handler)
    return Collector, handler


def stop(handler: logging.Handler) -> None:
    """Waits until v2's worker has sent (written) every payload, then closes the file."""
    from azureml.ai.monitoring.init import teardown  # noqa: PLC0415 - an optional peer

    teardown(wait_for_flush=True)
    logging.getLogger("local.capture").removeHandler(handler)
    handler.close()
