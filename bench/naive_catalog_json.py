"""The naive /catalog.json that the real one is measured against.

It is the real app (same factory, settings, middleware and serialisers, so the document
is the same) with one more route, ``/naive/catalog.json``, that does what many catalog
apps do: load every category with all its items through the ORM, build the whole
document in memory, and serialise it at once. Memory and time grow with the catalog;
it exists only to be beaten, so it lives here and never in the app.
"""

from flask import Blueprint, jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from catalog import create_app as create_catalog_app
from catalog.extensions import db
from catalog.links import Links
from catalog.models import Category, Item
from catalog.serialize import category_dict, item_dict

PATH = "/naive/catalog.json"
bp = Blueprint("naive", __name__)


@bp.get(PATH)
def catalog_json():
    """Return every category with all its items, built in memory."""
    # The naive part: every item becomes an ORM object, all at once.
    categories = db.session.scalars(
        select(Category)
        .options(selectinload(Category.items).joinedload(Item.owner))
        .order_by(Category.id)
    ).all()
    links = Links()
    document = []
    for category in categories:
        fields = links.add_to_category(category_dict(category))
        items = sorted(category.items, key=lambda item: item.slug)
        fields["items"] = [links.add_to_item(item_dict(item)) for item in items]
        document.append(fields)
    return jsonify(categories=document)


def create_app():
    """Create the app with the naive route added."""
    app = create_catalog_app()
    app.register_blueprint(bp)
    return app
