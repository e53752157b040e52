"""Live preview (``nox -s serve``): rebuild only the pages an edit can change.

``mkdocs serve --dirty`` re-renders a page only when its Markdown file is newer than the HTML it
produced; the i18n plugin passes the same flag to the second language's build. A page here also
depends on the snippets it embeds and the figure modules it draws (and what they import), so an
edit to ``snippets/detection/nms.py`` must re-render both NMS pages: ``mark_stale`` finds them.

Trade-off (documented in CONTRIBUTING): during live preview the navigation, the generated pages
(question index, glossary, API reference) and the search index are brought up to date only when
their own source changes or the server restarts; ``nox -s docs`` always builds everything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tools import pages

ROOT = pages.ROOT


def dependencies(md: Path) -> list[Path]:
    """The files a page's HTML is made from: the page, its includes, its figures' modules."""
    from tools import figure

    page = pages.parse(md)
    deps = [md]
    for include in page.includes:
        path = ROOT / include.split(":", 1)[0]
        if path.is_file():
            deps.append(path)
    for fig in page.figures:
        path = figure.FIGURES / fig.rsplit(":", 1)[0]
        if path.is_file():
            deps += figure.dependencies(path)
    return deps


def mark_stale(files: Any) -> list[str]:
    """Mark the pages whose dependencies changed after their HTML was written; return their URIs."""
    stale = []
    for file in files.documentation_pages():
        src, dest = Path(file.abs_src_path), Path(file.abs_dest_path)
        if not dest.exists() or not src.is_relative_to(pages.DOCS):
            continue
        built = dest.stat().st_mtime
        if any(p.stat().st_mtime > built for p in dependencies(src)):
            file.is_modified = lambda: True  # what mkdocs' dirty build asks of each page
            stale.append(file.src_uri)
    return stale


def dirty() -> bool:
    import sys

    return "--dirty" in sys.argv or os.environ.get("HANDBOOK_DIRTY") == "1"
