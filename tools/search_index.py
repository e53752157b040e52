"""The search index: Pagefind, run over the built site, one index per language.

Why Pagefind and not Material's lunr index (measured side by side on the same built site with the
query set in ``tests/browser/search_queries.py``; ``bench/search_engines.py`` repeats it):

* Chinese is segmented at index time by Pagefind's extended build and the index is split into
  small chunks, fetched when a query needs them: the first query downloads a few hundred KiB
  instead of the whole index (1.1 MiB for the Chinese pages alone at 38 topics, and growing with
  every page);
* it keeps one index per ``<html lang>``, so a reader searches the pages of the language they read.

Material's search box, result list and keyboard handling stay: ``docs/assets/search.js`` answers
Material's worker messages with Pagefind's results, so the reader sees one search box in the
same place. Material's own index is written empty (``empty_material_index``).

What is indexed: the article of each page, without code blocks, formulas, diagrams and figures
(readers find code by the prose and headings around it), and only the headings of the API
reference (its docstrings repeat what the topic pages explain).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT_SELECTOR = "article.md-content__inner"
EXCLUDE = (
    "pre",  # code blocks (inline code stays: function names are searched)
    ".highlight",
    ".katex",  # rendered formulas
    ".hb-diagram",  # mermaid diagrams drawn at build time
    "svg",  # figures and icons
    ".headerlink",  # the ¶ after each heading
    ".doc-contents",  # API reference: docstrings (its headings stay)
    ".md-source-file",  # "last updated" footers
)
BUNDLE = "pagefind"  # written to <site>/pagefind/


def command(site: Path) -> list[str]:
    """The Pagefind command line that indexes ``site`` (pinned ``pagefind[extended]`` from PyPI)."""
    args = [sys.executable, "-m", "pagefind", "--site", str(site), "--output-subdir", BUNDLE]
    args += ["--root-selector", ROOT_SELECTOR, "--glob", "**/index.html"]
    for selector in EXCLUDE:
        args += ["--exclude-selectors", selector]
    return args


def build(site: Path) -> None:
    """Index ``site``; a failure stops the build with Pagefind's own message."""
    done = subprocess.run(command(site), capture_output=True, text=True)
    if done.returncode != 0 or not (site / BUNDLE / "pagefind.js").exists():
        raise SystemExit(f"Pagefind could not index {site}:\n{done.stdout}\n{done.stderr}")


_background: subprocess.Popen[bytes] | None = None


def build_in_background(site: Path) -> None:
    """For ``mkdocs serve``: re-index after a rebuild without holding back the reload."""
    global _background
    if _background is not None and _background.poll() is None:
        _background.kill()
    _background = subprocess.Popen(
        command(site), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def empty_material_index(site: Path) -> None:
    """Material's bundle still asks for ``search/search_index.json`` to set up its search box:
    give it the configuration and no documents (zh at /search/, en at /en/search/)."""
    index_path = site / "search" / "search_index.json"
    if not index_path.exists():
        return
    config = json.loads(index_path.read_text(encoding="utf-8"))["config"]
    payload = json.dumps({"config": config, "docs": []}, separators=(",", ":"))
    for path in (index_path, site / "en" / "search" / "search_index.json"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(payload, encoding="utf-8")


_WORD = re.compile(r"[a-z][a-z0-9+\-]{2,}|[\u4e00-\u9fff]{2,}")


_ARTICLE = re.compile(r'<article class="md-content__inner[^"]*">(.*?)</article>', re.S)
_TAG = re.compile(r"<[^>]+>")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def page_texts(site: Path, lang: str) -> list[str]:
    """The prose of the built pages of ``lang``, as Pagefind indexes it (no code, math, figures)."""
    from tools.search_text import lighten

    texts = []
    for page in sorted(site.rglob("index.html")):
        parts = page.relative_to(site).parts
        if (parts[0] == "en") != (lang == "en") or parts[0] in ("pagefind", "assets"):
            continue
        article = _ARTICLE.search(page.read_text(encoding="utf-8"))
        if article:
            texts.append(html.unescape(_TAG.sub(" ", lighten(article.group(1)))))
    return texts


def chinese_words(texts: list[str]) -> set[str]:
    """The words of the Chinese pages as jieba's own dictionary segments them (no user words).

    Pagefind's extended build segments Chinese the same way at index time, so a query cut into
    these words (``search.js`` replaces the browser's ``Intl.Segmenter``, whose Chinese dictionary
    some builds lack) matches the index's words.
    """
    import logging

    import jieba

    jieba.setLogLevel(logging.ERROR)
    words: set[str] = set()
    for text in texts:
        for run in _CJK_RUN.findall(text):
            words.update(w for w in jieba.cut(run, HMM=False) if len(w) > 1)
    return words


def vocabulary(lang: str, docs: Path, glossary: list[dict[str, Any]], site: Path) -> dict[str, Any]:
    """What ``search.js`` needs besides Pagefind, for the pages of ``lang``.

    ``words``: known words a near-miss spelling is corrected to (glossary terms in both languages,
    page titles, and the Latin words, subscripts such as d_k included, that occur at least twice
    in the pages). ``segments`` (zh):
    the Chinese words of the pages, to cut a query into. ``synonyms``: a term typed in the other
    language -> this language's term (glossary.yml), e.g. on the Chinese site "receptive field" ->
    感受野.
    """
    words: set[str] = set()
    synonyms: dict[str, str] = {}
    other = "en" if lang == "zh" else "zh"
    for term in glossary:
        names = [term["zh"], *term.get("zh_also", []), term["en"], *term.get("en_also", [])]
        for name in names:
            words.update(_WORD.findall(name.lower()))
        for name in [term[other], *term.get(f"{other}_also", [])]:
            if name.lower() != term[lang].lower():
                synonyms[name.lower()] = term[lang]
    for page in (docs / lang).rglob("*.md"):
        first = page.read_text(encoding="utf-8").lstrip().splitlines()[:1]
        if first and first[0].startswith("# "):
            words.update(_WORD.findall(first[0][2:].lower()))
    texts = page_texts(site, lang)
    latin = Counter(
        w for t in texts for w in re.findall(r"[a-z][a-z0-9+\-]{2,}|\b[a-z]_[a-z]+\b", t.lower())
    )
    words.update(w for w, n in latin.items() if n >= 2)
    data: dict[str, Any] = {"words": sorted(words), "synonyms": dict(sorted(synonyms.items()))}
    if lang == "zh":
        data["segments"] = sorted(chinese_words(texts))
    return data


def write_vocabularies(site: Path, docs: Path, glossary: list[dict[str, Any]]) -> None:
    for lang in ("zh", "en"):
        path = site / "assets" / f"search-words.{lang}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = vocabulary(lang, docs, glossary, site)
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
