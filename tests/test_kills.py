"""SIGKILL, as the OOM killer sends it, in the middle of appends and of spool drains: every row
lands exactly once (or, for the append that was cut, not at all), and no later row is hidden."""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from modeltap import spool as spool_module
from modeltap.spool import Spool
from modeltap.stores.azure import AzureBlobStore
from modeltap.stores.local import LocalStore
from servers.azurite import Azurite
from servers.killable import FOLDER, HEADER, ROWS, chunk_bytes, text

KILLABLE = Path(__file__).parent / "servers" / "killable.py"
KILLS = 15


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(KILLABLE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def finish(p: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode in (0, -signal.SIGKILL), err[-3000:]
    return p.returncode, out


def kill_after(p: subprocess.Popen[str], seconds: float) -> str:
    """SIGKILLs ``p`` after ``seconds`` (if it still runs); what it printed."""
    try:
        out, _ = p.communicate(timeout=seconds)
        return out
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate(timeout=30)
        return out


def rows_of(raw: bytes) -> Counter[tuple[int, int, int]]:
    """Each row of a file by (writer, chunk, row), checked whole; the csv module and pandas agree."""
    records = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    assert records[0] == HEADER.decode().strip().split(",")
    seen: Counter[tuple[int, int, int]] = Counter()
    for record in records[1:]:
        assert len(record) == 4, f"torn row: {record!r}"
        w, k, r = int(record[0]), int(record[1]), int(record[2])
        assert record[3] == text(w, k, r), f"altered row: {record!r}"
        seen[(w, k, r)] += 1
    assert len(pd.read_csv(io.BytesIO(raw))) == sum(seen.values())
    return seen


def chunks_of(seen: Counter[tuple[int, int, int]]) -> Counter[tuple[int, int]]:
    """Rows per (writer, chunk): every chunk must be whole, never half."""
    per: Counter[tuple[int, int]] = Counter()
    for (w, k, _), n in seen.items():
        per[(w, k)] += n
    return per


# -- appends -------------------------------------------------------------------------------------


def test_a_writer_killed_mid_append_inside_a_quoted_field_hides_no_later_row(tmp_path: Path) -> None:
    code, out = finish(run("append", str(tmp_path), "0", "5", "--tear-at", "2"))
    assert code == -signal.SIGKILL and out.split() == ["ok", "0", "ok", "1"]
    data = tmp_path / FOLDER / "data.csv"
    torn = data.read_bytes()
    assert not torn.endswith(b"\n")  # half of chunk 2, cut inside a quoted field
    assert finish(run("append", str(tmp_path), "1", "3"))[0] == 0
    seen = rows_of(data.read_bytes())
    assert chunks_of(seen) == {**{(0, k): ROWS for k in (0, 1)}, **{(1, k): ROWS for k in range(3)}}
    assert max(seen.values()) == 1


def test_appends_killed_at_random_lose_only_the_cut_append_and_repeat_nothing(tmp_path: Path) -> None:
    rng = random.Random(11)
    acknowledged: set[tuple[int, int]] = set()
    for writer in range(KILLS):
        out = kill_after(run("append", str(tmp_path), str(writer), "400"), rng.uniform(0.4, 1.2))
        acknowledged |= {(writer, int(k)) for k in out.split()[1::2]}
    assert finish(run("append", str(tmp_path), str(KILLS), "3"))[0] == 0
    seen = rows_of((tmp_path / FOLDER / "data.csv").read_bytes())
    per_chunk = chunks_of(seen)
    assert max(seen.values()) == 1, "rows written twice"
    assert set(per_chunk.values()) == {ROWS}, "a chunk landed in part"
    assert acknowledged | {(KILLS, k) for k in range(3)} <= set(per_chunk)
    # At most the one append each killed writer was making when it died lands unacknowledged.
    assert len(set(per_chunk) - acknowledged) <= KILLS + 3


def test_a_torn_append_written_before_the_journal_existed_is_ended(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x/data.csv").write_bytes(b"a,b\n1,2\n3,")  # an older writer, killed mid-row
    LocalStore(tmp_path).append("x", b"5,6\n", b"a,b\n")
    assert (tmp_path / "x/data.csv").read_bytes() == b"a,b\n1,2\n3,\n5,6\n"


def test_the_append_journal_is_out_of_readers_way(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.append(FOLDER, b"1\n", b"a\n")  # a new file appears whole: no journal needed
    store.append(FOLDER, b"2\n", b"a\n")
    assert [f.path for f in store.list_files()] == [f"{FOLDER}/data.csv"]
    assert not list((tmp_path / ".modeltap" / "tmp").iterdir())
    journal = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "data.csv"]
    assert journal and all(p.relative_to(tmp_path).parts[0] == ".modeltap" for p in journal)


# -- spool drains --------------------------------------------------------------------------------

CHUNKS = 300


def _fill_spool(spool_dir: Path, key: str) -> None:
    spool = Spool(spool_dir, max_bytes=1 << 30)
    for k in range(CHUNKS):
        assert spool.put(key, FOLDER, HEADER, chunk_bytes(0, k), ROWS, None)
    spool.close()


def _kill_drains(spool_dir: Path, spec: str, env: dict[str, str] | None = None) -> int:
    """Drains SIGKILLed right after an append landed (the window that repeated rows) and at
    random moments; the kills made."""
    rng = random.Random(5)
    kills = 0
    for i in range(KILLS):
        if i % 3 != 2:
            code, _ = finish(run("drain", str(spool_dir), spec, "--kill-after-append", str(rng.randint(1, 8)), env=env))
            kills += code == -signal.SIGKILL
        else:
            p = run("drain", str(spool_dir), spec, env=env)
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "READY"
            time.sleep(rng.uniform(0.0, 0.05))  # somewhere in the middle of the drain
            if p.poll() is None:
                kills += 1
            kill_after(p, 0)
    code, out = finish(run("drain", str(spool_dir), spec, env=env))
    assert code == 0 and "DONE" in out
    assert not list(spool_dir.glob("*.chunk")) and not (spool_dir / "dead").exists()
    print(f"{kills} kills")
    return kills


def _check_every_row_once(seen: Counter[tuple[int, int, int]]) -> None:
    assert chunks_of(seen) == {(0, k): ROWS for k in range(CHUNKS)}, "rows missing"
    duplicated = [k for k, n in seen.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} rows written twice"


def test_drains_into_a_local_store_killed_repeatedly_write_every_row_once(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _fill_spool(tmp_path / "spool", LocalStore(root).key)
    kills = _kill_drains(tmp_path / "spool", f"local:{root}")
    assert kills >= 2 * KILLS // 3
    _check_every_row_once(rows_of((root / FOLDER / "data.csv").read_bytes()))


def test_drains_into_azure_killed_repeatedly_write_every_row_once(
    azurite: Azurite, container: str, tmp_path: Path
) -> None:
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container)
    _fill_spool(tmp_path / "spool", store.key)
    env = {"TEST_AZURE_CONNECTION_STRING": azurite.connection_string}
    kills = _kill_drains(tmp_path / "spool", f"azure:{container}", env)
    assert kills >= 2 * KILLS // 3
    seen: Counter[tuple[int, int, int]] = Counter()
    for f in store.list_files():
        seen.update(rows_of(store.read_bytes(f.path)))
    _check_every_row_once(seen)


@pytest.mark.skipif(os.geteuid() != 0 if hasattr(os, "geteuid") else True, reason="needs root to mount a tmpfs")
def test_a_full_disk_loses_no_row_silently_and_corrupts_no_file(tmp_path: Path) -> None:
    import numpy as np  # noqa: PLC0415

    import modeltap  # noqa: PLC0415

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], check=False, capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        modeltap.configure(
            store=LocalStore(disk / "data"), spool_dir=disk / "spool", flush_interval=60.0, chunk_bytes=16 << 10
        )
        c = modeltap.Collector("m", feature_names=["i", "pad"])
        for i in range(3000):
            ids = np.arange(i * 10, i * 10 + 10, dtype=np.float64)
            c.collect(np.column_stack([ids, 1.0e300 / (ids + 1)]))
            if i % 100 == 0:
                modeltap.flush(timeout=30)
        modeltap.flush(timeout=30)
        s = modeltap.stats()
        lost = sum(s["rows_dropped"].values())
        assert lost > 0, "the disk never filled: make the tmpfs smaller"
        (path,) = sorted((disk / "data").rglob("*.csv"))
        written = pd.read_csv(path)
        # Nothing silent: every collected row was written, or waits in the spool, or is counted lost.
        assert s["rows_collected"] == s["rows_written"] + _rows_waiting(disk / "spool") + lost
        assert len(written) == s["rows_written"]
        assert written["i"].is_unique
        modeltap.close(timeout=5)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _rows_waiting(spool_dir: Path) -> int:
    return sum(spool_module._parse(p, p.read_bytes()).rows for p in spool_dir.glob("*.chunk"))
