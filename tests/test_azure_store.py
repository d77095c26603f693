"""AzureBlobStore against a real Azurite: layout, headers, roll-over, connecting, secrets."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

import modeltap
from conftest import blob_lines
from modeltap.spool import Spool
from modeltap.stores import from_environment, open_store
from modeltap.stores.azure import AzureBlobStore, split_rows
from modeltap.stores.errors import StoreAuthError, StoreError
from servers.azurite import ACCOUNT, KEY, Azurite

FOLDER = "sub/rg/ws/svc/model/1/inputs/2026/11/24"


def test_collected_rows_land_in_the_azure_ml_layout_with_one_header(azure_store: AzureBlobStore) -> None:
    modeltap.configure(store=azure_store, flush_interval=60.0)
    c = modeltap.Collector("model", "inputs", ["a", "b"], "1", "svc", "sub/rg/ws")
    for i in range(10):
        c.collect(np.array([[float(i), 2.0 * i]]))
    assert modeltap.flush(timeout=30)
    c.collect(np.array([[10.0, 20.0]]))
    assert modeltap.close()
    ((path, lines),) = blob_lines(azure_store).items()
    today = datetime.now(timezone.utc)
    assert path == f"sub/rg/ws/svc/model/1/inputs/{today.year}/{today.month}/{today.day}/data.csv"
    assert lines[0] == "a,b,$correlation_id,$scoring_timestamp,$request_id,$row"
    assert [line.split(",")[:2] for line in lines[1:]] == [[f"{i}.0", f"{2 * i}.0"] for i in range(11)]
    assert modeltap.stats()["rows_written"] == 11


def test_list_and_read(azure_store: AzureBlobStore) -> None:
    azure_store.append(FOLDER, b"1,2\n", b"a,b\n")
    azure_store.append("sub/rg/ws/svc/model/1/inputs/2026/11/25", b"3,4\n", b"a,b\n")
    assert [f.path for f in azure_store.list_files("sub/rg/ws/svc/model/1/inputs/2026/11")] == [
        f"{FOLDER}/data.csv",
        "sub/rg/ws/svc/model/1/inputs/2026/11/25/data.csv",
    ]
    assert [f.size for f in azure_store.list_files(FOLDER)] == [8]
    assert azure_store.read_bytes(f"{FOLDER}/data.csv") == b"a,b\n1,2\n"
    with pytest.raises(FileNotFoundError):
        azure_store.read_bytes(f"{FOLDER}/data.7.csv")


def test_replicas_creating_the_same_blob_at_once_write_one_header(azurite: Azurite, container: str) -> None:
    stores = [AzureBlobStore(connection_string=azurite.connection_string, container=container) for _ in range(8)]
    start = threading.Barrier(len(stores))

    def replica(i: int) -> None:
        start.wait()
        stores[i].append(FOLDER, f"{i}\n".encode(), b"replica\n")

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = blob_lines(stores[0])[f"{FOLDER}/data.csv"]
    assert lines[0] == "replica" and lines.count("replica") == 1
    assert sorted(lines[1:]) == [str(i) for i in range(8)]


def test_a_blob_with_another_header_continues_in_the_next(azurite: Azurite, azure_store: AzureBlobStore) -> None:
    azure_store.append(FOLDER, b"1,2\n", b"a,b\n")
    other = AzureBlobStore(connection_string=azurite.connection_string, container=azure_store.container)
    other.append(FOLDER, b"1,2,3\n", b"a,b,c\n")
    assert blob_lines(azure_store, FOLDER) == {
        f"{FOLDER}/data.csv": ["a,b", "1,2"],
        f"{FOLDER}/data.1.csv": ["a,b,c", "1,2,3"],
    }


def test_a_full_blob_rolls_over_to_the_next_with_its_own_header(azurite: Azurite, container: str) -> None:
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container, max_blocks=4)
    for i in range(7):
        store.append(FOLDER, f"{i}\n".encode(), b"h\n")
    # Block 1 of each blob is its header.
    assert blob_lines(store, FOLDER) == {
        f"{FOLDER}/data.csv": ["h", "0", "1", "2"],
        f"{FOLDER}/data.1.csv": ["h", "3", "4", "5"],
        f"{FOLDER}/data.2.csv": ["h", "6"],
    }
    # A new process continues in the last blob, not the first.
    again = AzureBlobStore(connection_string=azurite.connection_string, container=container, max_blocks=4)
    again.append(FOLDER, b"7\n", b"h\n")
    assert blob_lines(store, FOLDER)[f"{FOLDER}/data.2.csv"] == ["h", "6", "7"]


def test_the_size_limit_rolls_over_too(azurite: Azurite, container: str) -> None:
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container, max_blob_bytes=10)
    for i in range(4):
        store.append(FOLDER, f"{i}{i}{i}\n".encode(), b"h\n")
    assert blob_lines(store, FOLDER) == {
        f"{FOLDER}/data.csv": ["h", "000", "111"],
        f"{FOLDER}/data.1.csv": ["h", "222", "333"],
    }


def test_chunks_larger_than_a_block_are_cut_at_row_ends(azurite: Azurite, container: str) -> None:
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container, max_block_bytes=16)
    data = b'1,"a\nb"\n2,"c"\n3,"dddddd"\n4,e\n'
    store.append(FOLDER, data, b"h\n")
    assert store.read_bytes(f"{FOLDER}/data.csv") == b"h\n" + data


def test_split_rows_never_cuts_inside_a_quoted_field() -> None:
    data = b'1,"x\ny\nz"\n2,"q""\n"\n3,a\n'
    for limit in range(12, 40):
        pieces = split_rows(data, limit)
        assert b"".join(pieces) == data
        assert all(len(p) <= limit and p.endswith(b"\n") and p.count(b'"') % 2 == 0 for p in pieces)
    with pytest.raises(StoreError, match="a row of more than 5 bytes"):
        split_rows(b"123456789\n", 5)


def test_connects_by_account_url_with_a_credential(azurite: Azurite, container: str) -> None:
    store = AzureBlobStore(azurite.url, credential=AzureNamedKeyCredential(ACCOUNT, KEY), container=container)
    store.append(FOLDER, b"1\n", b"h\n")
    assert store.read_bytes(f"{FOLDER}/data.csv") == b"h\n1\n"
    assert repr(store) == f"AzureBlobStore('{azurite.url}/{container}')"


def test_an_account_url_alone_signs_in_with_default_azure_credential() -> None:
    # Nothing is sent until the first append, so no Azure account is needed to check this.
    store = AzureBlobStore("https://example.blob.core.windows.net")
    assert type(store._container.credential).__name__ == "DefaultAzureCredential"
    assert repr(store) == "AzureBlobStore('https://example.blob.core.windows.net/modeldata')"


def test_connects_by_sas_url_and_keeps_the_token_out_of_repr(azurite: Azurite, container: str) -> None:
    sas = _account_sas()
    store = open_store(f"{azurite.url}?{sas}")
    assert isinstance(store, AzureBlobStore)
    store = AzureBlobStore(f"{azurite.url}/{container}?{sas}")
    store.append(FOLDER, b"1\n", b"h\n")
    assert store.read_bytes(f"{FOLDER}/data.csv") == b"h\n1\n"
    assert "sig" not in repr(store) and sas not in repr(store)


def test_a_refused_signature_is_an_auth_error_without_secrets(azurite: Azurite, container: str, caplog) -> None:  # type: ignore[no-untyped-def]
    bad = _account_sas(key="A" * 86 + "==")
    store = AzureBlobStore(f"{azurite.url}/{container}?{bad}")
    with pytest.raises(StoreAuthError) as info, caplog.at_level(logging.DEBUG, logger="modeltap"):
        store.append(FOLDER, b"1\n", b"h\n")
    signature = dict(p.split("=", 1) for p in bad.split("&"))["sig"]
    for text in (str(info.value), caplog.text, repr(store)):
        assert signature not in text


def test_rows_refused_for_bad_credentials_are_reported_and_kept(azurite: Azurite, container: str, caplog) -> None:  # type: ignore[no-untyped-def]
    wrong_key = "B" * 86 + "=="
    cs = azurite.connection_string.replace(KEY, wrong_key)
    store = AzureBlobStore(connection_string=cs, container=container)
    modeltap.configure(store=store, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    with caplog.at_level(logging.DEBUG):
        assert not modeltap.flush(timeout=2)
        assert not modeltap.close(timeout=1)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("modeltap")]
    assert any("authorization failed (403)" in r.getMessage() for r in errors)
    assert wrong_key not in caplog.text and KEY not in caplog.text
    s = modeltap.stats()
    assert s["rows_spooled"] == 1 and s["rows_dropped"]["store"] == 0
    assert wrong_key not in str(s["last_store_error"])


def test_storage_from_the_environment(azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert from_environment() is None
    monkeypatch.setenv("AML_MODEL_DC_STORAGE", azurite.connection_string)
    store = from_environment()
    assert isinstance(store, AzureBlobStore) and store.container == "modeldata"
    monkeypatch.setenv("MODELTAP_STORAGE", str(tmp_path))
    assert isinstance(from_environment(), modeltap.LocalStore)
    monkeypatch.setenv("MODELTAP_STORAGE", "https://")
    with pytest.raises(ValueError, match=r"\$MODELTAP_STORAGE does not name a store") as info:
        from_environment()
    monkeypatch.setenv("MODELTAP_STORAGE", f"AccountName=x;AccountKey={KEY};Nonsense")
    with pytest.raises(ValueError) as info:
        from_environment()
    assert KEY not in str(info.value)


def test_the_default_store_comes_from_the_environment(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELTAP_STORAGE", azurite.connection_string)
    modeltap.lifecycle._process.default_store = None
    try:
        modeltap.configure(flush_interval=60.0)
        c = modeltap.Collector("envmodel", feature_names=["x"])
        c.collect(np.array([4.0]))
        assert modeltap.close()
        store = AzureBlobStore(connection_string=azurite.connection_string)
        (f,) = store.list_files("default/default/default/default/envmodel")
        assert store.read_bytes(f.path).decode().splitlines()[1].startswith("4.0,")
    finally:
        modeltap.lifecycle._process.default_store = None


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="exactly one of url= and connection_string="):
        AzureBlobStore()
    with pytest.raises(ValueError, match="http"):
        AzureBlobStore("ftp://x")
    with pytest.raises(ValueError, match="not a blob"):
        AzureBlobStore("https://acct.blob.core.windows.net/c/blob.csv")
    with pytest.raises(ValueError, match="max_blocks"):
        AzureBlobStore("https://acct.blob.core.windows.net?sv=1&sig=x", max_blocks=0)


def _account_sas(key: str = KEY) -> str:
    return generate_account_sas(
        ACCOUNT,
        key,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, list=True, add=True, create=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def test_chunks_spooled_under_the_former_key_are_still_delivered(azurite: Azurite, container: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Earlier versions keyed an Azure store by its endpoint URL; their spooled chunks wait under it.
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container)
    former = f"azure:{azurite.url}/{container}"
    assert store.former_keys == (former,) and store.key == f"azure://{ACCOUNT}/{container}"
    Spool(tmp_path / "spool", 1 << 20).put(former, FOLDER, b"h\n", b"1\n", 1, None)
    modeltap.configure(store=store, flush_interval=60.0, spool_dir=tmp_path / "spool")
    modeltap.Collector("m", feature_names=["x"])  # starts the pipeline, which drains the spool
    assert modeltap.flush(timeout=30)
    assert store.read_bytes(f"{FOLDER}/data.csv") == b"h\n1\n"
    assert modeltap.stats()["spool_chunks"] == 0
