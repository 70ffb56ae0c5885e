"""The settings of replicas and PgBouncer: read, checked, and turned into engine options.

The servers themselves are in tests/test_replicas.py and tests/test_pgbouncer.py.
"""

import pytest

from catalog import create_app
from catalog.config import REPLICA_CONNECT_TIMEOUT, ConfigError
from catalog.extensions import db
from catalog.web import replicas as replicas_module
from catalog.web.replicas import EXTENSION, lsn

PRIMARY = "postgres://catalog@db.example.com:5432/catalog"

pytestmark = pytest.mark.backend_independent


def make(**settings):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": PRIMARY, **settings})


def test_without_replicas_nothing_changes(database_url):
    app = make()
    assert app.config["DATABASE_REPLICA_URL"] == []
    assert EXTENSION not in app.extensions


def test_replicas_are_read_from_the_environment_comma_separated(monkeypatch, database_url):
    monkeypatch.setenv(
        "DATABASE_REPLICA_URL",
        "postgres://r@one.example.com/catalog, postgresql://r@two.example.com/catalog?sslmode=require",
    )
    monkeypatch.setenv("DATABASE_REPLICA_MAX_LAG", "3")
    app = make()
    assert app.config["DATABASE_REPLICA_URL"] == [
        "postgresql+psycopg://r@one.example.com/catalog",
        "postgresql+psycopg://r@two.example.com/catalog?sslmode=require",
    ]
    followers = app.extensions[EXTENSION]
    assert followers.max_lag == 3
    assert [r.engine.url.host for r in followers.replicas] == ["one.example.com", "two.example.com"]
    for replica in followers.replicas:
        assert replica.engine.pool.size() == app.config["DATABASE_POOL_SIZE"]
    followers.dispose()


def test_a_replica_gives_up_connecting_sooner_than_the_primary(monkeypatch, database_url):
    made = {}
    real = replicas_module.create_engine

    def create_engine(url, **options):
        made[url] = options
        return real(url, **options)

    monkeypatch.setattr(replicas_module, "create_engine", create_engine)
    app = make(DATABASE_REPLICA_URL="postgres://r@one.example.com/catalog", DATABASE_POOL_SIZE=2)
    (options,) = made.values()
    assert options["connect_args"]["connect_timeout"] == REPLICA_CONNECT_TIMEOUT == 2
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] == 5
    assert options["pool_size"] == 2
    assert options["max_overflow"] == 0
    assert options["connect_args"]["options"] == "-c statement_timeout=10000"
    app.extensions[EXTENSION].dispose()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DATABASE_REPLICA_URL": "sqlite:///replica.db"}, "must name PostgreSQL"),
        ({"DATABASE_REPLICA_URL": "db.example.com"}, "is not a URL"),
        ({"DATABASE_REPLICA_MAX_LAG": "0"}, "DATABASE_REPLICA_MAX_LAG must be a whole number"),
        ({"DATABASE_REPLICA_MAX_LAG": "soon"}, "DATABASE_REPLICA_MAX_LAG must be a whole number"),
        ({"DATABASE_PGBOUNCER": "maybe"}, "DATABASE_PGBOUNCER must be on or off"),
    ],
)
def test_bad_settings_stop_the_app_with_one_clear_line(settings, message, database_url):
    with pytest.raises(ConfigError, match=message):
        make(**settings)


def test_replicas_need_a_postgresql_primary(tmp_path, database_url):
    with pytest.raises(ConfigError, match="needs DATABASE_URL to name PostgreSQL"):
        create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                "DATABASE_REPLICA_URL": "postgres://r@one.example.com/catalog",
            }
        )


def test_through_pgbouncer_no_prepared_statements_and_no_startup_options(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_PGBOUNCER", "1")
    app = make(DATABASE_STATEMENT_TIMEOUT=7)
    arguments = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert arguments["prepare_threshold"] is None
    assert "options" not in arguments
    assert app.config["DATABASE_PGBOUNCER"] is True
    # Direct to PostgreSQL, the timeout goes in the startup packet, as before.
    direct = make(DATABASE_STATEMENT_TIMEOUT=7, DATABASE_PGBOUNCER="0")
    arguments = direct.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert arguments["options"] == "-c statement_timeout=7000"
    assert "prepare_threshold" not in arguments
    for each in (app, direct):
        with each.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(
    ("text", "number"),
    [("0/0", 0), ("0/16B3748", 0x16B3748), ("16/B374D848", (0x16 << 32) + 0xB374D848)],
)
def test_log_positions_compare_as_numbers(text, number, database_url):
    assert lsn(text) == number
