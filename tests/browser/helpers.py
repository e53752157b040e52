"""Browser-side helpers: contexts that record every request, page visits, page-weight measurement.

Every context made here (:class:`Tab`) routes all requests through Playwright:
requests to the test server go through, anything else is recorded and aborted (no test depends on,
or waits for, the internet). Routing also disables Chromium's HTTP cache, so every page load is a
first view: the bytes recorded are what a new reader downloads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Request, Response, Route

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# DESIGN.md: flags for Debian's Chromium on a small headless machine. Playwright's launch() already
# gives every run a new, empty, temporary user-data dir (and removes it on close).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@dataclass
class Seen:
    """One request a page made, with what came back."""

    url: str
    resource_type: str
    status: int | None = None  # None: aborted or failed before a response
    body_bytes: int = 0
    header_bytes: int = 0
    failure: str | None = None


@dataclass
class Recorder:
    """Everything one context asked for. ``external``: URLs that would have left the site."""

    origin: str
    seen: list[Seen] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    pending: int = 0
    last_event: float = field(default_factory=time.monotonic)
    _by_request: dict[int, Seen] = field(default_factory=dict, repr=False)
    _finished: list[tuple[Request, Seen]] = field(default_factory=list, repr=False)

    def on_request(self, request: Request) -> None:
        url = request.url
        self.last_event = time.monotonic()
        if url.startswith("data:"):
            return
        if not url.startswith(self.origin + "/"):
            self.external.append(url)
        seen = Seen(url=url, resource_type=request.resource_type)
        self.seen.append(seen)
        self._by_request[id(request)] = seen
        self.pending += 1

    def on_finished(self, request: Request) -> None:
        seen = self._by_request.pop(id(request), None)
        if seen is not None:
            self._finished.append((request, seen))
            self._done()

    def on_failed(self, request: Request) -> None:
        seen = self._by_request.pop(id(request), None)
        if seen is not None:
            seen.failure = request.failure or "failed"
            self._done()

    def _done(self) -> None:
        self.pending -= 1
        self.last_event = time.monotonic()

    def settle(self) -> None:
        """Fill in status and sizes of the finished requests."""
        for request, seen in self._finished:
            response = request.response()
            seen.status = response.status if response else None
            sizes = request.sizes()
            # Chromium reports 0 body bytes for a worker's own script; Content-Length has them.
            length = response.headers.get("content-length", "0") if response else "0"
            seen.body_bytes = sizes["responseBodySize"] or int(length)
            seen.header_bytes = sizes["responseHeadersSize"]
        self._finished.clear()


class Tab:
    """A context whose requests are all recorded, with one page that can open many pages in turn.

    Each :meth:`open` starts a new :class:`Recorder`, so its numbers are those of that page alone;
    with routing on, Chromium does not cache, so every :meth:`open` is a first view.
    """

    def __init__(self, browser: Browser, origin: str, **options: Any) -> None:
        self.origin = origin
        self.recorder = Recorder(origin=origin)
        self.context = browser.new_context(**options)
        self.context.set_default_timeout(15_000)
        self.context.on("request", lambda r: self.recorder.on_request(r))
        self.context.on("requestfinished", lambda r: self.recorder.on_finished(r))
        self.context.on("requestfailed", lambda r: self.recorder.on_failed(r))
        self.context.route("**/*", self._route)
        self._page: Page | None = None
        # Set while following a link whose target only needs to answer (a language switch):
        # that page's own stylesheets, scripts and fonts are not fetched (it is visited itself).
        self.documents_only = False

    def _route(self, route: Route) -> None:
        if route.request.url.startswith(self.origin + "/"):
            if self.documents_only and route.request.resource_type != "document":
                route.abort("blockedbyclient")
                return
            route.continue_()
        else:  # recorded by on_request; never let it reach the network
            route.abort("blockedbyclient")

    @property
    def page(self) -> Page:
        if self._page is None:
            self._page = self.context.new_page()
        return self._page

    def open(self, path: str) -> Response | None:
        """Go to ``path`` with a fresh recorder and wait until the page is quiet."""
        if self._page is not None and self.recorder.seen:
            # Stop what the last page still loads and let its late events (a worker it started,
            # requests it cancelled) reach its own recorder before this page gets a new one.
            self._page.goto("about:blank")
            settle(self._page, self.recorder, quiet_ms=100, limit_s=3)
        self.recorder = Recorder(origin=self.origin)
        self.documents_only = False
        response = self.page.goto(self.origin + path)
        settle(self.page, self.recorder)
        return response

    def close(self) -> None:
        # Requests still in flight (e.g. the page a language switch started) would make Playwright
        # print cancelled route handlers when the context closes under them.
        self.context.unroute_all(behavior="ignoreErrors")
        self.context.close()


def settle(page: Page, recorder: Recorder, quiet_ms: int = 150, limit_s: float = 10.0) -> None:
    """Wait for the load event, then until no request is open and none started for ``quiet_ms``
    (the search worker's index, Material's sitemap look-ups and fonts arrive after the load
    event); then fill in statuses and sizes."""
    page.wait_for_load_state("load")
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        quiet = time.monotonic() - recorder.last_event
        if recorder.pending <= 0 and quiet >= quiet_ms / 1000:
            break
        page.wait_for_timeout(25)
    recorder.settle()


@dataclass
class Weight:
    """Page weight of one first view: every request and the bytes that came back."""

    url: str
    requests: int
    bytes: int  # bodies + response headers, as transferred (the test server does not compress)
    body_bytes: int
    by_type: dict[str, dict[str, int]]
    resources: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "requests": self.requests,
            "bytes": self.bytes,
            "kib": round(self.bytes / 1024, 1),
            "body_bytes": self.body_bytes,
            "by_type": self.by_type,
            "resources": self.resources,
        }


def measure(browser: Browser, origin: str, path: str) -> Weight:
    """Load ``origin + path`` in a new context (first view, cache disabled) and add up what came
    back once the page is quiet (search index and fonts included)."""
    tab = Tab(browser, origin, viewport={"width": 1280, "height": 900})
    try:
        tab.page.goto(origin + path)
        settle(tab.page, tab.recorder, quiet_ms=500)
    finally:
        tab.close()
    recorder = tab.recorder
    by_type: dict[str, dict[str, int]] = {}
    resources = []
    for s in recorder.seen:
        kind = by_type.setdefault(s.resource_type, {"requests": 0, "bytes": 0})
        kind["requests"] += 1
        kind["bytes"] += s.body_bytes + s.header_bytes
        resources.append(
            {
                "url": s.url[len(origin) :] if s.url.startswith(origin) else s.url,
                "type": s.resource_type,
                "status": s.status,
                "bytes": s.body_bytes + s.header_bytes,
            }
        )
    return Weight(
        url=path,
        requests=len(recorder.seen),
        bytes=sum(s.body_bytes + s.header_bytes for s in recorder.seen),
        body_bytes=sum(s.body_bytes for s in recorder.seen),
        by_type=by_type,
        resources=resources,
    )


BARE_CONFIG = """\
site_name: Bare Material
theme:
  name: material
  font: false
"""


def build_bare_material(root: Path, topic: str) -> Path:
    """Build ``<chapter>/<topic>.md`` of both languages (the same Markdown files) with bare
    Material into ``root/site``; return that folder.

    Bare: ``theme: material`` with ``font: false`` (no Google Fonts), default plugins (search), no
    hooks, extra CSS or plugins, but the handbook's own Markdown extensions (so text, code,
    admonitions and folded answers are the same HTML; formulas stay TeX text and figure links
    stay links, as without our hooks).
    """
    ours = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    extensions = ours[ours.index("\nmarkdown_extensions:") : ours.index("\nnav:")]
    extensions = extensions.replace("!relative $config_dir", json.dumps(str(ROOT)))
    for lang in ("zh", "en"):
        target = root / "docs" / lang / f"{topic}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / "docs" / lang / f"{topic}.md").read_bytes())
    (root / "mkdocs.yml").write_text(BARE_CONFIG + extensions, encoding="utf-8")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(root / "site")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise RuntimeError(f"building the bare Material pages failed:\n{build.stderr}")
    return root / "site"
