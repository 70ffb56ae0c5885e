"""A PgBouncer of the tests' own, in transaction pooling, in front of a throwaway cluster.

Debian's ``pgbouncer`` (1.18 here: no prepared statements in transaction mode), on a
spare loopback port, trusting every user as the cluster does. It refuses to run as
root, so as root it runs as the ``postgres`` user, as the cluster's tools do.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.pgcluster import Cluster, free_port

START_TIMEOUT = 10


@contextmanager
def pgbouncer(cluster: Cluster, pool_size: int = 4) -> Iterator[int]:
    """Run PgBouncer in transaction pooling in front of ``cluster``; yield its port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
    root = Path(tempfile.mkdtemp(prefix="catalog-pgbouncer-"))
    port = free_port()
    (root / "users.txt").write_text('"postgres" ""\n')
    (root / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={cluster.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {root / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 200\n"
        # What psycopg and SQLAlchemy may send at startup that PgBouncer does not track.
        "ignore_startup_parameters = extra_float_digits\n"
        f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n"
    )
    command = [binary, str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for path in root.iterdir():
            shutil.chown(path, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "pgbouncer.log").read_text(errors="replace")
                    raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
