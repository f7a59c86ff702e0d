"""Request-scoped dependencies: the unit of work and the settings.

They are `async` although the unit of work is synchronous: FastAPI runs every sync
dependency on the worker-thread pool, and each such hop (a queue, a thread wake-up, the
GIL handed back and forth) cost more than the work itself. Only what touches the database
(the commit or rollback) goes to a thread; making the session object does not.

The commit takes a thread outside the shared pool's limit, as FastAPI does for the exit of
a sync dependency: on SQLite a request that has written holds the write lock until it
commits, while requests queued behind that lock can fill the whole pool; a commit waiting
for one of their threads would wait for the busy timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from trofast.config import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed when the endpoint returns, else rolled back."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        await _finish(session, commit=False)
        raise
    await _finish(session, commit=True)


async def _finish(session: Session, *, commit: bool) -> None:
    await to_thread.run_sync(_close, session, commit, limiter=CapacityLimiter(1))


def _close(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
