"""Catalog through a real PgBouncer in transaction pooling: pages, the API, writes, timeouts.

PgBouncer (Debian's) sits in front of the fault tests' throwaway cluster with fewer
server connections than the app has clients, so that consecutive transactions of one
app connection land on different server connections: a prepared statement or a
session setting would be lost or leak. ``DATABASE_PGBOUNCER`` is what makes it work.
"""

import os

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from support.api_data import seed_api_catalog
from support.pgbouncer import pgbouncer
from support.pgcluster import migrated_database
from support.sign_in import AuthActions

from catalog.extensions import db

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("cluster"),
    pytest.mark.parametrize("backend", ["postgresql"]),
]
# More than psycopg's prepare_threshold (5): past it, psycopg would prepare the statement.
REPEATS = 8


@pytest.fixture(scope="module")
def bouncer(cluster):
    try:
        with pgbouncer(cluster, pool_size=2) as port:
            yield port
    except RuntimeError as exc:  # not installed; .ci/run installs it
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def bounced_database(cluster, bouncer):
    """A migrated database on the cluster, and its URL through PgBouncer."""
    direct = migrated_database(cluster, prefix="catalog_pgbouncer")
    return direct.replace(f":{cluster.port}/", f":{bouncer}/")


@pytest.fixture
def bounced(make_app, bounced_database, backend):
    app = make_app(SQLALCHEMY_DATABASE_URI=bounced_database, DATABASE_PGBOUNCER=True)
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    return app, seed_api_catalog(app)


def test_pages_and_api_reads_through_pgbouncer(bounced):
    app, seeded = bounced
    client = app.test_client()
    paths = (
        "/",
        "/catalog/soccer/",
        "/catalog/soccer/match-ball/",
        "/search?q=ball",
        "/api/v1/categories",
        "/api/v1/items",
        f"/api/v1/items/{seeded.items['ball']}",
        "/catalog.json",
        "/catalog/latest.atom",
        "/healthz",
    )
    for _ in range(REPEATS):
        for path in paths:
            assert client.get(path).status_code == 200, path
    assert "Match Ball" in client.get("/catalog/soccer/").get_data(as_text=True)


def test_api_writes_through_pgbouncer(bounced):
    app, seeded = bounced
    client = app.test_client()
    ada = seeded.bearer("ada")
    made = []
    for n in range(REPEATS):
        response = client.post(
            "/api/v1/items", json={"category": "soccer", "name": f"Flag {n}"}, headers=ada
        )
        assert response.status_code == 201, response.get_json()
        made.append(response.headers["Location"])
    changed = client.patch(made[0], json={"description": "Corner."}, headers=ada)
    assert changed.status_code == 200, changed.get_json()
    assert client.get(made[0]).get_json()["description"] == "Corner."
    assert client.delete(made[1], headers=ada).status_code == 204
    assert client.get(made[1]).status_code == 404
    listed = client.get("/api/v1/items?category=soccer&limit=100").get_json()
    assert len(listed["items"]) == 1 + REPEATS - 1


def test_sign_in_and_form_writes_through_pgbouncer(bounced):
    app, seeded = bounced
    auth = AuthActions(app.test_client())
    assert auth.login("sam").status_code == 302
    for n in range(REPEATS):
        response = auth.client.post(
            "/catalog/new",
            data={"name": f"Puck {n}", "category": seeded.categories["hockey"], "description": "."},
        )
        assert response.status_code == 302
    page = auth.client.get("/catalog/hockey/").get_data(as_text=True)
    assert "Puck 7" in page


def test_the_statement_timeout_holds_in_each_transaction_and_leaks_to_none(
    make_app, bounced_database, bouncer, backend
):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=bounced_database,
        DATABASE_PGBOUNCER=True,
        DATABASE_STATEMENT_TIMEOUT=1,
    )
    with app.app_context():
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(3)"))
        db.session.rollback()
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "1s"
        db.session.rollback()
    # Outside the app's transactions, on the same server connections, nothing was left set.
    with psycopg.connect(bounced_database, autocommit=True, prepare_threshold=None) as conn:
        for _ in range(4):
            assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_without_the_setting_the_startup_options_are_refused(make_app, bounced_database, backend):
    app = make_app(SQLALCHEMY_DATABASE_URI=bounced_database, DATABASE_STATEMENT_TIMEOUT=10)
    response = app.test_client().get("/")
    # A clear 503, never a 500; DATABASE_PGBOUNCER=1 is the fix (README, Scale).
    assert response.status_code == 503
