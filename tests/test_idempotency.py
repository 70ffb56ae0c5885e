"""``Idempotency-Key`` on POST /api/v1/items: a retried create never makes a second item."""

import json
import threading
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update
from support.api_data import seed_api_catalog

from catalog.api.idempotency import LIFETIME
from catalog.extensions import db
from catalog.models import IdempotencyKey, Item, utcnow

PROBLEM = "application/problem+json"


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def create(client, seeded, key, subject="ada", host=None, **fields):
    body = {"category": "soccer", "name": "Corner Flag", "description": "Set of four.", **fields}
    headers = {**seeded.bearer(subject)}
    if key is not None:
        headers["Idempotency-Key"] = key
    if host is not None:
        headers["Host"] = host
    return client.post("/api/v1/items", json=body, headers=headers)


def items_named(app, name):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Item).where(Item.name == name))


def keys(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(IdempotencyKey))


def test_a_retry_gets_the_first_answer_not_a_second_item(app, client, seeded):
    key = str(uuid.uuid4())
    first = create(client, seeded, key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    again = create(client, seeded, key)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert items_named(app, "Corner Flag") == 1
    assert keys(app) == 1


def test_the_replay_is_the_answer_as_it_was(app, client, seeded):
    key = "order-7f3a"
    first = create(client, seeded, key)
    item_url = first.headers["Location"]
    changed = client.patch(
        item_url, json={"description": "Set of six."}, headers=seeded.bearer("ada")
    )
    assert changed.status_code == 200

    again = create(client, seeded, key)
    assert again.status_code == 201
    assert again.get_json()["description"] == "Set of four."
    assert again.get_json()["version"] == 1


def without_links(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in ("url", "api_url")}


def test_a_replay_names_the_host_it_answers_not_the_first_one(app, client, seeded):
    key = str(uuid.uuid4())
    first = create(client, seeded, key, host="eu.catalog.example")
    assert first.status_code == 201
    assert first.headers["Location"].startswith("http://eu.catalog.example/api/v1/items/")
    with app.app_context():
        [row] = db.session.scalars(select(IdempotencyKey))
        assert "http" not in row.body + row.headers
        assert "catalog.example" not in row.body + row.headers

    again = create(client, seeded, key, host="catalog.example")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    path = urlsplit(first.headers["Location"]).path
    assert again.headers["Location"] == f"http://catalog.example{path}"
    document = again.get_json()
    assert document["api_url"] == f"http://catalog.example{path}"
    assert document["url"] == "http://catalog.example/catalog/soccer/corner-flag/"
    assert without_links(document) == without_links(first.get_json())


def test_an_answer_first_sent_to_a_forged_host_is_replayed_on_the_honest_one(client, seeded):
    # Without ALLOWED_HOSTS any Host is served, but what is kept must not carry it along.
    key = str(uuid.uuid4())
    forged = create(client, seeded, key, host="evil.example")
    assert forged.headers["Location"].startswith("http://evil.example/")

    again = create(client, seeded, key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "evil.example" not in again.headers["Location"]
    assert "evil.example" not in again.get_data(as_text=True)
    assert again.headers["Location"].startswith("http://localhost/api/v1/items/")


def test_answers_stored_with_their_host_are_replayed_on_the_current_one(app, client, seeded):
    # Answers kept before they were stored as paths hold absolute URLs.
    key = str(uuid.uuid4())
    first = create(client, seeded, key)
    with app.app_context():
        row = db.session.scalar(select(IdempotencyKey))
        body = json.loads(row.body)
        body["url"] = f"https://evil.example{body['url']}"
        body["api_url"] = f"https://evil.example{body['api_url']}"
        row.body = json.dumps(body)
        row.headers = json.dumps({**json.loads(row.headers), "Location": body["api_url"]})
        db.session.commit()
    again = create(client, seeded, key)
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_json() == first.get_json()


def test_without_a_key_each_create_is_new(app, client, seeded):
    assert create(client, seeded, None).status_code == 201
    second = create(client, seeded, None)
    assert second.status_code == 409  # the name is taken: a second item was attempted
    assert keys(app) == 0


def test_the_same_key_with_another_body_is_refused(app, client, seeded):
    key = str(uuid.uuid4())
    assert create(client, seeded, key).status_code == 201

    other = create(client, seeded, key, name="Goal Net")
    assert other.status_code == 422
    assert other.mimetype == PROBLEM
    problem = other.get_json()
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert "different request" in problem["detail"]
    assert items_named(app, "Goal Net") == 0


def test_keys_belong_to_their_user(app, client, seeded):
    key = "shared-looking-key"
    ada = create(client, seeded, key)
    sam = create(client, seeded, key, subject="sam", name="Whistle")
    assert ada.status_code == sam.status_code == 201
    assert sam.get_json()["owner"]["id"] == seeded.users["sam"]
    assert "Idempotent-Replayed" not in sam.headers
    assert keys(app) == 2


def test_a_failed_create_is_not_remembered(app, client, seeded):
    key = str(uuid.uuid4())
    refused = create(client, seeded, key, category="curling")
    assert refused.status_code == 422
    assert keys(app) == 0

    # The category appears; the same key may now succeed, because nothing was stored.
    with app.app_context():
        from catalog.changes import add_category

        add_category("Curling")
        db.session.commit()
    assert create(client, seeded, key, category="curling").status_code == 201
    assert keys(app) == 1


def test_a_duplicate_name_rolls_back_the_key_too(app, client, seeded):
    assert create(client, seeded, None, name="Match Ball").status_code == 409
    key = str(uuid.uuid4())
    assert create(client, seeded, key, name="Match Ball").status_code == 409
    assert keys(app) == 0


@pytest.mark.parametrize(
    "key",
    ["", "has space", "x" * 256, "naïve", "tab\tkey"],
    ids=["empty", "space", "long", "utf", "tab"],
)
def test_malformed_keys_are_422_problems(app, client, seeded, key):
    response = create(client, seeded, key)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["location"] == "headers"
    assert items_named(app, "Corner Flag") == 0


def test_expired_keys_are_ignored_and_cleaned(app, client, seeded):
    old_key = str(uuid.uuid4())
    first = create(client, seeded, old_key)
    with app.app_context():
        db.session.execute(
            update(IdempotencyKey).values(created=utcnow() - LIFETIME - timedelta(minutes=1))
        )
        db.session.commit()

    # Past its lifetime the key is forgotten: the retry is a new request (here refused,
    # as the name is taken), and the expired row is deleted by the next claim.
    assert create(client, seeded, old_key).status_code == 409
    assert create(client, seeded, str(uuid.uuid4()), name="Whistle").status_code == 201
    with app.app_context():
        remaining = list(db.session.scalars(select(IdempotencyKey.client_key)))
    assert old_key not in remaining
    assert len(remaining) == 1
    assert first.status_code == 201


@pytest.mark.backend_independent
def test_the_header_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    create_op = document["paths"]["/api/v1/items"]["post"]
    parameter = next(p for p in create_op["parameters"] if p["name"] == "Idempotency-Key")
    assert parameter["in"] == "header"
    assert parameter["required"] is False
    assert parameter["schema"]["maxLength"] == 255
    assert "Idempotent-Replayed" in create_op["responses"]["201"]["headers"]


def test_concurrent_requests_with_one_key_make_one_item(app, seeded):
    """Eight requests with the same key at once: one creates, all get its answer."""
    key = str(uuid.uuid4())
    barrier = threading.Barrier(8)
    answers = []

    def send():
        client = app.test_client()
        barrier.wait()
        answers.append(create(client, seeded, key, name="Raced Flag"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(a.status_code for a in answers)
    assert len(answers) == 8
    # Either the stored answer, or (rarely) "still in progress": never a second item.
    assert set(statuses) <= {201, 409}, statuses
    created = {a.get_json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert items_named(app, "Raced Flag") == 1
    replayed = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == statuses.count(201) - 1
