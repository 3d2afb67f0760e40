"""The runner: calls off the GUI thread, tasks kept and reported, workers stopped on close."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pytestqt.qtbot import QtBot

from deskapp.domain.errors import NotFoundError
from deskapp.qt.runner import DbRunner, describe_error, workers_for
from tests.qt.conftest import AttachedLoop, Await


@pytest.fixture
def plain_runner(qloop: AttachedLoop) -> DbRunner:
    return DbRunner(ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-db"))


def test_calls_run_in_a_worker_and_return_on_the_gui_thread(
        run: Await, plain_runner: DbRunner) -> None:
    async def call() -> tuple[str, str]:
        worker = await plain_runner.db(lambda: threading.current_thread().name)
        return worker, threading.current_thread().name

    try:
        worker, after = run(call())
    finally:
        plain_runner.close()
    assert worker.startswith("test-db")
    assert after == threading.main_thread().name


def test_failures_of_spawned_tasks_are_reported(
        qtbot: QtBot, plain_runner: DbRunner) -> None:
    def missing() -> None:
        raise NotFoundError("There is no incident INC0000042.")

    async def fail() -> None:
        await plain_runner.db(missing)

    try:
        with qtbot.waitSignal(plain_runner.task_failed) as failed:
            plain_runner.spawn(fail())
            assert plain_runner.pending == 1
    finally:
        plain_runner.close()
    assert failed.args == ["There is no incident INC0000042."]
    assert plain_runner.pending == 0


def test_close_cancels_tasks_and_stops_the_workers(
        qtbot: QtBot, run: Await, plain_runner: DbRunner) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow() -> int:
        started.set()
        release.wait(5)
        return 1

    task = plain_runner.spawn(plain_runner.db(slow))
    qtbot.waitUntil(started.is_set)
    release.set()
    run(plain_runner.aclose())
    assert task.cancelled()
    assert plain_runner.closed
    with pytest.raises(RuntimeError):
        run(plain_runner.db(lambda: 1))
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        plain_runner.spawn(coro)


def test_sizes_and_messages() -> None:
    assert workers_for("sqlite") == 1
    assert workers_for("postgresql") == 4
    assert describe_error(NotFoundError("No such caller.")) == "No such caller."
    assert describe_error(OSError("connection reset\nbackground: ...")) == \
        "OSError: connection reset"
    assert describe_error(RuntimeError()) == "RuntimeError"
