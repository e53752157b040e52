"""Draw mermaid diagrams at build time, so readers get an SVG instead of a 2.7 MB script.

The build hook hands each diagram's source to ``render``; it runs the pinned mermaid in headless
Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright, the same pair the browser tests
use) and caches the SVG by the hash of the source, so a diagram is drawn once. Without Chromium
the hook falls back to mermaid in the reader's browser (served from the site, never a CDN).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("HANDBOOK_CHROMIUM", "/usr/bin/chromium"))
CACHE = Path(os.environ.get("HANDBOOK_CACHE", ROOT / ".cache")) / "diagrams"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CONFIG = {
    "startOnLoad": False,
    "theme": "neutral",
    "securityLevel": "strict",
    "fontFamily": "sans-serif",
}


def available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


class Renderer:
    """One headless Chromium for one build; ``close()`` it when the build ends."""

    def __init__(self, mermaid_js: Path) -> None:
        self.mermaid_js = mermaid_js
        self._pw: Any = None
        self._page: Any = None

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        browser = self._pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        self._page = browser.new_page()
        self._page.set_content("<!doctype html><html><body></body></html>")
        self._page.add_script_tag(path=str(self.mermaid_js))
        self._page.evaluate("config => mermaid.initialize(config)", CONFIG)

    def render(self, source: str) -> str:
        key = hashlib.sha256(f"{self.mermaid_js.name}\n{CONFIG}\n{source}".encode()).hexdigest()[
            :24
        ]
        cached = CACHE / f"{key}.svg"
        if cached.exists():
            return cached.read_text(encoding="utf-8")
        if self._page is None:
            self._start()
        svg = self._page.evaluate(
            "async ([id, src]) => (await mermaid.render(id, src)).svg", [f"diagram-{key}", source]
        )
        CACHE.mkdir(parents=True, exist_ok=True)
        cached.write_text(svg, encoding="utf-8")
        return svg

    def close(self) -> None:
        if self._pw is not None:
            self._pw.stop()
        self._pw = self._page = None


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')


def natural_size(svg: str) -> str:
    """The diagram at the size mermaid laid it out (its 16 px labels stay 16 px).

    Mermaid writes ``width="100%"`` and ``max-width: <w>px``: in a narrow column the SVG shrinks
    with its labels (4-7 px on a desktop, 2-4 px on a phone for long chains). With its own width
    and height the diagram keeps readable labels and its container scrolls sideways instead.

    Examples:
        >>> natural_size('<svg width="100%" style="max-width: 300px;" viewBox="0 0 300 80"><g/></svg>')
        '<svg width="300.0" height="80.0" viewBox="0 0 300 80"><g/></svg>'
    """
    head = _SVG_OPEN.search(svg)
    box = _VIEWBOX.search(head.group(0)) if head else None
    if not head or not box:
        return svg
    width, height = (round(float(v), 1) for v in box.groups())
    tag = re.sub(r'\swidth="[^"]*"', "", head.group(0))
    tag = re.sub(r'\sstyle="max-width:[^"]*"', "", tag)
    tag = tag.replace("<svg", f'<svg width="{width}" height="{height}"', 1)
    return svg[: head.start()] + tag + svg[head.end() :]
