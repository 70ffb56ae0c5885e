"""gunicorn serving the test entry point (``served_app``) the way the Procfile serves the app.

The command is the Procfile's web command with the app spec swapped for
``support.served_app:create_app()``; it runs in the repository with the production
``gunicorn.conf.py`` (timeouts, graceful shutdown, preloading) and a dyno's
environment, on a free port, with ``tests/`` on ``PYTHONPATH``. The dyno's side comes
from ``support.deploy``, as in test_deploy.
"""

import json
import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.deploy import ROOT, SECRET, dyno_environment, free_port, procfile, wait_for_port

APP_SPEC = "catalog:create_app()"
TEST_APP_SPEC = "support.served_app:create_app()"
# gunicorn's graceful_timeout is 25 s; past that it kills workers itself.
STOP_TIMEOUT = 40


@dataclass
class Gunicorn:
    """One running gunicorn master and its log."""

    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def booted_workers(self) -> list[int]:
        """Return the pids of every worker booted so far, in order."""
        return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.log())]

    def stop(self) -> int:
        """Send SIGTERM, as the platform does, and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def web_command(*extra: str) -> list[str]:
    """Return the Procfile's web command serving the test entry point, plus ``extra``."""
    command = procfile()["web"]
    assert APP_SPEC in command, command
    return [*shlex.split(command.replace(APP_SPEC, TEST_APP_SPEC)), *extra]


@contextmanager
def gunicorn(
    tmp_path: Path,
    database_url: str,
    *,
    name: str = "web",
    workers: int = 1,
    threads: int | None = None,
    settings: dict | None = None,
    **env: str,
) -> Iterator[Gunicorn]:
    """Serve the test entry point on ``database_url``; stop it with SIGTERM afterwards.

    ``settings`` reach the app as ``create_app`` overrides; ``env`` adds variables to
    the dyno's environment (``DATABASE_POOL_SIZE="2"``...).
    """
    port = free_port()
    environment = dyno_environment(
        tmp_path,
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        # Plain HTTP on a loopback port, with nothing in front.
        FORCE_HTTPS="0",
        TRUSTED_PROXIES="0",
        PYTHONPATH=str(ROOT / "tests"),
        CATALOG_TEST_SETTINGS=json.dumps(settings or {}),
        **env,
    )
    extra = ("--threads", str(threads)) if threads else ()
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            web_command(*extra),
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(port, process, log_path)
    try:
        wait_for_port(port, process)
        yield server
    finally:
        if process.poll() is None:
            server.stop()
