"""Pages that change the catalog: add, edit and delete items; admins manage categories.

Every view checks who may act (``login_required``, ``get_item(..., check_owner=True)``,
``admin_required``), lets ``catalog.changes`` apply the rules, commits once and
redirects with a flash message. A form with errors comes back with the person's
input and 422; a save over a newer version gets the 409 conflict page.
"""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from catalog import changes
from catalog.auth import admin_required, login_required
from catalog.extensions import db
from catalog.forms import (
    ButtonForm,
    CategoryForm,
    DeleteItemForm,
    EditItemForm,
    ItemForm,
    refuse,
)
from catalog.lookups import get_category, get_item
from catalog.models import Category, Item
from catalog.web import limits

bp = Blueprint("manage", __name__)
limits.limit_writes(bp)

# A form that failed validation is sent back with this status, the person's input kept.
INVALID = 422


def categories() -> list[Category]:
    """Return every category by name, for the item form's list (admins keep it short)."""
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def item_url(item: Item) -> str:
    return url_for("catalog.item", category_slug=item.category.slug, item_slug=item.slug)


def category_url(category: Category) -> str:
    return url_for("catalog.category", category_slug=category.slug)


@bp.route("/catalog/new", methods=["GET", "POST"])
@login_required
def add_item() -> ResponseReturnValue:
    """Add an item owned by the signed-in user."""
    choices = categories()
    form = ItemForm(categories=choices)
    if request.method == "GET":
        wanted = request.args.get("category")
        form.category.data = next((c.id for c in choices if c.slug == wanted), None)
    if form.validate_on_submit():
        try:
            item = changes.add_item(
                g.user, form.chosen_category, form.name.data or "", form.description.data or ""
            )
        except changes.DuplicateName as refused:
            refuse(form.name, str(refused))
        else:
            db.session.commit()
            flash(f"Added “{item.name}” to {item.category.name}.", "success")
            return redirect(item_url(item))
    return render_template("manage/item_form.html", form=form, item=None), _status()


@bp.route("/catalog/<category_slug>/<item_slug>/edit", methods=["GET", "POST"])
@login_required
def edit_item(category_slug: str, item_slug: str) -> ResponseReturnValue:
    """Change an item's name, category or description, unless someone saved first."""
    item = get_item(category_slug, item_slug, check_owner=True)
    choices = categories()
    form = EditItemForm(
        categories=choices,
        data={
            "name": item.name,
            "category": item.category_id,
            "description": item.description,
            "version": item.version,
        },
    )
    if form.validate_on_submit():
        item_id = item.id
        try:
            changes.change_item(
                item,
                form.version.data,
                name=form.name.data or "",
                description=form.description.data or "",
                category=form.chosen_category,
            )
        except changes.StaleVersion:
            return conflict(form, db.session.get(Item, item_id), choices)
        except changes.DuplicateName as refused:
            refuse(form.name, str(refused))
        else:
            db.session.commit()
            flash(f"Saved your changes to “{item.name}”.", "success")
            return redirect(item_url(item))
    return render_template("manage/item_form.html", form=form, item=item), _status()


def conflict(
    form: EditItemForm, saved: Item | None, choices: list[Category]
) -> ResponseReturnValue:
    """Answer 409 with the newer saved version beside the person's own text.

    The person's text comes back in a form stamped with the saved version, so
    saving it again is a deliberate choice to replace what the other person wrote.
    """
    retry = EditItemForm(
        formdata=None,
        categories=choices,
        data={
            "name": form.name.data,
            "category": form.category.data,
            "description": form.description.data,
            "version": saved.version if saved else None,
        },
    )
    return render_template("manage/conflict.html", form=retry, saved=saved), 409


@bp.route("/catalog/<category_slug>/<item_slug>/delete", methods=["GET", "POST"])
@login_required
def delete_item(category_slug: str, item_slug: str) -> ResponseReturnValue:
    """Ask for confirmation, then delete the item as the person saw it."""
    item = get_item(category_slug, item_slug, check_owner=True)
    form = DeleteItemForm(data={"version": item.version})
    status = _status()
    if form.validate_on_submit():
        name, category, item_id = item.name, item.category, item.id
        try:
            changes.remove_item(item, form.version.data)
        except changes.StaleVersion as refused:
            current = db.session.get(Item, item_id)
            if current is None:
                flash(f"“{name}” had already been deleted.", "info")
                return redirect(category_url(category))
            flash(f"{refused} Check it again before deleting.", "error")
            item, status = current, 409
            form = DeleteItemForm(formdata=None, data={"version": current.version})
        else:
            db.session.commit()
            flash(f"Deleted “{name}”.", "success")
            return redirect(category_url(category))
    return render_template("manage/delete_item.html", form=form, item=item), status


@bp.route("/categories/new", methods=["GET", "POST"])
@admin_required
def add_category() -> ResponseReturnValue:
    """Create a category (admins only)."""
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = changes.add_category(form.name.data or "", form.description.data or "")
        except changes.DuplicateName as refused:
            refuse(form.name, str(refused))
        else:
            db.session.commit()
            flash(f"Created the category {category.name}.", "success")
            return redirect(category_url(category))
    return render_template("manage/category_form.html", form=form, category=None), _status()


@bp.route("/categories/<category_slug>/edit", methods=["GET", "POST"])
@admin_required
def edit_category(category_slug: str) -> ResponseReturnValue:
    """Rename a category or change its description (admins only)."""
    category = get_category(category_slug)
    form = CategoryForm(data={"name": category.name, "description": category.description})
    if form.validate_on_submit():
        try:
            changes.change_category(category, form.name.data or "", form.description.data or "")
        except changes.DuplicateName as refused:
            refuse(form.name, str(refused))
        else:
            db.session.commit()
            flash(f"Saved the category {category.name}.", "success")
            return redirect(category_url(category))
    return render_template("manage/category_form.html", form=form, category=category), _status()


@bp.route("/categories/<category_slug>/delete", methods=["GET", "POST"])
@admin_required
def delete_category(category_slug: str) -> ResponseReturnValue:
    """Ask for confirmation, then delete an empty category (admins only)."""
    category = get_category(category_slug)
    form = ButtonForm()
    if form.validate_on_submit():
        name = category.name
        try:
            changes.remove_category(category)
        except changes.CategoryNotEmpty as refused:
            flash(str(refused), "error")
            category = get_category(category_slug)
            return render_template("manage/delete_category.html", form=form, category=category), 409
        db.session.commit()
        flash(f"Deleted the category {name}.", "success")
        return redirect(url_for("catalog.index"))
    return render_template("manage/delete_category.html", form=form, category=category)


def _status() -> int:
    """Return the status for re-showing a form: 200 when asked for, 422 after a failed POST."""
    return INVALID if request.method == "POST" else 200
