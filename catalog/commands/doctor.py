"""``flask doctor``: check a deployment's settings and database, one line per check."""

import math
from collections import Counter
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any, cast
from urllib.parse import urlsplit

import click
import redis
import requests
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from catalog.config import ConfigError, database_label, web_concurrency
from catalog.extensions import db
from catalog.web.limits import redis_client
from catalog.web.replicas import replicas

MIN_SECRET_LENGTH = 32
# Estimated from the key's own character frequencies; 32 random hex digits give about 110.
MIN_SECRET_BITS = 100
# Values from tutorials, examples and this project's own tests: public, so no secret.
KNOWN_SECRETS = frozenset(
    {
        "dev",
        "development",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "super secret key",
        "super-secret-key",
        "supersecretkey",
        "your-secret-key",
        "your_secret_key",
        "changeme",
        "change-me",
        "change_me",
        "please-change-me",
        "replace-me",
        "test",
        "testing",
        "test-secret-key",
    }
)
MAKE_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"
DISCOVERY_TIMEOUT = 5
DISCOVERY_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class Context:
    """What every check may need: the command's options and whether the database answered."""

    offline: bool
    # Why the database did not answer, or None when it did.
    database_error: str | None


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: what was found and, for a problem, how to fix it."""

    check: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'problem':8}{self.check}: {self.detail}"


def ok(check: str, detail: str) -> Finding:
    return Finding(check, True, detail)


def problem(check: str, what: str, fix: str) -> Finding:
    return Finding(check, False, f"{what}. Fix: {fix}")


def estimated_bits(value: str) -> float:
    """Estimate a string's entropy in bits from its own character frequencies."""
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def check_secret_key(context: Context) -> Finding:
    """The session-signing key is long, random-looking and not a published value."""
    key = current_app.config.get("SECRET_KEY") or ""
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    fix = f"set SECRET_KEY to the output of `{MAKE_KEY}`"
    if not key:
        return problem("secret key", "SECRET_KEY is not set", fix)
    if key.strip().lower() in KNOWN_SECRETS:
        return problem("secret key", "SECRET_KEY is a well-known example value", fix)
    if len(key) < MIN_SECRET_LENGTH:
        return problem(
            "secret key",
            f"SECRET_KEY has {len(key)} characters, fewer than {MIN_SECRET_LENGTH}",
            fix,
        )
    bits = estimated_bits(key)
    if bits < MIN_SECRET_BITS:
        return problem("secret key", f"SECRET_KEY looks guessable (about {bits:.0f} bits)", fix)
    return ok("secret key", f"set, {len(key)} characters, about {bits:.0f} bits")


def check_debug(context: Context) -> Finding:
    """Debug, testing and dev sign-in are all off."""
    on = [
        name
        for name, value in (
            ("debug (FLASK_DEBUG)", current_app.debug),
            ("TESTING", current_app.testing),
            ("dev sign-in", current_app.config.get("DEV_LOGIN")),
        )
        if value
    ]
    if on:
        return problem(
            "debug",
            f"{', '.join(on)} on: anyone could run code or sign in as anyone",
            "unset FLASK_DEBUG (and TESTING) in the deployment's environment",
        )
    return ok("debug", "debug, testing and dev sign-in are off")


def check_hosts(context: Context) -> Finding:
    """Requests are served only for the host names in ``ALLOWED_HOSTS``."""
    hosts = current_app.config.get("TRUSTED_HOSTS")
    if hosts:
        # werkzeug's ".example.com" is the "*.example.com" people write; it matches both.
        names = ", ".join(f"*{host}" if host.startswith(".") else host for host in hosts)
        return ok("hosts", f"answers for {names}; any other Host gets 400")
    if current_app.debug or current_app.testing:
        return ok("hosts", "ALLOWED_HOSTS is not set: any host is served, as in debug and testing")
    return problem(
        "hosts",
        "ALLOWED_HOSTS is not set: the site answers whatever Host a request names",
        "set ALLOWED_HOSTS to the names the site is reached by, such as "
        "my-catalog.herokuapp.com,www.example.com",
    )


