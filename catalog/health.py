"""Liveness for load balancers and the platform's health checks.

The database decides the answer: without it nothing works, so 503. Redis is reported
but does not decide: without it the site keeps serving and the rate limits count in
each process (catalog.web.limits), so taking the process out of service would only make
things worse. Replicas are reported the same way: a sick one only sends its reads to the
primary (catalog.web.replicas), which looks at them every second at most. Redis's
state is asked at most every ``REDIS_RECHECK`` seconds per process,
over one kept connection, and each ask gives up after the limiter's Redis timeout.
"""

import time

import redis
from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from catalog.extensions import db
from catalog.web.limits import redis_client
from catalog.web.outages import RETRY_AFTER, discard_session
from catalog.web.replicas import replicas

bp = Blueprint("health", __name__)
# Seconds a process goes on reporting what Redis last said, so that a health check
# every second costs Redis one PING every few, and a hung Redis a slow answer as rarely.
REDIS_RECHECK = 5


class RedisProbe:
    """Ask one Redis whether it answers, and remember the answer for a few seconds."""

    def __init__(self, url: str):
        self.client = redis_client(url)
        self.asked: float = -REDIS_RECHECK
        self.answer = "unreachable"

    def state(self) -> str:
        """Return ``ok`` or ``unreachable``, asking Redis again once the last answer is old."""
        if time.monotonic() - self.asked >= REDIS_RECHECK:
            try:
                self.client.ping()
                self.answer = "ok"
            except redis.RedisError:
                self.answer = "unreachable"
            self.asked = time.monotonic()
        return self.answer


def redis_state() -> str:
    """Return ``ok``, ``unreachable`` or ``not configured`` for the app's Redis."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    probe = current_app.extensions.get("catalog.redis_probe")
    if probe is None:
        probe = current_app.extensions["catalog.redis_probe"] = RedisProbe(url)
    return probe.state()


def replica_states() -> dict[str, dict[str, object]]:
    """Return each replica's state (and lag), by its URL without password; {} without any."""
    followers = replicas()
    if followers is None:
        return {}
    followers.refresh()
    return {replica.label: replica.report() for replica in followers.replicas}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer 200 when the app and its database answer, 503 otherwise; report Redis, replicas."""
    redis_answer = redis_state()
    followers = replica_states()
    extra = {"replicas": followers} if followers else {}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        discard_session()
        return (
            {"status": "unavailable", "database": "unreachable", "redis": redis_answer, **extra},
            503,
            {"Retry-After": str(RETRY_AFTER)},
        )
    healthy = redis_answer != "unreachable" and all(
        replica["state"] == "ok" for replica in followers.values()
    )
    status = "ok" if healthy else "degraded"
    return {"status": status, "database": "ok", "redis": redis_answer, **extra}
