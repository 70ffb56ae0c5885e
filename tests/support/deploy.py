"""A dyno's side of the deploy tests: the Procfile, what a push ships, a dyno's environment.

Shared by tests/test_deploy.py, tests/test_honcho.py and ``support.gunicorn_server``,
which run the app the way the platform runs it, in processes of their own.
"""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The SECRET_KEY the deploy tests give their dynos.
SECRET = "d3c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f5e4d3"


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
