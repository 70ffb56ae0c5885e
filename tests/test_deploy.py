"""The Procfile, run the way the platform runs it: release, then web, on a fresh PostgreSQL.

The app runs from a copy of what git would ship (no .env, no instance/, no .venv), with
the environment the platform gives a dyno, through real gunicorn with several workers.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import admin_url, throwaway_postgresql_database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "d3c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f5e4d3"
WORKERS = 3


def procfile() -> dict[str, str]:
    """Return the Procfile's process types and their commands."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line.strip())
        if match:
            processes[match[1]] = match[2]
    return processes


def shipped_files() -> list[str]:
    """List what a push would ship: tracked and new files, less what git ignores."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def slug(tmp_path_factory):
    """Copy the app as a push would ship it: no .env, no instance folder, no virtualenv."""
    target = tmp_path_factory.mktemp("slug")
    for name in shipped_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dyno_environment(tmp_path, **settings) -> dict[str, str]:
    """Return a dyno's environment: nothing from this shell but the tools' PATH."""
    return {
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the web process exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.2)
        else:
            return
    pytest.fail(f"nothing listened on port {port} within {timeout} s")


def fetch(url: str, **headers) -> requests.Response:
    """GET ``url``; redirects are returned, not followed."""
    return requests.get(url, headers=headers, allow_redirects=False, timeout=30)


def test_procfile_declares_release_and_web():
    processes = procfile()
    assert processes["release"] == "flask db upgrade"
    assert processes["web"].startswith("gunicorn ")
    assert "catalog:create_app()" in processes["web"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_release_then_web_serve_the_catalog(slug, tmp_path, backend):
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    processes = procfile()
    port = free_port()
    with throwaway_postgresql_database("catalog_deploy") as database_url:
        assert database_url.startswith("postgres://")
        env = dyno_environment(
            tmp_path,
            DATABASE_URL=database_url,
            SECRET_KEY=SECRET,
            PORT=str(port),
            WEB_CONCURRENCY=str(WORKERS),
        )
        release = run(processes["release"], slug, env)
        assert release.returncode == 0, release.stderr
        assert "Running upgrade" in release.stderr
        seeded = run("flask seed", slug, env)  # a one-off command, as `heroku run` would
        assert seeded.returncode == 0, seeded.stderr

        log_path = tmp_path / "web.log"
        with log_path.open("w") as log:
            web = subprocess.Popen(
                ["bash", "-c", processes["web"]],
                cwd=slug,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for_port(port, web)
            base = f"http://127.0.0.1:{port}"
            router = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}

            home = fetch(f"{base}/", **router)
            assert home.status_code == 200
            category = re.search(r'href="(/catalog/[a-z0-9-]+/)"', home.text)
            assert category, home.text[:500]

            page = fetch(base + category[1], **router)
            assert page.status_code == 200
            assert re.search(r'href="/catalog/[a-z0-9-]+/[a-z0-9-]+/"', page.text)

            health = fetch(f"{base}/healthz", **router, **{"X-Request-ID": "e2e-0001"})
            assert health.status_code == 200
            assert health.json()["status"] == "ok"
            assert health.headers["X-Request-ID"] == "e2e-0001"
            assert "Content-Security-Policy" in health.headers

            plain = fetch(f"{base}/healthz", **{"X-Forwarded-Proto": "http"})
            assert plain.status_code == 301
            assert plain.headers["Location"].startswith("https://")
        finally:
            # The platform stops a dyno with SIGTERM to every process in it.
            os.killpg(web.pid, signal.SIGTERM)
            returncode = web.wait(timeout=40)
        output = log_path.read_text()

    assert returncode == 0, output
    assert "Traceback" not in output
    assert len(re.findall(r"Booting worker with pid", output)) == WORKERS, output
    assert "path=/healthz status=200" in output
    assert "request_id=e2e-0001" in output
    assert "Shutting down: Master" in output


def test_web_without_secret_key_stops_with_one_line(slug, tmp_path):
    env = dyno_environment(tmp_path, PORT=str(free_port()), WEB_CONCURRENCY=str(WORKERS))
    result = run(procfile()["web"], slug, env)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("SECRET_KEY is not set")


def test_release_without_secret_key_stops_with_one_line(slug, tmp_path):
    result = run(procfile()["release"], slug, dyno_environment(tmp_path))
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("SECRET_KEY is not set")


def test_requirements_install_into_a_fresh_virtualenv(slug, tmp_path):
    """The platform's buildpack path: a new virtualenv, pip install -r requirements.txt."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["--requirement", str(slug / "requirements.txt")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "SECRET_KEY": SECRET}
    imported = subprocess.run(
        [python, "-c", "import catalog; print(catalog.create_app().name)"],
        cwd=slug,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "catalog"
    # The web command's server loads the app with what was installed, and only that.
    checked = subprocess.run(
        [str(venv / "bin" / "gunicorn"), "--check-config", "catalog:create_app()"],
        cwd=slug,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
