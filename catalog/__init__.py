"""Catalog: an item catalog on Flask, SQLAlchemy 2 and PostgreSQL."""

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
    search,
    views,
    web,
)
from catalog.config import configure


def create_app(test_config=None):
    """Create and configure the app; ``test_config`` overrides the environment."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)

    extensions.init_app(app)
    web.init_app(app)
    auth.init_app(app)
    api.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(account_tokens.bp)
    commands.init_app(app)
    return app
