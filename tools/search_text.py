"""What the search reads of a page: its prose, without the markup nobody searches.

Pagefind indexes the built pages (``tools/search_index.py``); Material's search plugin still runs,
to give the search box its configuration, and ``install`` makes it index nothing (it used to
spend a quarter of the build parsing formulas, code and inline SVG). ``lighten`` is the prose of
a page without formulas, code blocks, diagrams and inline images: the text the word lists for
query segmentation and spelling correction are made from.
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


def install() -> None:
    """Let Material's search plugin read ``page.handbook_search_html`` (empty) instead of the page."""
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
