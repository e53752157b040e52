"""Every page, in a real browser: formulas render, the language switcher keeps the page, nothing
is fetched from another site, every asset loads, and topic pages stay light.

Pages are every page of the docs tree and of the built site (both languages), so new pages are
covered as soon as they exist. Each page is loaded once (a first view: request routing disables
the browser cache), then its language switcher is clicked; the tests below read that one visit.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Seen, Tab

pytestmark = pytest.mark.browser

# The five checks of one page read one visit: same xdist group, same worker.
PAGES = [
    pytest.param(p, id=p, marks=pytest.mark.xdist_group(f"page:{p}")) for p in pages.all_pages()
]
TOPIC_PATHS = {t.path(lang) for t in pages.TOPICS for lang in pages.LANGS}
# What a page may fail to load without the reader noticing. Material fetches ``sitemap.xml`` under
# every ``<link rel="alternate">`` URL (it expects language roots there); mkdocs-static-i18n points
# them at the page itself, so ``/x/y/sitemap.xml`` is a 404. It costs bytes (counted in the page
# weight) but breaks nothing: the switcher's own links are right.
# The favicon is fetched last; the visit's language switch can navigate away before it arrives
# (no status, no failure). A favicon that answers 404 still fails.
UNFINISHED_FAVICON = re.compile(r"/assets/images/favicon\.png$")
# Figures load lazily (loading="lazy"): one below the fold may still be on its way when the visit
# moves on. Such a request is checked by its file instead (it must exist in the built site).
LAZY_FIGURE = re.compile(r"/assets/figures/[0-9a-f]{16}\.svg$")

DOM_FACTS = """() => {
  const q = (s) => document.querySelectorAll(s);
  const katex = document.querySelector('.katex');
  const mathml = document.querySelector('.katex .katex-mathml');
  const box = mathml ? mathml.getBoundingClientRect() : null;
  return {
    lang: document.documentElement.lang,
    h1: (document.querySelector('article h1') || {}).textContent || '',
    katex: q('.katex').length,
    katexErrors: [...q('.katex-error')].map(e => e.getAttribute('title') || e.textContent).slice(0, 5),
    arithmatex: q('.arithmatex').length,
    katexFont: katex ? getComputedStyle(katex).fontFamily : '',
    mathmlBox: box ? [box.width, box.height] : null,
    // Each character of the formulas, by the face Chromium computes for it from the stylesheets.
    katexFaces: (() => {
      const out = {};
      for (const root of q('.katex-html')) {
        const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
          const text = n.textContent.replace(/\\s/g, '');
          if (!text) continue;
          const s = getComputedStyle(n.parentElement);
          const family = s.fontFamily.split(',')[0].replace(/["']/g, '').trim();
          const key = [family, s.fontWeight, s.fontStyle].join('|');
          out[key] = (out[key] || '') + text;
        }
      }
      return out;
    })(),
    fontFaces: [...document.fonts].map(f => [f.family.replace(/["']/g, ''), f.weight, f.style, f.unicodeRange]),
    rawMath: (() => {
      const article = document.querySelector('article');
      if (!article) return false;
      const prose = article.cloneNode(true);
      prose.querySelectorAll('pre, code, .katex, svg').forEach(e => e.remove());
      return /\\$\\$|\\\\\\(|\\\\\\[/.test(prose.textContent);
    })(),
    switcher: [...q('.md-header .md-select__link[hreflang]')].map(a => [a.hreflang, a.href]),
  };
}"""


@dataclass
class Visit:
    path: str
    status: int
    facts: dict[str, Any]
    requests: list[Seen]
    external: list[str]
    switch_to: str = ""  # path the language switcher led to
    switch_status: int | None = None
    switch_error: str = ""
    switch_external: list[str] = field(default_factory=list)

    def need_page(self) -> None:
        if self.status != 200:
            source = pages.source_of(self.path)
            pytest.fail(
                f"{self.path} answered {self.status}: "
                + (
                    f"{source.relative_to(pages.ROOT)} exists but site/ was built before it: rebuild "
                    "(`nox -s browser -- --build`)"
                    if source.exists()
                    else "the page is neither in docs/ nor in site/"
                ),
                pytrace=False,
            )

    def bytes(self) -> int:
        return sum(s.body_bytes + s.header_bytes for s in self.requests)


def _visit(tab: Tab, path: str) -> Visit:
    response = tab.open(path)
    visit = Visit(
        path=path,
        status=response.status if response else 0,
        facts=tab.page.evaluate(DOM_FACTS),
        requests=list(tab.recorder.seen),
        external=list(tab.recorder.external),
    )
    if visit.status == 200:
        _switch_language(tab, visit)
    return visit


def _switch_language(tab: Tab, visit: Visit) -> None:
    """Open the header's language menu and click the other language, as a reader does.

    The page it leads to is visited in its own right: here it only has to answer, so its
    subresources are not fetched (a third of the session's page loads).
    """
    page, recorder = tab.page, tab.recorder
    other = "en" if pages.lang_of(visit.path) == "zh" else "zh"
    external_before = len(recorder.external)
    link = page.locator(f'.md-header .md-select__link[hreflang="{other}"]')
    if link.count() != 1:
        visit.switch_error = f"the header has {link.count()} language links for {other!r}"
        return
    try:
        page.hover(".md-header .md-select")
        tab.documents_only = True
        with page.expect_navigation(wait_until="commit", timeout=10_000) as nav:
            link.click()
        response = nav.value
        visit.switch_status = response.status if response else None
        visit.switch_to = urllib.parse.urlsplit(page.url).path
    except Exception as error:  # reported by the test, with the page it happened on
        visit.switch_error = f"{type(error).__name__}: {error}".splitlines()[0]
    page.wait_for_timeout(50)
    visit.switch_external = recorder.external[external_before:]


@pytest.fixture(scope="session")
def visit(browser: Any, server: Any) -> Iterator[Callable[[str], Visit]]:
    """Each page is visited once (first view), the tests read the same visit."""
    tab = Tab(browser, server.url, viewport={"width": 1280, "height": 900})
    cache: dict[str, Visit] = {}

    def get(path: str) -> Visit:
        if path not in cache:
            cache[path] = _visit(tab, path)
        return cache[path]

    yield get
    tab.close()


def _source_has_math(path: str) -> bool:
    source = pages.source_of(path)
    if not source.exists():
        return False
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"^(\s*)(```|~~~).*?^\1\2", "", text, flags=re.S | re.M)  # fenced code
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    return bool(re.search(r"\$\$|(?<![\\$])\$[^\s$][^$\n]*\$", text))


@pytest.mark.parametrize("path", PAGES)
def test_formulas_render_and_only_pages_with_formulas_load_katex(
    visit: Callable, path: str
) -> None:
    v = visit(path)
    v.need_page()
    f = v.facts
    katex_files = [s.url for s in v.requests if "/katex/" in s.url]
    if f["katex"] == 0:
        assert not _source_has_math(path), (
            f"{path}: {pages.source_of(path).relative_to(pages.ROOT)} has formulas but the page "
            f"shows no KaTeX output ({f['arithmatex']} unrendered .arithmatex elements)"
        )
        assert not f["fontFaces"], f"{path} has no formula but declares fonts: {f['fontFaces']}"
        return
    assert not f["katexErrors"], f"{path}: KaTeX errors: {f['katexErrors']}"
    assert f["arithmatex"] == 0, f"{path}: {f['arithmatex']} formulas were left for the browser"
    assert not f["rawMath"], f"{path}: raw TeX delimiters ($$, \\(, \\[) are visible in the text"
    assert "KaTeX_Main" in f["katexFont"], (
        f"{path}: formulas are not set in KaTeX's fonts (font-family {f['katexFont']!r}): "
        "KaTeX's rules (in handbook.css) are not applied"
    )
    width, height = f["mathmlBox"] or (0, 0)
    assert width <= 1 and height <= 1, (
        f"{path}: KaTeX's MathML copy is visible ({width}x{height} px): every formula shows twice, "
        "KaTeX's rules (in handbook.css) are not applied"
    )
    # The page inlines the faces its formulas use (tools/katex_fonts.py): no KaTeX file is fetched.
    assert not katex_files, f"{path} fetches KaTeX files on its first view: {katex_files}"
    missing = _characters_without_their_face(f["katexFaces"], f["fontFaces"])
    assert not missing, (
        f"{path}: these formula characters have no inlined subset of the face Chromium draws them "
        f"in, so they are drawn in a fallback font: {missing}"
    )


KATEX_FACE = re.compile(r"@font-face\{([^}]*)\}")


@functools.cache
def _katex_font_cmap(family: str, weight: str, style: str) -> frozenset[int] | None:
    """The code points KaTeX's own font file for (family, weight, style) has, from the
    katex.min.css the site ships (for the mock interview) and its TTF files; None when KaTeX
    declares no such face."""
    from fontTools.ttLib import TTFont

    css_path = pages.SITE / "assets" / "katex" / "katex.min.css"
    for rule in KATEX_FACE.findall(css_path.read_text(encoding="utf-8")):
        props = dict(p.split(":", 1) for p in rule.split(";") if ":" in p and "src" not in p)
        w = "700" if props.get("font-weight") in ("bold", "700") else "400"
        if (props.get("font-family"), w, props.get("font-style")) == (family, weight, style):
            ttf = re.search(r"url\(([^)]+\.ttf)\)", rule).group(1)
            return frozenset(TTFont(css_path.parent / ttf).getBestCmap())
    return None


def _in_range(point: int, unicode_range: str) -> bool:
    for part in unicode_range.replace("U+", "").replace("u+", "").split(","):
        low, _, high = part.strip().partition("-")
        if int(low, 16) <= point <= int(high or low, 16):
            return True
    return False


def _characters_without_their_face(used: dict[str, str], declared: list[list[str]]) -> list[str]:
    """Characters of a face KaTeX's font has a glyph for, but no declared face of exactly that
    family, weight and style covers."""
    out = []
    for key, text in used.items():
        family, weight, style = key.split("|")
        if not family.startswith("KaTeX_"):
            continue
        cmap = _katex_font_cmap(family, weight, style)
        if cmap is None:
            out.append(f"{key}: KaTeX declares no such face ({text[:20]!r})")
            continue
        faces = [d[3] for d in declared if (d[0], d[1], d[2]) == (family, weight, style)]
        lost = sorted(
            {c for c in text if ord(c) in cmap and not any(_in_range(ord(c), r) for r in faces)}
        )
        if lost:
            out.append(f"{key}: {''.join(lost)}")
    return out


@pytest.mark.parametrize("path", PAGES)
def test_language_switcher_leads_to_the_same_page(visit: Callable, path: str) -> None:
    v = visit(path)
    v.need_page()
    expected = pages.other_language(path)
    links = dict(v.facts["switcher"])
    assert not v.switch_error, f"{path}: language switch failed: {v.switch_error}; links: {links}"
    assert v.switch_to == expected, (
        f"{path}: the language switcher leads to {v.switch_to}, expected {expected} "
        f"(its links: {links})"
    )
    assert v.switch_status == 200, f"{path} -> {expected} answered {v.switch_status}"


@pytest.mark.parametrize("path", PAGES)
def test_no_request_leaves_the_site(visit: Callable, path: str) -> None:
    v = visit(path)
    v.need_page()
    external = sorted(set(v.external + v.switch_external))
    assert not external, f"{path} asks other sites for: " + ", ".join(external)


def _built_figure(url: str) -> bool:
    m = LAZY_FIGURE.search(url)
    return bool(m) and (pages.SITE / m.group(0).lstrip("/")).is_file()


@pytest.mark.parametrize("path", PAGES)
def test_every_asset_loads(visit: Callable, path: str) -> None:
    v = visit(path)
    v.need_page()
    bad = [
        f"{s.url} ({s.resource_type}: {s.status or s.failure})"
        for s in v.requests
        if s.url.startswith("http://127.0.0.1")
        and (s.status is None or s.status >= 400)
        and not (s.status is None and s.failure is None and UNFINISHED_FAVICON.search(s.url))
        and not (s.status is None and s.failure is None and _built_figure(s.url))
    ]
    assert not bad, f"{path}: these requests failed: " + ", ".join(bad)
    # Material asks for sitemap.xml under each language link; search.js answers it without a
    # request (it was a 404 page of about 46 KiB per language on every view).
    sitemaps = [s.url for s in v.requests if s.url.endswith("sitemap.xml")]
    assert sitemaps == [], f"{path} requests {sitemaps}"


@pytest.mark.parametrize("path", PAGES)
def test_page_weight(visit: Callable, metrics: dict, path: str) -> None:
    v = visit(path)
    v.need_page()
    total = v.bytes()
    metrics.setdefault("pages", {})[path] = {"requests": len(v.requests), "bytes": total}
    if path in TOPIC_PATHS:
        assert total < pages.MAX_TOPIC_BYTES, f"{path} transfers {total / 1e6:.2f} MB on first view"
        assert len(v.requests) < pages.MAX_TOPIC_REQUESTS, (
            f"{path} makes {len(v.requests)} requests"
        )
