"""One printable cheat sheet per chapter, made from the marked sections of its topic pages.

A topic page marks what belongs on its chapter's sheet (the key formulas, the conventions table,
a few pitfalls) with two invisible lines around existing content::

    <!-- cheatsheet -->

    $$ \\mathrm{IoU} = |A \\cap B| / |A \\cup B| $$

    <!-- /cheatsheet -->

(inside a list the closing line is indented by four spaces, so the list stays one list). The
sheet page ``docs/<lang>/cheatsheets/<chapter>.md`` holds the line ``<!-- generated: cheatsheet
-->``; ``tools/generated.py`` calls :func:`render` for it, and :func:`index` for the line
``<!-- generated: cheatsheets -->`` of ``docs/<lang>/cheatsheets/index.md``.

On the sheet every topic is a heading linking back to its page; each marked block is shown under
the name of the page section it comes from (a link to that section). Links are rewritten to
resolve from the sheet; figures, code blocks and footnote references are left out (a sheet is
for formulas, conventions and pitfalls; the figures and the code stay one click away). Headings
inside a block get the topic's name in front of their id, so ids stay unique on the sheet.

Each sheet promises how many A4 pages it prints on (:data:`PAGES`, stated on the sheet);
``tests/browser/test_cheatsheets.py`` prints every sheet with Chromium and holds it to that.
``tools/check_site.py`` checks the marks (:func:`mark_problems`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from tools import pages

OPEN = "<!-- cheatsheet -->"
CLOSE = "<!-- /cheatsheet -->"
MARK = re.compile(r"^(?P<indent>[ \t]*)<!--[ \t]*(?P<close>/)?cheatsheet[ \t]*-->[ \t]*$", re.M)
FOLDER = "cheatsheets"  # docs/<lang>/cheatsheets/<chapter>.md

# The number of A4 pages each chapter's sheet prints on, in either language: what Chromium printed
# when the marks were set (tests/browser/test_cheatsheets.py fails when a sheet needs more; mark
# less, or raise the number and say so on the sheet, which reads it from here).
PAGES: dict[str, int] = {
    "fundamentals": 2,
    "transformer": 2,
    "llm": 3,
    "backbone": 2,
    "detection": 3,
    "segmentation": 1,
    "selfsup": 2,
    "generative": 1,
    "ml": 2,
}

TEXT = {
    "promise": {
        "zh": "打印版：A4 纸不超过 {n} 页（在浏览器里打印本页即可，页眉、导航和侧栏不会打印）。"
        "内容取自各主题页标出的段落：关键公式、约定和常见错误；图和代码请看原页面。",
        "en": "Printed: fits on {n} A4 page{s} (print this page from the browser; the header, "
        "navigation and sidebars are left out). Made from the marked parts of each topic page: "
        "key formulas, conventions and common mistakes; figures and code stay on the pages.",
    },
    "chapter": {"zh": "章节", "en": "Chapter"},
    "topics": {"zh": "主题数", "en": "Topics"},
    "a4": {"zh": "A4 页数（上限）", "en": "A4 pages (at most)"},
    "title": {"zh": "{chapter} 速查表", "en": "{chapter} cheat sheet"},
}


@dataclass
class Block:
    """One marked block of a topic page, with the ``##`` section it sits in."""

    text: str  # the Markdown between the marks, dedented to the marks' indent
    section_id: str | None
    section_title: str


# ------------------------------------------------------------------ reading the marks


def _section_title(text: str) -> str:
    return pages.HEADING_ID.sub("", text).strip()


def blocks(text: str) -> list[Block]:
    """The marked blocks of a page, in order (marks inside code blocks are not marks)."""
    lines = text.split("\n")
    prose = pages.strip_fences(text).split("\n")
    found: list[Block] = []
    section: tuple[str | None, str] = (None, "")
    start: int | None = None
    for n, line in enumerate(prose):
        if line.startswith("## "):
            hid = pages.HEADING_ID.search(line)
            section = (hid.group("id") if hid else None, _section_title(line[3:]))
        m = MARK.match(line)
        if not m:
            continue
        if not m.group("close"):
            start = n
            continue
        if start is None:
            continue  # mark_problems reports it
        indent = len(MARK.match(prose[start]).group("indent"))
        body = [ln[indent:] if ln[:indent].strip() == "" else ln for ln in lines[start + 1 : n]]
        found.append(Block("\n".join(body).strip("\n"), *section))
        start = None
    return found


