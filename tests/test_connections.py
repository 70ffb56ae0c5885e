"""PostgreSQL connections: checked without a round trip, and reads without a transaction."""

import time

import psycopg
import pytest
from sqlalchemy import event, text

from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import User

# SQLite has neither a server that can close connections nor round trips to save.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def item_paths(app):
    """Add one item; return its page and its API URL."""
    with app.app_context():
        owner = User(issuer=DEMO_ISSUER, subject="ada", email="ada@example.com", name="Ada")
        item = add_item(owner, add_category("Soccer"), "Match Ball", "Size 5.")
        db.session.commit()
        return "/catalog/soccer/match-ball/", f"/api/v1/items/{item.id}"


def autocommit_of_each_statement(app):
    """Start recording, for each statement run, whether its connection was in autocommit."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(conn.connection.dbapi_connection.autocommit)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    return seen


def test_reads_run_in_autocommit_and_writes_in_a_transaction(app, item_paths, auth):
    client = app.test_client()
    page, api_item = item_paths
    seen = autocommit_of_each_statement(app)
    for path in ("/", "/catalog/soccer/", page, "/api/v1/categories", "/api/v1/items", api_item):
        assert client.get(path).status_code == 200, path
    assert seen
    assert all(seen), seen

    # A write after those reads, very likely on the same pooled connection, is atomic.
    seen.clear()
    assert auth.login("sam").status_code == 302
    assert seen
    assert not any(seen), seen

    # Signed in, a read page is still read in autocommit, the user's lookup included.
    seen.clear()
    assert auth.client.get(page).status_code == 200
    assert len(seen) == 2
    assert all(seen), seen


def test_pages_that_are_not_marked_keep_their_transaction(app, item_paths):
    seen = autocommit_of_each_statement(app)
    # /catalog.json reads through a server-side cursor, which needs a transaction; the
    # health check answers an outage with its own document, so it queries in the view.
    for path in ("/catalog.json", "/healthz"):
        assert app.test_client().get(path).status_code == 200
    assert seen
    assert not any(seen), seen


def test_a_connection_the_server_closed_is_replaced_before_use(app, database_url):
    @app.get("/_backend")
    def backend():
        return {"pid": db.session.scalar(text("SELECT pg_backend_pid()"))}

    client = app.test_client()
    first = client.get("/_backend").get_json()["pid"]
    with psycopg.connect(database_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [first]).fetchone()[0]
        deadline = time.monotonic() + 5
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [first]).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.05)

    # Without a check at checkout this request would meet the dead connection: a 503.
    again = client.get("/_backend")
    assert again.status_code == 200
    assert again.get_json()["pid"] != first
