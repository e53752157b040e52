"""Fixtures for the browser tests: the built site on a local server, one headless Chromium.

Nothing here skips: without /usr/bin/chromium or a built site/ the tests fail and say what to do.
Numbers the tests measure (page weight, search timing, index sizes) are collected in ``metrics``,
written to ``site/_screenshots/metrics.json`` and printed at the end of the pytest run.

The session runs on both cores (``pytest -n 2 --dist loadgroup``): every test of one page, one
language's search box or one module is grouped on one worker, so a page is still visited once.
Each worker writes its numbers to ``metrics.<worker>.json``; the controller merges them.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.browser.server import Served, serve

SCREENSHOTS = pages.SITE / "_screenshots"
METRICS: pytest.StashKey[dict[str, Any]] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[METRICS] = {}
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        for stale in SCREENSHOTS.glob("metrics.*.json"):
            stale.unlink()


def _group(item: pytest.Item) -> str:
    """The xdist group: tests that share a session fixture's state run on the same worker."""
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    module = item.path.stem
    if "path" in params:  # test_pages: the five checks of one page read one visit
        return f"page:{params['path']}"
    if (
        module in ("test_search", "test_search_quality") and "lang" in params
    ):  # one search box per language
        return f"search:{params['lang']}"
    return f"module:{module}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group(_group(item)))


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
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and collected and pages.SITE.is_dir():
        SCREENSHOTS.mkdir(exist_ok=True)
        text = json.dumps(collected, ensure_ascii=False)
        (SCREENSHOTS / f"metrics.{worker}.json").write_text(text, encoding="utf-8")


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _all_metrics(config: pytest.Config) -> dict[str, Any]:
    """This process's numbers plus every worker's, written once to metrics.json."""
    collected = dict(config.stash.get(METRICS, {}))
    for part in sorted(SCREENSHOTS.glob("metrics.*.json")):
        _merge(collected, json.loads(part.read_text(encoding="utf-8")))
        part.unlink()
    if collected and pages.SITE.is_dir():
        SCREENSHOTS.mkdir(exist_ok=True)
        text = json.dumps(collected, ensure_ascii=False, indent=2)
        (SCREENSHOTS / "metrics.json").write_text(text + "\n", encoding="utf-8")
    return collected


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


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    collected = _all_metrics(config)
    if collected:
        terminalreporter.section("browser metrics (also in site/_screenshots/metrics.json)")
        for line in summary_lines(collected):
            terminalreporter.write_line(line)


def _kib(n: float) -> str:
    return f"{n / 1024:.0f} KiB"


def summary_lines(m: dict[str, Any]) -> list[str]:
    """The numbers a reviewer asks for, one line each."""
    lines = []
    weight = m.get("page_weight", {})
    bare = weight.get("bare_material")
    if bare:
        lines.append(f"bare Material page: {bare['requests']} requests, {_kib(bare['bytes'])}")
    for lang in pages.LANGS:
        w = weight.get(f"topic_{lang}")
        if w:
            by_type = ", ".join(
                f"{k} {v['requests']}/{_kib(v['bytes'])}" for k, v in w["by_type"].items()
            )
            lines.append(
                f"topic page {w['url']}: {w['requests']} requests, {_kib(w['bytes'])} "
                f"= {w['ratio_bytes_vs_bare']}x bare Material bytes, "
                f"{w['ratio_requests_vs_bare']}x its requests ({by_type})"
            )
    for lang, s in m.get("search", {}).items():
        lines.append(
            f"search {lang}: {s['queries']} queries, keystroke to results median {s['median_ms']} ms, "
            f"max {s['max_ms']} ms; the worker answered its first query "
            f"{s['index_ready_ms']} ms after the page was quiet"
        )
    for lang, q in m.get("search_quality", {}).items():
        kinds = ", ".join(f"{k} {h}/{n}" for k, (h, n) in sorted(q["by_kind"].items()))
        lines.append(
            f"search quality {lang}: {q['hits']}/{q['queries']} queries find their page in the "
            f"top 3 = {q['precision_at_3']:.0%} ({kinds})"
        )
    for lang, s in m.get("search_index", {}).items():
        lines.append(
            f"search {lang}: the first query ({s['first_query']}) fetched {s['first_query_requests']} "
            f"files, {_kib(s['first_query_bytes'])}; the {lang} index is "
            f"{_kib(s['index_bytes_on_disk'])} in {s['index_chunks_on_disk']} chunks on disk"
        )
    live = m.get("live_preview")
    if live:
        lines.append(
            f"live preview: page edit -> both languages {live['page_edit_to_both_languages_s']} s, "
            f"snippet edit -> both languages {live['snippet_edit_to_both_languages_s']} s"
        )
    every = m.get("pages", {})
    if every:
        heaviest = sorted(every.items(), key=lambda kv: -kv[1]["bytes"])[:3]
        lines.append(
            f"pages visited: {len(every)}; heaviest: "
            + ", ".join(f"{p} {_kib(v['bytes'])}/{v['requests']} req" for p, v in heaviest)
        )
    return lines
