"""The navigation grouped into tracks, on a desktop (1280 px) and a phone (390 px), both languages.

* desktop: the header shows exactly the six tabs (home, the four tracks of tools/pages.py TRACKS,
  tools) on one line, none cut off; the language switcher of a topic page leads to the same topic;
* phone: the drawer opens, a reader goes track -> chapter -> topic, and on the topic page the
  track box and the next-in-track link are visible and nothing is wider than the screen.

Screenshots go to ``$HANDBOOK_SHOTS`` (default ``/tmp/shots-nav``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab
from tests.browser.server import serve
from tools import pages as handbook_pages

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("nav")]

SITE = Path(os.environ.get("HANDBOOK_SITE") or pages.SITE)
SHOTS = Path(os.environ.get("HANDBOOK_SHOTS") or "/tmp/shots-nav")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TOOLS = {"zh": "工具", "en": "Toolbox"}
HOME = {"zh": "首页", "en": "Home"}
# The walk on the phone: track -> chapter (its nav title) -> topic.
WALK = {
    "zh": ("计算机视觉", "目标检测", "detection/nms"),
    "en": ("Computer vision", "Object detection", "detection/nms"),
}

TABS = """() => [...document.querySelectorAll('.md-tabs__item')].map(li => {
  const r = li.getBoundingClientRect();
  return {text: li.textContent.trim(), top: Math.round(r.top), left: r.left, right: r.right,
          visible: r.width > 0 && r.height > 0};
})"""
TABS_LIST = """() => { const ul = document.querySelector('.md-tabs__list');
  return {scroll: ul.scrollWidth, client: ul.clientWidth, viewport: window.innerWidth}; }"""
VISIBLE = """sel => { const el = document.querySelector(sel); if (!el) return null;
  const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  return {left: r.left, right: r.right, width: r.width, height: r.height,
          shown: s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0}; }"""
AT_REST = """sel => { const el = document.querySelector(sel); if (!el) return false;
  const left = String(Math.round(el.getBoundingClientRect().left));
  const rest = left === '0' && el.dataset.hbLeft === left; el.dataset.hbLeft = left; return rest; }"""
PAGE_WIDTH = "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} holds no built site: build it (or set HANDBOOK_SITE)", pytrace=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(SITE) as server:
        yield server


@pytest.mark.parametrize("lang", pages.LANGS)
def test_desktop_header_shows_the_six_tabs_on_one_line(
    browser: Any, served: Any, lang: str
) -> None:
    tab = Tab(browser, served.url, viewport=DESKTOP)
    try:
        tab.open(pages.PREFIX[lang])
        tabs = tab.page.evaluate(TABS)
        box = tab.page.evaluate(TABS_LIST)
        tab.page.screenshot(path=str(SHOTS / f"desktop-home-{lang}.png"))
        # the language switcher of a topic page leads to the same topic in the other language
        topic = WALK[lang][2]
        tab.open(f"{pages.PREFIX[lang]}{topic}/")
        tab.page.screenshot(path=str(SHOTS / f"desktop-topic-{lang}.png"))
        links = tab.page.eval_on_selector_all(
            ".md-select__link", "els => els.map(a => a.getAttribute('href'))"
        )
    finally:
        tab.close()
    want = [HOME[lang], *[str(t[lang]) for t in handbook_pages.TRACKS.values()], TOOLS[lang]]
    assert [t["text"] for t in tabs] == want
    assert all(t["visible"] for t in tabs), tabs
    assert len({t["top"] for t in tabs}) == 1, f"the tabs wrap onto two lines: {tabs}"
    assert box["scroll"] <= box["client"] and tabs[-1]["right"] <= box["viewport"], (box, tabs)
    other = "en" if lang == "zh" else "zh"
    here = f"{pages.PREFIX[lang]}{topic}/"
    there = f"{pages.PREFIX[other]}{topic}/"
    resolved = {
        os.path.normpath(os.path.join(here, h)).rstrip("/") + "/" for h in links if h is not None
    }
    assert there in resolved, f"the language switcher of {here} offers {links}, not {there}"


@pytest.mark.parametrize("lang", pages.LANGS)
def test_phone_drawer_leads_track_chapter_topic(browser: Any, served: Any, lang: str) -> None:
    track, chapter, topic = WALK[lang]
    tab = Tab(browser, served.url, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = tab.page
        tab.open(pages.PREFIX[lang])
        home_width = page.evaluate(PAGE_WIDTH)
        page.locator("#tracks").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"phone-home-map-{lang}.png"))
        page.locator('label.md-header__button[for="__drawer"]').click()
        page.wait_for_function(AT_REST, arg=".md-sidebar--primary")
        primary = page.locator(".md-nav--primary")
        # each level slides in; a reader taps the next one once it has arrived
        label = primary.locator("label.md-nav__link", has_text=track).first
        label.click()
        page.wait_for_function(AT_REST, arg=f'nav[aria-labelledby="{label.get_attribute("id")}"]')
        label = primary.locator(".md-nav__container", has_text=chapter).first.locator("label")
        label.click()
        page.wait_for_function(AT_REST, arg=f'nav[aria-labelledby="{label.get_attribute("id")}"]')
        link = primary.locator(f'a.md-nav__link[href$="{topic}/"]').first
        at = link.bounding_box()
        page.screenshot(path=str(SHOTS / f"phone-drawer-{lang}.png"))
        link.click()
        page.wait_for_url(f"**{pages.PREFIX[lang]}{topic}/")
        page.wait_for_load_state("load")
        box = page.evaluate(VISIBLE, ".hb-track")
        page.screenshot(path=str(SHOTS / f"phone-topic-{lang}.png"))
        page.locator(".hb-next").scroll_into_view_if_needed()
        nxt = page.evaluate(VISIBLE, ".hb-next")
        page.screenshot(path=str(SHOTS / f"phone-next-{lang}.png"))
        width = page.evaluate(PAGE_WIDTH)
    finally:
        tab.close()
    assert at is not None and at["x"] >= 0 and at["x"] + at["width"] <= PHONE["width"], (
        f"the drawer shows the link to {topic} outside the screen: {at}"
    )
    for name, el in (("track box", box), ("next-in-track box", nxt)):
        assert el is not None and el["shown"], f"{topic} ({lang}): the {name} is not shown: {el}"
        assert el["left"] >= 0 and el["right"] <= PHONE["width"], f"{name} overflows: {el}"
    for where, w in (("home", home_width), (topic, width)):
        assert w["scroll"] <= w["inner"], f"{where} ({lang}) is wider than the phone: {w}"
