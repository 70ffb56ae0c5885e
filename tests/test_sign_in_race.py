"""The same person finishing sign-in twice at once: one user row, two working sessions.

Both requests find no user, then both insert one; the database's unique (issuer,
subject) refuses the second, which then reads the first's row and signs in with it.
Only a savepoint is rolled back for that, so the second request's own transaction
goes on and commits its session.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, func, select

from catalog.demo import DEMO_ISSUER
from catalog.extensions import db
from catalog.models import User, UserSession

BROWSERS = 2


def test_two_sign_ins_of_a_new_user_at_once_make_one_user(app):
    inserting = threading.Barrier(BROWSERS, timeout=10)
    arrived = threading.local()

    def meet(session, flush_context, instances):
        # Hold each request at its first insert of a user until every one has reached it,
        # so that none has committed when the others insert.
        if any(isinstance(o, User) for o in session.new) and not getattr(arrived, "done", False):
            arrived.done = True
            inserting.wait()

    def sign_in():
        client = app.test_client()
        response = client.post("/login/dev", data={"subject": "ada"})
        return response.status_code, client.get("/account").status_code

    event.listen(FlaskSession, "before_flush", meet)
    try:
        with ThreadPoolExecutor(BROWSERS) as pool:
            answers = [f.result() for f in [pool.submit(sign_in) for _ in range(BROWSERS)]]
    finally:
        event.remove(FlaskSession, "before_flush", meet)

    assert answers == [(302, 200)] * BROWSERS
    with app.app_context():
        users = db.session.scalars(select(User).where(User.issuer == DEMO_ISSUER)).all()
        assert [u.subject for u in users] == ["ada"]
        sessions = db.session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == users[0].id)
        )
    assert sessions == BROWSERS
