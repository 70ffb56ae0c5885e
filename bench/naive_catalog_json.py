"""The naive /catalog.json the real one is measured against.

It does what many catalog apps do: load every category with all its items through the
ORM, build one big list, and serialise it at once. Memory and time grow with the catalog;
it exists only to be beaten, so it lives here and never in the app.
"""

import os

from flask import Flask, jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from catalog.config import normalise_database_url
from catalog.extensions import db
from catalog.models import Category


def create_app():
    """Create the naive app on ``DATABASE_URL``."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    db.init_app(app)

    @app.get("/catalog.json")
    def catalog_json():
        """Return every category with all its items, built in memory."""
        categories = db.session.scalars(
            select(Category).options(selectinload(Category.items)).order_by(Category.name)
        ).all()  # the naive part: every item becomes an ORM object at once
        return jsonify(
            categories=[
                {
                    "id": category.id,
                    "name": category.name,
                    "slug": category.slug,
                    "description": category.description,
                    "items": [
                        {
                            "id": item.id,
                            "name": item.name,
                            "slug": item.slug,
                            "description": item.description,
                            "created": item.created.isoformat(),
                            "updated": item.updated.isoformat(),
                        }
                        for item in category.items
                    ],
                }
                for category in categories
            ]
        )

    @app.get("/healthz")
    def healthz():
        """Answer 200 once the app is up."""
        return {"status": "ok"}

    return app
