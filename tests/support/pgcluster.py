"""A PostgreSQL cluster of the tests' own, on a spare port, that they may stop and restart.

Made with ``initdb`` and driven with ``pg_ctl``, so fault tests never touch the
shared server. PostgreSQL refuses to run as root; as root the tools run as the
``postgres`` user. The ``cluster`` fixture (tests/conftest.py) makes one per run.
"""

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from flask_migrate import upgrade

from catalog import create_app
from catalog.extensions import db


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    return versions[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One throwaway cluster: ``start()``, ``stop()``, ``restart()``, ``remove()``."""

    def __init__(self, max_connections: int = 50, primary: "Cluster | None" = None):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="catalog-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.bindir = _bindir()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        if primary is not None:
            # A streaming standby of ``primary``: its files and WAL, with the settings to
            # follow it (-R writes primary_conninfo and standby.signal). initdb's
            # pg_hba.conf lets local replication connections in.
            self._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            )
        else:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            )
        # Appended last, so these win over the primary's lines a standby copied.
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = {max_connections}\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )

    def standby(self) -> "Cluster":
        """Make a streaming standby of this running cluster, on a port of its own; start it."""
        follower = Cluster(primary=self)
        follower.start()
        return follower

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        """Run one statement on this cluster, in autocommit, and return its rows."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def url(self, database: str = "postgres", scheme: str = "postgresql") -> str:
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def migrated_database(cluster: Cluster, prefix: str = "catalog_fault") -> str:
    """Create a database on ``cluster``, migrate it, and return its URL."""
    url = cluster.create_database(f"{prefix}_{secrets.token_hex(4)}")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url
