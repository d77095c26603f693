"""The demo from end to end: train, serve, score with collection on and off, show the files.

The service runs in its own process (uvicorn), as in production; collection is switched off
and on again through its watched configuration file (``MODELTAP_CONFIG``), without a restart.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import modeltap
from modeltap.demo.load import LoadResult, drive


@dataclass
class Settings:
    duration: float = 5.0
    clients: int = 8
    rows_per_request: int = 1
    store: str = "./modeldata"
    port: int = 0
    show_lines: int = 3


def train(path: Path) -> list[list[float]]:
    """A ridge regression on scikit-learn's diabetes data (shipped with it: no download);
    returns the feature rows the clients will send."""
    from sklearn.datasets import load_diabetes  # noqa: PLC0415 - the demo extra
    from sklearn.linear_model import Ridge  # noqa: PLC0415

    x, y = load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.1).fit(x, y)
    with open(path, "wb") as f:
        pickle.dump(model, f)
    rows: list[list[float]] = x.tolist()
    return rows


class Service:
    """``uvicorn modeltap.demo.app:app`` in a child process, on 127.0.0.1."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "uvicorn", "modeltap.demo.app:app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.process = subprocess.Popen(command, env={**os.environ, **env})

    def get(self, path: str) -> dict[str, Any]:
        import httpx  # noqa: PLC0415 - the demo extra

        answer: dict[str, Any] = httpx.get(self.url + path, timeout=10).json()
        return answer

    def __enter__(self) -> Service:
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the scoring service exited with status {self.process.returncode}")
            try:
                self.get("/health")
                return self
            except OSError:
                pass
            except Exception:  # noqa: BLE001 - httpx's connection errors: not up yet
                if time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"the scoring service did not answer on {self.url}") from None
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()  # SIGTERM: uvicorn shuts down, modeltap flushes
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class Progress:
    """One line on stderr, redrawn in place on a terminal, printed per phase otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()

    def phase(self, name: str, total: float) -> Any:
        def update(elapsed: float, requests: int) -> None:
            if self.tty:
                width = 30
                filled = int(width * min(1.0, elapsed / total))
                bar = "#" * filled + "-" * (width - filled)
                self.out.write(f"\r  {name:<16} [{bar}] {elapsed:4.1f}/{total:.0f}s  {requests:>8,} requests")
                self.out.flush()

        if not self.tty:
            self.out.write(f"  {name}: {total:.0f}s of requests...\n")
        return update

    def done(self) -> None:
        if self.tty:
            self.out.write("\n")


def run(settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Runs the demo; prints the report to ``out`` and progress to ``err``."""
    store = modeltap.stores.open_store(settings.store)  # checked here, before anything starts
    progress = Progress(err)
    with tempfile.TemporaryDirectory() as tmp:
        model_path, switch_file = Path(tmp) / "model.pkl", Path(tmp) / "modeltap.json"
        err.write("modeltap demo: training a ridge regression on scikit-learn's diabetes data\n")
        rows = train(model_path)
        switch_file.write_text('{"enabled": true}')
        n = settings.rows_per_request
        bodies = [json.dumps({"data": rows[i : i + n]}).encode() for i in range(len(rows) - n + 1)]
        env = {
            "MODELTAP_DEMO_MODEL": str(model_path),
            "MODELTAP_CONFIG": str(switch_file),
            "MODELTAP_STORAGE": settings.store,
        }
        with Service(settings.port, env) as service:
            err.write(
                f"serving it at {service.url}/score; {settings.clients} clients, {settings.duration:.0f}s a phase\n"
            )
            seconds, clients = settings.duration, settings.clients
            before = service.get("/stats")
            on = drive(f"{service.url}/score", bodies, clients, seconds, progress.phase("collection on", seconds))
            progress.done()
            _switch(service, switch_file, False)  # the watched file: no restart
            off = drive(f"{service.url}/score", bodies, clients, seconds, progress.phase("collection off", seconds))
            progress.done()
            _switch(service, switch_file, True)
            after = service.get("/stats")
    _report(out, settings, on, off, before, after, store)
    return 0 if on.errors == 0 and off.errors == 0 else 1


def _switch(service: Service, path: Path, on: bool) -> None:
    path.write_text(json.dumps({"enabled": on}))
    deadline = time.monotonic() + 10
    while service.get("/stats")["enabled"] != on:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service did not follow {path} within 10 s")
        time.sleep(0.1)


def _report(
    out: TextIO,
    settings: Settings,
    on: LoadResult,
    off: LoadResult,
    before: dict[str, Any],
    after: dict[str, Any],
    store: Any,
) -> None:
    out.write("\n                   requests/s   p50 ms   p99 ms   errors\n")
    for name, r in (("collection on", on), ("collection off", off)):
        out.write(
            f"  {name:<15} {r.requests_per_second:>11,.0f} {r.percentile(50) * 1e3:>8.2f} "
            f"{r.percentile(99) * 1e3:>8.2f} {r.errors:>8}\n"
        )
    collected = after["rows_collected"] - before["rows_collected"]
    dropped = sum(after["rows_dropped"].values()) - sum(before["rows_dropped"].values())
    disabled = after["rows_disabled"] - before["rows_disabled"]
    out.write(f"\nrows collected: {collected:,}   dropped: {dropped:,}   not collected while off: {disabled:,}\n")
    out.write(f"\nfiles in {store!r}:\n")
    if isinstance(store, modeltap.stores.ReadableStore):
        for f in store.list_files("default/default/default/default/diabetes"):
            out.write(f"  {f.path}  ({f.size:,} bytes)\n")
            for line in store.read_bytes(f.path).decode().splitlines()[: settings.show_lines]:
                out.write(f"      {line[:150]}{'...' if len(line) > 150 else ''}\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
