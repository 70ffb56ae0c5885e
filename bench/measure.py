"""Measurements beside wrk: SQL queries per request, and whole downloads of /catalog.json."""

import http.client
import logging
import statistics
import time

from sqlalchemy import event

from bench.servers import HOST, PROXY_HEADERS, Server, memory_kb, reset_peak


class QueryCounter:
    """Count the SQL statements one request runs, in-process, on the app's own engine.

    The app is built by ``bench.app.create_app`` with the benchmark database, as
    gunicorn builds it; a ``before_cursor_execute`` listener counts what each request sends.
    """

    def __init__(self, database_url: str, secret_key: str):
        from bench.app import create_app
        from catalog.extensions import db

        self.db = db
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret_key})
        self.client = self.app.test_client()
        self.statements: list[str] = []
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def count(self, path: str, headers=None, warm: bool = True) -> tuple[int, int]:
        """Return (status, statements) of one request for ``path``, after a warm-up one."""
        headers = {**PROXY_HEADERS, **(headers or {})}
        logging.disable(logging.INFO)  # the app's request log would drown the run's own
        try:
            if warm:
                self.client.get(path, headers=headers).close()
            self.statements.clear()
            response = self.client.get(path, headers=headers)
            response.get_data()  # a streamed body runs its queries while it is read
            response.close()
        finally:
            logging.disable(logging.NOTSET)
        return response.status_code, len(self.statements)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
        with self.app.app_context():
            self.db.engine.dispose()


class DownloadError(Exception):
    """A download that broke off; says how far it got, and after how many seconds."""

    def __init__(self, message: str, seconds: float):
        super().__init__(message)
        self.seconds = seconds


def download(port: int, path: str, timeout: float = 300) -> tuple[int, float, int]:
    """Download ``path`` whole; return (status, seconds to the last byte, bytes)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    size, status = 0, None
    try:
        conn.request("GET", path, headers=PROXY_HEADERS)
        response = conn.getresponse()
        status = response.status
        while chunk := response.read(1 << 16):
            size += len(chunk)
    except (OSError, http.client.HTTPException) as exc:
        took = time.perf_counter() - started
        raise DownloadError(
            f"HTTP {status}, broke off after {size / 1e6:.1f} MB and {took:.1f} s:"
            f" {type(exc).__name__} {exc}".strip(),
            took,
        ) from exc
    finally:
        conn.close()
    return status, time.perf_counter() - started, size


def download_rounds(targets: dict[str, tuple[Server, str]], rounds: int, budget: float) -> dict:
    """Download each target (a server and a path) whole in turn: a warm-up, then ``rounds``.

    When the first server's warm-up is not a 200, nothing more is downloaded.

    Each server's workers have their peak RSS reset before the warm-up, so the growth
    reported is the most any worker gained over what it held before, warm-up included.
    A server whose single download takes longer than ``budget`` seconds is not asked again.
    """
    servers = {name: server for name, (server, _) in targets.items()}
    before, reset = {}, {}
    for name, server in servers.items():
        reset[name] = all(reset_peak(pid) for pid in server.worker_pids())
        before[name] = server.memory()
    times = {name: [] for name in servers}
    sizes = {name: [] for name in servers}
    statuses = {name: [] for name in servers}
    errors = dict.fromkeys(servers, 0)
    broke = dict.fromkeys(servers, "")
    broke_after = dict.fromkeys(servers)
    slow = set()
    first = next(iter(servers))
    for n in range(rounds + 1):
        if statuses[first] and statuses[first][0] != 200:
            break
        for name, server in servers.items():
            if name in slow:
                continue
            try:
                path = targets[name][1]
                status, seconds, size = download(server.port, path, timeout=budget + 60)
            except DownloadError as exc:
                errors[name] += 1
                broke[name] = str(exc)
                broke_after[name] = round(exc.seconds, 3)
                slow.add(name)
                continue
            statuses[name].append(status)
            if not n and status != 200 and name == first:
                break  # nothing to measure: the report says what the first server answered
            if n:  # the first download of each server warms it up
                times[name].append(seconds)
                sizes[name].append(size)
            if seconds > budget:
                slow.add(name)
    report = {}
    for name in servers:
        growth = []
        for pid, (rss, _) in before[name].items():
            now = memory_kb(pid)
            if now is not None:
                growth.append(now[1] - rss)
        took = times[name]
        report[name] = {
            "first_status": statuses[name][0] if statuses[name] else None,
            "downloads": len(took),
            "seconds": [round(t, 3) for t in took],
            "median_seconds": round(statistics.median(took), 3) if took else None,
            "bytes": max(sizes[name]) if sizes[name] else None,
            "non_2xx": sum(1 for s in statuses[name] if not 200 <= s < 300),
            "errors": errors[name],
            "error": broke[name],
            "broke_after_seconds": broke_after[name],
            "rss_before_mb": round(max(r for r, _ in before[name].values()) / 1024, 1)
            if before[name]
            else None,
            "peak_growth_mb": round(max(growth) / 1024, 1) if growth else None,
            "peak_reset": reset[name],
        }
    return report
