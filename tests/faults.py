"""Fixtures the fault tests share: a PostgreSQL cluster of their own, migrated databases on it.

The cluster (``pgcluster.Cluster``) runs on a spare port, so tests may stop and
restart it; the shared server on 5432 is never touched. Like every PostgreSQL test,
these run when ``TEST_DATABASE_URL`` is set (CI sets it), and are skipped otherwise.
"""

import os
import secrets

import pytest
from conftest import admin_url
from flask_migrate import upgrade
from pgcluster import Cluster

from catalog import create_app
from catalog.extensions import db


@pytest.fixture(scope="session")
def cluster():
    """Yield a started throwaway PostgreSQL cluster; remove it after the run.

    Tests that stop it start it again before they end, whatever happens.
    """
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests are off")
    try:
        made = Cluster()
    except RuntimeError as exc:  # no initdb/pg_ctl on this machine
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        made.start()
        yield made
    finally:
        made.remove()


def migrated_database(cluster: Cluster, prefix: str = "catalog_fault") -> str:
    """Create a database on ``cluster``, migrate it, and return its URL."""
    url = cluster.create_database(f"{prefix}_{secrets.token_hex(4)}")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url
