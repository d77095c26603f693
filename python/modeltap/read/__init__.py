"""Reading collected rows back: a date range of one stream, or a model's designations joined.

>>> df = modeltap.read("./modeldata", model="best_model", designation="inputs", start="2026-11-01")
"""

from modeltap.read.frames import NoRows, StreamNotFound, export, read, read_joined
from modeltap.read.partitions import Partition, partitions
from modeltap.read.streams import Stream, streams

__all__ = ["NoRows", "Partition", "Stream", "StreamNotFound", "export", "partitions", "read", "read_joined", "streams"]
