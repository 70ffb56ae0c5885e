"""Settings from the environment, read when the app is created, never at import."""

import os
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import limits
from flask import Flask
from PIL import Image
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULTS: dict[str, Any] = {
    "OIDC_ISSUER": "https://accounts.google.com",
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    "CATALOG_ADMINS": "",
    "REDIS_URL": None,
    "ITEMS_PER_PAGE": 20,
    "LATEST_ITEMS": 10,
    # PostgreSQL connections are checked at checkout without a round trip instead of
    # with pool_pre_ping (catalog.web.connections).
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # A form's CSRF token is bound to the session; it need not also expire after an hour,
    # which would turn a form left open over lunch into an error page.
    "WTF_CSRF_TIME_LIMIT": None,
    # Connections each process may hold; gunicorn's sync workers use one at a time.
    "DATABASE_POOL_SIZE": 5,
    # Bounded waits, in seconds, all well under gunicorn's 30 s timeout, so that a database
    # that is down or swamped gives quick 503s rather than workers stuck in a queue:
    # opening a connection, waiting for a free one in the pool, and one SQL statement.
    "DATABASE_CONNECT_TIMEOUT": 5,
    "DATABASE_POOL_TIMEOUT": 5,
    "DATABASE_STATEMENT_TIMEOUT": 10,
    # Followers that serve the read-only views (catalog.web.replicas), and how far behind
    # the primary one may fall, in seconds, before reads go back to the primary.
    "DATABASE_REPLICA_URL": None,
    "DATABASE_REPLICA_MAX_LAG": 10,
    # DATABASE_URL (and the replicas) go through PgBouncer in transaction pooling: no
    # prepared statements, no session settings (catalog.web.connections).
    "DATABASE_PGBOUNCER": False,
    # The largest request body, in bytes: a form or an item is a few KiB at most.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # The largest picture accepted, in bytes and in pixels (checked before decoding); the
    # routes that take one raise the body limit to this (catalog.web.uploads).
    "IMAGE_MAX_BYTES": 5_000_000,
    "IMAGE_MAX_PIXELS": 40_000_000,
}

# Variables a deployment may set; each overrides the default of the same name.
ENVIRONMENT = (
    "SECRET_KEY",
    "DATABASE_URL",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "CATALOG_ADMINS",
    "REDIS_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_STATEMENT_TIMEOUT",
    "DATABASE_REPLICA_URL",
    "DATABASE_REPLICA_MAX_LAG",
    "DATABASE_PGBOUNCER",
    "MAX_CONTENT_LENGTH",
    "IMAGE_MAX_BYTES",
    "IMAGE_MAX_PIXELS",
    "FORCE_HTTPS",
    "TRUSTED_PROXIES",
    "ALLOWED_HOSTS",
    "RATELIMIT_WRITES",
    "RATELIMIT_SIGN_IN",
)

# Whole-number database settings and the least each may be. A statement timeout of 0
# leaves statements unbounded (the server's or the role's setting applies).
DATABASE_NUMBERS = {
    "DATABASE_POOL_SIZE": 1,
    "DATABASE_CONNECT_TIMEOUT": 1,
    "DATABASE_POOL_TIMEOUT": 1,
    "DATABASE_STATEMENT_TIMEOUT": 0,
    "DATABASE_REPLICA_MAX_LAG": 1,
}
# A replica that does not answer must cost a request little: psycopg's shortest wait.
REPLICA_CONNECT_TIMEOUT = 2

# Rate limits, in the limits library's notation; their defaults are in catalog.web.limits.
RATE_LIMITS = ("RATELIMIT_WRITES", "RATELIMIT_SIGN_IN")
# What redis-py's from_url understands.
REDIS_SCHEMES = ("redis", "rediss", "unix")

# gunicorn's rule of thumb, capped: past a few workers memory runs out before CPU does.
MAX_DEFAULT_WORKERS = 8


class ConfigError(SystemExit):
    """A setting the app cannot start without; its message is one line for the operator."""


def normalise_database_url(url: str) -> str:
    """Return ``url`` with PostgreSQL spellings mapped to the psycopg 3 driver.

    Heroku hands out ``postgres://``; SQLAlchemy needs ``postgresql+psycopg://``.
    Query parameters such as ``sslmode=require`` pass through untouched.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"DATABASE_URL is not a URL: {url!r}")
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    return url


def replica_urls(value: str | list[str] | None) -> list[str]:
    """Parse ``DATABASE_REPLICA_URL``, comma-separated, into normalised PostgreSQL URLs."""
    given = value.split(",") if isinstance(value, str) else value or []
    urls = [normalise_database_url(entry) for entry in given if entry.strip()]
    for url in urls:
        if not url.startswith("postgresql+psycopg://"):
            raise ConfigError(
                "DATABASE_REPLICA_URL must name PostgreSQL servers (postgres://...), "
                f"not {database_label(url)!r}"
            )
    return urls


def sqlite_url(instance_path: str) -> str:
    """Return the default SQLite database URL, a file in the instance folder."""
    return "sqlite:///" + os.path.join(instance_path, "catalog.sqlite")


def admin_emails(value: str | None) -> frozenset[str]:
    """Parse the comma-separated ``CATALOG_ADMINS`` into lower-case addresses."""
    return frozenset(e.strip().lower() for e in (value or "").split(",") if e.strip())


def flag(name: str, value: object) -> bool:
    """Read an on/off setting given as a bool or as text such as ``1``, ``true``, ``off``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (1/0, true/false), not {value!r}")


