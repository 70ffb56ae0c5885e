"""How pages look with awkward content: a long word on every page, at desktop and phone sizes.

Screenshots go to test-results/screenshots/long-<page>-<desktop|phone>.png.
"""

import secrets
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect
from support.oidc_provider import QUIET_PROVIDER

from e2e.accessibility import sideways_overflow
from e2e.actions import add_item, heading
from e2e.test_screens import SCREENSHOTS, VIEWPORTS

# One pytest-xdist worker runs all the browser tests: the server and the browser start once.
pytestmark = [QUIET_PROVIDER, pytest.mark.slow, pytest.mark.xdist_group("browser")]

NAME_MAX = 80
TOKEN_LABEL_MAX = 100


def long_word(start: str, length: int) -> str:
    """Return one word of ``length`` letters: ``start`` and random letters, no space."""
    tail = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(length))
    return (start + tail)[:length]


@pytest.fixture(scope="session")
def long_names(browser, live_server, members) -> dict[str, str]:
    """Add an item whose name is one 80-letter word, and a token with a 100-letter label."""
    context = browser.new_context(base_url=live_server, storage_state=members.state("owner"))
    name = long_word("Aaa", NAME_MAX)
    try:
        page = context.new_page()
        url = add_item(page, "Camping", name, f"Made of {long_word('titanium', 300)} alloy.")
        page.goto("/account")
        page.get_by_label("Label for a new token").fill(long_word("script", TOKEN_LABEL_MAX))
        page.get_by_role("button", name="Create token").click()
        expect(heading(page)).to_have_text("Your new API token")
        return {"name": name, "item": urlsplit(url).path}
    finally:
        context.close()


LONG_PAGES = {
    "item": lambda names: names["item"],
    "edit-form": lambda names: f"{names['item']}edit",
    "category": lambda names: "/catalog/camping/",
    "home": lambda names: "/",
    "search": lambda names: f"/search?q={quote(names['name'])}",
    "account": lambda names: "/account",
    "api-docs": lambda names: "/api/v1/docs",
}
# Pages where the long name is not shown as text.
WITHOUT_NAME = ("account", "edit-form", "api-docs")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", LONG_PAGES)
def test_a_long_word_wraps_instead_of_widening_the_page(name, viewport, new_context, long_names):
    page: Page = new_context(as_member="owner", **VIEWPORTS[viewport]).new_page()
    assert page.goto(LONG_PAGES[name](long_names)).status == 200
    if name not in WITHOUT_NAME:
        expect(page.get_by_text(long_names["name"], exact=True).first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"long-{name}-{viewport}.png", full_page=True)
    width = VIEWPORTS[viewport]["viewport"]["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert sideways_overflow(page) == 0
    # Nothing sticks out of the window either, not even inside a box that clips it.
    for button in page.locator("main button").all():
        box = button.bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= width
