"""A PostgreSQL cluster of the test's own, which it may stop and start at will.

The shared server at 127.0.0.1:5432 is never touched: other tests use it at the same time.
This one lives in a temporary folder owned by the ``postgres`` OS user (initdb refuses to
run as root), listens on a free port, and is always stopped and removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import in_ci

BIN = Path(os.environ.get("DESKAPP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    if not (BIN / "initdb").exists():
        return f"no initdb in {BIN}"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres OS user"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "must run as root or as postgres to own a private cluster"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """A throw-away cluster: ``url`` for a database in it, ``stop()`` and ``start()``."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="deskapp-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        user = pwd.getpwnam("postgres")
        os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._as_postgres([str(BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                           "-U", "postgres", "--no-sync", "-E", "UTF8"])
        self.running = False

    def _as_postgres(self, command: list[str], check: bool = True) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=120,
                       cwd=self.folder)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=40")
        self._as_postgres([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                           "-o", options, "-w", "-t", "60", "start"])
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no clean shutdown)."""
        self._as_postgres([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                           "-t", "60", "stop"], check=False)
        self.running = False

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A running private cluster, stopped and removed whatever happens."""
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def cluster_for_tests() -> Iterator[PrivateCluster]:
    """A private cluster for a test module (the body of its ``cluster`` fixture).

    Where one cannot run, the module is skipped; on CI that is a failure: lost connections
    must be tested there.
    """
    why = available()
    if why is not None:
        if in_ci():
            pytest.fail(f"CI must test lost connections: {why}")
        pytest.skip(why)
    with private_cluster() as cluster:
        yield cluster
