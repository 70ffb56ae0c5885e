"""Personal API tokens: issued on /account, shown once, kept only as a SHA-256 hash.

This module issues and looks tokens up; the account page's views are in
``catalog.account_tokens``.

A token is 256 random bits, so a plain SHA-256 is enough to make the stored
hash useless to a thief (there is nothing to guess); a slow password hash
would only slow down every API request.
"""

import hashlib
import secrets

from sqlalchemy import select

from catalog.extensions import db
from catalog.models import ApiToken, User, utcnow

TOKEN_PREFIX = "cat_"  # noqa: S105 -- a marker that makes leaked tokens recognisable
TOKENS_PER_USER = 20
# Recording every use would turn every API read into a write; a minute is precise enough.
LAST_USED_PRECISION_SECONDS = 60


def hash_token(secret: str) -> str:
    """Return the hex SHA-256 of ``secret``, the only form in which tokens are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(owner: User, label: str) -> tuple[ApiToken, str]:
    """Create a token for ``owner``; return it and its secret, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(owner=owner, label=label.strip(), token_hash=hash_token(secret))
    db.session.add(token)
    db.session.flush()
    return token, secret


def user_for_token(secret: str) -> User | None:
    """Return the owner of the token ``secret`` and note its use, or None if there is none."""
    row = db.session.execute(
        select(ApiToken, User).join(ApiToken.owner).where(ApiToken.token_hash == hash_token(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.last_used is None or (now - token.last_used).total_seconds() > (
        LAST_USED_PRECISION_SECONDS
    ):
        token.last_used = now
    return user


def tokens_of(user: User) -> list[ApiToken]:
    """Return ``user``'s tokens, oldest first."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.owner_id == user.id).order_by(ApiToken.id)
        )
    )
