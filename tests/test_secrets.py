"""Every credential form an AzureBlobStore takes, looked for in every place it could surface:
reprs, keys, logs at every level (modeltap's, the SDK's, urllib3's; through caplog and a real
handler on the root logger), stats(), exceptions with their chains and tracebacks, the spool and
every other file the run left on disk. Against a real Azurite, through a proxy that fails on cue."""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import logging
import os
import subprocess
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from azure.core.credentials import AccessToken, AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import (
    AccountSasPermissions,
    ContainerSasPermissions,
    ResourceTypes,
    generate_account_sas,
    generate_container_sas,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import modeltap
from modeltap.stores import open_store
from modeltap.stores.azure import AzureBlobStore
from modeltap.stores.errors import StoreError
from servers.azurite import ACCOUNT, KEY, Azurite, free_port
from servers.faults import FaultProxy


@dataclass
class Form:
    """One way of handing the store its credential: ``make(endpoint)`` builds the store for an
    account endpoint (``http://host:port/devstoreaccount1``); ``secrets`` must never surface."""

    make: Callable[[str], AzureBlobStore]
    secrets: tuple[str, ...]


def _account_sas() -> str:
    return generate_account_sas(
        ACCOUNT,
        KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, list=True, add=True, create=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def _container_sas(container: str) -> str:
    return generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True, add=True, create=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def _sas_secrets(sas: str) -> tuple[str, ...]:
    sig = dict(urllib.parse.parse_qsl(sas))["sig"]
    return (sas, sig, urllib.parse.quote(sig, safe=""))


def _forms(container: str) -> dict[str, Form]:
    account_sas, container_sas = _account_sas(), _container_sas(container)
    return {
        "key connection string (Azurite's well-known key)": Form(
            lambda ep: open_store(f"AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={ep}"),
            (KEY,),
        ),
        "SAS connection string, account": Form(
            lambda ep: open_store(f"BlobEndpoint={ep};SharedAccessSignature={account_sas}"),
            _sas_secrets(account_sas),
        ),
        "SAS connection string, container": Form(
            lambda ep: open_store(f"BlobEndpoint={ep};SharedAccessSignature={container_sas}"),
            _sas_secrets(container_sas),
        ),
        "SAS URL, account": Form(lambda ep: open_store(f"{ep}?{account_sas}"), _sas_secrets(account_sas)),
        "SAS URL, container": Form(
            lambda ep: open_store(f"{ep}/{container}?{container_sas}"), _sas_secrets(container_sas)
        ),
        "account key credential": Form(
            lambda ep: AzureBlobStore(ep, credential=AzureNamedKeyCredential(ACCOUNT, KEY)), (KEY,)
        ),
        "account key dict": Form(
            lambda ep: AzureBlobStore(ep, credential={"account_name": ACCOUNT, "account_key": KEY}), (KEY,)
        ),
        "SAS credential": Form(
            lambda ep: AzureBlobStore(ep, credential=AzureSasCredential(account_sas)), _sas_secrets(account_sas)
        ),
        "SAS token as a str credential": Form(
            lambda ep: AzureBlobStore(ep, credential=account_sas), _sas_secrets(account_sas)
        ),
    }


CONTAINER = "modeldata"
FORMS = list(_forms(CONTAINER))


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """A real handler on the root logger, at DEBUG, printing tracebacks and stacks."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(old)


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    p = FaultProxy(azurite.port)
    yield p
    p.close()


@pytest.mark.parametrize("form", FORMS)
def test_no_credential_form_surfaces_anywhere(
    form: str,
    azurite: Azurite,
    proxy: FaultProxy,
    container: str,
    tmp_path: Path,
    logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Every form writes to the default container (created first: a container SAS may not), each
    # test under a model name of its own.
    model = container
    AzureBlobStore(connection_string=azurite.connection_string).append("x", b"1\n", b"h\n")
    spec = _forms(CONTAINER)[form]
    seen: list[str] = []

    # 1. Delivered through faults: an auth refusal (spooled, non-retryable), then a reset.
    store = spec.make(proxy.url)
    seen += [repr(store), store.key, str(vars(store))]
    assert store.key == f"azure://{ACCOUNT}/{CONTAINER}"
    spool = tmp_path / "spool"
    modeltap.configure(store=store, flush_interval=60.0, spool_dir=spool)
    c = modeltap.Collector(model, feature_names=["x"])
    proxy.fail_next("answer", status=403, code="AuthenticationFailed")
    c.collect(np.array([1.0]))
    assert not modeltap.flush(timeout=5) or True  # the spool may drain within the flush
    seen += [str(modeltap.stats()), *_spool_texts(spool)]
    proxy.fail_next("reset")
    c.collect(np.array([2.0]))
    assert modeltap.flush(timeout=30)
    seen.append(str(modeltap.stats()))
    lines = AzureBlobStore(connection_string=azurite.connection_string).read_bytes(
        f"default/default/default/default/{model}/default/general/{_today()}/data.csv"
    )
    assert [r.split(b",")[0] for r in lines.splitlines()[1:]] == [b"1.0", b"2.0"]

    # 2. A store that cannot be reached: connection errors quote the request URL.
    dead = spec.make(f"http://127.0.0.1:{free_port()}/{ACCOUNT}")
    dead.retry_for = 0.3
    with pytest.raises(StoreError) as info:
        dead.append("a/b", b"1\n", b"h\n")
    seen += _exception_texts(info.value)
    modeltap.configure(store=dead, flush_interval=60.0, spool_dir=spool)
    c.collect(np.array([3.0]))
    assert not modeltap.flush(timeout=2)
    seen += [str(modeltap.stats()), str(modeltap.stats()["last_store_error"]), *_spool_texts(spool)]
    assert spool.is_dir() and any(spool.iterdir())
    modeltap.close(timeout=0.5)

    seen += [logs.getvalue(), caplog.text, *(_record_texts(r) for r in caplog.records)]
    assert "urllib3" in logs.getvalue()  # the DEBUG records that quote URLs were there, redacted
    seen += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    for secret in spec.secrets:
        for text in seen:
            assert secret not in text, f"{form}: a secret surfaced in {text[:200]!r}"


@pytest.fixture(scope="module")
def tls_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Azurite, Path]]:
    """Azurite over HTTPS (a self-signed certificate for 127.0.0.1) taking bearer tokens: the SDK
    sends a token credential's tokens over TLS only."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    args = ("--cert", str(folder / "cert.pem"), "--key", str(folder / "key.pem"), "--oauth", "basic")
    with Azurite(folder / "data", args=args) as server:
        yield server, folder / "cert.pem"


class _TokenCredential:
    """A token credential whose token Azurite's basic OAuth accepts (it checks claims, not the signature)."""

    def __init__(self) -> None:
        t = int(datetime.now(timezone.utc).timestamp())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
            "iat": t - 60,
            "nbf": t - 60,
            "exp": t + 3600,
        }
        self.token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.dG9rZW4tc2lnbmF0dXJlLXNlY3JldA"
        self.expires = t + 3600

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, self.expires)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_token_credential_leaves_no_token_behind(
    tls_azurite: tuple[Azurite, Path],
    tmp_path: Path,
    logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, cert = tls_azurite
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    caplog.set_level(logging.DEBUG)
    credential = _TokenCredential()
    secrets = (credential.token, credential.token.split(".")[1])
    seen: list[str] = []
    # Bearer tokens need TLS: the SDK refuses plain HTTP up front, and the error says so plainly.
    with pytest.raises(ValueError, match="HTTPS") as refused:
        AzureBlobStore(f"http://127.0.0.1:{free_port()}/{ACCOUNT}", credential=credential)
    seen += _exception_texts(refused.value)

    store = AzureBlobStore(f"https://127.0.0.1:{server.port}/{ACCOUNT}", credential=credential)
    seen += [repr(store), store.key, str(vars(store))]
    spool = tmp_path / "spool"
    modeltap.configure(store=store, flush_interval=60.0, spool_dir=spool)
    c = modeltap.Collector("token", feature_names=["x"])
    c.collect(np.array([1.0]))
    assert modeltap.flush(timeout=30)
    assert store.read_bytes(f"default/default/default/default/token/default/general/{_today()}/data.csv").endswith(
        b"\n"
    )
    assert any("Authorization" in r.getMessage() for r in caplog.records)  # headers were logged, redacted

    dead = AzureBlobStore(f"https://127.0.0.1:{free_port()}/{ACCOUNT}", credential=credential, retry_for=0.3)
    with pytest.raises(StoreError) as info:
        dead.append("a/b", b"1\n", b"h\n")
    seen += _exception_texts(info.value)
    modeltap.configure(store=dead, flush_interval=60.0, spool_dir=spool)
    c.collect(np.array([2.0]))
    assert not modeltap.flush(timeout=2)
    seen += [str(modeltap.stats()), *_spool_texts(spool)]
    modeltap.close(timeout=0.5)
    seen += [logs.getvalue(), caplog.text, *(_record_texts(r) for r in caplog.records)]
    seen += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    for secret in secrets:
        for text in seen:
            assert secret not in text, f"the token surfaced in {text[:200]!r}"


def test_sdk_and_urllib3_debug_records_are_redacted_for_every_handler(
    azurite: Azurite, container: str, logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sas = _account_sas()
    store = AzureBlobStore(f"{azurite.url}/{container}?{sas}")
    store.append("a/b", b"1\n", b"h\n")
    urls = [r for r in caplog.records if r.name.startswith("urllib3") and "comp=appendblock" in r.getMessage()]
    assert urls, "urllib3 logged no request line at DEBUG"
    for secret in _sas_secrets(sas):
        assert secret not in caplog.text and secret not in logs.getvalue()
    assert "sig=***" in logs.getvalue()
    # A record logged with a traceback that quotes the secret: the text is redacted, the
    # exception objects are not passed on.
    try:
        raise RuntimeError(f"GET {azurite.url}?{sas}")
    except RuntimeError:
        logging.getLogger("urllib3.connectionpool").debug("failed", exc_info=True, stack_info=True)
    for secret in _sas_secrets(sas):
        assert secret not in logs.getvalue() and secret not in caplog.text
    assert "RuntimeError" in logs.getvalue()


def _today() -> str:
    d = datetime.now(timezone.utc)
    return f"{d.year}/{d.month}/{d.day}"


def _spool_texts(spool: Path) -> list[str]:
    return [p.read_bytes().decode("utf-8", "replace") for p in spool.rglob("*") if p.is_file()]


def _exception_texts(exc: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(getattr(seen, "resume", ""))]
        seen = seen.__cause__ or seen.__context__
    return texts


def _record_texts(record: logging.LogRecord) -> str:
    return " ".join(
        [record.getMessage(), str(record.exc_text or ""), str(record.stack_info or ""), repr(record.exc_info)]
    )


def test_the_cli_names_a_bad_store_without_quoting_it(tmp_path: Path) -> None:
    sas = _account_sas()
    dead = f"http://127.0.0.1:{free_port()}/{ACCOUNT}"
    cases = [
        (["--store", f"AccountKey={KEY}"], {}, 2, (KEY,)),
        ([], {"MODELTAP_STORAGE": f"{dead.replace('http://', '')}?{sas}"}, 2, _sas_secrets(sas)),
        ([], {"AML_MODEL_DC_STORAGE": f"AccountKey={KEY};EndpointSuffix=core.windows.net"}, 2, (KEY,)),
        (["--store", f"{dead}?{sas}"], {}, 3, _sas_secrets(sas)),
        ([], {"MODELTAP_STORAGE": f"BlobEndpoint={dead};SharedAccessSignature={sas}"}, 3, _sas_secrets(sas)),
    ]
    for argv, env, status, secrets in cases:
        # The CLI reads $MODELTAP_STORAGE for its default; the v1 variable only through the library.
        if "AML_MODEL_DC_STORAGE" in env:
            script = "import modeltap.lifecycle as l; l.default_store()"
            command = [sys.executable, "-c", script]
        else:
            command = [sys.executable, "-m", "modeltap", "-v", "ls", "--model", "m", *argv]
        clean = {k: v for k, v in os.environ.items() if k not in ("MODELTAP_STORAGE", "AML_MODEL_DC_STORAGE")}
        done = subprocess.run(command, env={**clean, **env}, capture_output=True, text=True, cwd=tmp_path, check=False)
        if "AML_MODEL_DC_STORAGE" in env:
            assert done.returncode == 1 and "$AML_MODEL_DC_STORAGE does not name a store" in done.stderr
        else:
            assert done.returncode == status, done.stderr
        for secret in secrets:
            assert secret not in done.stderr and secret not in done.stdout
    assert list(tmp_path.iterdir()) == []
