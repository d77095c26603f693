"""modeltap's own ``$…`` columns, declared once: their names, what writes them, their types.

The writer (the collector and the Azure ML drop-ins), the readers, Spark and the CLI all take
the names from here.

>>> CORRELATION_ID
'$correlation_id'
>>> [title for _, title, _ in META_COLUMNS]
['$correlation_id', '$scoring_timestamp', '$request_id', '$row']
"""

from __future__ import annotations

import re
from typing import Literal

#: A column written after the values: (kind, title, the text of a ``constant``). The kinds are
#: what the native core fills in: ``correlation_id``, ``timestamp``, ``request_id``, ``row``,
#: ``constant``.
MetaColumn = tuple[str, str, "str | None"]

CORRELATION_ID = "$correlation_id"
SCORING_TIMESTAMP = "$scoring_timestamp"
REQUEST_ID = "$request_id"
ROW = "$row"

#: Columns written after the values of every row of a :class:`modeltap.Collector`.
META_COLUMNS: tuple[MetaColumn, ...] = (
    ("correlation_id", CORRELATION_ID, None),
    ("timestamp", SCORING_TIMESTAMP, None),
    ("request_id", REQUEST_ID, None),
    ("row", ROW, None),
)

# Azure ML v1's ModelDataCollector columns, written by the v1 drop-in (modeltap.azureml.v1).
AML_CORRELATION_ID = "$aml_dc_correlation_id"
AML_SCORING_TIMESTAMP = "$aml_dc_scoring_timestamp"
AML_BOUNDARY = "$aml_dc_boundary"
AML_WORKSPACE = "$aml_workspace"
AML_SERVICE_NAME = "$aml_service_name"
AML_MODEL_NAME = "$aml_model_name"
AML_MODEL_VERSION = "$aml_model_version"
AML_REQUEST_ID = "$aml_request_id"

#: The columns v1 appends after the values, in its order.
AML_COLUMNS = (
    AML_CORRELATION_ID,
    AML_SCORING_TIMESTAMP,
    AML_BOUNDARY,
    AML_WORKSPACE,
    AML_SERVICE_NAME,
    AML_MODEL_NAME,
    AML_MODEL_VERSION,
    AML_REQUEST_ID,
)

#: Columns that identify a row across designations, modeltap's and Azure ML v1's.
ID_COLUMNS = (CORRELATION_ID, AML_CORRELATION_ID)
#: Columns holding the time of the ``collect()`` call.
TIMESTAMP_COLUMNS = (SCORING_TIMESTAMP, AML_SCORING_TIMESTAMP)


def is_own(name: object) -> bool:
    """Whether a column is one of modeltap's (or Azure ML's) own, not a feature: they start with ``$``.

    >>> is_own("$row"), is_own("age")
    (True, False)
    """
    return str(name).startswith("$")


#: The types a column is recorded as (the native core's ``rust/schema.rs`` declares the same
#: names and letters): ``timestamp`` is naive, ``timestamp_utc`` an instant written ending ``Z``.
Type = Literal["string", "int64", "uint64", "float64", "bool", "timestamp", "timestamp_utc"]

#: Each type's letter in the record of a file's column types.
TYPE_CODES: dict[str, Type] = {
    "s": "string",
    "i": "int64",
    "u": "uint64",
    "f": "float64",
    "b": "bool",
    "t": "timestamp",
    "z": "timestamp_utc",
}

#: Where a file's column types are recorded: the Azure blob metadata key (``x-ms-meta-…``), and
#: the name of the folder of side files (LocalStore: ``<root>/.modeltap/schema/<file's path>.schema``;
#: Azure, for a record too long for metadata: the blob ``.modeltap/schema/<blob's name>.schema``).
SCHEMA_KEY = "modeltap_schema"
SCHEMA_FOLDER = ".modeltap/schema"

_SCHEMA_VERSION = "1:"
_RUN = re.compile(r"([a-z])(\d*)")


def parse_schema(record: str) -> list[Type]:
    """A file's column types from their record: ``1:`` then each run of one type as its letter
    and, when longer than one, its length.

    >>> parse_schema("1:f2szi")
    ['float64', 'float64', 'string', 'timestamp_utc', 'int64']
    """
    if not record.startswith(_SCHEMA_VERSION):
        raise ValueError(f"not a column types record modeltap writes: {record[:40]!r}")
    body = record[len(_SCHEMA_VERSION) :]
    types: list[Type] = []
    at = 0
    while at < len(body):
        run = _RUN.match(body, at)
        if run is None or run.group(1) not in TYPE_CODES or run.group(2).startswith("0"):
            raise ValueError(f"a column types record with {body[at : at + 10]!r} at {at}: not a type letter")
        types.extend([TYPE_CODES[run.group(1)]] * int(run.group(2) or 1))
        at = run.end()
    return types


#: What each of these columns holds, for readers that would otherwise guess from the values
#: (an id of digits is still text): for files written before types were recorded.
TYPES: dict[str, Type] = {
    CORRELATION_ID: "string",
    SCORING_TIMESTAMP: "timestamp_utc",
    REQUEST_ID: "string",
    ROW: "int64",
    AML_CORRELATION_ID: "string",
    AML_SCORING_TIMESTAMP: "timestamp",
    AML_REQUEST_ID: "string",
    AML_WORKSPACE: "string",
    AML_SERVICE_NAME: "string",
    AML_MODEL_NAME: "string",
    AML_MODEL_VERSION: "string",
}
