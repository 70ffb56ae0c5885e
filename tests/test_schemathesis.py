"""Schemathesis against the served OpenAPI document: every check, every operation, and chains.

Schemathesis loads the document the app serves at /api/v1/openapi.json,
generates requests (valid and invalid) for every operation, sends them with an
admin's token to the app on a real HTTP server on a free port, on each
database, and runs every check it has on each answer: no 5xx; status, content
type, headers and body as documented; invalid requests refused and valid ones
accepted; a missing token refused; unsupported methods answered with 405. The
stateful test follows the document's links (create an item, then read, change
and delete it by the id and ETag the answers give) and adds the checks that
need a history: a deleted item is gone, a created one is there.

The schema is loaded when the module is collected, from an app without a
database: the document does not depend on one. (Schemathesis's lazy
``from_fixture`` loader does not run under this pytest.)
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from support.api_data import reseed_api_catalog, seed_api_catalog
from support.werkzeug_server import serve

from catalog import create_app

pytestmark = pytest.mark.slow

# Examples per operation, and scenarios of linked calls: enough to find what the
# document and the API disagree on, in well under a minute per database.
EXAMPLES = 40
SCENARIOS = 40
STEPS = 6

# Every check Schemathesis has. Listed by name so that a new one in an upgrade shows up
# here (test_every_check_schemathesis_has_is_run) instead of being silently left out.
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
ALL_CHECKS = [getattr(checks, name) for name in CHECK_NAMES]


@pytest.fixture
def served(app):
    """Serve the app with a small catalog; yield its base URL and the seeded data."""
    # Fuzzing writes a lot; the limits have tests of their own.
    app.config["RATELIMIT_WRITES"] = "100000 per minute"
    seeded = seed_api_catalog(app)
    with serve(app) as base_url:
        yield base_url, seeded


def served_document() -> dict:
    """Return the document as the app serves it (no database needed for that)."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "schema", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


# What a valid request is answered depends on data the document cannot know, and this
# says which statuses that can be, operation by operation (each also may answer 2xx):
# an item id, a category slug in a query, or an If-None-Match tag is well formed
# whether or not that item, category or version exists (404, 304); a valid name may be
# taken in its category (409), and an If-Match tag may not be the item's current one
# (412); an Idempotency-Key may have been used before with another body (422).
DATA_DEPENDENT = {
    "GET /api/v1/categories": ["304"],
    "GET /api/v1/items": ["304", "404"],
    "POST /api/v1/items": ["409", "422"],
    "GET /api/v1/items/{item_id}": ["304", "404"],
    "PATCH /api/v1/items/{item_id}": ["404", "409", "412"],
    "DELETE /api/v1/items/{item_id}": ["404", "412"],
    "PUT /api/v1/items/{item_id}/image": ["404", "412"],
    "DELETE /api/v1/items/{item_id}/image": ["404", "412"],
}
CONFIG = schemathesis.Config.from_dict(
    {
        # Data, not a check's setting: a valid body names a category that exists, so that
        # items get created and the linked reads, changes and deletes have one to act on;
        # half the searches do too. (These values go into valid requests only.)
        "dictionaries": {"categories": {"values": ["soccer", "hockey"]}},
        "parameters": {
            "body.category": {"dictionary": "categories", "probability": 1.0},
            "query.category": {"dictionary": "categories", "probability": 0.5},
        },
        "operations": [
            {
                "include-name": [operation],
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", *statuses]}},
            }
            for operation, statuses in DATA_DEPENDENT.items()
        ],
    }
)
schema = schemathesis.openapi.from_dict(served_document(), config=CONFIG)
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@schema.parametrize()
@settings(SETTINGS, max_examples=EXAMPLES)
def test_api_conforms_to_its_document(case, served):
    base_url, seeded = served
    # Lena is an admin, so changes to any item can succeed, not only be refused.
    case.call_and_validate(base_url=base_url, headers=seeded.bearer("lena"), checks=ALL_CHECKS)


def test_chains_of_linked_operations_conform(app, served):
    base_url, _ = served
    answered = set()

    class Workflow(schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the same catalog, so that it plays out the same way
            # when Hypothesis runs it again.
            self.seeded = reseed_api_catalog(app)

        def get_call_kwargs(self, case):
            return {"base_url": base_url, "headers": self.seeded.bearer("lena")}

        def after_call(self, response, case):
            super().after_call(response, case)
            answered.add((case.operation.label, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, checks=ALL_CHECKS, transport_kwargs=kwargs, recorder=self.recorder
            )

    # Drawn from a fixed seed: which steps a chain reaches depends on the draw, and the
    # assertions below hold the chains to reaching every kind of step.
    Workflow.run(
        settings=settings(
            SETTINGS, max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=True
        )
    )
    # The chains got somewhere: items were created, then read, changed and deleted, and
    # their pictures removed. A picture sent along a chain often carries the ETag of a
    # step or two before, and gets 412, so whether one is stored depends on the draw;
    # tests/test_image_api.py stores pictures through it and checks what it answers.
    assert {
        ("POST /api/v1/items", 201),
        ("GET /api/v1/items/{item_id}", 200),
        ("PATCH /api/v1/items/{item_id}", 200),
        ("DELETE /api/v1/items/{item_id}", 204),
        ("DELETE /api/v1/items/{item_id}/image", 200),
    } <= answered, sorted(answered)
    assert any(label == "PUT /api/v1/items/{item_id}/image" for label, _ in answered)


def test_every_check_schemathesis_has_is_run():
    checks.load_all_checks()
    assert set(CHECK_NAMES) == set(checks.CHECKS.get_all_names())


def test_every_operation_is_exercised(served):
    base_url, _ = served
    served_schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    assert served_schema.raw_schema == served_document()
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert operations == {
        "GET /api/v1/categories",
        "GET /api/v1/items",
        "POST /api/v1/items",
        "GET /api/v1/items/{item_id}",
        "PATCH /api/v1/items/{item_id}",
        "DELETE /api/v1/items/{item_id}",
        "PUT /api/v1/items/{item_id}/image",
        "DELETE /api/v1/items/{item_id}/image",
    }
