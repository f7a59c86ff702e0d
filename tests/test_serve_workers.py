"""`trofast serve --workers N`: one socket per worker, connections spread over all of them,
a worker that dies replaced, all stopped by SIGTERM."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from trofast.cli import workers

pytestmark = pytest.mark.skipif(
    not workers.supported() or not Path("/proc/net/tcp").exists(),
    reason="SO_REUSEPORT and /proc are Linux's",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The worker processes (not multiprocessing's resource tracker)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            continue  # ended meanwhile
    return sorted(found)


def _wait(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = {
        **os.environ,
        "TROFAST_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TROFAST_ENVIRONMENT": "development",
    }
    command = [sys.executable, "-m", "trofast.cli.main", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2"], env=env)
    try:
        # Every worker listening, not only started: until the second binds its socket, the
        # kernel gives every connection to the first.
        _wait(lambda: _answers(f"http://127.0.0.1:{port}") and _all_listening(server.pid, port))
        yield server, port
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _all_listening(server: int, port: int) -> bool:
    workers = _children(server)
    return len(workers) == 2 and min(_sockets(port, workers, _LISTEN).values()) == 1


def _connection_owners(port: int, pids: list[int]) -> dict[int, int]:
    """Established connections to `port`, counted by the worker whose socket holds them."""
    return _sockets(port, pids, _ESTABLISHED)


_ESTABLISHED, _LISTEN = "01", "0A"  # the `st` column of /proc/net/tcp


def _sockets(port: int, pids: list[int], state: str) -> dict[int, int]:
    """Sockets on local `port` in `state`, counted by the process (of `pids`) holding them."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue  # ended meanwhile
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = pid
    owners = dict.fromkeys(pids, 0)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == state and fields[9] in inodes:
            owners[inodes[fields[9]]] += 1
    return owners


def test_connections_are_spread_over_the_workers(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    server, port = served
    workers = _children(server.pid)
    clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(32)]
    try:
        for client in clients:  # opened together, as a pool of keep-alive connections is
            client.connect()
        # Counted once every connection is accepted and before any is used: a connection
        # idle past the server's keep-alive timeout (a slow, loaded machine) is closed.
        _wait(lambda: sum(_connection_owners(port, workers).values()) == 32)
        owners = _connection_owners(port, workers)
        for client in clients:
            client.request("GET", "/openapi.json")
            assert client.getresponse().read()
    finally:
        for client in clients:
            client.close()

    # Each connection lands on one socket by its hash: 32 all on one worker is 1 in 2**31.
    assert sum(owners.values()) == 32
    assert min(owners.values()) > 0, owners


def test_a_dead_worker_is_replaced_and_sigterm_stops_all(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    server, port = served
    first = _children(server.pid)

    os.kill(first[0], signal.SIGKILL)
    _wait(lambda: len(_children(server.pid)) == 2 and first[0] not in _children(server.pid))
    _wait(lambda: _answers(f"http://127.0.0.1:{port}"))
    workers_now = _children(server.pid)
    server.send_signal(signal.SIGTERM)

    assert server.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers_now)


def test_workers_stop_when_the_supervisor_is_killed(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    server, _port = served
    workers_now = _children(server.pid)

    server.kill()
    server.wait()

    _wait(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers_now), seconds=30)


def test_a_worker_whose_supervisor_died_while_it_started_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The supervisor can die before a new worker runs a line (a spawned interpreter takes a
    second to start). The worker then already has another parent, and must still stop."""
    monkeypatch.setenv("TROFAST_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("TROFAST_ENVIRONMENT", "development")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a supervisor that has ended: not this test process, the worker's parent
    context = multiprocessing.get_context("spawn")
    app = "trofast.app:create_served_app"
    worker = context.Process(
        target=workers._worker, args=(app, "127.0.0.1", _free_port(), "warning", gone.pid)
    )
    worker.start()
    try:
        worker.join(timeout=30)
        # Stopped by its own SIGTERM: at once, or through uvicorn's graceful shutdown.
        assert worker.exitcode in (0, -signal.SIGTERM)
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
