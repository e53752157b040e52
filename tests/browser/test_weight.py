"""Page weight of a topic page against a bare Material page, and the size of each search index.

The bare pages are built inside the test session with the same MkDocs and Material versions, from
the same Markdown files (the showcase topic in both languages): ``theme: material`` with
``font: false`` (no Google Fonts), default plugins (search), the handbook's Markdown extensions,
no hooks.
Both are measured the same way (first view in a new context, cache disabled, until the page is
quiet, search index and fonts included). The numbers go to ``site/_screenshots/metrics.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab, build_bare_material, measure, settle
from tests.browser.server import Served, serve

# One server (or bare build) per module: its tests run on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("module:test_weight")]

MAX_RATIO_VS_BARE = 1.3  # first-view bytes and requests of a topic page against bare Material


@pytest.fixture(scope="session")
def bare_material(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The showcase topic's two pages (same Markdown files) built with bare Material."""
    site = build_bare_material(tmp_path_factory.mktemp("bare-material"), pages.showcase_topic())
    with serve(site) as served:
        yield served


@pytest.mark.parametrize("lang", pages.LANGS)
def test_topic_page_weight_against_bare_material(
    browser: Any, server: Served, bare_material: Served, metrics: dict, lang: str
) -> None:
    path = f"{pages.PREFIX[lang]}{pages.showcase_topic()}/"
    topic = measure(browser, server.url, path)
    weights = metrics.setdefault("page_weight", {})
    bare = weights[f"bare_material_{lang}"] = measure(
        browser, bare_material.url, f"/{lang}/{pages.showcase_topic()}/"
    ).as_dict()
    assert any(r["type"] == "document" and r["status"] == 200 for r in bare["resources"]), bare
    document = next((r for r in topic.resources if r["type"] == "document"), {})
    assert document.get("status") == 200, f"{path} answered {document.get('status')}"
    # The bare page's figure links ("figure:...") are requests without an answer: not counted.
    answered = sum(1 for r in bare["resources"] if r["status"] is not None)
    ratio = topic.bytes / bare["bytes"]
    weights[f"topic_{lang}"] = topic.as_dict() | {
        "ratio_bytes_vs_bare": round(ratio, 2),
        "ratio_requests_vs_bare": round(topic.requests / answered, 2),
    }
    assert ratio <= MAX_RATIO_VS_BARE, (
        f"{path}: {topic.bytes / 1024:.0f} KiB on first view, {ratio:.2f}x the same Markdown "
        f"built with bare Material ({bare['bytes'] / 1024:.0f} KiB); the target is "
        f"{MAX_RATIO_VS_BARE}x. By type: {topic.by_type}"
    )
    requests_ratio = topic.requests / answered
    assert requests_ratio <= MAX_RATIO_VS_BARE, (
        f"{path}: {topic.requests} requests on first view against {answered} for the same "
        f"Markdown built with bare Material ({requests_ratio:.2f}x; the target is "
        f"{MAX_RATIO_VS_BARE}x): "
        + ", ".join(r["url"].rsplit("/", 1)[-1] for r in topic.as_dict()["resources"])
    )
    assert topic.bytes < pages.MAX_TOPIC_BYTES, (
        f"{path} transfers {topic.bytes / 1e6:.2f} MB on first view"
    )
    assert topic.requests < pages.MAX_TOPIC_REQUESTS, f"{path} makes {topic.requests} requests"


SEARCH_FILES = ("/pagefind/", "/search/search_index.json", "/assets/search-words.")
FIRST_QUERY = {"zh": "感受野", "en": "receptive field"}


def _search_bytes(tab: Tab, origin: str) -> tuple[int, int, list[str]]:
    """(requests, bytes, urls) of the search files the tab has fetched so far."""
    seen = [s for s in tab.recorder.seen if any(f in s.url for f in SEARCH_FILES)]
    urls = [s.url[len(origin) :] for s in seen]
    return len(seen), sum(s.body_bytes + s.header_bytes for s in seen), urls


@pytest.mark.parametrize("lang", pages.LANGS)
def test_first_view_fetches_no_search_index_and_search_fetches_it(
    browser: Any, server: Served, metrics: dict, lang: str
) -> None:
    """No search file before the reader opens the search; then Pagefind's files for one query
    (its script, WebAssembly, the language's index chunks), from this site only."""
    path = f"{pages.PREFIX[lang]}{pages.showcase_topic()}/"
    tab = Tab(browser, server.url, viewport={"width": 1280, "height": 900})
    try:
        tab.page.goto(server.url + path)
        settle(tab.page, tab.recorder, quiet_ms=300)
        before = _search_bytes(tab, server.url)
        assert before[0] == 0, f"{path} downloads search files before any search: {before[2]}"
        tab.page.keyboard.press("/")  # Material's shortcut: open the search
        box = tab.page.locator("input.md-search__input")
        box.fill(FIRST_QUERY[lang])
        box.press("End")
        tab.page.wait_for_selector(".md-search-result__item", timeout=20_000)
        settle(tab.page, tab.recorder, quiet_ms=300)
        requests, size, urls = _search_bytes(tab, server.url)
    finally:
        tab.close()
    pagefind = [u for u in urls if u.startswith("/pagefind/")]
    assert any(u.endswith("pagefind.js") for u in pagefind), urls
    other = "en" if lang == "zh" else "zh"
    assert any(f"/pagefind.{lang}_" in u for u in pagefind), (
        f"the {lang} page did not load Pagefind's {lang} index: {pagefind}"
    )
    assert not any(f"/pagefind.{other}_" in u or f"/{other}_" in u for u in pagefind), (
        f"the {lang} page loaded the {other} index: {pagefind}"
    )
    index = pages.SITE / "pagefind" / "index"
    metrics.setdefault("search_index", {})[lang] = {
        "first_query": FIRST_QUERY[lang],
        "first_query_requests": requests,
        "first_query_bytes": size,
        "index_chunks_on_disk": len(list(index.glob(f"{lang}_*.pf_index"))),
        "index_bytes_on_disk": sum(f.stat().st_size for f in index.glob(f"{lang}_*.pf_index")),
    }