def check_database(context: Context) -> Finding:
    """The database is PostgreSQL and answers."""
    label = database_label(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if db.engine.dialect.name == "sqlite":
        return problem(
            "database",
            f"{label} is SQLite, a file on this machine; a dyno's disk is wiped at every restart",
            "add PostgreSQL (`heroku addons:create heroku-postgresql:essential-0`) "
            "and move the data with `flask export` / `flask import`",
        )
    if context.database_error:
        return problem(
            "database",
            f"cannot connect to {label}: {context.database_error}",
            "check DATABASE_URL (host, port, user, password, sslmode) and that the server is up",
        )
    with db.engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar()
    return ok("database", f"PostgreSQL {version} answers at {label}")


def database_error() -> str | None:
    """Connect once; return why the database did not answer, or None when it did."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return None


def check_migrations(context: Context) -> Finding:
    """The database's schema is at the newest migration the code has."""
    try:
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        heads = set(script.get_heads())
    except CommandError as exc:
        return problem(
            "migrations",
            f"cannot read the migrations: {exc}",
            "reinstall the app: its migrations folder is missing or damaged",
        )
    if context.database_error:
        return problem("migrations", "not checked: the database does not answer", "see above")
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    code = ", ".join(sorted(heads))
    if current == heads:
        return ok("migrations", f"database at {code}, the newest")
    fix = "run `flask db upgrade` (on Heroku the release phase does, at every deploy)"
    if not current:
        return problem("migrations", f"the database has no schema; the code expects {code}", fix)
    unknown = [r for r in current if not _known(script, r)]
    if unknown:
        return problem(
            "migrations",
            f"the database is at {', '.join(unknown)}, which this code does not know",
            "deploy the code that made it, or downgrade the database with that code",
        )
    return problem("migrations", f"database at {', '.join(sorted(current))}, code at {code}", fix)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_oidc(context: Context) -> Finding:
    """An OpenID Connect client is configured and its issuer's discovery answers."""
    config = current_app.config
    issuer = (config.get("OIDC_ISSUER") or "").rstrip("/")
    missing = [n for n in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET") if not config.get(n)]
    if missing:
        return problem(
            "sign-in",
            f"{' and '.join(missing)} not set: nobody can sign in",
            f"register an OAuth client for this site with {issuer or 'the issuer'} "
            "and set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
        )
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
        return problem(
            "sign-in",
            f"OIDC_ISSUER {issuer!r} is not an https URL",
            "set OIDC_ISSUER to the provider's issuer, such as https://accounts.google.com",
        )
    if context.offline:
        return ok("sign-in", f"client configured for {issuer}; discovery not checked (--offline)")

    url = f"{issuer}/.well-known/openid-configuration"
    fix = "check OIDC_ISSUER and that this machine can reach it (or pass --offline)"
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT)
    except requests.RequestException as exc:
        return problem("sign-in", f"discovery at {url} unreachable ({type(exc).__name__})", fix)
    if response.status_code != 200:
        return problem("sign-in", f"discovery at {url} answered {response.status_code}", fix)
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return problem("sign-in", f"discovery at {url} is not a JSON document", fix)
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        return problem(
            "sign-in",
            f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}",
            "set OIDC_ISSUER to exactly the issuer the provider names",
        )
    lacking = [field for field in DISCOVERY_FIELDS if not document.get(field)]
    if lacking:
        return problem("sign-in", f"discovery at {url} lacks {', '.join(lacking)}", fix)
    return ok("sign-in", f"client configured; {issuer} discovery answers")


