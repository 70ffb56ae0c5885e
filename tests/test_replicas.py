"""Reads from a real streaming standby: where they go, reading one's own writes, a sick standby.

The fault tests' throwaway cluster is the primary; a standby made from it with
``pg_basebackup -R`` follows it on a port of its own, for this module, and is removed
after it whatever happens. Each app here reads its replica through connections named
``catalog-replica-test`` and the primary through ``catalog-primary-test``, so that the
servers themselves say who was asked (``pg_stat_activity``).
"""

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event
from support.api_data import seed_api_catalog, seed_tokens
from support.gunicorn_server import gunicorn
from support.pgcluster import migrated_database
from support.sign_in import AuthActions

from bench.soak import run_load, verify
from catalog.extensions import db
from catalog.web import replicas as replicas_module

# Counted among the PostgreSQL tests (conftest's ``backend``), which they are.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("cluster"),
    pytest.mark.parametrize("backend", ["postgresql"]),
]
REPLICA_NAME = "catalog-replica-test"
PRIMARY_NAME = "catalog-primary-test"
# How soon a recovered or caught-up standby must serve reads again.
BACK_WITHIN = 10
BALL = "/catalog/soccer/match-ball/"


@pytest.fixture(scope="module")
def primary_database(cluster):
    return migrated_database(cluster, prefix="catalog_replicas")


@pytest.fixture(scope="module")
def standby(cluster, primary_database):
    """A streaming standby of the cluster, started, and removed after the module."""
    follower = cluster.standby()
    try:
        yield follower
    finally:
        follower.remove()


def named(url: str, name: str) -> str:
    return f"{url}?application_name={name}"


@pytest.fixture
def replicated(make_app, cluster, standby, primary_database, monkeypatch, backend):
    """An app on the primary with the standby as its replica, empty and seeded."""
    monkeypatch.setattr(replicas_module, "RECHECK", 0.2)
    database = primary_database.rsplit("/", 1)[1]
    app = make_app(
        SQLALCHEMY_DATABASE_URI=named(primary_database, PRIMARY_NAME),
        DATABASE_REPLICA_URL=named(standby.url(database), REPLICA_NAME),
        # One connection to each server is enough, as for a sync worker: nothing here
        # takes a second one while the request holds its own (it would wait, then 503).
        DATABASE_POOL_SIZE=1,
        DATABASE_POOL_TIMEOUT=1,
    )
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    app.extensions["test.seeded"] = seed_api_catalog(app)
    wait_until_replayed(cluster, standby)
    yield app
    with app.app_context():
        replicas_module.replicas().dispose()


@pytest.fixture
def auth(replicated):
    """Sign-in for a client of the replicated app."""
    return AuthActions(replicated.test_client())


def wait_until_replayed(cluster, standby, timeout: float = BACK_WITHIN) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    (target,) = cluster.sql("SELECT pg_current_wal_insert_lsn()")[0]
    deadline = time.monotonic() + timeout
    while True:
        rows = standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
        if rows[0][0]:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the standby did not replay {target} within {timeout} s")
        time.sleep(0.05)


class Statements:
    """Statements the app ran on each of its engines, by ``primary`` and ``replica``."""

    def __init__(self, app):
        self.primary: list[str] = []
        self.replica: list[str] = []
        with app.app_context():
            engines = {"primary": db.engine}
            (follower,) = replicas_module.replicas().replicas
            engines["replica"] = follower.engine
        for name, engine in engines.items():
            event.listen(engine, "before_cursor_execute", self._recorder(getattr(self, name)))

    @staticmethod
    def _recorder(into):
        def record(conn, cursor, statement, parameters, context, executemany):
            # The replicas' health looks are not the request's statements.
            if "pg_last_wal_replay_lsn" not in statement and "wal_insert_lsn" not in statement:
                into.append(statement)

        return record

    def clear(self):
        self.primary.clear()
        self.replica.clear()


def add_item(app, client, name: str):
    """Add an item to Soccer through the page's form; return the answer."""
    soccer = app.extensions["test.seeded"].categories["soccer"]
    return client.post(
        "/catalog/new", data={"name": name, "category": soccer, "description": "Light."}
    )


def last_queries(server, name: str) -> list[str]:
    rows = server.sql(f"SELECT query FROM pg_stat_activity WHERE application_name = '{name}'")
    return [query for (query,) in rows]


