"""The JSON API under /api/v1, its OpenAPI document and its reference page.

``init_app`` builds the app's flask-smorest ``Api``, which serves the document;
``create_app`` registers the API's blueprint through it (``register``), so that each
operation is documented, and the reference page's blueprint as any other.
"""

import flask_smorest
from flask import Blueprint, Flask

from catalog.api.docs import API_EXTENSION
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


def init_app(app: Flask) -> None:
    """Build the app's ``Api``: flask-smorest keeps one app and its spec on the instance."""
    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    app.extensions[API_EXTENSION] = CatalogApi(app)


def register(app: Flask, blueprint: Blueprint) -> None:
    """Register ``blueprint``: through the ``Api`` if it is an API blueprint, which documents it."""
    if isinstance(blueprint, flask_smorest.Blueprint):
        app.extensions[API_EXTENSION].register_blueprint(blueprint)
    else:
        app.register_blueprint(blueprint)
