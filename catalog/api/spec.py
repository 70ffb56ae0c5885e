"""The OpenAPI side of flask-smorest, fitted to this API: errors are problem+json.

flask-smorest documents every error as its own JSON shape and installs an error
handler for the whole app; here errors are RFC 9457 problem details, rendered by
``catalog.web.errors`` for /api/ paths only, and every status an operation can answer
is listed with it, so that nothing falls back to a catch-all ``default``.
"""

import http
from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from catalog.api.schemas import ProblemSchema

PROBLEM_JSON = "application/problem+json"
BEARER = "bearerAuth"

# Headers some error statuses always carry.
_ERROR_HEADERS = {
    http.HTTPStatus.UNAUTHORIZED: {
        "WWW-Authenticate": {
            "description": "How to authenticate: `Bearer`, with `error` for a bad token.",
            "schema": {"type": "string"},
            "required": True,
        }
    },
    http.HTTPStatus.TOO_MANY_REQUESTS: {
        "Retry-After": {
            "description": "Seconds until the limit resets.",
            "schema": {"type": "string"},
            "required": True,
        }
    },
}


class SchemaKeywords(BasePlugin):
    """Add the JSON Schema keywords a schema's ``Meta.json_schema`` names to its document.

    apispec says what the fields say; a rule about the whole object, such as
    ``minProperties``, has no field to say it.
    """

    def schema_helper(
        self, name: str, definition: dict[str, Any], schema: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        meta = getattr(resolve_schema_cls(schema), "Meta", None) if schema is not None else None
        return dict(getattr(meta, "json_schema", {}))


class CatalogApi(Api):
    """flask-smorest's ``Api``, documenting problem+json errors and bearer tokens."""

    ERROR_SCHEMA = ProblemSchema
    # No "default" response: an undocumented status must show up as a mismatch.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _init_spec(self, **options: Any) -> None:
        options["extra_plugins"] = [SchemaKeywords(), *options.get("extra_plugins", ())]
        super()._init_spec(**options)

    def _register_responses(self) -> None:
        """Register a problem+json response per error status, used when referenced."""
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            if status in _ERROR_HEADERS:
                response["headers"] = _ERROR_HEADERS[status]
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "NOT_MODIFIED",
            {
                "description": "Not modified: the `If-None-Match` ETag is still current.",
                "headers": {"ETag": {"schema": {"type": "string"}, "required": True}},
            },
            lazy=True,
        )
        self.spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal API token from your account page.",
            },
        )

    def _register_error_handlers(self) -> None:
        """Leave errors to ``catalog.web.errors``, which renders HTML pages outside /api/."""
