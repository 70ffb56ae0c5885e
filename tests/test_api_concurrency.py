"""Changes that race each other over HTTP: without If-Match none is lost or refused as stale.

Twenty clients change or delete one item at the same moment, each over its own
connection to the app on a real server, on each database. 412 answers an
``If-Match`` that failed, and only that.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from support.api_data import seed_api_catalog
from support.werkzeug_server import serve

from catalog.extensions import db
from catalog.models import Item

CLIENTS = 20


@pytest.fixture
def served(app):
    """Serve the app with a small catalog and no write limit; yield its URL and the data."""
    app.config["RATELIMIT_WRITES"] = "100000 per minute"
    seeded = seed_api_catalog(app)
    with serve(app) as base_url:
        yield base_url, seeded


def all_at_once(base_url: str, requests_to_send) -> list[requests.Response]:
    """Send each ``(method, path, keyword arguments)`` at the same moment, one thread each."""
    ready = threading.Barrier(len(requests_to_send), timeout=30)

    def send(method, path, kwargs):
        with requests.Session() as session:
            # Connect first, so that the requests themselves leave together.
            session.get(f"{base_url}/api/v1/categories", timeout=30)
            ready.wait()
            return session.request(method, base_url + path, timeout=60, **kwargs)

    with ThreadPoolExecutor(len(requests_to_send)) as pool:
        return list(pool.map(lambda each: send(*each), requests_to_send))


def item_state(app, item_id):
    with app.app_context():
        item = db.session.get(Item, item_id)
        return None if item is None else (item.description, item.version)


def test_concurrent_patches_without_if_match_are_all_applied_or_409(app, served):
    base_url, seeded = served
    item_id = seeded.items["ball"]
    patch = ("PATCH", f"/api/v1/items/{item_id}")
    responses = all_at_once(
        base_url,
        [
            (*patch, {"json": {"description": f"Edit {n}"}, "headers": seeded.bearer("ada")})
            for n in range(CLIENTS)
        ],
    )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, statuses
    applied = [r.json() for r in responses if r.status_code == 200]
    assert applied, statuses
    # Every 200 is a change that happened: none overwrote another unseen.
    description, version = item_state(app, item_id)
    assert version == 1 + len(applied)
    assert sorted(item["version"] for item in applied) == list(range(2, version + 1))
    assert description == next(i["description"] for i in applied if i["version"] == version)
    for response in responses:
        if response.status_code == 409:
            assert response.headers["Content-Type"] == "application/problem+json"
            assert "try again" in response.json()["detail"]


def test_concurrent_deletes_and_patches_without_if_match_never_412(app, served):
    base_url, seeded = served
    item_id = seeded.items["ball"]
    path = f"/api/v1/items/{item_id}"
    bearer = seeded.bearer("ada")
    responses = all_at_once(
        base_url,
        [
            ("DELETE", path, {"headers": bearer})
            if n % 4 == 0
            else ("PATCH", path, {"json": {"description": f"Edit {n}"}, "headers": bearer})
            for n in range(CLIENTS)
        ],
    )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 204, 404, 409}, statuses
    assert statuses.count(204) == 1, statuses
    assert item_state(app, item_id) is None


def test_concurrent_patches_with_the_same_if_match_let_one_through(app, served):
    base_url, seeded = served
    item_id = seeded.items["ball"]
    etag = requests.get(f"{base_url}/api/v1/items/{item_id}", timeout=10).headers["ETag"]
    headers = {**seeded.bearer("ada"), "If-Match": etag}
    responses = all_at_once(
        base_url,
        [
            (
                "PATCH",
                f"/api/v1/items/{item_id}",
                {"json": {"description": f"Edit {n}"}, "headers": headers},
            )
            for n in range(CLIENTS)
        ],
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (CLIENTS - 1), statuses
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert item_state(app, item_id) == (winner["description"], 2)
