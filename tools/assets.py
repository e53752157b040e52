"""What a page's first view loads: only the stylesheets the page uses.

mkdocstrings adds its stylesheet (``assets/_mkdocstrings.css``) to ``extra_css``, so every page
links it, but only the API reference has its markup (``class="doc doc-..."``): elsewhere it is
one more request. ``unlink_everywhere`` takes it out of ``extra_css`` (once mkdocstrings has added
it); ``link_where_used`` puts the link back on the pages that have that markup.

>>> head = '<head><link rel="stylesheet" href="../assets/main.css"></head><body>'
>>> link_where_used(head + "<p>text</p>", "../../") == head + "<p>text</p>"
True
>>> print(link_where_used(head + '<div class="doc doc-object">', "../"))
<head><link rel="stylesheet" href="../assets/main.css">
<link rel="stylesheet" href="../assets/_mkdocstrings.css"></head><body><div class="doc doc-object">
"""

from __future__ import annotations

from typing import Any

MKDOCSTRINGS_CSS = "assets/_mkdocstrings.css"


def unlink_everywhere(config: Any) -> None:
    """Drop mkdocstrings' stylesheet from the stylesheets every page links."""
    config.extra_css[:] = [css for css in config.extra_css if str(css) != MKDOCSTRINGS_CSS]


def link_where_used(html: str, to_root: str) -> str:
    """Link mkdocstrings' stylesheet from a page that shows API documentation."""
    if 'class="doc doc-' not in html or MKDOCSTRINGS_CSS in html:
        return html
    link = f'\n<link rel="stylesheet" href="{to_root}{MKDOCSTRINGS_CSS}">'
    return html.replace("</head>", link + "</head>", 1)
