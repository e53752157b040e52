"""What a reader sees on a desktop (1280 px) and a phone (390 px): readable diagrams, and wide
formulas, tables and diagrams that show they scroll sideways."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab, settle

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
MIN_LABEL_PX = 11


def _pages_with(marker: str) -> list[str]:
    found = []
    for lang in pages.LANGS:
        for source in sorted((pages.DOCS / lang).rglob("*.md")):
            if marker in source.read_text(encoding="utf-8"):
                rel = source.relative_to(pages.DOCS / lang).with_suffix("")
                path = "" if rel.name == "index" and rel.parent == rel.parent.parent else str(rel)
                path = path.removesuffix("/index").removesuffix("index")
                found.append(f"{pages.PREFIX[lang]}{path}/".replace("//", "/"))
    return found


DIAGRAM_PAGES = _pages_with("```mermaid")

# The smallest label of each diagram, in CSS pixels on the screen.
LABELS = """() => [...document.querySelectorAll('.hb-diagram svg')].map(svg => {
  const box = svg.viewBox.baseVal;
  const scale = box && box.width ? svg.getBoundingClientRect().width / box.width : 1;
  const labels = [...svg.querySelectorAll('text, foreignObject span, foreignObject div')]
    .filter(el => el.textContent.trim());
  const sizes = labels.map(el => parseFloat(getComputedStyle(el).fontSize) * scale);
  return {labels: labels.length, min: sizes.length ? Math.min(...sizes) : null,
          text: labels.length ? labels[0].textContent.trim().slice(0, 30) : ''};
})"""

OVERFLOW = """() => [...document.querySelectorAll('.katex-display, .md-typeset__scrollwrap, .hb-diagram')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => ({kind: el.className, hinted: el.classList.contains('hb-scrolls')}))"""


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("path", DIAGRAM_PAGES)
def test_diagram_labels_are_readable(browser: Any, server: Any, path: str, viewport: str) -> None:
    tab = Tab(browser, server.url, viewport=VIEWPORTS[viewport])
    try:
        tab.page.goto(server.url + path)
        settle(tab.page, tab.recorder, quiet_ms=150)
        diagrams = tab.page.evaluate(LABELS)
        wide = tab.page.evaluate(OVERFLOW)
    finally:
        tab.close()
    assert diagrams, f"{path} has a mermaid block in its source but no drawn diagram"
    small = [d for d in diagrams if d["min"] is None or d["min"] < MIN_LABEL_PX]
    assert small == [], f"{path} ({viewport}): diagram labels below {MIN_LABEL_PX} px: {small}"
    unhinted = [w["kind"] for w in wide if not w["hinted"]]
    assert unhinted == [], (
        f"{path} ({viewport}): wide blocks that scroll without a hint: {unhinted}"
    )


@pytest.mark.parametrize("path", ["/glossary/", "/en/glossary/", "/detection/iou/"])
def test_wide_blocks_on_a_phone_show_that_they_scroll(browser: Any, server: Any, path: str) -> None:
    tab = Tab(browser, server.url, viewport=VIEWPORTS["phone"])
    try:
        tab.page.goto(server.url + path)
        settle(tab.page, tab.recorder, quiet_ms=150)
        wide = tab.page.evaluate(OVERFLOW)
    finally:
        tab.close()
    assert wide, f"nothing on {path} is wider than a phone: pick a page with a wide table"
    assert all(w["hinted"] for w in wide), f"{path}: wide blocks without a hint: {wide}"
