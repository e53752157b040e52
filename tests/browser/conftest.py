"""Fixtures for the browser tests: the built site on a local server, one headless Chromium.

Nothing here skips: without /usr/bin/chromium or a built site/ the tests fail and say what to do.
Numbers the tests measure (page weight, search timing, index sizes) are collected in ``metrics``,
written to ``site/_screenshots/metrics.json`` and printed at the end of the pytest run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    if collected and pages.SITE.is_dir():
        SCREENSHOTS.mkdir(exist_ok=True)
        text = json.dumps(collected, ensure_ascii=False, indent=2)
        (SCREENSHOTS / "metrics.json").write_text(text + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def screenshots(site: Path) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collected = config.stash.get(METRICS, {})
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
    for lang, s in m.get("search_index", {}).items():
        lines.append(
            f"search index {lang}: {_kib(s['bytes'])} ({_kib(s['gzip_bytes'])} gzipped), "
            f"{s['entries']} entries from {s['pages']} pages"
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
