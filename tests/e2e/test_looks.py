"""How pages look and behave for a person: a long word on every page, at desktop and phone
sizes; a field with an error; the new token's Copy button; revoking a token after asking.

Screenshots go to test-results/screenshots/long-<page>-<desktop|phone>.png and
invalid-field-desktop[-dark].png.
"""

import re
import secrets
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect
from support.oidc_provider import QUIET_PROVIDER

from e2e.accessibility import sideways_overflow
from e2e.actions import add_item, fill_item, flash, heading, unique
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
    for button in page.locator("main button, main .button").all():
        box = button.bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= width


DANGER = {"light": "rgb(180, 35, 24)", "dark": "rgb(255, 157, 148)"}


@pytest.mark.parametrize("scheme", DANGER)
def test_a_field_with_an_error_has_a_red_edge(scheme, new_context):
    page = new_context(as_member="owner", color_scheme=scheme).new_page()
    page.goto("/catalog/new")
    # The name is taken in this category: the server answers with the form and the error.
    fill_item(page, "Match Ball", "Soccer", "Another one.")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add item").click()
    assert answer.value.status == 422
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_css("border-top-color", DANGER[scheme])
    # The fields without an error keep their usual edge.
    description = page.get_by_label("Description", exact=True)
    assert description.evaluate("f => getComputedStyle(f).borderTopColor") != DANGER[scheme]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "-dark" if scheme == "dark" else ""
    page.screenshot(path=SCREENSHOTS / f"invalid-field-desktop{suffix}.png", full_page=True)


def test_the_copy_button_copies_a_new_token(new_context):
    context = new_context(as_member="owner", permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto("/account")
    page.get_by_label("Label for a new token").fill(unique("copied"))
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token", exact=True)
    expect(secret).to_have_value(re.compile(r"^cat_"))
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text(
        "Copied to the clipboard."
    )
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret.input_value()


def test_without_javascript_the_new_token_is_there_to_select(new_context):
    page = new_context(as_member="owner", java_script_enabled=False).new_page()
    page.goto("/account")
    page.get_by_label("Label for a new token").fill(unique("by hand"))
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token", exact=True)
    expect(secret).to_have_value(re.compile(r"^cat_"))
    expect(secret).to_be_visible()
    # No button that would do nothing.
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)
    secret.select_text()
    assert page.evaluate("() => String(window.getSelection())") == secret.input_value()


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_revoking_a_token_asks_first(script, new_context):
    page = new_context(as_member="owner", java_script_enabled=script).new_page()
    label = unique("to revoke")
    page.goto("/account")
    page.get_by_label("Label for a new token").fill(label)
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("link", name="Back to your account").click()
    revoke = page.get_by_role("link", name=f"Revoke the token {label}", exact=True)

    # Asked, and cancelled: the token stays.
    revoke.click()
    expect(heading(page)).to_have_text(f"Revoke the token “{label}”?")
    page.get_by_role("link", name="Cancel").click()
    expect(heading(page)).to_have_text("Your account")
    expect(page.locator("table.tokens")).to_contain_text(label)

    # Asked, and confirmed: it is gone.
    revoke.click()
    page.get_by_role("button", name="Revoke the token").click()
    expect(flash(page)).to_contain_text(f"Revoked the token “{label}”.")
    expect(page.get_by_role("link", name=f"Revoke the token {label}", exact=True)).to_have_count(0)
