"""Pictures of items: checked and resized once at upload, stored in the database, served cached.

``processing`` is Pillow alone (check, orient, strip, resize, encode); ``store`` keeps
pictures in the database, once each, and deletes those no item shows any more;
``uploads`` gives the routes that take a picture their larger body limit; ``views``
serves the files.
"""

from flask import Flask

from catalog.images import store, uploads
from catalog.images.views import bp

__all__ = ["bp", "init_app", "store"]


def init_app(app: Flask) -> None:
    uploads.init_app(app)
