"""Search as a reader uses it: type into the header's search box, read the top three results.

For every topic (the table in ``pages.TOPICS``), its name and a word from the middle of one of its
sentences find the page among the top three results, in the reader's language: a Chinese query on
a Chinese page lists Chinese pages only, an English query on an English page English pages only.
Material searches on ``keyup``; the query is filled in and then End is pressed (Playwright inserts
Chinese text without key events). The time from that keystroke to the first results is recorded.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages

pytestmark = pytest.mark.browser

TOP = 3
QUERIES = [
    pytest.param(
        topic,
        lang,
        query,
        id=f"{lang}-{kind}-{topic.page}",
        marks=pytest.mark.xdist_group(f"search:{lang}"),  # one search box per language
    )
    for topic in pages.TOPICS
    for lang, kind, query in (
        ("zh", "name", topic.zh_name),
        ("en", "name", topic.en_name),
        ("zh", "term", topic.zh_term),
        ("en", "term", topic.en_term),
    )
]

# Resolves when results are listed (or Material says there are none) after the last keyup.
WATCH = """() => {
  const input = document.querySelector('.md-search__input');
  const list = document.querySelector('.md-search-result__list');
  const meta = document.querySelector('.md-search-result__meta');
  const none = JSON.parse(document.getElementById('__config').textContent)
    .translations['search.result.none'];
  const state = window.__hbSearch = {keyup: null, done: null, items: 0};
  input.addEventListener('keyup', () => { state.keyup = performance.now(); }, {capture: true});
  const check = () => {
    if (state.done !== null || state.keyup === null) return;
    const items = list.querySelectorAll('.md-search-result__item').length;
    if (items > 0 || meta.textContent.trim() === none) {
      state.done = performance.now();
      state.items = items;
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(list, {childList: true, subtree: true});
  observer.observe(meta, {childList: true, subtree: true, characterData: true});
}"""

RESULTS = """() => [...document.querySelectorAll(
  '.md-search-result__list > .md-search-result__item > a.md-search-result__link')].map(a => a.href)"""


class SearchBox:
    """The search box of one page (home page of one language), reused for all its queries."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.input = page.locator("input.md-search__input")
        self.timings: list[tuple[str, float]] = []
        self.ready_ms = self._wait_until_ready()

    def _wait_until_ready(self) -> float:
        """Search once and wait for Material's answer: the worker has built its index.

        Material also searches when the worker becomes ready, with whatever is in the box; a query
        typed before that would get its results without a keystroke of ours to time."""
        start = time.monotonic()
        self.input.click()
        self.input.fill("IoU")
        self.input.press("End")
        self.page.wait_for_function(
            """() => {
              const config = JSON.parse(document.getElementById('__config').textContent);
              const meta = document.querySelector('.md-search-result__meta').textContent.trim();
              return meta !== '' && meta !== config.translations['search.result.placeholder'];
            }""",
            timeout=20_000,
        )
        return round((time.monotonic() - start) * 1000, 1)

    def search(self, query: str) -> tuple[list[str], float, str]:
        """Type ``query``; return the result pages (paths, best first), the time in ms from the
        keystroke to the results, and Material's summary line."""
        page = self.page
        self.input.click()
        self.input.fill("")
        self.input.press("End")
        page.wait_for_function("() => !document.querySelector('.md-search-result__item')")
        page.evaluate(WATCH)
        self.input.fill(query)  # no key events: Material has not searched yet
        self.input.press("End")  # the keyup Material listens to
        try:
            page.wait_for_function("() => window.__hbSearch.done !== null", timeout=10_000)
        except Exception:
            meta = page.inner_text(".md-search-result__meta")
            pytest.fail(f"no search results for {query!r} within 10 s (Material says: {meta!r})")
        state = page.evaluate("() => window.__hbSearch")
        elapsed = state["done"] - state["keyup"]
        self.timings.append((query, round(elapsed, 1)))
        seen: list[str] = []
        for href in page.evaluate(RESULTS):
            path = urllib.parse.urlsplit(href).path
            if path not in seen:
                seen.append(path)
        return seen, elapsed, page.inner_text(".md-search-result__meta")


@pytest.mark.parametrize(("topic", "lang", "query"), QUERIES)
def test_search_finds_the_topic_in_the_readers_language(
    search_box: Callable[[str], SearchBox], topic: pages.Topic, lang: str, query: str
) -> None:
    expected = topic.path(lang)
    found, _, meta = search_box(lang).search(query)
    wrong_language = [p for p in found if pages.lang_of(p) != lang]
    assert not wrong_language, (
        f"{lang} search for {query!r} lists other-language pages: {wrong_language}"
    )
    assert expected in found[:TOP], (
        f"{lang} search for {query!r}: {expected} is not in the top {TOP}: {found[:5]} ({meta})"
        + (
            ""
            if (pages.SITE / expected.strip("/") / "index.html").exists()
            else " - page not built"
        )
    )


def _prose_lines(md: str) -> list[str]:
    """Lines of running text: no front matter, headings, code, snippet includes, tables, figures."""
    md = re.sub(r"^(\s*)(```|~~~).*?^\1\2[^\n]*$", "", md, flags=re.S | re.M)
    keep = []
    for line in md.splitlines():
        s = line.strip()
        if not s or s.startswith(("#", "|", "![", "--8<--", "<", "???", "!!!", "$$")):
            continue
        keep.append(s)
    return keep


@pytest.mark.parametrize(
    ("topic", "lang"),
    [pytest.param(t, lang, id=f"{lang}-{t.page}") for t in pages.TOPICS for lang in pages.LANGS],
)
def test_query_terms_are_mid_sentence_on_the_pages(topic: pages.Topic, lang: str) -> None:
    """The table's mid-sentence term must occur inside a sentence of the page, not only in a
    heading or at the start of a line (else the search test would only test titles)."""
    source = pages.DOCS / lang / f"{topic.page}.md"
    assert source.exists(), f"topic page {source.relative_to(pages.ROOT)} is missing"
    term = topic.zh_term if lang == "zh" else topic.en_term
    lines = _prose_lines(source.read_text(encoding="utf-8"))
    mid = [
        s for s in lines if term.lower() in s.lower()[1:] and not s.lower().startswith(term.lower())
    ]
    assert mid, (
        f"{term!r} does not occur mid-sentence in {source.relative_to(pages.ROOT)}: pick a word "
        "from its prose for the table in tests/browser/pages.py"
    )


@pytest.mark.parametrize(
    ("topic", "lang"),
    [pytest.param(t, lang, id=f"{lang}-{t.page}") for t in pages.TOPICS for lang in pages.LANGS],
)
def test_topic_page_is_built(site: Path, topic: pages.Topic, lang: str) -> None:
    source = pages.DOCS / lang / f"{topic.page}.md"
    built = site / topic.path(lang).strip("/") / "index.html"
    assert source.exists(), f"topic page {source.relative_to(pages.ROOT)} is missing"
    assert built.exists(), (
        f"{source.relative_to(pages.ROOT)} exists but {built.relative_to(pages.ROOT)} does not: "
        "rebuild the site (`nox -s browser -- --build`)"
    )