def mark_problems(text: str) -> list[str]:
    """Unbalanced or nested marks, each as 'line N: what is wrong'."""
    problems = []
    opened: int | None = None
    prose = pages.strip_fences(text)
    for m in MARK.finditer(prose):
        line = prose.count("\n", 0, m.start()) + 1
        if m.group("close"):
            if opened is None:
                problems.append(f"line {line}: '{CLOSE}' without an opening '{OPEN}' above it")
            opened = None
        else:
            if opened is not None:
                problems.append(
                    f"line {line}: '{OPEN}' inside the block opened on line {opened}: close that "
                    f"one first with '{CLOSE}'"
                )
            opened = line
    if opened is not None:
        problems.append(f"line {opened}: '{OPEN}' is never closed: add '{CLOSE}' after the block")
    return problems


# ------------------------------------------------------------------ formulas

# pymdownx.arithmatex's own rules (generic mode, smart dollars): $$…$$ and \[…\] blocks, $…$ and
# \(…\) inline, a backslash escapes a dollar.
DISPLAY_MATH = re.compile(r"(?<!\\)\$\$(?:\\.|[^\\])+?\$\$|(?<!\\)\\\[(?:\\.|[^\\])+?\\\]", re.S)
INLINE_MATH = re.compile(
    r"(?<!\\)\$(?!\s)(?:\\.|[^\\$])+?(?<!\s)\$|(?<!\\)\\\((?:\\[^)]|[^\\])+?\\\)"
)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)


def count_formulas(markdown: str) -> int:
    """How many formulas KaTeX should render for this Markdown: ``$$…$$`` and ``$…$``
    (not inside code).

    >>> count_formulas("Area $w h$, and $$\\\\frac{a}{b}$$ costs \\\\$5, `$x$` is code.")
    2
    """
    text = CODE_SPAN.sub("", pages.strip_fences(markdown))
    display = len(DISPLAY_MATH.findall(text))
    text = DISPLAY_MATH.sub(" ", text)
    return display + len(INLINE_MATH.findall(text))


# ------------------------------------------------------------------ rewriting a block for the sheet

LINK = re.compile(r"(?P<bang>!?)\[(?P<label>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>[^)\n]*)\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\](?!:)")
HEADING_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*$", re.M)


def anchor(stem: str) -> str:
    """The id of a topic's heading on its sheet: ``focal_loss`` -> ``focal-loss``."""
    return stem.replace("_", "-")


def _rewrite_target(target: str, topic_src: str, sheet_src: str) -> str:
    if SCHEME.match(target) or target.startswith("/"):
        return target
    path, _, frag = target.partition("#")
    here = posixpath.dirname(topic_src)
    resolved = posixpath.normpath(posixpath.join(here, path)) if path else topic_src
    rel = posixpath.relpath(resolved, posixpath.dirname(sheet_src))
    return rel + (f"#{frag}" if frag else "")