def count(name: str, value: Any, minimum: int = 0) -> int:
    """Read a whole-number setting given as an int or as text."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return number


# A DNS name or an IPv4 address, as werkzeug accepts it in a Host header (ASCII, no port).
_HOST_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*", re.ASCII)


def allowed_hosts(value: str | list[str] | None) -> list[str] | None:
    """Parse ``ALLOWED_HOSTS`` into werkzeug's trusted hosts, or None when it names none.

    Names are exact; ``*.example.com`` or ``.example.com`` (werkzeug's spelling, to which
    the first is turned) also allows example.com and every name under it. Any port is
    accepted, as werkzeug ignores ports, so a name given with one is refused rather than
    giving the impression that its port is checked.
    """
    if value is None:
        return None
    given = value.split(",") if isinstance(value, str) else value
    hosts = []
    for entry in (e.strip() for e in given):
        if not entry:
            continue
        subdomains = entry.startswith(("*.", "."))
        name = entry.split(".", 1)[1] if subdomains else entry
        try:
            name = name.lower().encode("idna").decode("ascii")
        except UnicodeError:
            name = ""
        if not _HOST_NAME.fullmatch(name):
            raise ConfigError(
                f"ALLOWED_HOSTS: {entry!r} is not a host name; give names such as "
                "example.com or *.example.com, without scheme, port or path, separated by commas"
            )
        hosts.append(f".{name}" if subdomains else name)
    return hosts or None


def rate_limit(name: str, value: object) -> str:
    """Check a rate limit such as ``60 per minute`` or ``10/second;100/day``; return it."""
    text = str(value).strip()
    try:
        items = limits.parse_many(text)
    except ValueError:
        items = []
    # A limit of 0 would refuse every request it covers: a typo, not a policy.
    if not items or any(item.amount < 1 for item in items):
        raise ConfigError(
            f"{name} must be a rate limit such as '60 per minute' or '10/second;100/day' "
            f"(at least 1 per second, minute, hour, day, month or year), not {value!r}"
        )
    return text


def redis_url(value: str) -> str:
    """Check that ``REDIS_URL`` is a URL redis-py can connect to; return it."""
    url = value.strip()
    if urlsplit(url).scheme not in REDIS_SCHEMES or "://" not in url:
        raise ConfigError(
            f"REDIS_URL must be a redis://, rediss:// or unix:// URL, not {database_label(url)!r}"
        )
    return url


# Threads per gunicorn worker: enough to keep serving beside slow clients and long
# downloads, fewer than the default DATABASE_POOL_SIZE so that each has a connection.
DEFAULT_THREADS = 4


def web_concurrency() -> int:
    """Return how many gunicorn workers to run: ``WEB_CONCURRENCY``, else 2 per core + 1."""
    if os.environ.get("WEB_CONCURRENCY"):
        return count("WEB_CONCURRENCY", os.environ["WEB_CONCURRENCY"], minimum=1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cores or 1) + 1, MAX_DEFAULT_WORKERS)


def web_threads() -> int:
    """Return how many threads each gunicorn worker runs: ``WEB_THREADS``, else 4."""
    if os.environ.get("WEB_THREADS"):
        return count("WEB_THREADS", os.environ["WEB_THREADS"], minimum=1)
    return DEFAULT_THREADS


def connect_args(
    url: str, connect_timeout: int, statement_timeout: int, pgbouncer: bool = False
) -> dict[str, Any]:
    """Return psycopg's connection arguments: the timeouts, kept apart from the URL's options.

    ``statement_timeout`` (seconds, 0 for none) goes in the startup ``options`` ahead of any
    the URL already has, so that a ``-c statement_timeout=...`` in DATABASE_URL still wins.
    Through PgBouncer (``pgbouncer``) there are neither: it refuses startup options, and in
    transaction pooling a prepared statement would be looked for on another server
    connection; catalog.web.connections sets the timeout in each transaction instead.
    """
    arguments: dict[str, Any] = {"connect_timeout": connect_timeout}
    if pgbouncer:
        arguments["prepare_threshold"] = None
        return arguments
    options = [f"-c statement_timeout={statement_timeout * 1000}"] if statement_timeout else []
    try:
        given = make_url(url).query.get("options")
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"DATABASE_URL cannot be read: {exc}") from None
    if given:
        options.append(given if isinstance(given, str) else " ".join(given))
    if options:
        arguments["options"] = " ".join(options)
    return arguments


def postgresql_engine_options(
    config: Mapping[str, Any], url: str, connect_timeout: int | None = None
) -> dict[str, Any]:
    """Return the engine options of a PostgreSQL ``url``: the pool's cap and the timeouts."""
    return {
        "pool_size": config["DATABASE_POOL_SIZE"],
        "max_overflow": 0,
        "pool_timeout": config["DATABASE_POOL_TIMEOUT"],
        "connect_args": connect_args(
            url,
            connect_timeout or config["DATABASE_CONNECT_TIMEOUT"],
            config["DATABASE_STATEMENT_TIMEOUT"],
            config["DATABASE_PGBOUNCER"],
        ),
    }


