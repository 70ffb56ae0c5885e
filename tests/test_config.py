import json
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import honcho.command
import pytest

from catalog import create_app
from catalog.config import ENVIRONMENT, ConfigError, normalise_database_url


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


# Every setting the documentation names is read, and every setting read is documented.

ROOT = Path(__file__).resolve().parent.parent
# Read by the programs around the app rather than by catalog/config.py; each is checked
# below where it is read.
READ_ELSEWHERE = {"PORT", "WEB_CONCURRENCY", "WEB_THREADS", "FLASK_DEBUG", "PROCFILE"}
# Set by the platform's add-on, so the manifest provisions it instead of describing it.
PROVISIONED = {"DATABASE_URL"}


def readme_settings() -> set[str]:
    """Return the names in the first column of the README's table of settings."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| variable | default | meaning |\n", 1)[1].split("\n\n", 1)[0]
    names = set()
    for row in table.splitlines()[1:]:
        first = row.split("|")[1]
        names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first))
    return names


def env_example_settings() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def app_json_settings() -> set[str]:
    return set(json.loads((ROOT / "app.json").read_text())["env"])


@pytest.mark.parametrize(
    "documented",
    [readme_settings, env_example_settings, app_json_settings],
    ids=["README", ".env.example", "app.json"],
)
def test_every_documented_setting_is_read_and_every_setting_is_documented(documented):
    names = documented()
    assert names, "no settings found: the document's layout changed"
    unread = names - set(ENVIRONMENT) - READ_ELSEWHERE
    assert not unread, f"documented but never read: {sorted(unread)}"
    wanted = set(ENVIRONMENT) - (PROVISIONED if documented is app_json_settings else set())
    undocumented = wanted - names
    assert not undocumented, f"read but not documented: {sorted(undocumented)}"


def test_the_settings_read_elsewhere_are_read_there(monkeypatch):
    for name in READ_ELSEWHERE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    server = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (server["bind"], server["workers"]) == ("0.0.0.0:5123", 3)
    # honcho takes its port and Procfile from these variables (and from .env).
    assert {"PORT", "PROCFILE"} <= set(honcho.command.ENV_ARGS.values())
    # Flask turns debug on from FLASK_DEBUG, and with it a throwaway key and dev sign-in.
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app()
    assert app.debug
    assert app.config["DEV_LOGIN"] is True


@pytest.mark.parametrize(
    ("name", "value", "path", "body", "statuses"),
    [
        # Refused for want of a token or a demo user, but counted all the same.
        ("RATELIMIT_WRITES", "2 per minute", "/api/v1/items", {"json": {}}, [401, 401, 429]),
        ("RATELIMIT_SIGN_IN", "2/hour", "/login/dev", {"data": {}}, [400, 400, 429]),
    ],
)
def test_rate_limits_come_from_the_environment(
    monkeypatch, database_url, name, value, path, body, statuses
):
    monkeypatch.setenv(name, value)
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False}
    )
    assert app.config[name] == value
    client = app.test_client()
    address = {"REMOTE_ADDR": f"198.51.100.{secrets.randbelow(250)}"}
    answers = [client.post(path, environ_base=address, **body) for _ in statuses]
    assert [a.status_code for a in answers] == statuses
    assert value in answers[-1].get_data(as_text=True)


@pytest.mark.parametrize("name", ["RATELIMIT_WRITES", "RATELIMIT_SIGN_IN"])
@pytest.mark.parametrize("value", ["60 per fortnight", "abc", "0 per minute", "10 per minute;x"])
def test_a_bad_rate_limit_stops_start_up_in_one_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True})
    message = str(info.value)
    assert message.startswith(f"{name} must be a rate limit such as '60 per minute'")
    assert repr(value) in message
    assert "\n" not in message


def test_redis_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "rediss://:secret@redis.example.com:6380/0")
    app = create_app({"TESTING": True})
    assert app.config["RATELIMIT_STORAGE_URI"] == "rediss://:secret@redis.example.com:6380/0"


@pytest.mark.parametrize("value", ["localhost:6379", "http://redis.example.com", "redis//x"])
def test_a_redis_url_that_is_not_one_stops_start_up_in_one_line(monkeypatch, value):
    monkeypatch.setenv("REDIS_URL", value)
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True})
    message = str(info.value)
    assert message.startswith("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    assert "\n" not in message