def replica_ready(app):
    """Look at the replica now, and tell whether it would serve a read."""
    with app.app_context():
        followers = replicas_module.replicas()
        followers.refresh(force=True)
        return followers.replicas[0].state == "ok"


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def test_reads_go_to_the_standby_and_writes_to_the_primary(replicated, cluster, standby, auth):
    app = replicated
    statements = Statements(app)
    visitor = app.test_client()
    assert replica_ready(app)
    for path in ("/", "/catalog/soccer/", "/api/v1/items", "/catalog.json", "/search?q=ball"):
        assert visitor.get(path).status_code == 200, path
    assert statements.replica
    assert statements.primary == []
    # The servers agree: the standby ran the pages' statements, the primary none of them.
    assert any("items" in query for query in last_queries(standby, REPLICA_NAME))
    assert not any("items" in q for q in last_queries(cluster, REPLICA_NAME))

    statements.clear()
    assert auth.login("sam").status_code == 302
    response = add_item(app, auth.client, "Shin Guards")
    assert response.status_code == 302
    assert statements.replica == []
    assert any(s.startswith("INSERT INTO items") for s in statements.primary)


def test_a_page_costs_the_same_statements_on_the_standby(replicated, make_app, primary_database):
    """The replica adds no statement to a page: its health is looked at once a second."""
    alone = make_app(SQLALCHEMY_DATABASE_URI=primary_database)
    counted = []
    with alone.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: counted.append(args[2]))
    statements = Statements(replicated)
    assert replica_ready(replicated)
    for path in ("/", "/catalog/soccer/", BALL, "/api/v1/items", "/search?q=ball"):
        counted.clear()
        statements.clear()
        assert alone.test_client().get(path).status_code == 200
        assert replicated.test_client().get(path).status_code == 200
        assert statements.primary == [], path
        assert statements.replica == counted, path


def test_the_writer_sees_their_write_at_once_while_replay_is_paused(
    replicated, cluster, standby, auth
):
    app = replicated
    statements = Statements(app)
    visitor = app.test_client()
    assert auth.login("sam").status_code == 302
    wait_until_replayed(cluster, standby)
    standby.sql("SELECT pg_wal_replay_pause()")
    try:
        response = add_item(app, auth.client, "Shin Guards")
        assert response.status_code == 302
        assert replica_ready(app)  # paused, but within the lag allowed: it serves others
        statements.clear()
        # The writer's next read shows the write: it comes from the primary.
        page = auth.client.get("/catalog/soccer/")
        assert "Shin Guards" in page.get_data(as_text=True)
        assert auth.client.get("/catalog/soccer/shin-guards/").status_code == 200
        assert statements.primary
        assert statements.replica == []
        # Another visitor reads the standby, which has not replayed it yet.
        statements.clear()
        assert "Shin Guards" not in visitor.get("/catalog/soccer/").get_data(as_text=True)
        assert visitor.get("/catalog/soccer/shin-guards/").status_code == 404
        assert statements.replica
        assert statements.primary == []
    finally:
        standby.sql("SELECT pg_wal_replay_resume()")
    wait_for(
        lambda: visitor.get("/catalog/soccer/shin-guards/").status_code == 200,
        BACK_WITHIN,
        "the visitor seeing the new item after replay resumed",
    )
    # Once the standby has caught up, the writer reads from it too.
    wait_until_replayed(cluster, standby)
    replica_ready(app)
    statements.clear()
    assert auth.client.get("/catalog/soccer/shin-guards/").status_code == 200
    assert statements.replica
    assert statements.primary == []


def test_a_lag_over_the_limit_sends_reads_to_the_primary(
    make_app, replicated, cluster, standby, caplog
):
    app = replicated
    app.config["DATABASE_REPLICA_MAX_LAG"] = 1
    with app.app_context():
        replicas_module.replicas().max_lag = 1
    statements = Statements(app)
    visitor = app.test_client()
    assert replica_ready(app)
    standby.sql("SELECT pg_wal_replay_pause()")
    try:
        with app.app_context():
            seed_extra = db.session.connection()
            seed_extra.exec_driver_sql("UPDATE items SET description = 'Newer'")
            db.session.commit()
        # Lag is told from the primary's positions this process has seen go unreplayed.
        with caplog.at_level(logging.WARNING, logger=replicas_module.__name__):
            wait_for(lambda: not replica_ready(app), 10, "the standby being found lagging")
        assert "lagging" in caplog.text
        statements.clear()
        assert "Newer" in visitor.get(BALL).get_data(as_text=True)
        assert statements.primary
        assert statements.replica == []
        health = visitor.get("/healthz")
        assert health.status_code == 200
        (report,) = health.get_json()["replicas"].values()
        assert report["state"] == "lagging"
        assert report["lag_seconds"] >= 1  # rounded to tenths
    finally:
        standby.sql("SELECT pg_wal_replay_resume()")
    wait_for(lambda: replica_ready(app), BACK_WITHIN, "the standby catching up")
    # Within the limit is not caught up: the change is there once it has replayed it.
    wait_until_replayed(cluster, standby)
    statements.clear()
    assert "Newer" in visitor.get(BALL).get_data(as_text=True)
    assert statements.replica
    assert statements.primary == []