def check_connections(context: Context) -> Finding:
    """Every web worker's pool fits in the server's connection limit."""
    if db.engine.dialect.name != "postgresql":
        return problem("connections", "not checked: the database is not PostgreSQL", "see above")
    if context.database_error:
        return problem("connections", "not checked: the database does not answer", "see above")
    try:
        workers = web_concurrency()
    except ConfigError as exc:
        return problem("connections", str(exc), "set WEB_CONCURRENCY to a whole number")
    options = current_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    per_worker = options.get("pool_size", 5) + max(options.get("max_overflow", 10), 0)
    with db.engine.connect() as connection:
        limit = int(connection.execute(text("SHOW max_connections")).scalar_one())
        reserved = int(connection.execute(text("SHOW superuser_reserved_connections")).scalar_one())
    available = limit - reserved
    budget = workers * per_worker
    summary = (
        f"{workers} workers x {per_worker} connections = {budget} per dyno; "
        f"the server allows {available} (max_connections {limit} - {reserved} reserved)"
    )
    # Strictly under: the release phase and one-off commands need a connection too.
    if budget >= available:
        return problem(
            "connections",
            summary,
            "lower DATABASE_POOL_SIZE (a gunicorn sync worker uses one connection at a time) "
            "or WEB_CONCURRENCY, or put PgBouncer in front",
        )
    return ok("connections", f"{summary}; more dynos multiply it")


def check_redis(context: Context) -> Finding:
    """Redis, when REDIS_URL names one, answers; every call to it is bounded."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return ok(
            "redis",
            "REDIS_URL not set: each process counts rate limits on its own, "
            "which is right for one; add a Redis for more",
        )
    label = database_label(url)
    client = redis_client(url)
    try:
        # redis-py's annotations cover its async client too; this one answers a dict.
        version = cast(dict[str, Any], client.info("server"))["redis_version"]
    except redis.RedisError as exc:
        reason = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
        return problem(
            "redis",
            f"cannot reach Redis at {label}: {type(exc).__name__}: {reason}; "
            "meanwhile each process counts rate limits on its own",
            "check REDIS_URL (host, port, password; rediss:// for TLS) and that the server is up",
        )
    finally:
        client.close()
    return ok(
        "redis", f"Redis {version} answers at {label}; every process counts rate limits there"
    )


def check_replicas(context: Context) -> Finding:
    """Each replica answers, is a standby (in recovery), and lags within the limit."""
    followers = replicas()
    if followers is None:
        return ok("replicas", "DATABASE_REPLICA_URL not set: every read goes to the primary")
    followers.refresh(force=True)
    limit = followers.max_lag
    found = []
    for replica in followers.replicas:
        state = replica.state
        if state in ("ok", "lagging"):
            state = f"{state}, a standby {replica.lag:.1f} s behind (limit {limit:g} s)"
        elif replica.detail:
            state = f"{state}: {replica.detail}"
        found.append(f"{replica.label} {state}")
    summary = "; ".join(found)
    if any(replica.state != "ok" for replica in followers.replicas):
        return problem(
            "replicas",
            f"{summary}; its reads go to the primary meanwhile",
            "check DATABASE_REPLICA_URL names followers of DATABASE_URL (a follower add-on's "
            "URL), that they are up, and why one lags (`heroku pg:info`)",
        )
    return ok("replicas", f"{summary}; the read-only views read from them")


CHECKS = (
    check_secret_key,
    check_debug,
    check_hosts,
    check_database,
    check_migrations,
    check_oidc,
    check_connections,
    check_redis,
    check_replicas,
)


def diagnose(offline: bool = False) -> list[Finding]:
    """Run every check in the app context; return their findings in order."""
    context = Context(offline=offline, database_error=database_error())
    return [check(context) for check in CHECKS]


@click.command("doctor")
@click.option(
    "--offline", is_flag=True, help="Do not fetch the identity provider's discovery document."
)
@with_appcontext
def doctor_command(offline: bool) -> None:
    """Check this deployment's settings and database; exit non-zero on any problem."""
    findings = diagnose(offline)
    for finding in findings:
        click.echo(finding.line())
    problems = sum(not f.ok for f in findings)
    if problems:
        click.echo(f"{problems} of {len(findings)} checks found a problem.", err=True)
        raise SystemExit(1)
    click.echo(f"All {len(findings)} checks passed.")
