"""A real uvicorn server in a background thread, for tests that need real concurrency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from sqlalchemy import Engine

from trofast.app import create_app
from trofast.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(settings: Settings, engine: Engine) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # Generous: on a loaded two-core CI machine the app's startup alone can take seconds.
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive():
            # Another process took the port between `_free_port` and the bind: try again.
            raise OSError(f"test server could not bind port {port}")
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return server, thread, port


@contextmanager
def running_server(settings: Settings, engine: Engine) -> Iterator[str]:
    for attempt in range(3):
        try:
            server, thread, port = _start(settings, engine)
            break
        except OSError:
            if attempt == 2:
                raise
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