def test_a_stopped_standby_costs_no_error_and_serves_again_once_started(
    replicated, standby, caplog
):
    app = replicated
    statements = Statements(app)
    visitor = app.test_client()
    assert replica_ready(app)
    assert visitor.get("/catalog/soccer/").status_code == 200  # a pooled replica connection
    paths = ("/", "/catalog/soccer/", "/api/v1/items", "/catalog.json")
    statuses = []
    with caplog.at_level(logging.WARNING, logger=replicas_module.__name__):
        standby.stop()
        try:
            statements.clear()
            for _ in range(3):
                statuses += [visitor.get(path).status_code for path in paths]
            assert statements.primary
            assert statements.replica == []
            health = visitor.get("/healthz")
            assert health.status_code == 200
            assert list(health.get_json()["replicas"].values()) == [{"state": "unreachable"}]
        finally:
            standby.start()
        assert caplog.text.count("is unreachable") == 1, caplog.text
    started = time.monotonic()

    def served_by_standby():
        statements.clear()
        statuses.append(visitor.get("/catalog/soccer/").status_code)
        return bool(statements.replica)

    wait_for(served_by_standby, BACK_WITHIN, "reads going back to the standby")
    assert set(statuses) == {200}
    assert time.monotonic() - started < BACK_WITHIN
    assert "is back" in caplog.text


def doctor_line(app, check: str) -> str:
    result = app.test_cli_runner().invoke(args=["doctor", "--offline"])
    (line,) = [line for line in result.stdout.splitlines() if f" {check}: " in line]
    return line


def test_a_view_whose_standby_connection_dies_under_it_runs_again_on_the_primary(
    replicated, standby, caplog
):
    app = replicated
    statements = Statements(app)
    visitor = app.test_client()
    assert replica_ready(app)
    with app.app_context():
        (follower,) = replicas_module.replicas().replicas
    killed = []

    def end_its_session(conn, cursor, statement, parameters, context, executemany):
        if not killed and "FROM items" in statement:
            pid = conn.connection.dbapi_connection.info.backend_pid
            killed.append(standby.sql(f"SELECT pg_terminate_backend({pid})"))

    event.listen(follower.engine, "before_cursor_execute", end_its_session)
    try:
        with caplog.at_level(logging.WARNING, logger=replicas_module.__name__):
            page = visitor.get(BALL)
    finally:
        event.remove(follower.engine, "before_cursor_execute", end_its_session)
    assert killed == [[(True,)]]
    assert page.status_code == 200
    assert "Match Ball" in page.get_data(as_text=True)
    assert statements.primary  # the second run of the view
    assert "is unreachable" in caplog.text
    # The standby answers the next look, and serves again.
    wait_for(lambda: replica_ready(app), BACK_WITHIN, "the standby serving again")
    statements.clear()
    assert visitor.get(BALL).status_code == 200
    assert statements.replica
    assert statements.primary == []


def test_doctor_checks_that_each_replica_answers_and_is_a_standby(
    replicated, make_app, primary_database
):
    line = doctor_line(replicated, "replicas")
    assert line.startswith("ok ")
    assert "a standby 0.0 s behind (limit 10 s)" in line
    # The primary named as a replica is reachable but no standby: a problem, said so.
    wrong = make_app(
        SQLALCHEMY_DATABASE_URI=primary_database, DATABASE_REPLICA_URL=primary_database
    )
    line = doctor_line(wrong, "replicas")
    assert line.startswith("problem ")
    assert "not a standby" in line
    with wrong.app_context():
        replicas_module.replicas().dispose()


# The load run: two gunicorn instances of two workers, a short mixed load (bench/soak.py).
LOAD_SECONDS = 10
LOAD_CLIENTS = 4


