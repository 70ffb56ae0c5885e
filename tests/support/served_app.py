"""The app as the fault and load tests serve it under gunicorn: test-only, never deployed.

``create_app()`` builds the product's app with ``catalog.create_app`` from the same
environment, plus:

- settings only tests need, as JSON in ``CATALOG_TEST_SETTINGS`` (a Redis key prefix
  of the run's own, a small rate limit, dev sign-in...);
- ``/_slow?seconds=N`` that takes its time, in Python (``time.sleep``) or, with
  ``&in=database``, in PostgreSQL (``pg_sleep``, holding a pooled connection); when
  ``CATALOG_TEST_MARKERS`` names a directory, each slow request drops a file there as
  it starts, so a test knows it is in flight;
- an ``X-Worker-Pid`` header on every answer, so a test sees which worker served it.

Serve it as gunicorn serves the product, with ``tests/`` on ``PYTHONPATH``:
``gunicorn 'support.served_app:create_app()'`` (``support.gunicorn_server`` does).
"""

import json
import os
import time
import uuid
from pathlib import Path

from flask import request
from sqlalchemy import text

import catalog
from catalog.extensions import db


def create_app():
    """Return the product's app with the test settings and the test-only route."""
    settings = json.loads(os.environ.get("CATALOG_TEST_SETTINGS") or "{}")
    app = catalog.create_app(settings or None)

    @app.get("/_slow")
    def slow():
        seconds = float(request.args.get("seconds", "1"))
        markers = os.environ.get("CATALOG_TEST_MARKERS")
        if markers:
            (Path(markers) / uuid.uuid4().hex).touch()
        if request.args.get("in") == "database":
            db.session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
        else:
            time.sleep(seconds)
        return {"slept": seconds, "pid": os.getpid()}

    @app.after_request
    def worker_pid(response):
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app
