"""Reading collected rows back: a date range of one stream, or a model's designations joined.

>>> df = modeltap.read("./modeldata", model="best_model", designation="inputs", start="2026-11-01")
"""

from modeltap.readers.frames import export, read, read_joined
from modeltap.readers.partitions import Partition, partitions

__all__ = ["Partition", "export", "partitions", "read", "read_joined"]
