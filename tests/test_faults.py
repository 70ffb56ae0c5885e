"""Faults under gunicorn, as in production: SIGTERM mid-request, a PostgreSQL restart, a dry pool.

Each test serves the test entry point (tests/support/served_app.py) with the Procfile's web
command and the production gunicorn.conf.py, on a database of the tests' own
PostgreSQL cluster, which they stop and start at will. Every wait is bounded.
"""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import func, select
from support.api_data import seed_api_catalog
from support.gunicorn_server import gunicorn
from support.pgcluster import migrated_database

from catalog.extensions import db
from catalog.models import Category, Item

PROBLEM = "application/problem+json"
# gunicorn.conf.py's graceful_timeout: what SIGTERM allows requests in flight.
GRACE = 25
# How soon after PostgreSQL is back every request must succeed again.
# One pytest-xdist worker runs every test on the cluster (here and in test_outages.py),
# so that it is made once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]
RECOVERY_LIMIT = 10
# Requests may wait this long at most during an outage: the pool's checkout timeout
# plus a connection attempt, both 5 s by default; far less when connections are refused.
LONGEST_WAIT = 10


@pytest.fixture(scope="module")
def database(cluster):
    """A migrated database on the cluster, shared by this module's tests."""
    return migrated_database(cluster)


@pytest.fixture
def seeded(make_app, database):
    app = make_app(SQLALCHEMY_DATABASE_URI=database)
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    return seed_api_catalog(app), app


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_sigterm_lets_requests_in_flight_finish_then_exits_cleanly(database, tmp_path, backend):
    markers = tmp_path / "markers"
    markers.mkdir()
    with gunicorn(tmp_path, database, workers=2, CATALOG_TEST_MARKERS=str(markers)) as server:
        with ThreadPoolExecutor(2) as pool:
            slow = [
                pool.submit(requests.get, f"{server.url}/_slow?seconds=4", timeout=30)
                for _ in range(2)
            ]
            wait_for(lambda: len(list(markers.iterdir())) == 2, 20, "two slow requests starting")
            signalled = time.monotonic()
            exit_status = server.stop()
            stopped_after = time.monotonic() - signalled
            answers = [future.result(timeout=30) for future in slow]
        log = server.log()

    assert [a.status_code for a in answers] == [200, 200]
    assert all(a.json() == {"slept": 4.0, "pid": int(a.headers["X-Worker-Pid"])} for a in answers)
    # Threaded workers may take both requests in one process: each came from a worker booted
    # for this server, and none was replaced while they ran.
    assert {a.headers["X-Worker-Pid"] for a in answers} <= {str(p) for p in server.booted_workers()}
    assert len(server.booted_workers()) == 2
    assert exit_status == 0, log
    # It waited for the requests (about 4 s), and not for the whole grace period.
    assert 1 < stopped_after < GRACE, stopped_after
    assert "Handling signal: term" in log
    assert "Shutting down: Master" in log
    assert "Traceback" not in log
    assert "WORKER TIMEOUT" not in log


@dataclass
class Answer:
    path: str
    started: float
    finished: float
    status: int  # 0: no answer at all (connection refused or reset, timeout)
    mimetype: str = ""
    retry_after: str | None = None
    worker: str | None = None


def keep_requesting(base: str, paths: list[str], stop: threading.Event, answers: list):
    """Request ``paths`` in turn until ``stop`` is set, recording every answer."""
    session = requests.Session()
    n = 0
    while not stop.is_set():
        path = paths[n % len(paths)]
        n += 1
        started = time.monotonic()
        try:
            response = session.get(base + path, timeout=30)
        except requests.RequestException:
            answers.append(Answer(path, started, time.monotonic(), 0))
            continue
        answers.append(
            Answer(
                path,
                started,
                time.monotonic(),
                response.status_code,
                response.headers.get("Content-Type", "").split(";")[0],
                response.headers.get("Retry-After"),
                response.headers.get("X-Worker-Pid"),
            )
        )
        time.sleep(0.02)


