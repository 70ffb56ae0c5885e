"""URL converters the blueprints' rules use: ``<int_id:...>`` for a row's id.

An id past ``ID_MAX`` names no row, and PostgreSQL would refuse to compare it with an
integer column, so such a URL is a plain 404 before any view or query runs. The API's
document says the same bounds: flask-smorest reads them from the converter.
"""

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from catalog.models import ID_MAX


class IdConverter(IntegerConverter):
    """A row's id: a whole number from 0 to ``ID_MAX``."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Register the converters; before any blueprint, whose rules name them."""
    app.url_map.converters["int_id"] = IdConverter
