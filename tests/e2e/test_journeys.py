"""People's journeys through the catalog in a real browser, from browsing to deleting."""

import re

import pytest
from playwright.sync_api import expect
from support.oidc_provider import QUIET_PROVIDER

from e2e.actions import (
    PEOPLE,
    add_item,
    camera_picture,
    fill_item,
    flash,
    heading,
    shown_picture,
    sign_in,
    unique,
)
from e2e.test_screens import SCREENSHOTS

# One pytest-xdist worker runs all the browser tests: the server and the browser start once.
pytestmark = [QUIET_PROVIDER, pytest.mark.slow, pytest.mark.xdist_group("browser")]

PER_PAGE = 20


def item_names(page) -> list[str]:
    return page.locator("ul.items li a").all_inner_texts()


def test_visitor_browses_pages_and_searches(page, backend):
    page.goto("/")
    expect(heading(page)).to_have_text("Categories")
    page.locator("ul.categories").get_by_role("link", name="Soccer").click()
    expect(heading(page)).to_have_text("Soccer")
    total = int(re.match(r"(\d+) items", page.locator("p.meta").inner_text())[1])
    assert total > 2 * PER_PAGE

    pages = [item_names(page)]
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)
    while page.get_by_role("link", name="Next").count():
        page.get_by_role("link", name="Next").click()
        expect(page.get_by_role("link", name="Previous")).to_be_visible()
        pages.append(item_names(page))
    seen = [name for names in pages for name in names]
    assert len(pages) == -(-total // PER_PAGE)
    assert all(len(names) == PER_PAGE for names in pages[:-1])
    assert len(seen) == len(set(seen)) == total
    assert "Match Ball" in seen

    page.get_by_role("link", name="Previous").click()
    expect(page.locator("ul.items li a")).to_have_text(pages[-2])

    page.get_by_role("link", name=pages[-2][0], exact=True).click()
    expect(heading(page)).to_have_text(pages[-2][0])
    expect(page.locator("dl.facts")).to_contain_text("Soccer")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Soccer").click()
    expect(page.locator("ul.items li a")).to_have_text(pages[0])

    page.get_by_role("searchbox", name="Search items").fill("helmet")
    page.get_by_role("searchbox", name="Search items").press("Enter")
    expect(heading(page)).to_have_text("Search")
    expect(page.get_by_role("link", name="Batting Helmet")).to_be_visible()
    page.get_by_role("link", name="Batting Helmet").click()
    expect(heading(page)).to_have_text("Batting Helmet")
    expect(page.locator(".description")).to_contain_text("Dual-density foam helmet")


def test_member_signs_in_adds_edits_deletes_and_signs_out(page, live_server, oidc_provider):
    page.goto("/catalog/cycling/")
    sign_in(page, oidc_provider, "journey")
    assert page.url == f"{live_server}/catalog/cycling/", "sign-in should come back to the page"
    expect(page.get_by_role("link", name=PEOPLE["journey"])).to_be_visible()

    name = unique("Saddle Bag")
    page.get_by_role("link", name="Add an item here").click()
    expect(page.get_by_label("Category", exact=True).locator("option:checked")).to_have_text(
        "Cycling"
    )
    fill_item(page, name, None, "Holds a tube, levers and a multitool.")
    page.get_by_role("button", name="Add item").click()
    expect(flash(page)).to_have_text(f"Added “{name}” to Cycling.")
    expect(heading(page)).to_have_text(name)
    expect(page.locator(".description")).to_have_text("Holds a tube, levers and a multitool.")
    item_url = page.url

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value(name)
    page.get_by_label("Description", exact=True).fill(
        "Holds a tube, levers, a pump and a multitool."
    )
    page.get_by_role("button", name="Save changes").click()
    expect(flash(page)).to_have_text(f"Saved your changes to “{name}”.")
    expect(page.locator(".description")).to_have_text(
        "Holds a tube, levers, a pump and a multitool."
    )

    page.get_by_role("link", name="Delete").click()
    expect(heading(page)).to_have_text(f"Delete {name}?")
    page.get_by_role("button", name="Delete item").click()
    expect(flash(page)).to_have_text(f"Deleted “{name}”.")
    expect(heading(page)).to_have_text("Cycling")
    assert page.goto(item_url).status == 404

    page.get_by_role("button", name="Sign out").click()
    expect(flash(page)).to_have_text("You have signed out.")
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    page.goto("/account")
    expect(heading(page)).to_have_text("Sign in")


def test_other_member_cannot_change_someone_elses_item(new_context):
    owner = new_context(as_member="owner").new_page()
    name = unique("Chalk Bag")
    item_url = add_item(owner, "Rock Climbing", name, "Drawstring closure and a brush holder.")
    expect(owner.get_by_role("link", name="Edit")).to_be_visible()

    other = new_context(as_member="other").new_page()
    other.goto(item_url)
    expect(heading(other)).to_have_text(name)
    expect(other.get_by_role("link", name=PEOPLE["other"])).to_be_visible()
    expect(other.get_by_role("link", name="Edit")).to_have_count(0)
    expect(other.get_by_role("link", name="Delete")).to_have_count(0)

    for action in ("edit", "delete"):
        response = other.goto(f"{item_url}{action}")
        assert response.status == 403
        expect(heading(other)).to_have_text("Not allowed")
        expect(other.locator("main")).to_contain_text("Only the person who added this item")


def test_stale_edit_shows_the_conflict_page_and_keeps_my_text(new_context):
    context = new_context(as_member="owner")
    mine = context.new_page()
    name = unique("Bivy Sack")
    item_url = add_item(mine, "Camping", name, "Waterproof shell.")
    mine.goto(f"{item_url}edit")

    theirs = context.new_page()
    theirs.goto(f"{item_url}edit")
    theirs.get_by_label("Description", exact=True).fill("Waterproof, breathable shell.")
    theirs.get_by_role("button", name="Save changes").click()
    expect(flash(theirs)).to_contain_text("Saved your changes")

    my_text = "Waterproof shell with a bug net.\nPacks to the size of a bottle."
    mine.get_by_label("Description", exact=True).fill(my_text)
    with mine.expect_response(lambda r: r.request.method == "POST") as answer:
        mine.get_by_role("button", name="Save changes").click()
    assert answer.value.status == 409
    expect(heading(mine)).to_have_text("Someone else saved first")
    expect(mine.locator("#saved-heading + dl + .description")).to_have_text(
        "Waterproof, breathable shell."
    )
    expect(mine.get_by_label("Description", exact=True)).to_have_value(my_text)
    expect(mine.get_by_label("Name", exact=True)).to_have_value(name)

    mine.get_by_role("button", name="Save my version instead").click()
    expect(flash(mine)).to_contain_text("Saved your changes")
    expect(mine.locator(".description")).to_have_text(my_text)


def test_form_with_errors_keeps_what_was_typed(new_context):
    page = new_context(as_member="owner").new_page()
    page.goto("/catalog/new")
    description = "A second match ball, for the away kit."

    # The browser checks what it can before sending: an empty name never leaves the page.
    fill_item(page, "", "Soccer", description)
    page.get_by_role("button", name="Add item").click()
    assert page.url.endswith("/catalog/new")
    assert page.get_by_label("Name", exact=True).evaluate("field => field.validity.valueMissing")

    # The server checks the rest: the name is taken in this category.
    page.get_by_label("Name", exact=True).fill("Match Ball")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add item").click()
    assert answer.value.status == 422
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_value("Match Ball")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name-error")).to_contain_text("Match Ball")
    expect(page.get_by_label("Description", exact=True)).to_have_value(description)
    expect(page.get_by_label("Category", exact=True).locator("option:checked")).to_have_text(
        "Soccer"
    )


def test_forms_work_without_javascript(new_context, oidc_provider, tmp_path):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/catalog/running/")
    sign_in(page, oidc_provider, "no-script")
    expect(heading(page)).to_have_text("Running")

    name = unique("Reflective Vest")
    page.get_by_role("link", name="Add an item here").click()
    fill_item(page, name, "Running", "Mesh vest with reflective bands.")
    page.get_by_label("Picture", exact=True).set_input_files(
        camera_picture(tmp_path / "vest.jpg", "VEST")
    )
    page.get_by_role("button", name="Add item").click()
    expect(flash(page)).to_have_text(f"Added “{name}” to Running.")
    shown_picture(page)

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete item").click()
    expect(flash(page)).to_have_text(f"Deleted “{name}”.")
    expect(page.get_by_role("link", name=name)).to_have_count(0)


def find_in_category(page, name: str):
    """Walk a category's pages from the one shown until ``name`` is listed; return its link.

    Each page is counted only once the browser shows it: counted while the last one was
    still up, a listing would be found empty and walked past.
    """
    link = page.locator("ul.items").get_by_role("link", name=name, exact=True)
    while not link.count():
        following = page.get_by_role("link", name="Next")
        target = following.get_attribute("href")
        following.click()
        page.wait_for_url(lambda url, target=target: url.endswith(target))
    return link


def test_member_gives_an_item_a_picture_replaces_it_and_removes_it(new_context, tmp_path):
    page = new_context(as_member="owner", viewport={"width": 1280, "height": 800}).new_page()
    name = unique("Trail Tent")
    url = add_item(
        page, "Camping", name, "Two doors.", picture=camera_picture(tmp_path / "tent.jpg", "TENT")
    )
    image = shown_picture(page)
    # Upright, as the phone's EXIF said: the stored file lay on its side, 1600 × 1200.
    assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [900, 1200]
    assert image.get_attribute("alt") == name
    first = image.evaluate("i => i.currentSrc")
    assert first.endswith("-1200.webp")  # the browser took the WebP source
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "picture-item-desktop.png", full_page=True)

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Camping").click()
    expect(heading(page)).to_have_text("Camping")
    link = find_in_category(page, name)
    thumbnail = shown_picture(page, f'ul.items li a:has-text("{name}") picture img')
    assert thumbnail.evaluate("i => i.currentSrc") == first.replace("-1200.", "-200.")
    assert thumbnail.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [150, 200]
    link.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "picture-category-desktop.png", full_page=False)

    page.goto(f"{url}edit")
    expect(page.locator(".current-picture picture img")).to_be_visible()
    page.get_by_label("Picture", exact=True).set_input_files(
        camera_picture(tmp_path / "tent-2.jpg", "TENT, AGAIN", size=(1600, 1200))
    )
    page.get_by_label("Describe the picture", exact=True).fill("An orange tent on grass")
    page.screenshot(path=SCREENSHOTS / "picture-edit-form-desktop.png", full_page=True)
    page.get_by_role("button", name="Save changes").click()
    expect(flash(page)).to_have_text(f"Saved your changes to “{name}”.")
    image = shown_picture(page)
    assert image.evaluate("i => i.currentSrc") != first
    assert image.get_attribute("alt") == "An orange tent on grass"
    assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [1200, 900]
    assert page.request.get(first).status == 404  # the old picture went with its last use

    page.goto(f"{url}edit")
    page.get_by_label("Remove the picture", exact=True).check()
    page.get_by_role("button", name="Save changes").click()
    expect(flash(page)).to_have_text(f"Saved your changes to “{name}”.")
    expect(page.locator("picture.display")).to_have_count(0)
    expect(page.locator(".display-empty")).to_have_text("No picture")


