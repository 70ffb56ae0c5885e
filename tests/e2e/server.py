"""Serve the app for the browser tests as production does: real gunicorn, on PostgreSQL.

The database is migrated and seeded with the same commands an operator types
(``flask db upgrade``, ``flask seed``). gunicorn reads the repository's
gunicorn.conf.py and runs with production settings, less what needs a router in
front: with nothing between the browser and the app, ``FORCE_HTTPS=0`` and
``TRUSTED_PROXIES=0`` say so (the settings ``.env.example`` uses locally). Session
cookies stay ``Secure``: browsers accept those from loopback addresses over HTTP.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS = 2
SECRET_KEY = "5c0ffee1e2e4b6a8c0d2f4a6b8c0e2f4a6b8d0c2e4f6a8b0d2c4e6f8a0b2c4d6"
CLIENT_ID = "catalog-e2e"
CLIENT_SECRET = "e2e-client-secret"
START_TIMEOUT = 60
STOP_TIMEOUT = 40


class ServerError(RuntimeError):
    """The app could not be prepared or served; the message carries its output."""


def environment(home: Path, database_url: str, issuer: str) -> dict[str, str]:
    """Return the process environment for the app: nothing from this shell but PATH."""
    return {
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "FLASK_APP": "catalog",
        # A developer's .env must not turn on debug mode or point at another database.
        "FLASK_SKIP_DOTENV": "1",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "FORCE_HTTPS": "0",
        "TRUSTED_PROXIES": "0",
        "WEB_CONCURRENCY": str(WORKERS),
    }


def flask(env: dict[str, str], *args: str) -> str:
    """Run a ``flask`` command against the app's database; return its output."""
    done = subprocess.run(
        [str(BIN / "flask"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise ServerError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path):
    """Serve the app with gunicorn on a free loopback port; yield its base URL.

    The test binds the port and hands gunicorn the listening socket (``fd://``),
    so no other process can take the port between choosing and serving it.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--config",
                    str(ROOT / "gunicorn.conf.py"),
                    "--bind",
                    f"fd://{listener.fileno()}",
                    "catalog:create_app()",
                ],
                cwd=ROOT,
                env={**env, "PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
                start_new_session=True,
            )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log_path)
        yield url
    finally:
        stop(process)


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Return once ``/healthz`` answers 200; raise with the server's log if it never does."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ServerError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{log_path.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """Stop gunicorn as the platform does: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
