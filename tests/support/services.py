"""The shared services the tests use: a throwaway database on PostgreSQL, keys in Redis.

PostgreSQL tests run when ``TEST_DATABASE_URL`` names a server (CI sets it); each
database they make is new and dropped afterwards, so runs in parallel never meet.
"""

import os
import re
import secrets
from contextlib import contextmanager

import psycopg
import pytest
import redis


def admin_url() -> str | None:
    """Return ``TEST_DATABASE_URL`` as a plain libpq URL, or None when unset."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)


@contextmanager
def throwaway_postgresql_database(prefix="catalog_test"):
    """Create an empty PostgreSQL database next to ``TEST_DATABASE_URL``; drop it afterwards.

    Yields its SQLAlchemy URL in the ``postgres://`` form the platform hands out.
    """
    base = admin_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", base, count=1).replace(
            "postgresql://", "postgres://", 1
        )
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_keys(url: str, pattern: str):
    """Yield ``url`` once the Redis there answers; delete keys matching ``pattern`` after.

    A Redis that does not answer skips the test, or fails it under CI, where one runs.
    """
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {url}")
        pytest.skip(f"Redis does not answer at {url}")
    try:
        yield url
    finally:
        for key in client.scan_iter(pattern):
            client.delete(key)
        client.close()
