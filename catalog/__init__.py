"""Catalog: an item catalog on Flask, SQLAlchemy 2 and PostgreSQL.

``create_app`` reads as the app's manifest: settings, extensions, the web plumbing
every request goes through (catalog.web, in its order), the per-app clients of
sign-in and of the API, every blueprint, the commands. docs/architecture.md says
where each part lives and why.
"""

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from catalog import (
    account_tokens,
    api,
    auth,
    commands,
    extensions,
    feeds,
    health,
    manage,
    oidc,
    views,
    web,
)
from catalog.api import docs as api_docs
from catalog.api import routes as api_routes
from catalog.config import configure
from catalog.images import views as image_views
from catalog.search import views as search_views

# Every blueprint, registered in this order; the API's through flask-smorest (api.register).
BLUEPRINTS = (
    views.bp,
    search_views.bp,
    manage.bp,
    auth.bp,
    account_tokens.bp,
    feeds.bp,
    health.bp,
    image_views.bp,
    api_routes.bp,
    api_docs.bp,
)


class Catalog(Flask):
    """Flask, telling a coroutine function from a plain one by its code's flags.

    Flask asks of every hook, view and handler it calls, each request, whether it is
    a coroutine function, with ``inspect.iscoroutinefunction``; a page calls a few
    dozen, and the flags of a function's or a method's code say it at a fraction of
    the cost. Anything else (a partial, a callable object, a function marked as a
    coroutine function) is asked Flask's way.
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        code = getattr(func, "__code__", None)
        if (
            code is not None
            and not code.co_flags & inspect.CO_COROUTINE
            and not hasattr(func, "_is_coroutine_marker")
        ):
            return func
        return super().ensure_sync(func)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the app; ``test_config`` overrides the environment."""
    app = Catalog(__name__, instance_relative_config=True)
    configure(app, test_config)
    extensions.init_app(app)
    web.init_app(app)
    oidc.init_app(app)
    api.init_app(app)
    for blueprint in BLUEPRINTS:
        api.register(app, blueprint)
    commands.init_app(app)
    return app
