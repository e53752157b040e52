"""What the search index reads of a page: its prose, without the markup nobody searches.

Material's search plugin parses every page's HTML with Python's ``html.parser``. Our pages carry
KaTeX's rendered formulas (dozens of nested spans per symbol), highlighted code (a span per
token), inline SVG diagrams and figures as data URIs: most of the parsing time, and none of it
text a reader types into the search box (code blocks were already dropped from the index to keep
it small). ``lighten`` keeps headings, prose, inline code, tables and the question titles;
``install`` makes the plugin index that lighter copy while readers get the full page.
"""

from __future__ import annotations

import re
from typing import Any

# Raw formulas as arithmatex leaves them (before KaTeX renders them), highlighted code blocks,
# diagrams, figures (their caption stays: it is prose).
_MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">.*?</(?P=tag)>', re.S)
_CODE = re.compile(r'<div class="(?:language-\w+ )?highlight">.*?</pre></div>|<pre>.*?</pre>', re.S)
_DIAGRAM = re.compile(r'<pre class="mermaid">.*?</pre>|<div class="hb-diagram">.*?</div>', re.S)
_FIGURE_IMG = re.compile(r'<img src="data:[^"]*"[^>]*>')


def lighten(html: str) -> str:
    """The page's HTML with formulas, code blocks, diagrams and inline images removed.

    Examples:
        >>> lighten('<p>IoU <span class="arithmatex">\\\\(x^2\\\\)</span> ok</p><pre>x = 1</pre>')
        '<p>IoU   ok</p> '
    """
    for pattern in (_MATH, _CODE, _DIAGRAM, _FIGURE_IMG):
        html = pattern.sub(" ", html)
    return html


_HEADING = re.compile(r"<h([1-6])\b[^>]*>.*?</h\1>", re.S)
# Pages indexed by their headings only: the API reference repeats every docstring of snippets/,
# which the topic pages already explain in prose (it was a third of the index).
HEADINGS_ONLY = ("reference.md",)


def headings(html: str) -> str:
    """Only the headings of a page (their ids and text), for pages found by name.

    Examples:
        >>> headings('<h2 id="nms">nms</h2><p>long docstring</p><h3 id="a">a</h3>')
        '<h2 id="nms">nms</h2>\\n<h3 id="a">a</h3>'
    """
    return "\n".join(m.group(0) for m in _HEADING.finditer(html))


def for_index(html: str, src_uri: str) -> str:
    """What the search index reads of the page ``src_uri`` (e.g. ``en/reference.md``)."""
    name = src_uri.split("/", 1)[-1]
    return headings(html) if name in HEADINGS_ONLY else lighten(html)


def install() -> None:
    """Let Material's search index read ``page.handbook_search_html`` when a page has one."""
    from material.plugins.search import plugin

    index_class: Any = plugin.SearchIndex
    if getattr(index_class, "_handbook_light", False):
        return
    original = index_class.add_entry_from_context

    def add_entry_from_context(self: Any, page: Any) -> Any:
        light = getattr(page, "handbook_search_html", None)
        if light is None:
            return original(self, page)
        full, page.content = page.content, light
        try:
            return original(self, page)
        finally:
            page.content = full

    index_class.add_entry_from_context = add_entry_from_context
    index_class._handbook_light = True
