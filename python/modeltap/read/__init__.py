"""Reading collected rows back: a date range of one stream, or a model's designations joined.

>>> df = modeltap.read("./modeldata", model="best_model", designation="inputs", start="2026-11-01")
"""

from modeltap.read.frames import export, read, read_joined
from modeltap.read.partitions import Partition, partitions

__all__ = ["Partition", "export", "partitions", "read", "read_joined"]
