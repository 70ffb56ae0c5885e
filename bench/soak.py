"""A mixed read/write load on Catalog instances sharing one PostgreSQL and Redis, then a tally.

Several API clients, each with its own token, read and write at random against
every instance. Creates carry an ``Idempotency-Key`` and are retried at random: a
response given up on after the request was sent (a short read timeout), and a
repeat of an answered create on another instance. Afterwards the database must
hold every acknowledged write exactly once, and nothing else; no answer may be a
5xx. One more client writes as fast as it can, alternating instances, to show
that the write limit is counted across all of them.

The CI test (tests/test_load.py) runs this for a few seconds on two instances;
``python -m bench.soak`` is the long version, a benchmark outside ``make test``:

    .venv/bin/python -m bench.soak --minutes 10 --clients 8

It creates a throwaway database on ``BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/``), migrates and seeds it, serves it with
``--instances`` gunicorn instances of ``catalog:create_app()`` (production config,
``REDIS_URL`` from ``--redis-url``), runs the load, prints the tally, and drops the
database (unless ``--keep``). Logs go to ``bench/.runs/soak-<time>/``. With the
default write limit of 60 per minute per user, clients pace their writes below it.
"""

import argparse
import contextlib
import os
import random
import re
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/"
# As behind the platform's router; ignored by instances that trust no proxy.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
TIMEOUT = 30
# How long a create or change is retried (on 503, 409 "in progress", lost answers).
RETRY_FOR = 30
# The share of creates whose answer is given up on, and of answered ones sent again.
LOSE_ANSWER = 0.15
REPEAT_ANSWERED = 0.2


@dataclass
class Tally:
    """What the clients saw: every status, and every write the server acknowledged."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    # Item name -> id, for every create answered 201.
    created: dict[str, int] = field(default_factory=dict)
    # Item id -> description, as of the last change answered 200.
    changed: dict[int, str] = field(default_factory=dict)
    replayed: int = 0
    lost_answers: int = 0
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The greedy client's statuses, in order.
    greedy: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def acknowledged(self) -> int:
        return len(self.created) + len(self.changed)

    def record(self, method: str, url: str, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if status >= 500 and status != 503:
                self.server_errors.append(f"{method} {url} {status}")

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


@dataclass
class Findings:
    """The database's side: what it holds of the acknowledged writes."""

    created_found: int
    changed_found: int
    missing: list[str]
    duplicated: list[str]
    unacknowledged: list[str]
    stale: list[int]
    counts_off: list[int]

    @property
    def found(self) -> int:
        return self.created_found + self.changed_found

    @property
    def ok(self) -> bool:
        return not (
            self.missing or self.duplicated or self.unacknowledged or self.stale or self.counts_off
        )


