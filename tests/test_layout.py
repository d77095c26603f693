"""Names a store cannot write are refused when a collector is made, never found out later by
the uploader; the same checks serve every field read back from a spool file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modeltap
from modeltap.azureml.v1 import ModelDataCollector
from modeltap.layout import MAX_BLOB_NAME, check_folder, check_part
from modeltap.stores.azure import AzureBlobStore

UNWRITABLE = {
    "300 characters (ENAMETOOLONG)": "m" * 300,
    "256 bytes of UTF-8 in 128 characters": "é" * 128,
    "a lone surrogate": "model\ud800",
    "a lone low surrogate": "\udc80",
    "a control character": "a\x01b",
    "a C1 control character": "a\x85b",
    "DEL": "a\x7fb",
    "a backslash": "a\\b",
    "a slash": "a/b",
    "a trailing dot": "model.",
    "dot-dot": "..",
    "a noncharacter": "a\ufffeb",
    "surrounding spaces": " a",
    "empty": "",
}
POSITIONS = ("model_name", "designation", "model_version", "service", "workspace")


@pytest.mark.parametrize("what", POSITIONS)
@pytest.mark.parametrize("bad", list(UNWRITABLE), ids=list(UNWRITABLE))
def test_a_collector_with_an_unwritable_name_is_refused_and_changes_nothing(
    store: modeltap.LocalStore, what: str, bad: str
) -> None:
    before = modeltap.stats()
    kwargs: dict[str, str] = {"model_name": "m", "designation": "inputs"}
    value = UNWRITABLE[bad]
    kwargs[what] = f"sub/{value}/ws" if what == "workspace" else value
    if what == "workspace" and bad == "a slash":
        kwargs[what] = "a/b/c/d"
    with pytest.raises(ValueError):
        modeltap.Collector(**kwargs)  # type: ignore[arg-type]
    assert modeltap.stats()["rows_collected"] == before["rows_collected"]
    assert list(store.root.rglob("*")) == []


def test_the_whole_path_must_fit_a_blob_name(store: modeltap.LocalStore) -> None:
    # Each part alone is fine; together, with date folders and a rolled-over file name, too long.
    parts = ["p" * 200] * 4
    with pytest.raises(ValueError, match=f"a blob name takes at most {MAX_BLOB_NAME}"):
        modeltap.Collector(parts[0], "inputs", service=parts[1], workspace="/".join(parts[1:]))
    with pytest.raises(ValueError, match="a blob name takes at most"):
        ModelDataCollector("m" * 200, workspace="/".join(parts[1:]), collection_name="c" * 200, file_names="v1")


def test_the_longest_names_that_fit_are_written(tmp_path: Path, azure_store: AzureBlobStore) -> None:
    name = "é" * 127  # 254 bytes: the most a folder name takes
    # Workspace, service and model names whose longest file path (hourly folders, the room kept
    # for data.999999.csv) is exactly 1,024 characters; one more is refused.
    fixed = len("s/////1/inputs/9999/12/31/23/data.999999.csv")
    room = MAX_BLOB_NAME - fixed
    rg, ws, svc, model = "r" * 250, "w" * 250, "v" * 250, "m" * (room - 750)
    assert len(model) <= 255
    with pytest.raises(ValueError, match="a blob name takes at most"):
        modeltap.Collector(model + "m", "inputs", ["x"], "1", svc, f"s/{rg}/{ws}")
    local = modeltap.LocalStore(tmp_path / "local")
    for store in (local, azure_store):
        modeltap.configure(store=store, flush_interval=60.0)
        a = modeltap.Collector(name, "inputs", ["x"], "1", "svc", "s/r/w")
        b = modeltap.Collector(model, "inputs", ["x"], "1", svc, f"s/{rg}/{ws}", partition="hour")
        a.collect(np.array([1.0]))
        b.collect(np.array([2.0]))
        assert modeltap.flush()
    assert len(list(local.root.rglob("*.csv"))) == 2
    assert len(list(azure_store.list_files())) == 2


def test_v1_collection_names_are_file_names() -> None:
    for bad in ("a\\b", "a\x00", "x" * 250, "c\ud800"):
        with pytest.raises(ValueError):
            ModelDataCollector("m", collection_name=bad)


def test_check_folder_is_the_check_of_a_folder_read_back() -> None:
    assert check_folder("s/r/w/svc/m/1/inputs/2026/11/24/05") == "s/r/w/svc/m/1/inputs/2026/11/24/05"
    for bad in ("../../etc", "a//b", "/abs", "a/b/", "a/.", "a\\..\\b", "a/b\x00", "x/" * 300 + "x", "a/\ud800"):
        with pytest.raises(ValueError):
            check_folder(bad)
    with pytest.raises(ValueError, match="file name"):
        check_folder("a/b", stem="../x")
    with pytest.raises(TypeError):
        check_folder(None)
    assert check_part("ünïcödé-名前", "model_name") == "ünïcödé-名前"