def configure(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Load defaults, then the environment, then ``overrides`` into ``app.config``."""
    app.config.from_mapping(DEFAULTS)
    for name in ENVIRONMENT:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if overrides:
        app.config.update(overrides)

    relaxed = app.debug or app.testing
    if not app.config.get("SECRET_KEY"):
        if not relaxed:
            raise ConfigError(
                "SECRET_KEY is not set: generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'` and set it."
            )
        # A throwaway key: sessions do not survive a restart, which is fine in development.
        app.config["SECRET_KEY"] = secrets.token_hex(32)

    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    if url:
        url = normalise_database_url(url)
    else:
        os.makedirs(app.instance_path, exist_ok=True)
        url = sqlite_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    for name, minimum in DATABASE_NUMBERS.items():
        app.config[name] = count(name, app.config[name], minimum)
    app.config["DATABASE_PGBOUNCER"] = flag("DATABASE_PGBOUNCER", app.config["DATABASE_PGBOUNCER"])
    app.config["DATABASE_REPLICA_URL"] = replica_urls(app.config["DATABASE_REPLICA_URL"])
    if app.config["DATABASE_REPLICA_URL"] and not url.startswith("postgresql"):
        raise ConfigError("DATABASE_REPLICA_URL needs DATABASE_URL to name PostgreSQL too")
    if url.startswith("postgresql"):
        # A hard cap per process keeps workers x pool size within the server's connections;
        # when every connection is busy, a request waits DATABASE_POOL_TIMEOUT at most.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **postgresql_engine_options(app.config, url),
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    app.config["MAX_CONTENT_LENGTH"] = count(
        "MAX_CONTENT_LENGTH", app.config["MAX_CONTENT_LENGTH"], minimum=1024
    )
    app.config["IMAGE_MAX_BYTES"] = count(
        "IMAGE_MAX_BYTES", app.config["IMAGE_MAX_BYTES"], minimum=1024
    )
    app.config["IMAGE_MAX_PIXELS"] = count(
        "IMAGE_MAX_PIXELS", app.config["IMAGE_MAX_PIXELS"], minimum=1
    )
    if app.config["IMAGE_MAX_PIXELS"] > Image.MAX_IMAGE_PIXELS:
        # Past this Pillow refuses a picture as a decompression bomb, whatever the setting.
        raise ConfigError(
            f"IMAGE_MAX_PIXELS must be at most {Image.MAX_IMAGE_PIXELS}, "
            f"not {app.config['IMAGE_MAX_PIXELS']!r}"
        )
    app.config["CATALOG_ADMINS"] = admin_emails(app.config["CATALOG_ADMINS"])
    given = overrides or {}
    if "SESSION_COOKIE_SECURE" not in given:
        app.config["SESSION_COOKIE_SECURE"] = not relaxed
    if "DEV_LOGIN" not in given:
        app.config["DEV_LOGIN"] = relaxed
    # Behind the platform's router in production; a local server speaks plain HTTP.
    app.config["FORCE_HTTPS"] = flag("FORCE_HTTPS", app.config.get("FORCE_HTTPS", not relaxed))
    app.config["TRUSTED_PROXIES"] = count(
        "TRUSTED_PROXIES", app.config.get("TRUSTED_PROXIES", 0 if relaxed else 1)
    )
    # Flask refuses any other Host once this is a list (catalog.web.security answers the 400);
    # None, when ALLOWED_HOSTS is unset, lets every host in, in every mode.
    app.config["TRUSTED_HOSTS"] = allowed_hosts(app.config.get("ALLOWED_HOSTS"))
    # Rate limits and their store: a typo here would otherwise surface as a traceback on
    # the first write, or as limits that silently count in each process alone.
    for name in RATE_LIMITS:
        if app.config.get(name) is not None:
            app.config[name] = rate_limit(name, app.config[name])
    if app.config.get("REDIS_URL"):
        app.config["REDIS_URL"] = redis_url(app.config["REDIS_URL"])


def database_label(url: str) -> str:
    """Return ``url`` without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
