"""Threaded workers: a long download to a slow client completes, and others are served meanwhile.

A sync worker is busy for the whole of a response and cannot tell the master it is
alive, so a download that outlasts gunicorn's timeout is cut off, and nothing else is
served by that worker meanwhile. With the production config's gthread workers, a
/catalog.json read slowly, for longer than the timeout, completes while the same
single worker answers other requests at once. The timeout is lowered to 2 s to keep
the test short; a sync worker (one thread: with more, gunicorn makes it gthread) is run
too, to show that the download does outlast it.
"""

import http.client
import json
import socket
import threading
import time

import pytest
from support.gunicorn_server import gunicorn
from support.services import admin_url, throwaway_postgresql_database

from bench import load

pytestmark = pytest.mark.slow
ITEMS = 20_000
TIMEOUT = 2
# Bytes a second the client reads, and in what pieces; its receive buffer is kept small
# so that the server cannot hand the kernel the whole body at once.
RATE = 2_000_000
PIECE = 16_384
RECEIVE_BUFFER = 32_768


@pytest.fixture(scope="module")
def large_catalog():
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests are off")
    with throwaway_postgresql_database("catalog_slow_clients") as url:
        libpq = load.libpq_url(url)
        load.upgrade(libpq)
        load.load(libpq, ITEMS, picture_share=0)
        yield url


def slow_download(port: int, path: str) -> tuple[int, bytes, float]:
    """GET ``path`` reading at most ``RATE`` bytes a second; return status, body, seconds."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.sock = sock
    started = time.monotonic()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = bytearray()
        while piece := response.read(PIECE):
            body += piece
            # Never ahead of the rate: sleep until the bytes read so far are due.
            time.sleep(max(0.0, started + len(body) / RATE - time.monotonic()))
        return response.status, bytes(body), time.monotonic() - started
    finally:
        conn.close()


def answer_time(port: int, path: str) -> float:
    """Return how long one GET of ``path`` takes; fail on anything but 200."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    finally:
        conn.close()
    return time.monotonic() - started


def test_a_slow_download_outlasting_the_timeout_completes_and_others_are_served(
    large_catalog, tmp_path
):
    with gunicorn(
        tmp_path, large_catalog, workers=1, GUNICORN_CMD_ARGS=f"--timeout {TIMEOUT}"
    ) as server:
        answer_time(server.port, "/healthz")  # the worker is up and connected
        result: dict = {}

        def read_slowly() -> None:
            result["status"], result["body"], result["seconds"] = slow_download(
                server.port, "/catalog.json"
            )

        download = threading.Thread(target=read_slowly)
        download.start()
        others = []
        while download.is_alive() and len(others) < 20:
            others.append(answer_time(server.port, "/healthz"))
            time.sleep(0.2)
        download.join(timeout=60)
        log = server.log()
    assert result["status"] == 200
    assert result["seconds"] > 2 * TIMEOUT, "the download must outlast the worker timeout"
    document = json.loads(result["body"])
    assert sum(len(category["items"]) for category in document["categories"]) == ITEMS
    assert "WORKER TIMEOUT" not in log
    # The one worker kept answering while it sent the download.
    assert len(others) >= 5
    assert max(others) < 1.0


def test_a_sync_worker_cuts_the_same_download_off(large_catalog, tmp_path):
    with gunicorn(
        tmp_path,
        large_catalog,
        workers=1,
        GUNICORN_CMD_ARGS=f"--timeout {TIMEOUT} --worker-class sync --threads 1",
    ) as server:
        answer_time(server.port, "/healthz")
        # The chunked body ends without its last chunk: http.client says it is incomplete.
        with pytest.raises((OSError, http.client.HTTPException)):
            slow_download(server.port, "/catalog.json")
        log = server.log()
    assert "WORKER TIMEOUT" in log
