"""What a page's first view loads: only the stylesheets the page uses, in as few requests as we can.

mkdocstrings adds its stylesheet (``assets/_mkdocstrings.css``) to ``extra_css``, so every page
links it, but only the API reference has its markup (``class="doc doc-..."``): elsewhere it is
one more request. ``unlink_everywhere`` takes it out of ``extra_css`` (once mkdocstrings has added
it); ``link_where_used`` puts the link back on the pages that have that markup.

Material links two stylesheets (``main`` and ``palette``) and every page with formulas linked
``katex.min.css``: with ``handbook.css`` that made four stylesheet requests. ``bundle`` writes the
published ``handbook.css`` as palette + KaTeX's rules (without their ``@font-face`` rules: a page
inlines the faces it uses, tools/katex_fonts.py) + our own rules, in the order the links had, and
``unlink_palette`` drops the palette link: two stylesheet requests per page. The mock interview
still loads the full ``katex.min.css`` (its answers are drawn from every page, so the characters
are not known at build time).

>>> head = '<head><link rel="stylesheet" href="../assets/main.css"></head><body>'
>>> link_where_used(head + "<p>text</p>", "../../") == head + "<p>text</p>"
True
>>> print(link_where_used(head + '<div class="doc doc-object">', "../"))
<head><link rel="stylesheet" href="../assets/main.css">
<link rel="stylesheet" href="../assets/_mkdocstrings.css"></head><body><div class="doc doc-object">
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MKDOCSTRINGS_CSS = "assets/_mkdocstrings.css"
PALETTE_LINK = re.compile(
    r'\n?\s*<link rel="stylesheet" href="[^"]*assets/stylesheets/palette\.[0-9a-f]+\.min\.css">'
)
SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/")


def unlink_everywhere(config: Any) -> None:
    """Drop mkdocstrings' stylesheet from the stylesheets every page links."""
    config.extra_css[:] = [css for css in config.extra_css if str(css) != MKDOCSTRINGS_CSS]


def link_where_used(html: str, to_root: str) -> str:
    """Link mkdocstrings' stylesheet from a page that shows API documentation."""
    if 'class="doc doc-' not in html or MKDOCSTRINGS_CSS in html:
        return html
    link = f'\n<link rel="stylesheet" href="{to_root}{MKDOCSTRINGS_CSS}">'
    return html.replace("</head>", link + "</head>", 1)


def unlink_palette(html: str) -> str:
    """Drop the link to Material's palette stylesheet (``bundle`` put it into handbook.css).

    >>> unlink_palette('<link rel="stylesheet" href="../assets/stylesheets/palette.fb2fffe2.min.css">')
    ''
    """
    return PALETTE_LINK.sub("", html, count=1)


def bundle(site: Path, ours: Path, katex_css: str) -> None:
    """Write site/assets/handbook.css: Material's palette, KaTeX's rules, then ``ours``."""
    palettes = sorted((site / "assets" / "stylesheets").glob("palette.*.min.css"))
    if len(palettes) != 1:
        raise SystemExit(f"expected one Material palette stylesheet, found {palettes}")
    parts = [
        "/* Material's palette (" + palettes[0].name + ") */",
        SOURCE_MAP.sub("", palettes[0].read_text(encoding="utf-8")),
        "/* KaTeX's rules; each page inlines the font faces it uses */",
        SOURCE_MAP.sub("", katex_css),
        "/* the handbook */",
        ours.read_text(encoding="utf-8"),
    ]
    (site / "assets" / "handbook.css").write_text("\n".join(parts), encoding="utf-8")
