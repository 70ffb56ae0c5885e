"""The app as the benchmark serves it: Catalog's own, plus a no-op route.

The no-op route goes through the whole stack (the WSGI middleware, every
``before_request`` and ``after_request`` hook, every extension, the session and the
request log) and runs no query and renders no template: what it costs is the fixed
cost of a request, which every page pays before its own work. It exists only in the
app this module makes, which gunicorn serves for ``make bench``, never in production.
"""

from collections.abc import Mapping
from typing import Any

from flask import Flask

from catalog import create_app as create_catalog

NOOP_PATH = "/bench/noop"


def noop() -> str:
    """Answer at once: nothing to read, nothing to render."""
    return "ok"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create Catalog as production does, and add the no-op route."""
    app = create_catalog(test_config)
    app.add_url_rule(NOOP_PATH, "bench_noop", noop)
    return app
