"""The JSON API under /api/v1, its OpenAPI document and its reference page."""

from catalog.api import docs, routes
from catalog.api.spec import CatalogApi

SETTINGS = {
    "API_TITLE": "Catalog API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": (
                "Read the catalog's categories and items, and add, change and delete your "
                "own items with a personal API token (`Authorization: Bearer <token>`, "
                "from your account page). Errors are `application/problem+json`. Reads "
                "carry an `ETag`; send it back as `If-None-Match` (304 when unchanged) or, "
                "when changing an item, as `If-Match` (412 when someone changed it first)."
            ),
        },
    },
}


def init_app(app):
    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    # flask-smorest's Api keeps one app and its spec on the instance: one per app.
    api = CatalogApi(app)
    api.register_blueprint(routes.bp)
    app.extensions[docs.API_EXTENSION] = api
    app.register_blueprint(docs.bp)
