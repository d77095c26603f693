"""What a store string names, and the strings refused because they carry a secret but name nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import modeltap
from modeltap.stores import from_environment, open_store
from modeltap.stores.azure import AzureBlobStore
from modeltap.stores.spec import kind_of, parse_connection_string
from servers.azurite import KEY

SIG = "Zm9vYmFyc2VjcmV0c2lnbmF0dXJlMTIzNDU2Nzg%3D"
SAS = f"sv=2025-01-05&ss=b&srt=sco&sp=rwl&se=2030-01-01T00%3A00%3A00Z&sig={SIG}"
SECRETS = (KEY, SIG, SAS)


@pytest.mark.parametrize(
    "spec",
    [
        "./modeldata",
        "/var/lib/modeldata",
        "modeldata",
        "data/date=2026-11-24",  # a Hive-style folder keeps its '='
        "C:/modeldata",  # a drive letter is not a scheme
        "~/model data;v2",
        "./sp=1",  # a folder that only looks like a SAS parameter
    ],
)
def test_local_paths(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert kind_of(spec) == "path"
    assert isinstance(open_store(spec), modeltap.LocalStore)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # AccountKey without an account: once became ./AccountKey=<key>
        (f"AccountKey={KEY}", "AccountKey is given without AccountName"),
        (f"DefaultEndpointsProtocol=https;AccountKey={KEY};EndpointSuffix=core.windows.net", "without AccountName"),
        (f"accountkey = {KEY}", "without AccountName"),
        (f"AccountName=acct;AccountKey={KEY};Nonsense", "is not Key=Value"),
        (f"AccountName=acct;AccountKey={KEY};Secret{KEY}=1", "a key Azure Storage does not know"),
        (f"AccountName=acct;AccountKey={KEY};AccountKey={KEY}", "AccountKey is given twice"),
        ("AccountName=acct;AccountKey=", "AccountKey is empty"),
        ("AccountName=acct", "needs AccountKey"),
        (f"BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature={KEY}", "not a SAS token"),
        (f"BlobEndpoint=ftp://acct;SharedAccessSignature={SAS}", "BlobEndpoint must be an http"),
        (f"BlobEndpoint=https://acct.blob.core.windows.net?{SAS};SharedAccessSignature={SAS}", "without a query"),
        (f"SharedAccessSignature={SAS}", "needs BlobEndpoint or AccountName"),
        (f"UseDevelopmentStorage=false;AccountKey={KEY}", "UseDevelopmentStorage must be true"),
        (f"MyAccountKey={KEY}; AccountName=x", "a key Azure Storage does not know"),
        # A SAS where no URL is
        (f"acct.blob.core.windows.net/modeldata?{SAS}", "holds a SAS token but is not an http"),
        (SAS, "holds a SAS token"),
        (f"./modeldata?{SAS}", "holds a SAS token"),
        (f"azure://acct/modeldata?{SAS}", "not azure://"),
        (f"wasbs://modeldata@acct.blob.core.windows.net?{SAS}", "not wasbs://"),
        (f"abfss://modeldata@acct.dfs.core.windows.net/?{SAS}", "not abfss://"),
        (f"https:/acct.blob.core.windows.net?{SAS}", "must be http(s)://<host>"),
        (f"https://?{SAS}", "must be http(s)://<host>"),
        (KEY, "looks like an account key on its own"),
    ],
)
def test_malformed_specs_that_carry_a_secret_are_refused_without_quoting_it(
    spec: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        open_store(spec)
    _no_secret(info.value)
    for name in ("MODELTAP_STORAGE", "AML_MODEL_DC_STORAGE"):
        monkeypatch.delenv("MODELTAP_STORAGE", raising=False)
        monkeypatch.setenv(name, spec)
        with pytest.raises(ValueError, match=rf"\${name} does not name a store") as info:
            from_environment()
        _no_secret(info.value)
        monkeypatch.delenv(name)
    assert list(tmp_path.iterdir()) == []  # no folder named after the secret


def test_well_formed_connection_strings_and_urls() -> None:
    cs = parse_connection_string(f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY}")
    assert (cs.endpoint, cs.account, cs.secrets) == ("https://acct.blob.core.windows.net", "acct", (KEY,))
    cs = parse_connection_string(f"BlobEndpoint=http://127.0.0.1:1/devstoreaccount1/;SharedAccessSignature={SAS};")
    assert (cs.endpoint, cs.account, cs.secrets) == ("http://127.0.0.1:1/devstoreaccount1", "devstoreaccount1", (SAS,))
    cs = parse_connection_string(f"AccountName=a;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn")
    assert cs.endpoint == "https://a.blob.core.chinacloudapi.cn"
    for spec in (f"https://acct.blob.core.windows.net/modeldata?{SAS}", "HTTPS://acct.blob.core.windows.net"):
        assert kind_of(spec) == "url"
    store = open_store(f"BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature={SAS}")
    assert isinstance(store, AzureBlobStore)
    assert store.key == "azure://acct/modeldata"
    assert repr(store) == "AzureBlobStore('https://acct.blob.core.windows.net/modeldata')"


def test_bad_containers_and_urls_are_refused_without_quoting_them() -> None:
    for url in (
        f"https://acct.blob.core.windows.net/Bad_Container?{SAS}",
        f"https://acct.blob.core.windows.net/a/b?{SAS}",
        f"https://user:{KEY}@acct.blob.core.windows.net/c1",
        f"https://acct.blob.core.windows.net:{KEY}/c1",
    ):
        with pytest.raises(ValueError) as info:
            AzureBlobStore(url)
        _no_secret(info.value)
        with pytest.raises(ValueError) as info:
            open_store(url)
        _no_secret(info.value)


def _no_secret(exc: BaseException) -> None:
    seen: BaseException | None = exc
    while seen is not None:
        for secret in SECRETS:
            assert secret not in str(seen) and secret not in repr(seen.args)
        seen = seen.__cause__ or seen.__context__
