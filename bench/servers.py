"""Gunicorn servers on loopback ports: start under the production config, measure, stop."""

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_CONFIG = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"

# What a request behind the platform's router carries: the app sees HTTPS, as in production.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}


def _die_with_parent() -> None:
    """Ask Linux to stop this process when the benchmark runner dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """Return a loopback port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_config_args() -> list[str]:
    """Return the ``-c`` arguments for the production config, or none while it does not exist."""
    return ["-c", str(PRODUCTION_CONFIG)] if PRODUCTION_CONFIG.exists() else []


def get(port: int, path: str, headers=None, timeout: float = 30) -> tuple[int, dict, bytes]:
    """GET ``path`` from the loopback server on ``port``; return status, headers (lower-case
    names) and body."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={**PROXY_HEADERS, **(headers or {})})
        response = conn.getresponse()
        headers = {key.lower(): value for key, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


def _status(pid: int) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def memory_kb(pid: int) -> tuple[int, int] | None:
    """Return (VmRSS, VmHWM) of ``pid`` in kB, or None when it is gone."""
    try:
        fields = _status(pid)
    except (FileNotFoundError, ProcessLookupError):
        return None
    if "VmRSS" not in fields:  # a worker that has died and not yet been reaped
        return None
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def cpu_seconds(pid: int) -> float | None:
    """Return the CPU time (user and system, every thread) ``pid`` has used, or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name, in parentheses, may hold spaces: fields follow its end.
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # utime and stime are fields 14 and 15 of proc(5), the 12th and 13th after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> bool:
    """Reset the peak RSS (VmHWM) of ``pid`` to its current RSS; tell whether it worked."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


class Server:
    """One gunicorn master and its workers, bound to a free loopback port."""

    def __init__(self, name: str, app: str, env: dict, workers: int, logs: Path, ready: str):
        self.name, self.app, self.workers_wanted, self.ready_path = name, app, workers, ready
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.port = None
        self.process = None

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            *gunicorn_config_args(),
            # After the config file, so they win: only ever listen on loopback, and keep
            # each server's control socket apart from any other gunicorn on the machine.
            "--bind",
            f"{HOST}:{self.port}",
            "--control-socket",
            str(self.log_path.with_suffix(".ctl")),
            self.app,
        ]

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until it answers and all its workers are up."""
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GUNICORN_"))}
        env.update(self.env, PORT=str(self.port), WEB_CONCURRENCY=str(self.workers_wanted))
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                status, _, _ = get(self.port, self.ready_path, timeout=5)
                if status < 500 and len(self.worker_pids()) >= self.workers_wanted:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not come up in {timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the server answers its ready path promptly twice in a row.

        Requests queued behind slow ones are served first (the listen queue is FIFO), so
        two quick answers mean the backlog is gone. Return whether that happened in time.
        """
        deadline = time.monotonic() + timeout
        quick = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                get(self.port, self.ready_path, timeout=max(1, deadline - started))
            except OSError:
                quick = 0
                continue
            quick = quick + 1 if time.monotonic() - started < 0.5 else 0
            if quick == 2:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the master gracefully, then kill its process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        if self.process is None:
            return []
        master = self.process.pid
        try:
            with open(f"/proc/{master}/task/{master}/children") as children:
                return [int(pid) for pid in children.read().split()]
        except OSError:
            pids = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        if int(_status(int(entry.name))["PPid"]) == master:
                            pids.append(int(entry.name))
                    except (OSError, KeyError, ValueError):
                        continue
            return pids

    def memory(self) -> dict[int, tuple[int, int]]:
        """Return {worker pid: (VmRSS, VmHWM) in kB}."""
        found = {pid: memory_kb(pid) for pid in self.worker_pids()}
        return {pid: mem for pid, mem in found.items() if mem is not None}

    def cpu_seconds(self) -> dict[int, float]:
        """Return {worker pid: CPU seconds used so far}."""
        found = {pid: cpu_seconds(pid) for pid in self.worker_pids()}
        return {pid: cpu for pid, cpu in found.items() if cpu is not None}

    def max_rss_mb(self) -> float | None:
        """Return the largest worker RSS in MB."""
        memory = self.memory()
        return round(max(rss for rss, _ in memory.values()) / 1024, 1) if memory else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def print_config(self) -> dict[str, str]:
        """Return the resolved gunicorn settings this server runs with (workers, class, ...)."""
        env = dict(os.environ, **self.env, PORT=str(self.port))
        env["WEB_CONCURRENCY"] = str(self.workers_wanted)
        result = subprocess.run(
            [*self.command, "--print-config"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        settings = {}
        for line in result.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                settings[key.strip()] = value.strip()
        return settings