def test_a_file_that_is_not_a_picture_is_refused_with_the_text_kept(new_context, tmp_path):
    page = new_context(as_member="owner").new_page()
    page.goto("/catalog/new")
    fake = tmp_path / "holiday.jpg"
    fake.write_text("<!doctype html><html><script>alert(1)</script></html>")
    fill_item(page, unique("Camp Chair"), "Camping", "Folds flat.")
    page.get_by_label("Picture", exact=True).set_input_files(fake)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add item").click()
    assert answer.value.status == 415
    expect(page.locator("#picture-error")).to_contain_text("not a JPEG, PNG, WebP or GIF")
    expect(page.get_by_label("Description", exact=True)).to_have_value("Folds flat.")


def test_the_same_form_sent_twice_leads_to_what_it_saved(new_context):
    context = new_context(as_member="owner")
    first, second = context.new_page(), context.new_page()
    name = unique("Camp Mug")
    # An add sent twice (a second tab, a retry): the second leads to the first's item.
    for page in (first, second):
        page.goto("/catalog/new")
        fill_item(page, name, "Camping", "Enamel, 350 ml.")
    first.get_by_role("button", name="Add item").click()
    expect(flash(first)).to_have_text(f"Added “{name}” to Camping.")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.get_by_role("button", name="Add item").click()
    assert answer.value.status == 302
    expect(heading(second)).to_have_text(name)
    expect(flash(second)).to_contain_text(f"“{name}” was already added to Camping")
    item_url = first.url
    assert second.url == item_url

    # An edit sent twice, the second time over the first's own save: no conflict.
    for page in (first, second):
        page.goto(f"{item_url}edit")
        page.get_by_label("Description", exact=True).fill("Enamel, 350 ml, with a lid.")
    first.get_by_role("button", name="Save changes").click()
    expect(flash(first)).to_have_text(f"Saved your changes to “{name}”.")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.get_by_role("button", name="Save changes").click()
    assert answer.value.status == 302
    expect(flash(second)).to_have_text(f"Your changes to “{name}” were already saved.")
    expect(second.locator(".description")).to_have_text("Enamel, 350 ml, with a lid.")


