"""Sections of pages that are generated at build time, never maintained by hand.

A page asks for one with a line ``<!-- generated: NAME -->``:

* ``questions``: every interview question of every topic page of that language, by topic and by
  difficulty, linking to the answer;
* ``glossary``: the zh ↔ en term table from ``glossary.yml`` (which also feeds the search
  dictionary);
* ``api``: the mkdocstrings reference of every snippet module;
* ``practice``: the topics of ``nox -s practice``, from its registry;
* ``bench``: the benchmark table and plot, from ``bench/results.json``.
"""

from __future__ import annotations

import functools
import posixpath
from pathlib import Path
from typing import Any

import yaml

from tools import pages, tracks

ROOT = pages.ROOT
GLOSSARY = ROOT / "glossary.yml"

CHAPTER_TITLES = pages.CHAPTER_TITLES
DIFFICULTY = {
    "easy": {"zh": "简单", "en": "easy"},
    "medium": {"zh": "中等", "en": "medium"},
    "hard": {"zh": "困难", "en": "hard"},
}
TEXT = {
    "by_topic": {"zh": "按主题", "en": "By topic"},
    "by_difficulty": {"zh": "按难度", "en": "By difficulty"},
    "count": {"zh": "共 {n} 道题，来自 {t} 个主题。", "en": "{n} questions from {t} topics."},
    "term": {"zh": "中文", "en": "Chinese"},
    "english": {"zh": "English", "en": "English"},
    "page": {"zh": "页面", "en": "Page"},
    "meaning": {"zh": "说明", "en": "Meaning"},
}


def _link(from_src: str, to_rel: str, lang: str) -> str:
    """Relative link from the page being built (``zh/questions.md``) to ``<lang>/<to_rel>``."""
    return posixpath.relpath(f"{lang}/{to_rel}", posixpath.dirname(from_src) or ".")


def questions(lang: str, src: str) -> str:
    topics = [p for p in pages.pages(lang) if p.is_topic]
    order = {c: i for i, c in enumerate(pages.CHAPTERS)}
    topics.sort(key=lambda p: (order[Path(p.rel).parts[0]], p.rel))
    total = sum(len(p.questions) for p in topics)
    out = [TEXT["count"][lang].format(n=total, t=len(topics)), ""]
    out.append(f"## {TEXT['by_topic'][lang]} {{ #by-topic }}\n")
    chapter = None
    for p in topics:
        ch = Path(p.rel).parts[0]
        if ch != chapter:
            chapter = ch
            out.append(f"### {CHAPTER_TITLES[ch][lang]} {{ #{ch} }}\n")
        out.append(f"**[{p.title}]({_link(src, p.rel, lang)})**\n")
        for q in p.questions:
            badge = DIFFICULTY[q.difficulty][lang]
            out.append(f"1. [{q.title}]({_link(src, p.rel, lang)}#{q.anchor}) · *{badge}*")
        out.append("")
    out.append(f"## {TEXT['by_difficulty'][lang]} {{ #by-difficulty }}\n")
    for level in pages.DIFFICULTIES:
        out.append(f"### {DIFFICULTY[level][lang]} {{ #{level} }}\n")
        for p in topics:
            for q in p.questions:
                if q.difficulty == level:
                    out.append(f"- [{q.title}]({_link(src, p.rel, lang)}#{q.anchor}) — {p.title}")
        out.append("")
    return "\n".join(out)


def load_glossary() -> list[dict[str, Any]]:
    """The glossary's terms, parsed once per version of the file (live preview asks per edit)."""
    return _parse_glossary(GLOSSARY.stat().st_mtime_ns)


@functools.cache
def _parse_glossary(mtime_ns: int) -> list[dict[str, Any]]:
    # The C loader when PyYAML has it: the pure-Python one takes about half a second here.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(GLOSSARY.read_text(encoding="utf-8"), Loader=loader)["terms"]


def glossary(lang: str, src: str) -> str:
    other = "en" if lang == "zh" else "zh"
    head = (
        [TEXT["term"][lang], TEXT["english"][lang]]
        if lang == "zh"
        else [TEXT["english"][lang], TEXT["term"][lang]]
    )
    rows = [
        f"| {head[0]} | {head[1]} | {TEXT['meaning'][lang]} | {TEXT['page'][lang]} |",
        "| --- | --- | --- | --- |",
    ]
    for term in sorted(load_glossary(), key=lambda t: t["en"].lower()):
        page = f"[→]({_link(src, term['page'], lang)})" if term.get("page") else ""
        rows.append(f"| {term[lang]} | {term[other]} | {term.get('note_' + lang, '')} | {page} |")
    return "\n".join(rows)


def api(lang: str, src: str) -> str:
    out = []
    for chapter in pages.CHAPTERS:
        modules = sorted((ROOT / "snippets" / chapter).glob("[!_]*.py"))
        if not modules:
            continue
        out.append(f"## {CHAPTER_TITLES[chapter][lang]} {{ #{chapter} }}\n")
        for module in modules:
            out.append(f"::: snippets.{chapter}.{module.stem}\n")
    return "\n".join(out)


def practice(lang: str, src: str) -> str:
    from tools import practice as practice_tool

    return practice_tool.topics_table(lang, lambda rel: _link(src, rel, lang))


def bench(lang: str, src: str) -> str:
    from tools import bench_page

    return bench_page.render(lang)


def cheatsheet(lang: str, src: str) -> str:
    from tools import cheatsheet as cheatsheet_tool

    return cheatsheet_tool.render(lang, src)


def cheatsheets(lang: str, src: str) -> str:
    from tools import cheatsheet as cheatsheet_tool

    return cheatsheet_tool.index(lang, src)


GENERATORS = {
    "cheatsheet": cheatsheet,  # docs/<lang>/cheatsheets/<chapter>.md (tools/cheatsheet.py)
    "cheatsheets": cheatsheets,  # docs/<lang>/cheatsheets/index.md
    "questions": questions,
    "glossary": glossary,
    "api": api,
    "practice": practice,
    "bench": bench,
    "tracks": tracks.tracks_map,  # the home page's map of the tracks (tools/tracks.py)
    "routes": tracks.routes,  # the home page's routes per role
}


def expand(markdown: str, lang: str, src: str) -> str:
    def replace(match: Any) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise SystemExit(
                f"{src}: unknown '<!-- generated: {name} -->'; known: {sorted(GENERATORS)}"
            )
        return GENERATORS[name](lang, src)

    return pages.GENERATED.sub(replace, markdown)
