"""Fixtures for the browser tests: the built site on a local server, one headless Chromium.

Nothing here skips: without /usr/bin/chromium or a built site/ the tests fail and say what to do.
Numbers the tests measure (page weight, search timing, index sizes) are collected in ``metrics``,
written to ``site/_screenshots/metrics.json`` and printed at the end of the pytest run.

The session runs on both cores (``pytest -n 2 --dist loadgroup``): the tests that share a page
visit, a language's search box or a module's server carry the same ``xdist_group`` mark (set
where they are parametrized), so they run on one worker and a page is still visited once.
Each process writes its numbers to ``metrics.<worker>.json``; ``tests/browser/metrics.py``
merges them into ``metrics.json`` and prints them (from the root conftest, which the xdist
controller loads even when it never imports this one).
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.nodes import NodeId

from tests.browser import pages
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.browser.server import Served, serve

SCREENSHOTS = pages.SITE / "_screenshots"
METRICS: pytest.StashKey[dict[str, Any]] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[METRICS] = {}


# pytest-xdist 3.8 groups `--dist loadgroup` tests by appending "@<group>" to `item._nodeid`, which
# pytest 9 no longer reads (a node id is the structured `item._id`), so every test became its own
# group. Until xdist follows, the worker appends the group to the structured id itself.
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _GroupedId(NodeId):
    group: str = ""

    def __str__(self) -> str:
        return f"{NodeId.__str__(self)}@{self.group}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not (hasattr(config, "workerinput") and config.getvalue("loadgroup")):
        return
    for item in items:
        groups = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
        if groups and "@" not in item.nodeid.rsplit("]", 1)[-1]:
            old = item._id
            item._id = _GroupedId(
                path=old.path, names=old.names, params=old.params, group="_".join(groups)
            )


@pytest.fixture(scope="session")
def site() -> Path:
    if not (pages.SITE / "index.html").is_file():
        pytest.fail(
            f"{pages.SITE} is not built: run `nox -s browser` (it builds the site when missing) "
            "or `mkdocs build --strict --site-dir site`, then run the browser tests again",
            pytrace=False,
        )
    return pages.SITE


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[Served]:
    with serve(site) as served:
        yield served


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"the browser tests drive Debian's Chromium at {CHROMIUM}, which is missing: install it "
            "with `sudo apt-get install chromium fonts-wqy-microhei` (`nox -s browser` does this "
            "itself when run as root); never `playwright install`",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def metrics(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Numbers for the reviewer; written to site/_screenshots/metrics.json after the session."""
    collected = request.config.stash[METRICS]
    yield collected
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if collected and pages.SITE.is_dir():
        SCREENSHOTS.mkdir(exist_ok=True)
        text = json.dumps(collected, ensure_ascii=False)
        (SCREENSHOTS / f"metrics.{worker}.json").write_text(text, encoding="utf-8")


@pytest.fixture(scope="session")
def screenshots(site: Path) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def search_box(browser: Any, server: Any, metrics: dict) -> Iterator[Callable[[str], Any]]:
    """The header search box of each language's home page, reused by the search tests."""
    from tests.browser.helpers import Tab
    from tests.browser.test_search import SearchBox

    boxes: dict[str, Any] = {}
    tabs = []

    def get(lang: str) -> Any:
        if lang not in boxes:
            tab = Tab(browser, server.url, viewport={"width": 1280, "height": 900})
            tabs.append(tab)
            tab.open(pages.PREFIX[lang])  # waits until the search worker has fetched its index
            boxes[lang] = SearchBox(tab.page)
        return boxes[lang]

    yield get
    for lang, box in boxes.items():
        times = [t for _, t in box.timings]
        if times:
            metrics.setdefault("search", {})[lang] = {
                "queries": len(times),
                "index_ready_ms": box.ready_ms,
                "first_ms": times[0],
                "median_ms": round(statistics.median(times), 1),
                "max_ms": max(times),
                "each_ms": dict(box.timings),
            }
    for tab in tabs:
        tab.close()
