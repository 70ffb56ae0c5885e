"""Catalog: an item catalog on Flask, SQLAlchemy 2 and PostgreSQL."""

from flask import Flask

from catalog import account_tokens, api, auth, commands, feeds, health, manage, search, views
from catalog.config import configure
from catalog.extensions import csrf, db, migrate
from catalog.web import bodies, connections, errors, limits, outages, request_log, security


def create_app(test_config=None):
    """Create and configure the app; ``test_config`` overrides the environment."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)

    request_log.init_app(app)
    security.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db)
    bodies.init_app(app)
    csrf.init_app(app)
    outages.init_app(app)
    connections.init_app(app)
    limits.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    commands.init_app(app)
    api.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(account_tokens.bp)
    return app
