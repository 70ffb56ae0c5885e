"""Liveness for load balancers and the platform's health checks."""

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from catalog.extensions import db
from catalog.outages import RETRY_AFTER, discard_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the app and its database answer, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        discard_session()
        return (
            {"status": "unavailable", "database": "unreachable"},
            503,
            {"Retry-After": str(RETRY_AFTER)},
        )
    return {"status": "ok", "database": "ok"}
