from __future__ import annotations

import uvicorn

from trofast.app import create_app, create_served_app
from trofast.cli import workers as reuse_port
from trofast.cli.context import console, engine_scope
from trofast.config import get_settings
from trofast.migrate import upgrade


def run_server(host: str, port: int, workers: int = 1) -> None:
    """Migrate the database, then serve the API (docs at /docs)."""
    settings = get_settings()
    with engine_scope(settings) as engine:
        upgrade(engine)
    console.print(f"Trofast on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    factory = f"{create_served_app.__module__}:{create_served_app.__name__}"
    if workers > 1 and reuse_port.supported():
        # Each worker process builds its own app from the factory, on a socket of its own.
        reuse_port.run(factory, host, port, workers)
    elif workers > 1:
        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level="warning"
        )
    else:
        uvicorn.run(create_app(settings, freeze_heap=True), host=host, port=port, log_level="info")
