"""A small catalog with API tokens, for the API's tests; users with tokens for the load runs."""

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select, text

from catalog import create_app
from catalog.changes import add_category, add_item
from catalog.demo import DEMO_ISSUER, USERS
from catalog.extensions import db
from catalog.models import Base, Category, User
from catalog.tokens import issue_token

ADMIN_EMAIL = "lena@example.com"


@dataclass
class Seeded:
    """Row ids and token secrets: Ada owns the Match Ball, Sam the Stick, Lena is an admin."""

    users: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, subject: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[subject]}"}


def seed_api_catalog(app) -> Seeded:
    """Add the demo users (each with a token), Soccer and Hockey with an item each."""
    app.config["CATALOG_ADMINS"] = frozenset({ADMIN_EMAIL})
    seeded = Seeded()
    with app.app_context():
        people = {
            u["subject"]: User(
                issuer=DEMO_ISSUER, subject=u["subject"], email=u["email"], name=u["name"]
            )
            for u in USERS
        }
        db.session.add_all(people.values())
        soccer = add_category("Soccer", "The world's game.")
        hockey = add_category("Hockey", "On ice.")
        ball = add_item(people["ada"], soccer, "Match Ball", "Size 5, thermally bonded.")
        stick = add_item(people["sam"], hockey, "Stick", "Carbon shaft.\nLeft-handed.")
        for subject, user in people.items():
            seeded.tokens[subject] = issue_token(user, f"{subject}'s script")[1]
        db.session.commit()
        seeded.users = {subject: user.id for subject, user in people.items()}
        seeded.categories = {"soccer": soccer.id, "hockey": hockey.id}
        seeded.items = {"ball": ball.id, "stick": stick.id}
    return seeded


def reseed_api_catalog(app) -> Seeded:
    """Empty every table, then seed again as ``seed_api_catalog`` does."""
    with app.app_context():
        tables = [table.name for table in Base.metadata.sorted_tables]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                db.session.execute(text(f"DELETE FROM {name}"))
        db.session.commit()
    return seed_api_catalog(app)


def seed_tokens(database_url: str, users: int) -> list[str]:
    """Add the Soccer category if missing, and ``users`` new users with a token each."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    tokens = []
    with app.app_context():
        if db.session.scalar(select(Category).where(Category.slug == "soccer")) is None:
            add_category("Soccer")
        for n in range(users):
            user = User(
                issuer="https://load.example",
                subject=f"load-{secrets.token_hex(4)}",
                email=f"load{n}@example.com",
                name=f"Load {n}",
            )
            db.session.add(user)
            tokens.append(issue_token(user, "load test")[1])
        db.session.commit()
        db.engine.dispose()
    return tokens
