"""PostgreSQL stopped and started under a working desk (a private cluster, never the shared
server): clear errors while it is gone, and work carries on when it is back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deskapp.cli import main
from deskapp.domain.errors import DatabaseUnavailableError
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.live import PostgresChangeFeed
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.setup import ensure_admin
from tests.support.databases import reset_postgres
from tests.support.private_postgres import PrivateCluster, cluster_for_tests

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    yield from cluster_for_tests()


@pytest.fixture
def desk(cluster: PrivateCluster) -> Iterator[Database]:
    if not cluster.running:
        cluster.start()
    database = open_database(cluster.url())
    try:
        yield database
    finally:
        database.close()
        if not cluster.running:
            cluster.start()
        # Each test starts from an empty desk.
        again = open_database(cluster.url(), upgrade=False)
        reset_postgres(again.engine)
        again.close()


def test_services_fail_clearly_while_down_and_work_again_after(
        cluster: PrivateCluster, desk: Database) -> None:
    service = IncidentService(desk.uow_factory, ensure_admin(desk.uow_factory).id)
    caller = service.add_caller("Steady Caller")
    first, _ = service.log_call(LogCallRequest(caller.id, "Before the outage", 2, 2))
    for mode in ("fast", "immediate"):  # a clean shutdown, then a crash of the server
        cluster.stop(mode)
        with pytest.raises(DatabaseUnavailableError) as writing:
            service.log_call(LogCallRequest(caller.id, "During the outage", 2, 2))
        message = str(writing.value)
        assert message.startswith("The database is not available:") and "\n" not in message
        with pytest.raises(DatabaseUnavailableError):
            service.get(first.id)
        cluster.start()
        # The pool's dead connections are replaced without anyone noticing.
        assert service.get(first.id).short_description == "Before the outage"
    after, _ = service.log_call(LogCallRequest(caller.id, "After the outage", 2, 2))
    # Nothing half-done survived the failed calls: the numbers carry straight on.
    assert after.number == "INC0000002"
    assert [a.kind for a in service.activity(after.id)] == ["created"]


def test_the_live_feed_reconnects_and_hears_changes_again(
        cluster: PrivateCluster, desk: Database) -> None:
    service = IncidentService(desk.uow_factory, ensure_admin(desk.uow_factory).id)
    caller = service.add_caller("Listening Caller")
    feed = desk.open_change_feed()
    assert isinstance(feed, PostgresChangeFeed)
    try:
        cluster.stop()
        with pytest.raises(DatabaseUnavailableError):
            feed.wait(2.0)
        with pytest.raises(DatabaseUnavailableError):
            feed.reconnect()
        cluster.start()
        feed.reconnect()
        detail, _ = service.log_call(LogCallRequest(caller.id, "Heard after reconnecting", 2, 2))
        notice = None
        for _ in range(20):
            notice = feed.wait(0.5)
            if notice is not None:
                break
        assert notice is not None and detail.id in notice.incident_ids
    finally:
        feed.close()


def test_the_command_line_says_so_in_one_line(
        cluster: PrivateCluster, desk: Database, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.stop()
    for args in (["db", "current"], ["demo", "--incidents", "5"]):
        assert main(["--database-url", cluster.url(), *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"deskapp: error: Cannot open the database "
                              f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres")
    cluster.start()
    assert main(["--database-url", cluster.url(), "db", "current"]) == 0
    assert "up to date" in capsys.readouterr().out