def test_a_renamed_item_is_found_at_its_old_address_and_its_name_links(new_context):
    page = new_context(as_member="owner").new_page()
    name = unique("Dry Bag")
    old_url = add_item(page, "Camping", name, "Roll-top, 20 l.")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name", exact=True).fill(f"{name} XL")
    page.get_by_role("button", name="Save changes").click()
    new_url = page.url
    assert new_url != old_url

    response = page.goto(old_url)
    moved = response.request.redirected_from
    assert (moved.url, moved.response().status) == (old_url, 301)
    assert page.url == new_url
    expect(heading(page)).to_have_text(f"{name} XL")

    # A name too close to it says which item holds it, and links there.
    page.goto("/catalog/new")
    fill_item(page, f"{name} xl!", "Camping", "")
    page.get_by_role("button", name="Add item").click()
    error = page.locator("#name-error")
    expect(error).to_contain_text(f"Camping already has an item called “{name} XL”")
    error.get_by_role("link", name=f"“{name} XL”").click()
    assert page.url == new_url


def test_names_that_look_like_something_else_are_refused_and_emoji_names_kept_apart(
    new_context,
):
    page = new_context(as_member="owner").new_page()
    page.goto("/catalog/new")
    # Shown as "Photoexe.jpg", held as "Photo<U+202E>gpj.exe".
    fill_item(page, "Photo\u202egpj.exe", "Camping", "")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add item").click()
    assert answer.value.status == 422
    expect(page.locator("#name-error")).to_contain_text("U+202E RIGHT-TO-LEFT OVERRIDE")

    tag = unique("").strip()
    urls = [add_item(page, "Camping", f"{name} {tag}", "") for name in ("🎉🎉", "⚽", "!!!")]
    assert len(set(urls)) == 3
    assert urls[0].endswith(f"/catalog/camping/party-popper-party-popper-{tag}/")
    assert urls[1].endswith(f"/catalog/camping/soccer-ball-{tag}/")
