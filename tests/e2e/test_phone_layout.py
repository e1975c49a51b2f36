"""At 360 px (issue 20): the header folds behind a menu button, the filters are folded, the feed dashboard's
per-type table keeps its labels; the real CSP, no console error."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def test_the_header_folds_behind_a_menu_button_and_the_filters_are_folded(demo, watched, login, live_server):
    context, watch = watched(viewport=PHONE)
    page = login(context.new_page(), "camille.martin")
    page.goto(f"{live_server.url}/dmp/")
    header = page.locator("header.site-header").bounding_box()
    assert header["height"] < 90, header
    menu = page.get_by_role("button", name="Menu")
    assert menu.get_attribute("aria-expanded") == "false"
    assert not page.locator("#main-nav").get_by_role("link", name="Qui a consulté", exact=True).is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert page.locator("#main-nav").get_by_role("link", name="Qui a consulté", exact=True).is_visible()
    # the filters do not fill the first screen: folded
    assert page.locator("details.filters-panel").get_attribute("open") is None
    assert not page.locator("#id_type_code").is_visible()
    assert watch.check(page) == []


def test_the_feed_dashboard_keeps_its_labels_on_a_phone(demo, watched, login, live_server):
    context, watch = watched(viewport=PHONE)
    page = login(context.new_page(), "admin")
    page.goto(f"{live_server.url}/flux-dmp/")
    cells = page.locator("table td[data-label]")
    assert cells.count() > 0
    first = page.evaluate("getComputedStyle(document.querySelector('table tbody td[data-label]'), '::before').content")
    assert first not in ("", "none", '" : "'), first
    assert page.evaluate("document.documentElement.scrollWidth") <= 361
    assert watch.check(page) == []


def test_wide_screens_show_the_menu_without_a_button(demo, watched, login, live_server):
    context, watch = watched(viewport={"width": 1280, "height": 800})
    page = login(context.new_page(), "camille.martin")
    page.goto(f"{live_server.url}/dmp/")
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.locator("#main-nav").get_by_role("link", name="Qui a consulté", exact=True).is_visible()
    assert watch.check(page) == []
