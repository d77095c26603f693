"""The spool on its own: order per destination, crash safety, a private folder, every field
read back checked, entries that are not chunks, dead letters, cost that does not grow."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pwd
import shutil
import stat
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import modeltap
from conftest import read
from modeltap import spool as spool_module
from modeltap.delivery import Deliveries
from modeltap.spool import Spool, SpoolRefused
from test_store_faults import FlakyStore

FOLDER = "sub/rg/ws/svc/m/1/inputs/2026/11/24"


def folder(i: int) -> str:
    return f"sub/rg/ws/svc/m{i}/1/inputs/2026/11/24"


def claim_all(spool: Spool) -> list[spool_module.SpooledChunk]:
    """Every chunk a drain would take now, in its order, each released again."""
    out = []
    for destination in spool.destinations():
        chunk = spool.claim_next(destination)
        if chunk is not None:
            out.append(chunk)
            spool.release(chunk)
    return out


def test_chunks_come_back_in_order_per_destination_and_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", max_bytes=1 << 20)
    for i in range(5):
        assert spool.put(
            "local:x", folder(i % 2), b"h\n", f"{i}\n".encode() * 3, 3, None if i else f"7@{folder(0)}/data.csv"
        )
    assert spool.destinations() == [("local:x", folder(0), "data"), ("local:x", folder(1), "data")]
    first = spool.claim_next(("local:x", folder(0), "data"))
    assert first is not None
    assert first.resume == f"7@{folder(0)}/data.csv" and first.data == b"0\n0\n0\n" and first.rows == 3
    spool.done(first)
    second = spool.claim_next(("local:x", folder(0), "data"))
    assert second is not None and second.data == b"2\n2\n2\n" and second.resume is None
    spool.release(second)
    assert spool.census() == {"local:x": 4}
    # A second process (here: a second Spool on the folder) builds the same index from disk.
    assert Spool(tmp_path / "s", max_bytes=1 << 20).census() == {"local:x": 4}


def test_a_damaged_file_is_set_aside_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.put("k", folder(0), b"h\n", b"1\n", 1, None)
    spool.put("k", folder(1), b"h\n", b"2\n", 1, None)
    first = spool.files()[0]
    first.write_bytes(first.read_bytes()[:-1] + b"X")  # a flipped byte
    with caplog.at_level(logging.ERROR, logger="modeltap.spool"):
        (tmp_path / "00000000000000000000-0-00000000.chunk").write_bytes(b"garbage")
        assert [c.folder for c in claim_all(Spool(tmp_path, max_bytes=1 << 20))] == [folder(1)]
    assert "checksum mismatch" in caplog.text and "not a modeltap spool file" in caplog.text
    assert sorted(p.name for p in (tmp_path / "damaged").iterdir()) == sorted(
        ["00000000000000000000-0-00000000.chunk", first.name]
    )


def _planted(store: str, folder: str, *, stem: str = "data", rows: int = 1, resume: str = "") -> bytes:
    """A spool file as an attacker would write it: well formed, but with fields of their choice."""
    header, data = b"a\n", b"evil\n"
    token = resume.encode()
    slot = spool_module._MAGIC + (b"%08x %s" % (zlib.crc32(token), token)).ljust(spool_module._SLOT - 1) + b"\n"
    meta = {
        "store": store,
        "folder": folder,
        "stem": stem,
        "rows": rows,
        "header": len(header),
        "data": len(data),
        "crc32": zlib.crc32(header + data),
    }
    return slot + json.dumps(meta).encode() + b"\n" + header + data


@pytest.mark.parametrize(
    ("what", "fields"),
    [
        ("a '..' folder", {"folder": "../../../../../../../../../tmp"}),
        ("a folder part '..'", {"folder": "sub/rg/ws/svc/../../../../../x"}),
        ("an absolute folder", {"folder": "/etc/cron.d/x/y/z/a/b/2026/1/1"}),
        ("a stem with a slash", {"folder": FOLDER, "stem": "../../../../../../../../../../evil"}),
        ("more rows than lines", {"folder": FOLDER, "rows": 7}),
        ("a resume token elsewhere", {"folder": FOLDER, "resume": "0@../../../../etc/passwd"}),
    ],
)
def test_a_planted_chunk_never_writes_outside_its_store(
    tmp_path: Path, what: str, fields: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    store = modeltap.LocalStore(tmp_path / "store")
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, max_bytes=1 << 20)
    spool.close()
    planted = spool_dir / "00000000000000000001-1-00000000.chunk"
    planted.write_bytes(_planted(store.key, **fields))  # type: ignore[arg-type]
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    with caplog.at_level(logging.ERROR, logger="modeltap.spool"):
        deliveries = Deliveries.open(spool_dir, 1 << 20)
        deliveries.add_store(store)
        deliveries.drain(now_or_never=True)
    assert "refused" in caplog.text, what
    assert (spool_dir / "damaged" / planted.name).exists()
    assert {p for p in tmp_path.rglob("*") if p.is_file()} - before == {spool_dir / "damaged" / planted.name}
    assert deliveries.counters.rows_written == 0


def test_entries_that_are_not_chunk_files_are_set_aside_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = modeltap.LocalStore(tmp_path / "store")
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, max_bytes=1 << 20)
    spool.put(store.key, FOLDER, b"a\n", b"1\n", 1, None)
    (spool_dir / "00000000000000000000-1-00000000.chunk").mkdir()
    os.mkfifo(spool_dir / "00000000000000000000-1-00000001.chunk")
    outside = tmp_path / "outside"
    outside.write_bytes(_planted(store.key, FOLDER))
    (spool_dir / "00000000000000000000-1-00000002.chunk").symlink_to(outside)
    spool.close()
    with caplog.at_level(logging.ERROR, logger="modeltap.spool"):
        deliveries = Deliveries.open(spool_dir, 1 << 20)
        deliveries.add_store(store)
        for _ in range(50):
            deliveries.drain(now_or_never=True)
    assert caplog.text.count("not a regular file") == 3  # once each, not once per drain
    assert deliveries.counters.rows_written == 1 and deliveries.pending() == 0
    assert sorted(p.name for p in (spool_dir / "rejected").iterdir()) == [
        f"00000000000000000000-1-0000000{i}.chunk" for i in range(3)
    ]
    assert outside.read_bytes() == _planted(store.key, FOLDER)  # the symlink was moved, not followed
    assert deliveries.spool is not None and deliveries.spool.rejected == 3


def test_a_pipeline_with_a_non_file_entry_delivers_and_closes(tmp_path: Path) -> None:
    spool_dir = Path(os.environ["MODELTAP_SPOOL_DIR"])
    Spool(spool_dir, max_bytes=1 << 20).close()
    (spool_dir / "00000000000000000000-1-00000000.chunk").mkdir()
    modeltap.configure(store=modeltap.LocalStore(tmp_path / "data"), flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["i"])
    c.collect(np.array([1.0]))
    assert modeltap.flush(timeout=30)
    assert modeltap.stats()["rows_written"] == 1 and modeltap.stats()["spool_rejected"] == 1
    assert modeltap.close()
    assert not any(t.name == "modeltap-uploader" and t.is_alive() for t in threading.enumerate())


# -- a private folder --------------------------------------------------------------------------


def test_a_new_spool_folder_is_private(tmp_path: Path) -> None:
    Spool(tmp_path / "a" / "spool", max_bytes=1).close()
    st = os.lstat(tmp_path / "a" / "spool")
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()


def test_a_readable_spool_folder_is_made_private(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir(mode=0o755)
    os.chmod(tmp_path / "spool", 0o755)
    Spool(tmp_path / "spool", max_bytes=1).close()
    assert stat.S_IMODE(os.lstat(tmp_path / "spool").st_mode) == 0o700


@pytest.mark.parametrize("kind", ["symlink", "writable by others", "a file"])
def test_a_spool_folder_that_is_not_private_is_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "spool"
    if kind == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        target.symlink_to(tmp_path / "elsewhere")
    elif kind == "writable by others":
        target.mkdir()
        os.chmod(target, 0o777)
    else:
        target.write_bytes(b"")
    with pytest.raises(SpoolRefused, match="spool folder"):
        Spool(target, max_bytes=1)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder every user can reach (pytest's own are private to root), like /tmp."""
    path = Path(tempfile.mkdtemp(prefix="modeltap-test-"))
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _nobody() -> int:
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("no user 'nobody' on this machine")