def cpu_seconds(server) -> float:
    """Return the CPU time the server's processes have used, those that exited included."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        pid, parent = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            # Its own time, and that of the backends it has reaped (cutime, cstime).
            ticks += sum(int(n) for n in fields[11:15])
        elif parent == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def transactions(server, database: str) -> int:
    rows = server.sql(f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{database}'")
    return int(rows[0][0])


def load_run(tmp_path, cluster, standby, primary_database, replica: bool):
    """Serve two instances, run the load, stop them; return the tally and what each server did."""
    database = primary_database.rsplit("/", 1)[1]
    settings = {"RATELIMIT_WRITES": "1000 per minute"}
    if replica:
        settings["DATABASE_REPLICA_URL"] = standby.url(database)
    tokens = seed_tokens(primary_database, LOAD_CLIENTS)
    wait_until_replayed(cluster, standby)
    before = {
        "primary_cpu": cpu_seconds(cluster),
        "primary_xacts": transactions(cluster, database),
        "standby_xacts": transactions(standby, database),
    }
    with (
        gunicorn(tmp_path / "a", primary_database, name="a", workers=2, settings=settings) as a,
        gunicorn(tmp_path / "b", primary_database, name="b", workers=2, settings=settings) as b,
    ):
        tally = run_load([a.url, b.url], tokens, LOAD_SECONDS, writes_per_minute=40, seed=17)
    for server in (a, b):
        assert "Traceback" not in server.log(), server.log()
    # The servers' connections are closed: their backends have reported their counts.
    time.sleep(1)
    after = {
        "primary_cpu": cpu_seconds(cluster),
        "primary_xacts": transactions(cluster, database),
        "standby_xacts": transactions(standby, database),
    }
    return tally, {name: after[name] - before[name] for name in before}


def test_a_load_on_two_instances_reads_from_the_standby_and_loses_no_write(
    tmp_path, cluster, standby, primary_database, capsys, backend
):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = {}
    for replica in (False, True):
        tally, used = load_run(tmp_path, cluster, standby, primary_database, replica)
        findings = verify(primary_database, tally)
        assert tally.server_errors == []
        assert tally.statuses[503] == 0
        assert tally.problems == []
        assert findings.missing == []
        assert findings.duplicated == []
        assert findings.stale == []
        assert findings.found == tally.acknowledged
        assert len(tally.created) > 10
        reads = tally.requests - tally.acknowledged - tally.replayed
        runs[replica] = (tally, used, reads)
    _, alone, _ = runs[False]
    tally, shared, reads = runs[True]
    # Without a replica the standby serves nothing; with one it serves the reads.
    assert alone["standby_xacts"] == 0
    assert shared["standby_xacts"] > reads / 2
    with capsys.disabled():
        for replica, (tally, used, reads) in runs.items():
            print(
                f"\n{'with' if replica else 'without'} the standby: {tally.requests} requests "
                f"({reads} reads, {tally.acknowledged} writes) in {LOAD_SECONDS} s; "
                f"transactions: primary {used['primary_xacts']}, standby {used['standby_xacts']}; "
                f"primary CPU {used['primary_cpu']:.2f} s, "
                f"{1000 * used['primary_cpu'] / max(reads, 1):.2f} ms per read"
            )


def test_stopping_and_starting_the_standby_under_load_costs_no_error(
    tmp_path, cluster, standby, primary_database, backend
):
    database = primary_database.rsplit("/", 1)[1]
    settings = {
        "RATELIMIT_WRITES": "1000 per minute",
        "DATABASE_REPLICA_URL": standby.url(database),
    }
    tokens = seed_tokens(primary_database, LOAD_CLIENTS)
    wait_until_replayed(cluster, standby)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    served = {}

    def stop_then_start():
        time.sleep(3)
        standby.stop()
        time.sleep(4)
        standby.start()
        served["restarted"] = transactions(standby, database)
        time.sleep(5)
        served["at the end"] = transactions(standby, database)

    with (
        gunicorn(tmp_path / "a", primary_database, name="a", workers=2, settings=settings) as a,
        gunicorn(tmp_path / "b", primary_database, name="b", workers=2, settings=settings) as b,
    ):
        outage = threading.Thread(target=stop_then_start)
        outage.start()
        try:
            tally = run_load([a.url, b.url], tokens, 14, writes_per_minute=40, seed=5)
        finally:
            outage.join(timeout=60)
            if "restarted" not in served:  # the thread failed: leave the standby running
                with contextlib.suppress(Exception):
                    standby.start()
    findings = verify(primary_database, tally)
    assert tally.server_errors == []
    assert tally.statuses[503] == 0
    assert tally.problems == []
    assert findings.missing == []
    assert findings.found == tally.acknowledged
    # Back on the standby within the seconds after it started (its own sessions count too,
    # but only a served read makes many).
    assert served["at the end"] - served["restarted"] > 10
    for server in (a, b):
        assert "is unreachable" in server.log()
        assert "is back" in server.log()
