"""LocalStore: one header per file, whole rows, across processes and restarts."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest

import modeltap
from modeltap.layout import StreamPath, check_part, file_name

HEADER = b"a,b\n"


def test_header_once_across_appends_and_restarts(tmp_path: Path) -> None:
    s = modeltap.LocalStore(tmp_path)
    s.append("x/2024/3/1", b"1,2\n", HEADER)
    s.append("x/2024/3/1", b"3,4\n", HEADER)
    restarted = modeltap.LocalStore(tmp_path)
    restarted.append("x/2024/3/1", b"5,6\n", HEADER)
    assert (tmp_path / "x/2024/3/1/data.csv").read_bytes() == b"a,b\n1,2\n3,4\n5,6\n"


def test_another_header_continues_in_the_next_file(tmp_path: Path) -> None:
    s = modeltap.LocalStore(tmp_path)
    s.append("x", b"1,2\n", HEADER)
    path = s.append("x", b"1,2,3\n", b"a,b,c\n")
    assert path.endswith("data.1.csv")
    assert (tmp_path / "x/data.1.csv").read_bytes() == b"a,b,c\n1,2,3\n"
    assert modeltap.LocalStore(tmp_path).append("x", b"4,5,6\n", b"a,b,c\n").endswith("data.1.csv")
    assert (tmp_path / "x/data.csv").read_bytes() == b"a,b\n1,2\n"


def test_a_torn_last_row_is_ended_before_new_rows(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x/data.csv").write_bytes(b"a,b\n1,2\n3,")  # a writer killed mid-row
    modeltap.LocalStore(tmp_path).append("x", b"5,6\n", HEADER)
    assert (tmp_path / "x/data.csv").read_bytes() == b"a,b\n1,2\n3,\n5,6\n"


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = modeltap.LocalStore(tmp_path)
    s.append("x", b"1,2\n", HEADER)
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[:3]))  # a partial write, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError, match="No space"):
        s.append("x", b"3,4\n5,6\n", HEADER)
    monkeypatch.undo()
    assert (tmp_path / "x/data.csv").read_bytes() == b"a,b\n1,2\n"


def _writer(root: str, who: int, n: int) -> None:
    s = modeltap.LocalStore(root)
    for i in range(n):
        s.append("shared/2024/3/1", f"{who},{i}\n".encode() * 50, HEADER)


def test_processes_never_tear_rows_and_write_one_header(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (tmp_path / "shared/2024/3/1/data.csv").read_text().splitlines()
    assert lines[0] == "a,b"
    body = lines[1:]
    assert len(body) == 4 * 200 * 50
    assert "a,b" not in body
    for w in range(4):
        mine = [int(line.split(",")[1]) for line in body if line.startswith(f"{w},")]
        assert sorted(set(mine)) == list(range(200))


def test_flush_fsyncs_without_error(tmp_path: Path) -> None:
    s = modeltap.LocalStore(tmp_path)
    s.append("a/b", b"1\n", b"x\n")
    s.flush()
    s.close()


def test_layout_refuses_unsafe_parts() -> None:
    for bad in ["", "..", ".", "a/b", "a\\b", "a\x00", " a"]:
        with pytest.raises(ValueError):
            check_part(bad, "model_name")
    assert StreamPath("s", "r", "w", "svc", "m", "1", "inputs").folder(2018, 12, 31, 5) == (
        "s/r/w/svc/m/1/inputs/2018/12/31/05"
    )
    assert [file_name(i) for i in range(3)] == ["data.csv", "data.1.csv", "data.2.csv"]
