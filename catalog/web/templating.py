"""What every template may use besides its view's values: filters, the user, the rules.

Registered for the whole app in one place, so that a template of any blueprint
(the layout, the auth and token pages, the item pages) finds the same names: the
``timestamp`` filter, ``current_user``, ``is_admin`` and ``can_change`` for each
page, and ``search_query_max``, the longest search, for the layout's search box and
the search page's.
"""

from datetime import datetime

from flask import Flask, g
from markupsafe import Markup

from catalog.changes import can_change, is_admin
from catalog.search import QUERY_MAX


def timestamp(value: datetime) -> Markup:
    """Show a UTC ``value`` to the minute, with its exact time for machines."""
    # A datetime's text is digits and "-:+T ." only: nothing in it needs escaping.
    html = f'<time datetime="{value.isoformat()}">{value:%Y-%m-%d %H:%M} UTC</time>'
    return Markup(html)  # noqa: S704


def permissions() -> dict[str, object]:
    """Give templates the signed-in user and the rules about what they may change."""
    return {"current_user": g.get("user"), "is_admin": is_admin, "can_change": can_change}


def init_app(app: Flask) -> None:
    app.add_template_filter(timestamp, "timestamp")
    app.context_processor(permissions)
    app.jinja_env.globals["search_query_max"] = QUERY_MAX
