"""Reading collected rows back: a date range of one stream, or a model's designations joined.

>>> df = modeltap.read("./modeldata", model="best_model", designation="inputs", start="2026-11-01")
"""

from modeltap.readers.frames import NoRows, StreamNotFound, TypesDiffer, export, read, read_joined
from modeltap.readers.partitions import Partition, partitions
from modeltap.readers.streams import Stream, streams

__all__ = [
    "NoRows",
    "Partition",
    "Stream",
    "StreamNotFound",
    "TypesDiffer",
    "export",
    "partitions",
    "read",
    "read_joined",
    "streams",
]