def _outside_code(text: str, change: callable) -> str:  # type: ignore[valid-type]
    """Apply ``change`` to the text between inline code spans."""
    out, last = [], 0
    for m in CODE_SPAN.finditer(text):
        out.append(change(text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(change(text[last:]))
    return "".join(out)


def for_sheet(text: str, topic_src: str, sheet_src: str) -> str:
    """A marked block as the sheet shows it (see the module docstring)."""
    text = pages.FENCE.sub("", text)  # code blocks stay on the page
    text = pages.FIGURE.sub("", text)
    stem = anchor(Path(topic_src).stem)

    def links(part: str) -> str:
        part = FOOTNOTE_REF.sub("", part)
        return LINK.sub(
            lambda m: (
                f"{m.group('bang')}[{m.group('label')}]"
                f"({_rewrite_target(m.group('target'), topic_src, sheet_src)}{m.group('title')})"
            ),
            part,
        )

    text = _outside_code(text, links)

    def heading(m: re.Match[str]) -> str:
        body = pages.HEADING_ID.sub(
            lambda h: h.group(0).replace(f"#{h.group('id')}", f"#{stem}-{h.group('id')}"),
            m.group("text"),
        )
        return f"{m.group('indent')}#### {body}"

    text = HEADING_LINE.sub(heading, text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# ------------------------------------------------------------------ the sheets


def sheet_src(lang: str, chapter: str) -> str:
    return f"{lang}/{FOLDER}/{chapter}.md"


def topics(lang: str, chapter: str) -> list[pages.Page]:
    """The chapter's topic pages, in the order of the chapter's table (then by name)."""
    folder = pages.DOCS / lang / chapter
    found = {p.name: p for p in folder.glob("*.md") if p.name != "index.md"}
    index = folder / "index.md"
    listed = re.findall(r"\]\(([a-z0-9_]+\.md)\)", index.read_text(encoding="utf-8"))
    order = [n for n in dict.fromkeys(listed) if n in found]
    order += sorted(set(found) - set(order))
    return [pages.parse(found[n]) for n in order]


def chapter_of(src: str) -> str:
    """``zh/cheatsheets/detection.md`` -> ``detection`` (a sheet's chapter is its file name)."""
    chapter = Path(src).stem
    if chapter not in pages.CHAPTERS:
        raise SystemExit(
            f"{src}: '<!-- generated: cheatsheet -->' belongs on docs/<lang>/{FOLDER}/<chapter>.md "
            f"with a chapter of tools/pages.py CHAPTERS: {list(pages.CHAPTERS)}"
        )
    return chapter


def sheet_markdown(lang: str, chapter: str) -> tuple[str, int]:
    """The sheet's body (without the promise) and the number of formulas on it."""
    src = sheet_src(lang, chapter)
    out: list[str] = []
    for page in topics(lang, chapter):
        topic_src = f"{lang}/{page.rel}"
        link = posixpath.relpath(topic_src, posixpath.dirname(src))
        out.append(f"## [{page.title}]({link}) {{ #{anchor(page.path.stem)} }}\n")
        previous = None
        for block in blocks(page.path.read_text(encoding="utf-8")):
            if block.section_id != previous and block.section_id:
                out.append(f"**[{block.section_title}]({link}#{block.section_id})**\n")
            previous = block.section_id
            out.append(for_sheet(block.text, topic_src, src) + "\n")
    body = "\n".join(out)
    return body, count_formulas(body)


def promise(lang: str, chapter: str) -> str:
    n = PAGES[chapter]
    return TEXT["promise"][lang].format(n=n, s="" if n == 1 else "s")


def render(lang: str, src: str) -> str:
    """``<!-- generated: cheatsheet -->`` on ``docs/<lang>/cheatsheets/<chapter>.md``."""
    chapter = chapter_of(src)
    body, _ = sheet_markdown(lang, chapter)
    return (
        f'<p class="hb-sheet-promise" data-pages="{PAGES[chapter]}">{promise(lang, chapter)}</p>\n\n'
        # md_in_html: the sheet's text is not indexed for search (it repeats the topic pages,
        # which should rank first); the title and the promise are.
        f'<div class="hb-sheet" data-pagefind-ignore="all" markdown>\n\n{body}\n\n</div>'
    )


def index(lang: str, src: str) -> str:
    """``<!-- generated: cheatsheets -->``: the table of every chapter's sheet."""
    rows = [
        f"| {TEXT['chapter'][lang]} | {TEXT['topics'][lang]} | {TEXT['a4'][lang]} |",
        "| --- | --- | --- |",
    ]
    for chapter in pages.CHAPTERS:
        if not (pages.DOCS / lang / FOLDER / f"{chapter}.md").is_file():
            continue
        title = TEXT["title"][lang].format(chapter=pages.CHAPTER_TITLES[chapter][lang])
        link = posixpath.relpath(sheet_src(lang, chapter), posixpath.dirname(src))
        count = len(topics(lang, chapter))
        rows.append(f"| [{title}]({link}) | {count} | {PAGES[chapter]} |")
    return "\n".join(rows)
