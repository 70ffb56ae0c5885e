import subprocess
import sys

import pytest

from catalog import create_app
from catalog.config import ConfigError, normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://u:p@db.example.com:5432/cat",
            "postgresql+psycopg://u:p@db.example.com:5432/cat",
        ),
        ("postgresql://u:p@host/cat", "postgresql+psycopg://u:p@host/cat"),
        (
            "postgres://u:p@host/cat?sslmode=require",
            "postgresql+psycopg://u:p@host/cat?sslmode=require",
        ),
        (
            "postgresql://u:p@host/cat?sslmode=require",
            "postgresql+psycopg://u:p@host/cat?sslmode=require",
        ),
        ("postgresql+psycopg2://host/cat", "postgresql+psycopg://host/cat"),
        ("postgresql+psycopg://host/cat", "postgresql+psycopg://host/cat"),
        ("  postgres://host/cat\n", "postgresql+psycopg://host/cat"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_database_url_forms_are_normalised(given, expected):
    assert normalise_database_url(given) == expected


def test_database_url_that_is_not_a_url_is_refused():
    with pytest.raises(ConfigError, match="not a URL"):
        normalise_database_url("localhost/catalog")


def test_database_url_from_environment_is_normalised(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@h:5432/d?sslmode=require")
    app = create_app({"TESTING": True})
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@h:5432/d?sslmode=require"
    )


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{app.instance_path}/catalog.sqlite"


def test_admins_are_parsed_case_insensitively(monkeypatch):
    monkeypatch.setenv("CATALOG_ADMINS", " Ada@Example.com,, sam@example.com ")
    app = create_app({"TESTING": True})
    assert app.config["CATALOG_ADMINS"] == {"ada@example.com", "sam@example.com"}


def test_factory_refuses_to_start_without_secret_key_outside_debug(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError) as info:
        create_app()
    message = str(info.value)
    assert "SECRET_KEY" in message
    assert "\n" not in message


def test_cli_without_secret_key_prints_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "FLASK_APP": "catalog", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "seed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("SECRET_KEY is not set")


def test_debug_and_testing_get_a_throwaway_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"TESTING": True}).config["SECRET_KEY"]
    second = create_app({"TESTING": True}).config["SECRET_KEY"]
    assert first
    assert first != second


def test_secret_key_from_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["DEV_LOGIN"] is False
