"""Running service calls off the GUI thread, and the tasks that await them.

Every database call goes through one DbRunner: ``rows = await runner.db(service.list_queue,
query)``. The call runs in the runner's own ThreadPoolExecutor (passed explicitly, never the
loop's default) and the coroutine resumes on the GUI thread with the result, so Qt models are
only ever touched from the GUI thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, TypeVarTuple, Unpack

from PySide6.QtCore import QObject, Signal

from deskapp.domain.errors import DeskappError

log = logging.getLogger(__name__)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

SQLITE_WORKERS = 1
"""SQLite has one writer: a single worker never meets "database is locked" from itself."""
POSTGRES_WORKERS = 4
"""Enough for a page load, a count and a save to overlap; the engine's pool holds 4 + 2."""


def workers_for(dialect: str) -> int:
    """How many worker threads suit a database of this dialect."""
    return SQLITE_WORKERS if dialect == "sqlite" else POSTGRES_WORKERS


def describe_error(exc: BaseException) -> str:
    """One line a user can read, for the status bar or a message box.

    Our own errors are written for users already; anything else (a dropped connection, a
    driver error) is named by its type and the first line of its message, since drivers add
    pages of detail below it.
    """
    if isinstance(exc, DeskappError):
        return str(exc)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


class DbRunner(QObject):
    """Runs blocking service calls in worker threads and keeps the tasks that await them.

    Signals:
        task_failed(str): a spawned task ended with an exception nobody handled; the
            argument is a one-line description. The exception is logged with its traceback.
    """

    task_failed = Signal(str)

    def __init__(self, executor: ThreadPoolExecutor, parent: QObject | None = None) -> None:
        """Wrap an executor; the runner owns it from now on and shuts it down in close().

        Args:
            executor: the threads service calls run in.
            parent: the Qt parent, if any.
        """
        super().__init__(parent)
        self._executor = executor
        # asyncio keeps only weak references to tasks: without this set a running page load
        # could be garbage-collected mid-flight.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @classmethod
    def for_dialect(cls, dialect: str, parent: QObject | None = None) -> DbRunner:
        """A runner with as many workers as the database can use well."""
        workers = workers_for(dialect)
        return cls(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deskapp-db"),
                   parent)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """How many spawned tasks have not finished yet."""
        return len(self._tasks)

    async def db(self, fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
        """Run ``fn(*args)`` in a worker thread and return its result on the GUI thread.

        Raises:
            RuntimeError: the runner is closed.
            Exception: whatever ``fn`` raised.
        """
        if self._closed:
            raise RuntimeError("The database runner is closed.")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a task the runner keeps until it ends.

        Exceptions the coroutine does not handle itself are logged and reported through
        ``task_failed`` rather than lost with the task.
        """
        if self._closed:
            coro.close()
            raise RuntimeError("The database runner is closed.")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        log.error("Background task %s failed", task.get_name(), exc_info=exc)
        if not self._closed:
            self.task_failed.emit(describe_error(exc))

    async def aclose(self) -> None:
        """Cancel what is still running, wait for it to unwind, and stop the workers."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self.close()

    def close(self) -> None:
        """Cancel the tasks and stop the worker threads, waiting for a call in progress.

        A call already running in a worker cannot be interrupted (a database driver call is
        not cancellable from another thread); waiting for it means no thread outlives the
        runner and the database can be closed safely afterwards.
        """
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
