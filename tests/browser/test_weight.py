"""Page weight of a topic page against a bare Material page, and the size of each search index.

The bare page is built inside the test session with the same MkDocs and Material versions: one
page of text, ``theme: material`` with ``font: false`` (no Google Fonts), default plugins (search).
Both are measured the same way (first view in a new context, cache disabled, until the page is
quiet, search index and fonts included). The numbers go to ``site/_screenshots/metrics.json``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab, measure, settle
from tests.browser.server import Served, serve

pytestmark = pytest.mark.browser

BARE_CONFIG = """\
site_name: Bare Material
theme:
  name: material
  font: false
"""
BARE_PAGE = """\
# A topic

A bare Material page for comparison: one heading, a few paragraphs of text, no formulas,
no figures, no extra stylesheets.

## Idea

Intersection over union divides the area of the overlap of two boxes by the area of their union.
Non-maximum suppression keeps the highest-scoring box and removes the boxes that overlap it.

## Questions

Why is the suppression condition strictly greater than the threshold? Because that is the
convention of the reference implementation.
"""


@pytest.fixture(scope="session")
def bare_material(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("bare-material")
    (root / "docs").mkdir()
    (root / "mkdocs.yml").write_text(BARE_CONFIG, encoding="utf-8")
    (root / "docs" / "index.md").write_text(BARE_PAGE, encoding="utf-8")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(root / "site")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"building the bare Material page failed:\n{build.stderr}"
    with serve(root / "site") as served:
        yield served


@pytest.mark.parametrize("lang", pages.LANGS)
def test_topic_page_weight_against_bare_material(
    browser: Any, server: Served, bare_material: Served, metrics: dict, lang: str
) -> None:
    path = f"{pages.PREFIX[lang]}{pages.showcase_topic()}/"
    topic = measure(browser, server.url, path)
    weights = metrics.setdefault("page_weight", {})
    if "bare_material" not in weights:
        weights["bare_material"] = measure(browser, bare_material.url, "/").as_dict()
    bare = weights["bare_material"]
    document = next((r for r in topic.resources if r["type"] == "document"), {})
    assert document.get("status") == 200, f"{path} answered {document.get('status')}"
    weights[f"topic_{lang}"] = topic.as_dict() | {
        "ratio_bytes_vs_bare": round(topic.bytes / bare["bytes"], 2),
        "ratio_requests_vs_bare": round(topic.requests / bare["requests"], 2),
    }
    assert topic.bytes < pages.MAX_TOPIC_BYTES, (
        f"{path} transfers {topic.bytes / 1e6:.2f} MB on first view"
    )
    assert topic.requests < pages.MAX_TOPIC_REQUESTS, f"{path} makes {topic.requests} requests"


@pytest.mark.parametrize("lang", pages.LANGS)
def test_search_index_size(site: Path, metrics: dict, lang: str) -> None:
    index = site / pages.PREFIX[lang].strip("/") / "search" / "search_index.json"
    assert index.is_file(), f"{index.relative_to(pages.ROOT)} is missing: one index per language"
    raw = index.read_bytes()
    docs = json.loads(raw)["docs"]
    wrong = [d["location"] for d in docs if d["location"].startswith("en/")]
    assert not wrong, f"the {lang} index holds English locations: {wrong[:5]}"
    metrics.setdefault("search_index", {})[lang] = {
        "bytes": len(raw),
        "kib": round(len(raw) / 1024, 1),
        "gzip_bytes": len(gzip.compress(raw, 9)),
        "entries": len(docs),
        "pages": len({d["location"].split("#")[0] for d in docs}),
    }


@pytest.mark.parametrize("lang", pages.LANGS)
def test_first_view_fetches_no_search_index_and_search_fetches_it(
    browser: Any, server: Served, lang: str
) -> None:
    """docs/assets/lazy-search.js holds Material's index request back until a search starts."""
    path = f"{pages.PREFIX[lang]}{pages.showcase_topic()}/"
    first = measure(browser, server.url, path)
    fetched = [r["url"] for r in first.resources if "search_index" in r["url"]]
    assert fetched == [], f"{path} downloads the search index before any search: {fetched}"
    tab = Tab(browser, server.url, viewport={"width": 1280, "height": 900})
    try:
        tab.page.goto(server.url + path)
        settle(tab.page, tab.recorder, quiet_ms=300)
        with tab.page.expect_response(lambda r: "search/search_index.json" in r.url) as response:
            tab.page.keyboard.press("/")  # Material's shortcut: open the search
        expected = f"{pages.PREFIX[lang]}search/search_index.json"
        assert response.value.url.endswith(expected), response.value.url  # the reader's language
        assert response.value.status == 200
    finally:
        tab.close()
