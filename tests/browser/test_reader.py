"""A reader on a phone, a reader who mistyped a URL, and screenshots for a human reviewer.

Screenshots go to ``site/_screenshots/``, for each language: ``home``, ``topic`` (detection/iou),
``phone-drawer`` (the open navigation drawer), ``phone-topic`` and ``404``.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab, settle

pytestmark = pytest.mark.browser

SITE_NAME = {"zh": "算法岗面试手册", "en": "ML Interview Handbook"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# True when the nav link is on screen and a tap at its centre reaches it (not another panel).
TAPPABLE = """(selector) => {
  const a = document.querySelector('.md-sidebar--primary nav.md-nav--primary ' + selector);
  if (!a) return false;
  const r = a.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  const width = document.documentElement.clientWidth;
  return r.left >= 0 && r.right <= width && r.height > 0 && !!hit && a.contains(hit);
}"""
# The outermost elements that stick out to the right of the screen (what makes a page scroll
# sideways), e.g. a display formula wider than the phone. On a phone ``innerWidth`` grows with the
# overflow; ``clientWidth`` stays the screen's width.
WIDEST = """() => {
  const article = document.querySelector('article');
  const width = document.documentElement.clientWidth + 1;
  const out = (el) => el.getBoundingClientRect().right > width;
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const found = [];
  for (const el of article.querySelectorAll('*')) {
    if (el.ownerSVGElement || !out(el)) continue;
    let up = el.parentElement;
    while (up && up !== article && !scrolls(up) && !out(up)) up = up.parentElement;
    if (up !== article) continue;  // inside a scrolling box, or not the outermost
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    const right = Math.round(el.getBoundingClientRect().right);
    found.push(`${el.tagName.toLowerCase()}.${el.classList[0] || ''} (${right} px): ${text}`);
  }
  return found.slice(0, 3);
}"""
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


# ----------------------------------------------------------------------- phone


@pytest.mark.parametrize("lang", pages.LANGS)
def test_phone_reader_reaches_a_topic_through_the_drawer(
    browser: Any, server: Any, screenshots: Path, lang: str
) -> None:
    topic = pages.showcase_topic()
    target = f"{pages.PREFIX[lang]}{topic}/"
    tab = Tab(browser, server.url, **PHONE)
    page, recorder = tab.page, tab.recorder
    try:
        page.goto(server.url + pages.PREFIX[lang])
        settle(page, recorder)
        drawer = page.locator("#__drawer")
        hamburger = page.locator('.md-header label[for="__drawer"]')
        assert hamburger.is_visible(), "no navigation button (hamburger) in the phone's header"
        hamburger.tap()
        page.wait_for_function("() => document.getElementById('__drawer').checked")
        sidebar = page.locator(".md-sidebar--primary")
        page.wait_for_function(
            "() => document.querySelector('.md-sidebar--primary').getBoundingClientRect().left >= 0"
        )
        assert drawer.is_checked() and sidebar.is_visible(), "the navigation drawer did not open"
        page.wait_for_timeout(300)  # the slide-in transition, for the screenshot
        page.screenshot(path=screenshots / f"{lang}-phone-drawer.png")

        # Tap the track, then the chapter that holds the topic, then the topic, as a reader does.
        nav = page.locator(".md-sidebar--primary nav.md-nav--primary")
        selector = f'a.md-nav__link[href$="{topic}/"]'
        link = nav.locator(selector).first
        assert link.count() == 1, f"the drawer has no link to {target}"
        assert not page.evaluate(TAPPABLE, selector), f"{target} is tappable before its chapter"
        levels = nav.locator("li.md-nav__item--nested").filter(has=page.locator(selector))
        for i in range(levels.count()):  # outermost first: the track, then the chapter
            level = levels.nth(i)
            toggle_id = level.locator(":scope > input.md-nav__toggle").get_attribute("id")
            level.locator(f'label.md-nav__link[for="{toggle_id}"]').first.tap()
            page.wait_for_timeout(400)  # the drawer's slide: a tap during it is lost (Material)
        try:
            page.wait_for_function(TAPPABLE, arg=selector, timeout=5_000)
        except Exception:
            pytest.fail(f"tapping the track and the chapter did not bring {target} on screen")
        with page.expect_navigation():
            link.tap()
        landed = urllib.parse.urlsplit(page.url).path
        assert landed == target, f"tapping through the drawer led to {landed}, expected {target}"
        assert page.locator("article h1").first.is_visible()
        settle(page, recorder)
        page.screenshot(path=screenshots / f"{lang}-phone-topic.png")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["viewport"]["width"], (
            f"{target} is {width} px wide on a 390 px phone: something overflows sideways "
            f"(widest: {page.evaluate(WIDEST)})"
        )
        assert not recorder.external, f"the phone asked other sites for: {recorder.external}"
    finally:
        tab.close()


# ----------------------------------------------------------------------- 404

NOT_FOUND = [
    ("/no-such-page/", "zh"),
    ("/backbone/no/such/page.html", "zh"),
    ("/en/no-such-page/", "en"),
    ("/en/detection/no/such/page/", "en"),
]

STYLE_FACTS = """() => ({
  lang: document.documentElement.lang,
  title: document.querySelector('.md-header__topic .md-ellipsis')?.textContent.trim() || '',
  h1: document.querySelector('article h1')?.textContent.trim() || '',
  sheets: [...document.styleSheets].map(s => s.href).filter(Boolean),
  headerBackground: getComputedStyle(document.querySelector('.md-header')).backgroundColor,
  headerPosition: getComputedStyle(document.querySelector('.md-header')).position,
})"""


@pytest.mark.parametrize(("path", "lang"), NOT_FOUND)
def test_missing_page_shows_the_handbooks_404(
    browser: Any, server: Any, screenshots: Path, path: str, lang: str
) -> None:
    tab = Tab(browser, server.url, **DESKTOP)
    page, recorder = tab.page, tab.recorder
    try:
        response = page.goto(server.url + path)
        settle(page, recorder)
        facts = page.evaluate(STYLE_FACTS)
        if path.count("/") <= 3:  # one screenshot per language
            page.screenshot(path=screenshots / f"{lang}-404.png")
    finally:
        tab.close()
    assert response is not None and response.status == 404, (
        f"{path} answered {response and response.status}"
    )
    assert "404" in facts["h1"], f"{path} does not show the 404 page: h1 {facts['h1']!r}"
    assert facts["lang"] == lang and facts["title"] == SITE_NAME[lang], (
        f"{path} shows a 404 page in {facts['lang']!r} titled {facts['title']!r}; a reader of the "
        f"{lang} pages expects lang={lang!r} and {SITE_NAME[lang]!r}"
    )
    assets = [
        s for s in recorder.seen if s.resource_type in ("stylesheet", "script", "font", "image")
    ]
    broken = [f"{s.url} ({s.status or s.failure})" for s in assets if s.status != 200]
    assert not broken, f"{path}: the 404 page's assets do not load: {broken}"
    assert len(facts["sheets"]) >= 2, f"{path}: stylesheets missing: {facts['sheets']}"
    assert facts["headerPosition"] == "sticky" and facts["headerBackground"] not in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    ), f"{path}: the 404 page is unstyled (header {facts})"
    assert not recorder.external, f"{path} asks other sites for: {recorder.external}"


# ----------------------------------------------------------------------- screenshots


@pytest.mark.parametrize("lang", pages.LANGS)
def test_screenshots_for_review(browser: Any, server: Any, screenshots: Path, lang: str) -> None:
    topic = f"{pages.PREFIX[lang]}{pages.showcase_topic()}/"
    tab = Tab(browser, server.url, **DESKTOP)
    page, recorder = tab.page, tab.recorder
    written = []
    try:
        for name, path in (("home", pages.PREFIX[lang]), ("topic", topic)):
            response = page.goto(server.url + path)
            assert response and response.status == 200, (
                f"{path} answered {response and response.status}"
            )
            settle(page, recorder)
            page.evaluate("document.fonts.ready")
            out = screenshots / f"{lang}-{name}.png"
            page.screenshot(path=out)
            written.append(out)
    finally:
        tab.close()
    for out in written:
        assert out.stat().st_size > 10_000, f"{out} looks empty"
