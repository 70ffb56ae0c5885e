"""Sample the app's gunicorn workers with py-spy under load, and say where the time goes."""

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Phases of a request, each the samples with a frame matching its pattern (inclusive time).
PHASES = {
    "request": r"^Flask\.wsgi_app \(",
    "SQL execute": r"^Connection\._execute_context \(",
    "driver": r"\(psycopg/",
    "SQL compile": r"_compile_w_cache \(",
    "ORM objects": r"\(sqlalchemy/orm/loading\.py",
    "templates": r"^render_template \(flask/templating\.py",
    "app code": r"\(catalog/",
}
# What each phase means, for the report.
PHASE_NOTES = {
    "request": "Flask handling the request (the rest is gunicorn: accept, parse, write)",
    "SQL execute": "SQLAlchemy executing statements, waiting on PostgreSQL included",
    "driver": "anything in psycopg: sending statements, waiting for and reading results",
    "SQL compile": "SQLAlchemy compiling statements (cached after the first)",
    "ORM objects": "turning rows into ORM objects",
    "templates": "Jinja rendering",
    "app code": "frames in catalog/ and everything they call",
}
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(:\d+)?\)$")


def py_spy() -> str | None:
    """Return the path of py-spy (a dev dependency), or None when it is not installed."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def record(master_pid: int, seconds: float, output: Path) -> subprocess.Popen | None:
    """Start sampling every worker of ``master_pid`` for ``seconds``; return the process."""
    binary = py_spy()
    if binary is None:
        return None
    return subprocess.Popen(
        [
            binary,
            "record",
            f"--pid={master_pid}",
            "--subprocesses",
            f"--duration={max(1, round(seconds))}",
            "--rate=250",
            "--nonblocking",
            "--format=raw",
            f"--output={output}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _package(path: str) -> str:
    if path.endswith(".html"):
        return "templates"
    top = path.split("/")[0]
    return top.removesuffix(".py") if top else path


def summarise(raw: Path, top: int = 8) -> dict | None:
    """Read py-spy's collapsed stacks; return phase shares and the hottest functions."""
    try:
        lines = raw.read_text(errors="replace").splitlines()
    except OSError:
        return None
    phases, packages, functions = Counter(), Counter(), Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += samples
        for name, pattern in PHASES.items():
            if any(re.search(pattern, frame) for frame in frames):
                phases[name] += samples
        leaf = _FRAME.match(frames[-1])
        if leaf:
            packages[_package(leaf["file"])] += samples
            functions[f"{leaf['func']} ({leaf['file']})"] += samples
    if not total:
        return None

    def share(counter):
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "phases": [(name, round(100 * phases[name] / total, 1)) for name in PHASES],
        "self_by_package": share(packages),
        "self_by_function": share(functions),
    }
