"""`honcho start` from a clone with `.env.example` copied to `.env`: release, then web."""

import os
import signal
import subprocess

import pytest
from support.deploy import (
    BIN,
    ROOT,
    SECRET,
    dyno_environment,
    fetch,
    free_port,
    procfile,
    wait_for_port,
)
from support.services import admin_url, throwaway_postgresql_database


def test_local_procfile_is_release_then_web():
    processes = procfile()
    local = (ROOT / "Procfile.local").read_text().strip()
    assert local == f"web: {processes['release']} && exec {processes['web']}"


def test_env_example_points_honcho_at_the_local_procfile():
    settings = (ROOT / ".env.example").read_text().splitlines()
    assert "PROCFILE=Procfile.local" in settings


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])
def test_honcho_start_migrates_and_serves(slug, tmp_path, backend):
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    port = free_port()
    with throwaway_postgresql_database("catalog_honcho") as database_url:
        env_file = (slug / ".env.example").read_text()
        env_file = env_file.replace("SECRET_KEY=\n", f"SECRET_KEY={SECRET}\n")
        env_file += f"DATABASE_URL={database_url}\nWEB_CONCURRENCY=2\n"
        (slug / ".env").write_text(env_file)
        log_path = tmp_path / "honcho.log"
        with log_path.open("w") as log:
            honcho = subprocess.Popen(
                [str(BIN / "honcho"), "start", "--port", str(port)],
                cwd=slug,
                env=dyno_environment(tmp_path),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for_port(port, honcho)
            health = fetch(f"http://127.0.0.1:{port}/healthz")
            assert health.status_code == 200, health.text
            home = fetch(f"http://127.0.0.1:{port}/")
            assert home.status_code == 200
            assert "The catalog is empty." in home.text  # migrated, nothing seeded
        finally:
            os.killpg(honcho.pid, signal.SIGTERM)  # as a terminal's Ctrl-C or a stop would
            honcho.wait(timeout=40)
            (slug / ".env").unlink()
        output = log_path.read_text()
    assert "Running upgrade" in output
    assert "Traceback" not in output
    assert "web.1 stopped (rc=0)" in output  # gunicorn itself shut down cleanly