def keep_writing(base: str, bearer: dict, stop: threading.Event, acknowledged: list):
    """Add items one after another, retrying each with its key until it is acknowledged."""
    n = 0
    while not stop.is_set():
        n += 1
        body = {"category": "soccer", "name": f"Restart item {n}"}
        headers = {**bearer, "Idempotency-Key": str(uuid.uuid4())}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = requests.post(
                    f"{base}/api/v1/items", json=body, headers=headers, timeout=30
                )
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])
                break
            assert response.status_code == 503, response.text
            time.sleep(0.2)
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_database_restart_gives_503s_then_recovers_with_the_same_workers(
    cluster, database, seeded, tmp_path, capsys, backend
):
    catalog, app = seeded
    paths = ["/api/v1/categories", "/", "/healthz", "/api/v1/items"]
    answers: list[Answer] = []
    acknowledged: list[int] = []
    stop = threading.Event()
    # The writer adds about ten items a second; the write limit is not under test here.
    unlimited = {"RATELIMIT_WRITES": "100000 per minute"}
    with gunicorn(tmp_path, database, workers=2, settings=unlimited) as server:
        threads = [
            threading.Thread(target=keep_requesting, args=(server.url, paths, stop, answers))
            for _ in range(2)
        ]
        threads.append(
            threading.Thread(
                target=keep_writing, args=(server.url, catalog.bearer("ada"), stop, acknowledged)
            )
        )
        for thread in threads:
            thread.start()
        try:
            time.sleep(2)
            went_down = time.monotonic()
            cluster.stop()
            time.sleep(3)
        finally:
            starting = time.monotonic()
            cluster.start()  # returns once the server accepts connections
        back = time.monotonic()
        time.sleep(RECOVERY_LIMIT + 2)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        log = server.log()
        booted = server.booted_workers()

    statuses = {a.status for a in answers}
    assert statuses <= {200, 503}, (sorted(statuses), log)
    assert all(a.finished - a.started < LONGEST_WAIT for a in answers), max(
        a.finished - a.started for a in answers
    )
    failed = [a for a in answers if a.status != 200]
    assert failed, "the outage went unnoticed: is the test stopping the right server?"
    # Failures only while the database was away (or for requests it cut off as it went).
    assert all(went_down <= a.finished <= back + RECOVERY_LIMIT for a in failed)
    for answer in failed:
        assert answer.retry_after == "5"
        expected = {"/healthz": "application/json", "/": "text/html"}.get(answer.path, PROBLEM)
        assert answer.mimetype == expected

    # Recovery: from the database accepting connections again to the end of the last 503.
    last_failure = max(a.finished for a in failed)
    recovery = max(0.0, last_failure - back)
    first_success = min(a.finished for a in answers if a.status == 200 and a.started > last_failure)
    after = [a for a in answers if a.started > back + recovery]
    assert after
    assert all(a.status == 200 for a in after)
    longest = max(a.finished - a.started for a in answers)
    # Shown in every run, not only on failure: the recovery time is a figure to watch.
    with capsys.disabled():
        print(
            f"\nPostgreSQL restart: {len(answers)} reads, {len(failed)} answered 503 while the "
            f"database was away ({back - went_down:.1f} s, {back - starting:.1f} s of it starting "
            f"up), none 500, the longest {longest:.2f} s. Recovery, from the database accepting "
            f"connections (pg_ctl start -w returning): last 503 at {last_failure - back:+.2f} s, "
            f"first 200 at {first_success - back:+.2f} s: all 200 again within {recovery:.2f} s. "
            f"{len(acknowledged)} writes acknowledged."
        )
    assert recovery < RECOVERY_LIMIT

    # The same two workers served before, during and after: none restarted (threaded
    # workers with kept-alive connections need not spread the answers over both).
    assert len(booted) == 2, log
    assert {a.worker for a in answers} <= {str(pid) for pid in booted}
    assert "Traceback" not in log
    assert "WORKER TIMEOUT" not in log

    # Every acknowledged write is there, once; none that was not acknowledged; and the
    # categories' counts agree with the items, so no create was half-applied.
    with app.app_context():
        found = list(db.session.scalars(select(Item.id).where(Item.name.like("Restart item %"))))
        counted = dict(
            db.session.execute(
                select(Item.category_id, func.count()).group_by(Item.category_id)
            ).all()
        )
        kept = dict(db.session.execute(select(Category.id, Category.item_count)).all())
    assert acknowledged
    assert sorted(found) == sorted(acknowledged)
    assert all(kept[category] == n for category, n in counted.items())


@pytest.mark.parametrize("backend", ["postgresql"])
def test_more_slow_requests_than_connections_get_quick_503s_then_recover(
    database, tmp_path, backend
):
    pool_size, pool_timeout, threads, sleep = 2, 1, 6, 4
    with gunicorn(
        tmp_path,
        database,
        workers=1,
        threads=threads,
        DATABASE_POOL_SIZE=str(pool_size),
        DATABASE_POOL_TIMEOUT=str(pool_timeout),
    ) as server:
        url = f"{server.url}/_slow?seconds={sleep}&in=database"
        barrier = threading.Barrier(threads)

        def slow_request():
            barrier.wait(timeout=30)
            started = time.monotonic()
            response = requests.get(url, timeout=30)
            return response, time.monotonic() - started

        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda _: slow_request(), range(threads)))

        served = [took for r, took in results if r.status_code == 200]
        refused = [(r, took) for r, took in results if r.status_code == 503]
        assert len(served) == pool_size, [r.status_code for r, _ in results]
        assert len(refused) == threads - pool_size
        for response, took in refused:
            # Refused after the checkout timeout, long before the slow ones finished.
            assert pool_timeout * 0.9 < took < sleep, took
            assert response.headers["Retry-After"] == "5"
            assert "try again" in response.text
        assert all(took >= sleep for took in served)

        # Full recovery: every connection is back in the pool and usable.
        assert all(
            requests.get(f"{server.url}/api/v1/categories", timeout=10).status_code == 200
            for _ in range(threads)
        )
        with ThreadPoolExecutor(pool_size) as pool:
            again = list(
                pool.map(
                    lambda _: requests.get(f"{server.url}/_slow?seconds=1&in=database", timeout=30),
                    range(pool_size),
                )
            )
        assert [r.status_code for r in again] == [200] * pool_size
        log = server.log()
    assert "Traceback" not in log
    assert len(server.booted_workers()) == 1