class Pacer:
    """Keep a client's write requests (retries too) under ``per_minute`` in any 60 seconds,
    so that only the greedy client meets the write limit."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.sent: list[float] = []

    def room(self) -> int:
        now = time.monotonic()
        self.sent = [t for t in self.sent if now - t < 60]
        return self.per_minute - len(self.sent)

    def take(self, until: float) -> bool:
        """Wait for room for one more write, until ``until``; tell whether there was."""
        while self.room() <= 0:
            if time.monotonic() > until:
                return False
            time.sleep(0.05)
        self.sent.append(time.monotonic())
        return True


class Client:
    """One API client with its own token and random habits."""

    def __init__(self, n, bases, token, tally, deadline, run, writes_per_minute, rng):
        self.n, self.bases, self.tally, self.deadline, self.run = n, bases, tally, deadline, run
        self.auth = {**PROXY_HEADERS, "Authorization": f"Bearer {token}"}
        self.pacer = Pacer(writes_per_minute)
        self.rng = rng
        self.session = requests.Session()
        self.mine: list[int] = []
        self.written = 0

    def base(self) -> str:
        return self.rng.choice(self.bases)

    def send(self, method, path, base=None, timeout=TIMEOUT, **kwargs):
        url = (base or self.base()) + path
        response = self.session.request(
            method, url, headers=kwargs.pop("headers", PROXY_HEADERS), timeout=timeout, **kwargs
        )
        self.tally.record(method, path, response.status_code)
        return response

    def work(self) -> None:
        while time.monotonic() < self.deadline:
            roll = self.rng.random()
            try:
                # A create may take three requests: a lost one, its retry, and a repeat.
                if roll < 0.3 and self.pacer.room() >= 3:
                    self.create()
                elif roll < 0.4 and self.mine and self.pacer.room() >= 1:
                    self.change()
                else:
                    self.read()
            except requests.RequestException as exc:
                self.tally.problem(f"client {self.n}: {exc!r}")
                time.sleep(0.2)

    def read(self) -> None:
        paths = ["/api/v1/items?limit=20", "/api/v1/categories", "/", "/healthz"]
        if self.mine:
            paths.append(f"/api/v1/items/{self.rng.choice(self.mine)}")
        self.send("GET", self.rng.choice(paths))

    def create(self) -> None:
        self.written += 1
        name = f"Load {self.run} c{self.n} #{self.written}"
        body = {"category": "soccer", "name": name, "description": f"Written by client {self.n}."}
        headers = {**self.auth, "Idempotency-Key": str(uuid.uuid4())}
        if self.rng.random() < LOSE_ANSWER and self.pacer.take(self.deadline):
            # Send, then give up before the answer: did it get through? Only a retry knows.
            with self.tally.lock:
                self.tally.requests += 1
                self.tally.lost_answers += 1
            with contextlib.suppress(requests.RequestException):
                self.session.post(
                    self.base() + "/api/v1/items", json=body, headers=headers, timeout=(5, 0.001)
                )
        answer = self.until_answered("POST", "/api/v1/items", json=body, headers=headers)
        if answer is None:
            self.tally.problem(f"create {name!r} never answered")
            return
        if answer.status_code != 201:
            self.tally.problem(f"create {name!r}: {answer.status_code} {answer.text[:200]}")
            return
        first = answer.json()
        with self.tally.lock:
            if name in self.tally.created and self.tally.created[name] != first["id"]:
                self.tally.problems.append(f"{name!r} acknowledged as two items")
            self.tally.created[name] = first["id"]
            if answer.headers.get("Idempotent-Replayed") == "true":
                self.tally.replayed += 1
        self.mine.append(first["id"])
        if self.rng.random() < REPEAT_ANSWERED:
            again = self.until_answered("POST", "/api/v1/items", json=body, headers=headers)
            if again is None or again.status_code != 201 or again.json()["id"] != first["id"]:
                self.tally.problem(f"repeat of {name!r} did not give the first answer back")
            elif again.headers.get("Idempotent-Replayed") != "true":
                self.tally.problem(f"repeat of {name!r} was not marked as replayed")
            else:
                with self.tally.lock:
                    self.tally.replayed += 1

    def change(self) -> None:
        item_id = self.rng.choice(self.mine)
        description = f"Changed by client {self.n}: {secrets.token_hex(4)}"
        # Setting a description is idempotent by nature: retried as it is.
        answer = self.until_answered(
            "PATCH",
            f"/api/v1/items/{item_id}",
            json={"description": description},
            headers=self.auth,
        )
        if answer is None or answer.status_code != 200:
            status = answer.status_code if answer is not None else None
            self.tally.problem(f"change of item {item_id}: {status}")
            return
        with self.tally.lock:
            self.tally.changed[item_id] = description

    def until_answered(self, method, path, **kwargs):
        """Write until a final answer: retry on 503, 409 "in progress" and lost connections."""
        give_up = time.monotonic() + RETRY_FOR
        while time.monotonic() < give_up:
            if not self.pacer.take(give_up):
                return None
            try:
                answer = self.send(method, path, **kwargs)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            in_progress = answer.status_code == 409 and "still being processed" in answer.text
            if answer.status_code == 503 or in_progress:
                time.sleep(0.2)
                continue
            return answer
        return None


def greedy_writer(bases, token, tally, writes, run) -> None:
    """Write ``writes`` items as fast as possible, alternating instances."""
    session = requests.Session()
    headers = {**PROXY_HEADERS, "Authorization": f"Bearer {token}"}
    for n in range(writes):
        name = f"Load {run} greedy #{n + 1}"
        body = {"category": "soccer", "name": name}
        base = bases[n % len(bases)]
        response = session.post(f"{base}/api/v1/items", json=body, headers=headers, timeout=TIMEOUT)
        tally.record("POST", "/api/v1/items", response.status_code)
        tally.greedy.append(response.status_code)
        if response.status_code == 201:
            with tally.lock:
                tally.created[name] = response.json()["id"]
        elif response.status_code == 429 and not response.headers.get("Retry-After"):
            tally.problem("a 429 without Retry-After")


def run_load(
    bases: list[str],
    tokens: list[str],
    seconds: float,
    *,
    greedy_token: str | None = None,
    greedy_writes: int = 0,
    writes_per_minute: int = 50,
    seed: int | None = None,
) -> Tally:
    """Run one client per token against ``bases`` for ``seconds``, plus the greedy one."""
    tally = Tally()
    run = secrets.token_hex(3)
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    clients = [
        Client(
            n, bases, token, tally, deadline, run, writes_per_minute, random.Random(rng.random())
        )
        for n, token in enumerate(tokens, start=1)
    ]
    threads = [
        threading.Thread(target=client.work, name=f"client-{client.n}") for client in clients
    ]
    if greedy_token:
        threads.append(
            threading.Thread(
                target=greedy_writer, args=(bases, greedy_token, tally, greedy_writes, run)
            )
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + RETRY_FOR + 60)
    return tally


def plain_url(url: str) -> str:
    """Return a database URL as libpq reads it."""
    return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)


def verify(database_url: str, tally: Tally) -> Findings:
    """Compare the acknowledged writes with what the database holds."""
    with psycopg.connect(plain_url(database_url)) as connection:
        rows = connection.execute(
            "SELECT id, name, description FROM items WHERE name LIKE 'Load %'"
        ).fetchall()
        counts_off = [
            category
            for (category,) in connection.execute(
                "SELECT c.id FROM categories c LEFT JOIN items i ON i.category_id = c.id "
                "GROUP BY c.id, c.item_count HAVING c.item_count <> count(i.id)"
            )
        ]
    by_name: dict[str, list[int]] = {}
    descriptions = {}
    for item_id, name, description in rows:
        by_name.setdefault(name, []).append(item_id)
        descriptions[item_id] = description
    missing = [name for name, item_id in tally.created.items() if by_name.get(name) != [item_id]]
    duplicated = [name for name, ids in by_name.items() if len(ids) > 1]
    unacknowledged = [name for name in by_name if name not in tally.created]
    stale = [i for i, text in tally.changed.items() if descriptions.get(i) != text]
    return Findings(
        created_found=sum(1 for name, i in tally.created.items() if by_name.get(name) == [i]),
        changed_found=sum(1 for i, text in tally.changed.items() if descriptions.get(i) == text),
        missing=missing,
        duplicated=duplicated,
        unacknowledged=unacknowledged,
        stale=stale,
        counts_off=counts_off,
    )


def summary(tally: Tally, findings: Findings, seconds: float, instances: int) -> str:
    """Return the tally in a few lines, for people."""
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items()))
    greedy = Counter(tally.greedy)
    return "\n".join(
        [
            f"Mixed load: {tally.requests} requests in {seconds:.0f} s on {instances} instances "
            f"({statuses}).",
            f"Writes acknowledged: {tally.acknowledged} ({len(tally.created)} creates, "
            f"{len(tally.changed)} changes); writes found: {findings.found}.",
            f"Retries: {tally.lost_answers} answers given up on and retried, {tally.replayed} "
            f"answered from the stored result; 5xx other than 503: {len(tally.server_errors)}.",
            f"Greedy client: {greedy[201]} created, {greedy[429]} refused with 429.",
            f"Missing {len(findings.missing)}, duplicated {len(findings.duplicated)}, "
            f"unacknowledged {len(findings.unacknowledged)}, stale changes {len(findings.stale)}, "
            f"wrong item counts {len(findings.counts_off)}; client problems "
            f"{len(tally.problems)}.",
        ]
    )


# The soak: its own database and instances.


def prepare_database(server_url: str, users: int) -> tuple[str, list[str]]:
    """Create, migrate and seed a throwaway database; return its URL and one token per user."""
    from flask_migrate import upgrade

    from catalog import create_app
    from catalog.changes import add_category
    from catalog.extensions import db
    from catalog.models import User
    from catalog.tokens import issue_token

    name = f"catalog_soak_{secrets.token_hex(4)}"
    with psycopg.connect(plain_url(server_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", plain_url(server_url), count=1)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    tokens = []
    with app.app_context():
        upgrade()
        add_category("Soccer", "Where the load's items go.")
        for n in range(users):
            user = User(
                issuer="https://soak.example", subject=f"soak-{n}", email=f"soak{n}@example.com",
                name=f"Soak {n}",
            )  # fmt: skip
            db.session.add(user)
            tokens.append(issue_token(user, "soak")[1])
        db.session.commit()
        db.engine.dispose()
    return url, tokens


def drop_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(plain_url(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv=None) -> int:
    from bench.servers import Server

    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--writes-per-minute", type=int, default=50, help="per client")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    server_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL)
    logs = ROOT / "bench" / ".runs" / time.strftime("soak-%Y%m%d-%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    url, tokens = prepare_database(server_url, args.clients + 1)
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "REDIS_URL": args.redis_url,
    }
    servers = [
        Server(f"soak-{n}", "catalog:create_app()", env, args.workers, logs, "/healthz")
        for n in range(args.instances)
    ]
    try:
        for server in servers:
            server.start()
        bases = [f"http://127.0.0.1:{server.port}" for server in servers]
        seconds = args.minutes * 60
        print(f"Soaking {len(bases)} instances for {seconds:.0f} s; logs in {logs}", flush=True)
        # The greedy client writes 70 items against the default limit of 60 per minute.
        tally = run_load(
            bases,
            tokens[:-1],
            seconds,
            greedy_token=tokens[-1],
            greedy_writes=70,
            writes_per_minute=args.writes_per_minute,
        )
        findings = verify(url, tally)
    finally:
        for server in servers:
            server.stop()
        if not args.keep:
            drop_database(server_url, url)
    print(summary(tally, findings, seconds, len(servers)))
    for problem in tally.problems[:20]:
        print("problem:", problem)
    failed = tally.server_errors or tally.problems or not findings.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