def _as_nobody(fn: object, *args: object) -> int:
    """Runs ``fn(*args)`` in a forked child that has become ``nobody``; its exit code."""
    uid = _nobody()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgid(pwd.getpwuid(uid).pw_gid)
            os.setuid(uid)
            code = fn(*args)  # type: ignore[operator]
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _squat(path: str) -> int:
    """Another local user takes the spool's name first, writable by all, with a planted chunk."""
    os.mkdir(path, 0o777)
    os.chmod(path, 0o777)
    with open(os.path.join(path, "00000000000000000001-1-00000000.chunk"), "wb") as f:
        f.write(b"planted")
    return 0


def test_a_spool_folder_another_user_made_first_is_not_used(
    tmp_path: Path, shared_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as a second user")
    squatted = shared_tmp / "modeltap-spool-0"
    assert _as_nobody(_squat, str(squatted)) == 0
    assert os.lstat(squatted).st_uid == _nobody()
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        modeltap.configure(store=modeltap.LocalStore(tmp_path / "data"), flush_interval=60.0, spool_dir=squatted)
        c = modeltap.Collector("m", feature_names=["i"])
        c.collect(np.array([1.0]))
        assert modeltap.flush(timeout=30)  # collection goes on without the spool
    s = modeltap.stats()
    assert s["rows_written"] == 1 and "belongs to uid" in (s["spool_error"] or "")
    assert "not using" in caplog.text and "belongs to uid" in caplog.text
    assert modeltap.close()
    assert sorted(os.listdir(squatted)) == ["00000000000000000001-1-00000000.chunk"]  # nothing touched


def _own_spool(path: str) -> int:
    Spool(path, max_bytes=1).close()
    st = os.lstat(path)
    return 0 if stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid() else 3


def test_a_second_user_gets_a_private_spool_of_its_own(shared_tmp: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as a second user")
    assert _as_nobody(_own_spool, str(shared_tmp / "theirs")) == 0
    # ...which any other user (root too) is then refused.
    with pytest.raises(SpoolRefused, match="belongs to uid"):
        Spool(shared_tmp / "theirs", max_bytes=1)


# -- cost does not grow with the spool ---------------------------------------------------------


def _fill(directory: Path, store: str, n: int, destinations: int = 4) -> None:
    """``n`` chunks written as the spool writes them, without an fsync each (speed only)."""
    Spool(directory, max_bytes=1).close()
    data = b"0.5,1.5,2.5,3.5,4.5,5.5,abc,2026-11-24T00:00:00Z,r,0\n" * 60
    for i in range(n):
        blob = spool_module._encode(store, folder(i % destinations), "data", 60, b"a,b\n", data, None)
        (directory / f"{i:020d}-1-{i % 10**8:08d}.chunk").write_bytes(blob)


def test_twenty_thousand_waiting_chunks_cost_no_file_opens_per_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool_dir = tmp_path / "spool"
    store = FlakyStore(str(tmp_path / "data"), failures=10**9)  # down: every chunk waits
    _fill(spool_dir, store.key, 20_000)
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: object, *args: object, **kwargs: object) -> int:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", counting_open)
    deliveries = Deliveries.open(spool_dir, 1 << 30)
    deliveries.add_store(store)
    assert deliveries.pending() == 20_000
    at_start = len(opened)
    assert at_start <= 20_000 + 10  # each file once, for the index
    for _ in range(200):  # 200 uploader loops: a minute of an idle process
        deliveries.drain()
        deliveries.pending()
        deliveries.deliver(store, folder(99), b"a,b\n", b"1,2\n", 1, give_up=lambda: True)
    monkeypatch.undo()
    # Per loop: no spool file is read; only the few new chunks and the tried chunks are opened.
    per_loop = (len(opened) - at_start) / 200
    print(f"{per_loop} opens per loop")
    assert per_loop <= 3, per_loop
    assert deliveries.pending() == 20_000 + 200 and deliveries.counters.rows_spooled == 200


# -- dead letters ------------------------------------------------------------------------------


class BlockedFolderStore(modeltap.LocalStore):
    """A LocalStore that is down for its first ``failures`` appends (a full disk)."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def append(self, folder: str, data: bytes, header: bytes, **kwargs: str) -> str:  # type: ignore[override]
        if self.failures > 0:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return super().append(folder, data, header, **kwargs)  # type: ignore[arg-type]


def test_an_undeliverable_chunk_goes_to_dead_letters_and_holds_nothing_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "data"
    # Where one collector's folder must go, a file sits: that path can never be a folder.
    (root / "sub/rg/ws/svc").mkdir(parents=True)
    (root / "sub/rg/ws/svc/bad").write_bytes(b"")
    store = BlockedFolderStore(root, failures=4)  # first everything waits in the spool
    modeltap.configure(store=store, flush_interval=60.0)
    good = modeltap.Collector("good", feature_names=["i"], workspace="sub/rg/ws", service="svc")
    bad = modeltap.Collector("bad", feature_names=["i"], workspace="sub/rg/ws", service="svc")
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        for i in range(4):
            bad.collect(np.array([float(i)]))
            good.collect(np.array([float(i)]))
            modeltap.flush(timeout=5)
        for i in range(4, 6):
            good.collect(np.array([float(i)]))
        assert modeltap.flush(timeout=30)
    s = modeltap.stats()
    (path,) = [p for p in root.rglob("*.csv")]
    assert read(path)["i"].tolist() == [float(i) for i in range(6)]
    assert s["rows_dropped"]["dead_letter"] == 4 and s["spool_dead_letter"] >= 1
    assert s["spool_chunks"] == 0
    assert "can never be delivered" in caplog.text
    dead = Path(os.environ["MODELTAP_SPOOL_DIR"]) / "dead"
    assert sum(1 for _ in dead.glob("*.chunk")) == s["spool_dead_letter"]
    modeltap.close(timeout=5)


def test_a_full_spool_counts_and_logs_the_loss(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    modeltap.configure(
        store=FlakyStore(str(tmp_path / "data"), failures=10**9), flush_interval=60.0, spool_max_bytes=3000
    )
    c = modeltap.Collector("m", feature_names=["i"])
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        for i in range(3):
            c.collect(np.full((5, 1), float(i)))
            modeltap.flush(timeout=0.2)
    s = modeltap.stats()
    assert s["rows_spooled"] == 5 and s["rows_dropped"]["spool_full"] == 10
    assert "the spool could not" in caplog.text
    modeltap.close(timeout=0.5)


def test_temp_files_of_dead_writers_are_cleaned(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    dead = tmp_path / ".123-999999999-00000000.chunk.tmp"
    dead.write_bytes(b"half a chunk")
    spool.clean_temp()
    assert not dead.exists()


def _hold(path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    spool = Spool(path, max_bytes=1 << 20)
    chunk = spool.claim_next(spool.destinations()[0])
    assert chunk is not None
    ready.set()
    release.wait(30)


def test_a_chunk_another_process_is_delivering_holds_only_its_destination(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.put("k", folder(0), b"h\n", b"1\n", 1, None)
    spool.put("k", folder(1), b"h\n", b"2\n", 1, None)
    spool.put("k", folder(0), b"h\n", b"3\n", 1, None)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    other.start()
    try:
        assert ready.wait(30)
        # The other process holds folder 0's oldest chunk: its next one waits (order), folder 1 goes.
        assert spool.claim_next(("k", folder(0), "data")) is None
        chunk = spool.claim_next(("k", folder(1), "data"))
        assert chunk is not None and chunk.data == b"2\n"
        spool.release(chunk)
    finally:
        release.set()
        other.join(30)
    chunk = spool.claim_next(("k", folder(0), "data"))
    assert chunk is not None and chunk.data == b"1\n"
    spool.release(chunk)


def test_a_pipeline_keeps_a_files_rows_in_order_while_its_spool_drains(tmp_path: Path) -> None:
    store = FlakyStore(str(tmp_path / "data"), failures=2)
    modeltap.configure(store=store, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["i"])
    for i in range(6):
        c.collect(np.array([float(i)]))
        modeltap.flush(timeout=30)
    assert modeltap.flush(timeout=30)
    (path,) = sorted((tmp_path / "data").rglob("*.csv"))
    assert read(path)["i"].tolist() == [float(i) for i in range(6)]
    assert modeltap.close()
    assert not list(Path(os.environ["MODELTAP_SPOOL_DIR"]).glob("*.chunk"))
