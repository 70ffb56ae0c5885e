"""Redis servers of the tests' own, to hang or stop: the shared one on 6379 never is.

A hung Redis is a loopback listener that accepts connections and never answers; a
restartable one is a redis-server on a spare port, without persistence.
"""

import socket
import subprocess
import threading
import time

import redis

from support.deploy import free_port


class HungRedis:
    """A loopback listener that accepts every connection and never answers.

    Each connection is held for ``hold`` seconds and then closed, so that a client
    without timeouts fails the test instead of hanging it.
    """

    def __init__(self, hold: float = 10):
        self.hold = hold
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.accepted = 0
        self._held: list[tuple[float, socket.socket]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stopped.is_set():
            try:
                connection, _ = self.listener.accept()
                self.accepted += 1
                self._held.append((time.monotonic(), connection))
            except TimeoutError:
                pass
            now = time.monotonic()
            for held in [h for h in self._held if now - h[0] > self.hold]:
                held[1].close()
                self._held.remove(held)

    def close(self):
        self._stopped.set()
        self._thread.join()
        for _, connection in self._held:
            connection.close()
        self.listener.close()


class RedisServer:
    """A redis-server of the test's own on a spare loopback port, without persistence."""

    def __init__(self, directory):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process = None

    def start(self):
        command = [
            "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=1)

    def counters(self) -> dict[str, int]:
        """Return every rate limit counter this Redis holds, by key."""
        client = self.client()
        return {key.decode(): int(client.get(key)) for key in client.scan_iter("LIMITS*")}
