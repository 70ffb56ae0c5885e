"""Every main page at desktop and phone sizes, light and dark: a screenshot, axe-core,
labels, no overflow.

Screenshots go to test-results/screenshots/<page>-<desktop|phone>.png (and
<page>-<desktop|phone>-dark.png in the dark scheme), for people to look at; the checks
here catch what can be caught without looking.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from support.oidc_provider import QUIET_PROVIDER

from e2e.accessibility import axe_violations, sideways_overflow, unlabelled_fields
from e2e.actions import add_item, camera_picture, flash, heading, unique

# One pytest-xdist worker runs all the browser tests: the server and the browser start once.
pytestmark = [QUIET_PROVIDER, pytest.mark.slow, pytest.mark.xdist_group("browser")]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# The page's background in each scheme (--wash in catalog.css): the scheme took effect.
SCHEMES = {"light": "rgb(244, 246, 249)", "dark": "rgb(17, 21, 27)"}
TENT = "Four-Season Expedition Tent"
TENT_TEXT = (
    "A two-person geodesic tent for winter camps above the tree line.\n"
    "Four poles, two doors and two vestibules; pitches fly-first in a storm.\n"
    "Packed: 3.1 kg, 48 × 20 cm."
)


@dataclass(frozen=True)
class Screen:
    """How to reach a page, as whom, and what it answers."""

    visit: Callable[[Page, dict], int]
    title: str | re.Pattern[str]
    member: str | None = None
    status: int = 200


@pytest.fixture(scope="session")
def items(browser, live_server, members, tmp_path_factory) -> dict[str, str]:
    """Add the items the pages show, owned by one member; return their paths."""
    context = browser.new_context(base_url=live_server, storage_state=members.state("owner"))
    picture = camera_picture(tmp_path_factory.mktemp("pictures") / "tent.jpg", "TENT")
    try:
        page = context.new_page()
        return {
            "tent": urlsplit(add_item(page, "Camping", TENT, TENT_TEXT, picture=picture)).path,
            "stove": urlsplit(
                add_item(page, "Camping", "Canister Stove", "Folds into its own pot.")
            ).path,
        }
    finally:
        context.close()


def go(path: str) -> Callable[[Page, dict], int]:
    return lambda page, items: page.goto(path).status


def make_conflict(page: Page, items: dict) -> int:
    """Edit the stove in this tab while another tab saves first; return the answer's status."""
    edit = f"{items['stove']}edit"
    page.goto(edit)
    other = page.context.new_page()
    other.goto(edit)
    other.get_by_label("Description", exact=True).fill(f"Folds into its own pot ({unique('v')}).")
    other.get_by_role("button", name="Save changes").click()
    expect(flash(other)).to_contain_text("Saved your changes")
    other.close()
    page.get_by_label("Description", exact=True).fill(
        "Folds into its own 750 ml pot; lights with a push button."
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save changes").click()
    return answer.value.status


def create_token(page: Page, items: dict) -> int:
    """Create an API token on the account page; return the status of the page showing it."""
    page.goto("/account")
    page.get_by_label("Label for a new token").fill(unique("screenshot"))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Create token").click()
    return answer.value.status


def ask_to_revoke(page: Page, items: dict) -> int:
    """Open the question before revoking one of the owner's tokens (made if none is left)."""
    page.goto("/account")
    if not page.get_by_role("link", name=re.compile("^Revoke the token ")).count():
        create_token(page, items)
        page.goto("/account")
    with page.expect_response(lambda r: "/revoke" in r.url) as answer:
        page.get_by_role("link", name=re.compile("^Revoke the token ")).first.click()
    return answer.value.status


SCREENS = {
    "home": Screen(go("/"), "Categories"),
    "category": Screen(go("/catalog/camping/"), "Camping", member="owner"),
    "item": Screen(lambda page, items: page.goto(items["tent"]).status, TENT, member="owner"),
    "add-form": Screen(go("/catalog/new?category=camping"), "Add an item", member="owner"),
    "edit-form": Screen(
        lambda page, items: page.goto(f"{items['tent']}edit").status, f"Edit {TENT}", "owner"
    ),
    "delete-confirmation": Screen(
        lambda page, items: page.goto(f"{items['tent']}delete").status, f"Delete {TENT}?", "owner"
    ),
    "conflict": Screen(make_conflict, "Someone else saved first", "owner", status=409),
    "account": Screen(go("/account"), "Your account", member="owner"),
    "token-created": Screen(create_token, "Your new API token", member="owner"),
    "revoke-confirmation": Screen(
        ask_to_revoke, re.compile(r"^Revoke the token “.+”\?$"), member="owner"
    ),
    "sign-out": Screen(go("/logout"), "Sign out", member="owner"),
    "api-docs": Screen(go("/api/v1/docs"), re.compile(r"^Catalog API")),
    "search-results": Screen(go("/search?q=helmet"), "Search"),
    "not-found": Screen(go("/catalog/no-such-category/"), "Not found", status=404),
    "login": Screen(go("/login?next=/catalog/camping/"), "Sign in"),
}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", SCREENS)
def test_page_is_usable_and_captured(name, viewport, scheme, new_context, items):
    screen = SCREENS[name]
    page = new_context(
        as_member=screen.member, color_scheme=scheme, **VIEWPORTS[viewport]
    ).new_page()
    assert screen.visit(page, items) == screen.status
    expect(heading(page)).to_have_text(screen.title)
    # Lazy pictures below the fold are loaded too, so that the screenshot shows them; and
    # every picture on the page must load.
    page.evaluate("() => { for (const image of document.images) image.loading = 'eager'; }")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "-dark" if scheme == "dark" else ""
    page.screenshot(path=SCREENSHOTS / f"{name}-{viewport}{suffix}.png", full_page=True)
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    assert page.evaluate(background) == SCHEMES[scheme]

    assert axe_violations(page) == []
    assert unlabelled_fields(page) == []
    assert sideways_overflow(page) == 0
