"""The mock interview's questions: ``<site>/assets/mock/``, from the built pages.

Read from the built HTML, not the Markdown: the answers' formulas are already rendered by KaTeX
(the mock page loads only KaTeX's stylesheet), code is highlighted, and the badge, ids and links
are those a reader sees on the topic page. Which questions exist, their difficulty and order come
from the Markdown (:mod:`tools.pages`); a built page whose questions differ fails the build.

Links inside an answer are relative to its topic page; they are rewritten relative to the mock
page (``<lang root>/mock/``), so they work under any sub-path. ``docs/assets/mock.js`` reads the
file; the reader's marks stay in their browser's localStorage.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from pathlib import Path
from typing import Any

from tools import pages

OUT = "assets/mock"  # inside the built site
MOCK_PAGE = "mock/"  # where the mock page is, relative to a language's root
VERSION = 1
DETAILS = re.compile(
    r'<details class="question (?P<level>easy|medium|hard)" id="(?P<id>q\d+)"[^>]*>\s*'
    r"<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>",
    re.S,
)
BADGE = re.compile(r'<span class="hb-level [a-z]+">[^<]*</span>')
HREF = re.compile(r'(?P<attr>\bhref=")(?P<url>[^"]*)"')
TAG = re.compile(r"<[^>]+>")


class MockError(SystemExit):
    pass


def _relink(fragment: str, page_dir: str) -> str:
    """Links of an answer (relative to ``page_dir``) made relative to the mock page."""

    def fix(m: re.Match[str]) -> str:
        url = html.unescape(m.group("url"))
        if re.match(r"[a-z]+:|//", url):
            return m.group(0)
        path, _, anchor = url.partition("#")
        target = posixpath.normpath(posixpath.join(page_dir, path)) if path else page_dir
        rel = posixpath.relpath(target, MOCK_PAGE.rstrip("/"))
        rel = rel + "/" if not rel.endswith("/") and "." not in posixpath.basename(rel) else rel
        new = rel + (f"#{anchor}" if anchor else "")
        return f'{m.group("attr")}{html.escape(new, quote=True)}"'

    return HREF.sub(fix, fragment)


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed (for checks)."""
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


def questions(site: Path, lang: str) -> dict[str, Any]:
    """The question file of ``lang`` as a dict (see the module docstring)."""
    prefix = site / "en" if lang == "en" else site
    chapters, tracks, found = [], [], []
    order = {c: i for i, c in enumerate(pages.CHAPTERS)}
    topics = sorted(
        (p for p in pages.pages(lang) if p.is_topic),
        key=lambda p: (order[Path(p.rel).parts[0]], p.rel),
    )
    for page in topics:
        chapter = Path(page.rel).parts[0]
        page_dir = page.rel[: -len(".md")]
        built = prefix / page_dir / "index.html"
        if not built.is_file():
            raise MockError(f"mock interview: {built} was not built")
        got = list(DETAILS.finditer(built.read_text(encoding="utf-8")))
        want = [(q.anchor, q.difficulty) for q in page.questions]
        if [(m.group("id"), m.group("level")) for m in got] != want:
            raise MockError(
                f"mock interview: {lang}/{page.rel} has questions {want} in its Markdown but "
                f"{[(m.group('id'), m.group('level')) for m in got]} in {built}"
            )
        link = posixpath.relpath(page_dir, MOCK_PAGE.rstrip("/")) + "/"
        for m in got:
            found.append(
                {
                    "id": f"{page_dir}#{m.group('id')}",
                    "track": pages.TRACK_OF[chapter],
                    "chapter": chapter,
                    "topic": page.title,
                    "difficulty": m.group("level"),
                    "link": f"{link}#{m.group('id')}",
                    "question": _relink(BADGE.sub("", m.group("summary"), count=1), page_dir),
                    "answer": _relink(m.group("body").strip(), page_dir),
                }
            )
    used = {q["chapter"] for q in found}
    for track, info in pages.TRACKS.items():
        names = [c for c in info["chapters"] if c in used]  # type: ignore[attr-defined]
        if names:
            tracks.append({"id": track, "name": info[lang]})
        chapters += [
            {"id": c, "name": pages.CHAPTER_TITLES[c][lang], "track": track} for c in names
        ]
    return {
        "version": VERSION,
        "lang": lang,
        "tracks": tracks,
        "chapters": chapters,
        "questions": found,
    }


def write(site: Path) -> dict[str, dict[str, int]]:
    """Write, per language, ``questions.<lang>.json`` (everything but the answers) and
    ``answers.<lang>.<chapter>.json`` (``{id: answer HTML}``, fetched when a question of that
    chapter is drawn: the answers' KaTeX HTML is most of the bytes); returns counts and sizes."""
    out = site / OUT
    out.mkdir(parents=True, exist_ok=True)
    report = {}
    for lang in pages.LANGS:
        data = questions(site, lang)
        by_chapter: dict[str, dict[str, str]] = {}
        for q in data["questions"]:
            by_chapter.setdefault(q["chapter"], {})[q["id"]] = q.pop("answer")
        index = out / f"questions.{lang}.json"
        index.write_text(_dumps(data), encoding="utf-8")
        sizes = []
        for chapter, answers in by_chapter.items():
            path = out / f"answers.{lang}.{chapter}.json"
            path.write_text(_dumps(answers), encoding="utf-8")
            sizes.append(path.stat().st_size)
        report[lang] = {
            "questions": len(data["questions"]),
            "index_bytes": index.stat().st_size,
            "answer_files": len(sizes),
            "largest_answer_file_bytes": max(sizes, default=0),
            "answer_bytes": sum(sizes),
        }
    return report


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
