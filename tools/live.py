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

import functools
import os
from pathlib import Path
from typing import Any, ClassVar

import jinja2

from tools import pages

ROOT = pages.ROOT


def dependencies(md: Path) -> list[Path]:
    """The files a page's HTML is made from: the page, its includes, its figures' modules."""
    from tools import figure

    includes, figures = _parsed(md, md.stat().st_mtime_ns)
    deps = [md]
    for include in includes:
        path = ROOT / include.split(":", 1)[0]
        if path.is_file():
            deps.append(path)
    for fig in figures:
        path = figure.FIGURES / fig.rsplit(":", 1)[0]
        if path.is_file():
            deps += figure.dependencies(path)
    return deps


@functools.lru_cache(maxsize=4096)
def _parsed(md: Path, mtime_ns: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Once per version of a page: every rebuild asks about all ~100 pages per language.
    page = pages.parse(md)
    return tuple(page.includes), tuple(page.figures)


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


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja bytecode kept in memory for the life of the server process.

    Every rebuild loads a fresh config, so mkdocs makes a new Jinja environment and compiles
    Material's 87 templates again (about 1 s per language on 2 cores). Jinja checks each entry
    against its template's source checksum, so an edit under ``overrides/`` is still picked up.
    """

    store: ClassVar[
        dict[str, bytes]
    ] = {}  # class-level: shared by every environment of the process

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


def reuse_compiled_templates(env: jinja2.Environment) -> jinja2.Environment:
    """Give a Jinja environment the process-wide compiled-template cache (``on_env``)."""
    env.bytecode_cache = CompiledTemplates()
    return env


_THEME_FILES: dict[tuple[str, ...], list[tuple[str, str]]] = {}


def list_theme_files_once() -> None:
    """Live preview only: list the theme's static files once per server process.

    Before every build mkdocs walks Material's templates folder (about 14,000 files, most of them
    icons) and filters each name against ten patterns, about 0.5 s per language on 2 cores. The
    theme does not change while the server runs; a new file under ``overrides/`` needs a restart.
    """
    from mkdocs.structure.files import File, Files

    if getattr(Files.add_files_from_theme, "handbook_cached", False):
        return
    original = Files.add_files_from_theme

    def add_files_from_theme(self: Files, env: jinja2.Environment, config: Any) -> None:
        key = (*config.theme.dirs, *config.theme.static_templates)
        if key not in _THEME_FILES:
            probe = Files([])
            original(probe, env, config)
            _THEME_FILES[key] = [(f.src_uri, f.src_dir) for f in probe]
        for path, folder in _THEME_FILES[key]:
            if self.get_file_from_path(path) is None:  # docs files win over theme files
                self.append(File(path, folder, config.site_dir, config.use_directory_urls))

    add_files_from_theme.handbook_cached = True  # type: ignore[attr-defined]
    Files.add_files_from_theme = add_files_from_theme  # type: ignore[method-assign]


def dirty() -> bool:
    import sys

    return "--dirty" in sys.argv or os.environ.get("HANDBOOK_DIRTY") == "1"
