"""The account page's API tokens: create one (its secret shown once), revoke one.

Issuing and looking tokens up is ``catalog.tokens``; these views only answer the
account page's forms.
"""

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from catalog.auth import login_required
from catalog.extensions import db
from catalog.lookups import get_token
from catalog.models import TOKEN_LABEL_MAX, ApiToken
from catalog.text import has_controls
from catalog.tokens import TOKENS_PER_USER, issue_token, tokens_of
from catalog.web import limits

bp = Blueprint("tokens", __name__)
limits.limit_writes(bp)


class TokenForm(FlaskForm):
    """Name a new token after what will use it."""

    label = StringField(
        "Label",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired("Give the token a label."), Length(max=TOKEN_LABEL_MAX)],
    )

    def validate_label(self, field):
        if has_controls(field.data):
            raise ValidationError("Keep the label on one line, without control characters.")


@bp.app_context_processor
def token_section():
    """Give the account page's token section its form and this user's tokens."""

    def api_tokens():
        return tokens_of(g.user) if g.get("user") is not None else []

    return {"api_tokens": api_tokens, "token_form": TokenForm}


@bp.post("/account/tokens")
@login_required
def create():
    """Create a token and show its secret, this once."""
    form = TokenForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("auth.account", _anchor="api-tokens"))
    count = db.session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.owner_id == g.user.id)
    )
    if count >= TOKENS_PER_USER:
        flash(f"You have {count} tokens, the most allowed; revoke one first.", "error")
        return redirect(url_for("auth.account", _anchor="api-tokens"))
    token, secret = issue_token(g.user, form.label.data)
    db.session.commit()
    response = render_template("tokens/created.html", token=token, secret=secret)
    # The secret must not linger in any cache, the browser's included.
    return response, {"Cache-Control": "no-store"}


@bp.post("/account/tokens/<int_id:token_id>/revoke")
@login_required
def revoke(token_id):
    """Delete one of the user's tokens; programs using it get 401 from then on."""
    token = get_token(g.user, token_id)
    label = token.label
    db.session.delete(token)
    db.session.commit()
    flash(f"Revoked the token “{label}”.", "success")
    return redirect(url_for("auth.account", _anchor="api-tokens"))
