"""gunicorn's settings, the Heroku manifest and .env.example agree with the app's settings."""

import json
import re
import runpy
from pathlib import Path

import pytest

from catalog import create_app
from catalog.config import (
    DEFAULT_THREADS,
    DEFAULTS,
    ENVIRONMENT,
    MAX_DEFAULT_WORKERS,
    ConfigError,
    web_concurrency,
    web_threads,
)

ROOT = Path(__file__).resolve().parent.parent
# Set by the platform or its add-ons rather than by hand.
PLATFORM_SET = {"DATABASE_URL", "PORT"}
SERVER_SETTINGS = ("PORT", "WEB_CONCURRENCY", "WEB_THREADS")


def gunicorn_settings(monkeypatch, **env) -> dict:
    for name in SERVER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_listens_on_port_with_web_concurrency_workers(monkeypatch):
    settings = gunicorn_settings(monkeypatch, PORT="5123", WEB_CONCURRENCY="3")
    assert settings["bind"] == "0.0.0.0:5123"
    assert settings["workers"] == 3


def test_gunicorn_runs_threaded_workers_of_web_threads_threads(monkeypatch):
    settings = gunicorn_settings(monkeypatch, WEB_THREADS="6")
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] == 6
    assert gunicorn_settings(monkeypatch)["threads"] == DEFAULT_THREADS


def test_default_threads_each_have_a_database_connection():
    assert DEFAULTS["DATABASE_POOL_SIZE"] > DEFAULT_THREADS


@pytest.mark.parametrize("value", ["0", "some"])
def test_bad_web_threads_is_refused_in_one_line(monkeypatch, value):
    monkeypatch.setenv("WEB_THREADS", value)
    with pytest.raises(ConfigError, match="WEB_THREADS must be a whole number"):
        web_threads()


def test_gunicorn_defaults_to_port_8000_and_workers_by_cores(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"] == "0.0.0.0:8000"
    assert 3 <= settings["workers"] <= MAX_DEFAULT_WORKERS


def test_gunicorn_logs_to_output_and_stops_within_the_platforms_grace(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["errorlog"] == "-"
    assert settings["preload_app"] is True
    # Heroku's router gives up at 30 s and SIGKILLs 30 s after SIGTERM.
    assert settings["timeout"] <= 30
    assert settings["graceful_timeout"] < 30
    assert settings["forwarded_allow_ips"] == "*"


@pytest.mark.parametrize(("cores", "workers"), [(1, 3), (2, 5), (3, 7), (64, MAX_DEFAULT_WORKERS)])
def test_default_workers_are_two_per_core_plus_one_capped(monkeypatch, cores, workers):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    assert web_concurrency() == workers


@pytest.mark.parametrize("value", ["0", "many", "-2"])
def test_bad_web_concurrency_is_refused_in_one_line(monkeypatch, value):
    monkeypatch.setenv("WEB_CONCURRENCY", value)
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY must be a whole number"):
        web_concurrency()


def test_postgresql_pools_are_capped_per_process(monkeypatch):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "postgres://h/catalog"})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 3
    assert options["max_overflow"] == 0
    assert options["connect_args"]["connect_timeout"] > 0


def test_sqlite_keeps_its_own_pool(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert "pool_size" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("DATABASE_POOL_SIZE", "0"), ("TRUSTED_PROXIES", "one"), ("FORCE_HTTPS", "2")],
)
def test_bad_numbers_and_switches_are_refused_in_one_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True})
    assert str(info.value).startswith(name)
    assert "\n" not in str(info.value)


def test_app_json_provisions_postgresql_and_describes_every_setting():
    manifest = json.loads((ROOT / "app.json").read_text())
    assert any(
        addon["plan"].startswith("heroku-postgresql:") and addon.get("as") == "DATABASE"
        for addon in manifest["addons"]
    )
    assert manifest["env"]["SECRET_KEY"]["generator"] == "secret"
    documented = set(manifest["env"])
    wanted = (set(ENVIRONMENT) | {"WEB_CONCURRENCY"}) - PLATFORM_SET
    assert wanted <= documented, f"describe {sorted(wanted - documented)} in app.json"
    for name, entry in manifest["env"].items():
        assert entry["description"].strip(), name
    assert len(manifest["description"]) <= 140


def test_env_example_lists_every_setting_with_a_comment():
    text = (ROOT / ".env.example").read_text()
    lines = text.splitlines()
    listed = {}
    for number, line in enumerate(lines):
        match = re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=.*", line)
        if match:
            listed[match[1]] = number
    wanted = set(ENVIRONMENT) | set(SERVER_SETTINGS)
    assert wanted <= set(listed), f"list {sorted(wanted - set(listed))} in .env.example"
    for name, number in listed.items():
        # Each setting follows its explanation, or another setting of the same group.
        above = lines[number - 1]
        assert above.startswith("# ") or re.fullmatch(r"#?[A-Z0-9_]+=.*", above), name


def test_python_version_is_the_one_requirements_are_pinned_for():
    version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", version)
    assert f"--python-version {version}" in (ROOT / "Makefile").read_text()
