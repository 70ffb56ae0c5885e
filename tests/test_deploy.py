"""The Procfile, run the way the platform runs it: release, then web, on a fresh PostgreSQL.

The app runs from a copy of what git would ship (no .env, no instance/, no .venv), with
the environment the platform gives a dyno, through real gunicorn with several workers.
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.deploy import SECRET, dyno_environment, fetch, free_port, procfile, wait_for_port
from support.services import admin_url, throwaway_postgresql_database

WORKERS = 3


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


def test_procfile_declares_release_and_web():
    processes = procfile()
    assert processes["release"] == "flask db upgrade"
    assert processes["web"].startswith("gunicorn ")
    assert "catalog:create_app()" in processes["web"]


@pytest.mark.slow
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


@pytest.mark.slow
def test_web_without_secret_key_stops_with_one_line(slug, tmp_path):
    env = dyno_environment(tmp_path, PORT=str(free_port()), WEB_CONCURRENCY=str(WORKERS))
    result = run(procfile()["web"], slug, env)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("SECRET_KEY is not set")


@pytest.mark.slow
def test_release_without_secret_key_stops_with_one_line(slug, tmp_path):
    result = run(procfile()["release"], slug, dyno_environment(tmp_path))
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("SECRET_KEY is not set")


@pytest.mark.slow
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
