"""Schemathesis against the served OpenAPI document: every operation, with a valid token.

Schemathesis loads the document the app serves at /api/v1/openapi.json,
generates requests (valid and invalid) for every operation, sends them with an
admin's token to the app on a real HTTP server on a free port, on each
database, and checks that no answer is a 5xx and that every answer matches
the document: status, content type, headers and body.

The schema is loaded when the module is collected, from an app without a
database: the document does not depend on one. (Schemathesis's lazy
``from_fixture`` loader does not run under this pytest.)
"""

import threading

import pytest
import schemathesis
from api_data import seed_api_catalog
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from catalog import create_app

EXAMPLES = 40


@pytest.fixture
def served(app):
    """Serve the app with a small catalog; yield its base URL and the seeded data."""
    # Fuzzing writes a lot; the limits have tests of their own.
    app.config["RATELIMIT_WRITES"] = "100000 per minute"
    seeded = seed_api_catalog(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seeded
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def served_document() -> dict:
    """Return the document as the app serves it (no database needed for that)."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "schema", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


# Answers to valid requests that depend on the data, not the request's shape: a write
# names its category by slug and only existing ones are accepted (422), and an If-Match
# tag that is not the item's current one is a 412. The document cannot list those.
CONFIG = schemathesis.Config.from_dict(
    {
        "operations": [
            {
                "include-name": [
                    "POST /api/v1/items",
                    "PATCH /api/v1/items/{item_id}",
                    "DELETE /api/v1/items/{item_id}",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422"]
                    }
                },
            }
        ]
    }
)
schema = schemathesis.openapi.from_dict(served_document(), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_api_conforms_to_its_document(case, served):
    base_url, seeded = served
    # Lena is an admin, so changes to any item can succeed, not only be refused.
    case.call_and_validate(base_url=base_url, headers=seeded.bearer("lena"))


def test_every_operation_is_exercised(served):
    base_url, _ = served
    served_schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    assert served_schema.raw_schema == schema.raw_schema
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert operations == {
        "GET /api/v1/categories",
        "GET /api/v1/items",
        "POST /api/v1/items",
        "GET /api/v1/items/{item_id}",
        "PATCH /api/v1/items/{item_id}",
        "DELETE /api/v1/items/{item_id}",
    }
