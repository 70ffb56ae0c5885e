"""Run ``wrk`` against a loopback server and read its report."""

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.servers import HOST, PROXY_HEADERS

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class Result:
    """What one wrk run measured; latencies in milliseconds."""

    requests: int
    seconds: float
    rps: float
    p50: float | None
    p99: float | None
    non_2xx: int
    errors: int
    # The server's worker CPU milliseconds per request, when the caller measured it.
    cpu_ms: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def ensure_installed(log=print) -> str:
    """Return the path of ``wrk``, installing the Debian package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise SystemExit("wrk is not installed and apt-get is not available: install wrk.")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    log("wrk is missing: installing the Debian package (apt-get update, apt-get install wrk)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run([*prefix, *command], check=True, env=env, timeout=600)
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("apt-get installed wrk but it is not on PATH.")
    return found


def version() -> str:
    """Return wrk's version line."""
    result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    lines = (result.stdout or result.stderr).splitlines()
    return lines[0].strip() if lines else "wrk"


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if not match:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> Result:
    """Parse the text wrk prints with ``--latency``."""
    # wrk pads short values ("4.35s ") with a trailing space.
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", output, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not (total and rps):
        raise ValueError(f"unexpected wrk output:\n{output}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    connections = re.search(r"threads and (\d+) connections", output)
    requests = int(total.group(1))
    errors = sum(int(n) for n in sockets.groups()) if sockets else 0
    if requests == 0:
        # Nothing came back in the whole run: wrk reports no timeouts and 0.00us
        # latencies, but every connection's request is as good as lost.
        errors += int(connections.group(1)) if connections else 1
        latency = {}
    return Result(
        requests=requests,
        seconds=round(_ms(total.group(2) + total.group(3)) / 1000, 2),
        rps=float(rps.group(1)),
        p50=_ms(latency["50"]) if "50" in latency else None,
        p99=_ms(latency["99"]) if "99" in latency else None,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=errors,
    )


def lua_string(value: str) -> str:
    """Return ``value`` as a Lua string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def rotation_script(paths: list[str], directory: Path, name: str) -> Path:
    """Write a wrk script that requests ``paths`` in turn, each thread from its own start."""
    script = directory / f"{name}.lua"
    listed = ",\n  ".join(lua_string(p) for p in paths)
    script.write_text(
        f"local paths = {{\n  {listed}\n}}\n"
        "local i = 0\n"
        "function setup(thread)\n"
        "  thread:set('offset', math.random(#paths))\n"
        "end\n"
        "function init(args)\n"
        "  i = offset or 0\n"
        "end\n"
        "function request()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format(nil, paths[i])\n"
        "end\n"
    )
    return script


def run(
    port: int,
    path: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    headers: dict | None = None,
    script: Path | None = None,
    timeout: str = "5s",
    log: Path | None = None,
) -> Result:
    """Load ``path`` on the loopback server at ``port`` for ``seconds``; return the result.

    ``log``, when given, gets wrk's command line and report appended.
    """
    command = [
        "wrk",
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={timeout}",
        "--latency",
    ]
    for key, value in {**PROXY_HEADERS, **(headers or {})}.items():
        command += ["--header", f"{key}: {value}"]
    if script is not None:
        command += ["--script", str(script)]
    command.append(f"http://{HOST}:{port}{path}")
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if log is not None:
        with open(log, "a") as out:
            out.write(f"$ {' '.join(command)}\n{completed.stdout}{completed.stderr}\n")
    if completed.returncode:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse(completed.stdout)
