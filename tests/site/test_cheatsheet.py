"""Cheat sheets (tools/cheatsheet.py): the marks on the topic pages, the check that keeps them
sound, and the sheets made from them. Printing the sheets is tests/browser/test_cheatsheets.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import markdown
import pytest

from tools import cheatsheet, check_site, pages

ROOT = pages.ROOT
TOPICS = [
    (lang, p) for lang in pages.LANGS for p in pages.pages(lang) if p.is_topic
]  # every topic page of both languages


# ------------------------------------------------------------------ the marks on the pages


@pytest.mark.parametrize("lang,page", TOPICS, ids=[f"{lang}/{p.rel}" for lang, p in TOPICS])
def test_every_topic_page_marks_balanced_blocks(lang: str, page: pages.Page) -> None:
    text = page.path.read_text(encoding="utf-8")
    assert cheatsheet.mark_problems(text) == []
    found = cheatsheet.blocks(text)
    assert found, f"docs/{lang}/{page.rel} marks nothing for the cheat sheet"
    assert all(b.text.strip() for b in found), "an empty marked block"
    assert all(b.section_id not in ("questions", "sources") for b in found)


MD_EXTENSIONS = ["abbr", "admonition", "attr_list", "def_list", "footnotes", "tables", "toc"]
MD_EXTENSIONS += ["md_in_html", "pymdownx.arithmatex", "pymdownx.details", "pymdownx.superfences"]


def _html(text: str) -> str:
    out = markdown.markdown(
        text,
        extensions=MD_EXTENSIONS,
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    out = cheatsheet.MARK.sub("", out)
    out = re.sub(r"<!--\s*/?cheatsheet\s*-->", "", out)  # a closing mark inside a list item
    return re.sub(r"\s*(<[^>]*>)\s*", r"\1", re.sub(r"\s+", " ", out))


@pytest.mark.parametrize(
    "rel", ["zh/detection/iou.md", "en/detection/iou.md", "zh/ml/pca.md", "en/llm/memory.md"]
)
def test_marks_are_invisible_on_the_page(rel: str) -> None:
    """A page renders the same with and without its mark lines (lists stay one list)."""
    text = (pages.DOCS / rel).read_text(encoding="utf-8")
    unmarked = re.sub(r"^[ \t]*<!--[ \t]*/?cheatsheet[ \t]*-->[ \t]*\n", "", text, flags=re.M)
    assert unmarked != text
    assert _html(text) == _html(unmarked)


@pytest.mark.parametrize(
    "text,problem",
    [
        ("<!-- cheatsheet -->\nx\n", "is never closed"),
        ("x\n<!-- /cheatsheet -->\n", "without an opening"),
        ("<!-- cheatsheet -->\n<!-- cheatsheet -->\nx\n<!-- /cheatsheet -->\n", "inside the block"),
    ],
)
def test_unbalanced_marks_are_named(text: str, problem: str) -> None:
    assert any(problem in p for p in cheatsheet.mark_problems(text))


def test_marks_inside_code_are_not_marks() -> None:
    text = "```text\n<!-- cheatsheet -->\n```\n\n<!-- cheatsheet -->\n\nA $x$.\n\n<!-- /cheatsheet -->\n"
    assert cheatsheet.mark_problems(text) == []
    assert [b.text for b in cheatsheet.blocks(text)] == ["A $x$."]


def test_a_closing_mark_inside_a_list_keeps_the_items_above_it() -> None:
    text = (
        "## Mistakes { #mistakes }\n\n<!-- cheatsheet -->\n\n- one\n- two\n  more\n"
        "    <!-- /cheatsheet -->\n- three\n"
    )
    (block,) = cheatsheet.blocks(text)
    assert block.text == "- one\n- two\n  more"
    assert (block.section_id, block.section_title) == ("mistakes", "Mistakes")


# ------------------------------------------------------------------ the check (break it on purpose)


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    yield tmp_path
    pages.DOCS = ROOT / "docs"


def _marks_errors(root: Path) -> str:
    return "\n".join(check_site.check_cheatsheet_marks(check_site._parse_all(root)))


def _strip_marks(text: str) -> str:
    return re.sub(r"^[ \t]*<!--[ \t]*/?cheatsheet[ \t]*-->[ \t]*\n", "", text, flags=re.M)


def test_the_repository_passes_the_mark_check() -> None:
    assert check_site.check_cheatsheet_marks(check_site._parse_all(ROOT)) == []
    pages.DOCS = ROOT / "docs"


def test_check_names_a_page_without_marks(docs_copy: Path) -> None:
    for lang in pages.LANGS:
        page = docs_copy / "docs" / lang / "detection" / "nms.md"
        page.write_text(_strip_marks(page.read_text(encoding="utf-8")), encoding="utf-8")
    errors = _marks_errors(docs_copy)
    assert "docs/zh/detection/nms.md marks nothing for its chapter's cheat sheet" in errors
    assert "docs/en/detection/nms.md marks nothing" in errors


def test_check_names_an_unclosed_mark(docs_copy: Path) -> None:
    page = docs_copy / "docs" / "en" / "detection" / "iou.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace(cheatsheet.CLOSE, "", 1), encoding="utf-8")
    errors = _marks_errors(docs_copy)
    assert "docs/en/detection/iou.md: line" in errors and "inside the block opened" in errors


def test_check_names_languages_that_mark_different_blocks(docs_copy: Path) -> None:
    page = docs_copy / "docs" / "zh" / "ml" / "pca.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text + f"\n{cheatsheet.OPEN}\n\n额外一段。\n\n{cheatsheet.CLOSE}\n", "utf-8")
    errors = _marks_errors(docs_copy)
    assert "docs/zh/ml/pca.md and docs/en/ml/pca.md mark" in errors
    assert "same blocks in both languages" in errors


# ------------------------------------------------------------------ turning a block into sheet text


def test_links_are_rewritten_to_resolve_from_the_sheet() -> None:
    block = (
        "See [bench](../benchmarks.md#box-iou), [nms](nms.md#idea), [answer](#q3), "
        "[paper](https://arxiv.org/abs/1), ![pic](../../assets/x.png) and `[code](nms.md)`."
    )
    out = cheatsheet.for_sheet(block, "zh/detection/iou.md", "zh/cheatsheets/detection.md")
    assert "[bench](../benchmarks.md#box-iou)" in out
    assert "[nms](../detection/nms.md#idea)" in out
    assert "[answer](../detection/iou.md#q3)" in out
    assert "[paper](https://arxiv.org/abs/1)" in out
    assert "![pic](../../assets/x.png)" in out  # zh/detection -> zh/cheatsheets: same depth
    assert "`[code](nms.md)`" in out  # inside inline code: left as written


def test_figures_code_and_footnote_references_are_left_out() -> None:
    block = (
        "Text[^1].\n\n![a figure](figure:detection/iou.py:draw_cases)\n\n"
        '```python\n--8<-- "snippets/detection/iou.py:box_iou"\n```\n\nMore.'
    )
    out = cheatsheet.for_sheet(block, "en/detection/iou.md", "en/cheatsheets/detection.md")
    assert out == "Text.\n\nMore."


def test_headings_in_a_block_get_ids_unique_to_their_topic() -> None:
    out = cheatsheet.for_sheet(
        "### Conventions { #convention }\n\nBody.", "en/ml/pca.md", "en/cheatsheets/ml.md"
    )
    assert out.startswith("#### Conventions { #pca-convention }")


@pytest.mark.parametrize(
    "text,n",
    [
        ("no math", 0),
        ("$a$ and $b$", 2),
        ("$$\nx\n$$\n\nand $y$", 2),
        ("price \\$5, not a formula", 0),  # an escaped dollar
        ("$5 and 6$", 1),  # arithmatex's smart dollars: no space inside the dollars
        ("$ a $ is text", 0),
        ("`$x$` is code, $z$ is not", 1),
        ("| $1 - \\mathrm{IoU}$ | $[0, 1]$ |", 2),
        ("```text\n$a$\n```\n$b$", 1),
        ("\\(a\\) and \\[b\\]", 2),
    ],
)
def test_formula_count(text: str, n: int) -> None:
    assert cheatsheet.count_formulas(text) == n


@pytest.mark.parametrize("lang", pages.LANGS)
def test_formula_count_agrees_with_arithmatex_on_every_sheet(lang: str) -> None:
    """The count the browser test expects is what arithmatex hands to KaTeX."""
    for chapter in pages.CHAPTERS:
        body, n = cheatsheet.sheet_markdown(lang, chapter)
        rendered = markdown.markdown(
            body,
            extensions=MD_EXTENSIONS,
            extension_configs={"pymdownx.arithmatex": {"generic": True}},
        )
        assert rendered.count('class="arithmatex"') == n, chapter
        assert n > 0, f"the {chapter} sheet has no formula"


# ------------------------------------------------------------------ the sheets

SHEETS = [(lang, ch) for lang in pages.LANGS for ch in pages.CHAPTERS]


@pytest.mark.parametrize("lang,chapter", SHEETS, ids=[f"{lang}-{ch}" for lang, ch in SHEETS])
def test_each_sheet_lists_every_topic_with_its_marked_blocks(lang: str, chapter: str) -> None:
    src = pages.DOCS / lang / cheatsheet.FOLDER / f"{chapter}.md"
    assert "<!-- generated: cheatsheet -->" in src.read_text(encoding="utf-8")
    out = cheatsheet.render(lang, f"{lang}/{cheatsheet.FOLDER}/{chapter}.md")
    topics = sorted(p for p in (pages.DOCS / lang / chapter).glob("*.md") if p.name != "index.md")
    for topic in topics:
        assert f"](../{chapter}/{topic.name}) {{ #{cheatsheet.anchor(topic.stem)} }}" in out
        for block in cheatsheet.blocks(topic.read_text(encoding="utf-8")):
            first = next(ln for ln in block.text.splitlines() if ln.strip() and "](" not in ln)
            assert first.strip()[:30] in out, f"{topic}: block starting {first[:40]!r} missing"
    ids = re.findall(r"\{ #([\w-]+) \}", out)
    assert len(ids) == len(set(ids)), f"duplicate ids on the sheet: {ids}"
    assert f'data-pages="{cheatsheet.PAGES[chapter]}"' in out
    assert "figure:" not in out and "--8<--" not in out


@pytest.mark.parametrize("lang", pages.LANGS)
def test_the_index_lists_every_chapter_sheet(lang: str) -> None:
    out = cheatsheet.index(lang, f"{lang}/{cheatsheet.FOLDER}/index.md")
    for chapter in pages.CHAPTERS:
        assert f"]({chapter}.md) |" in out
    assert set(cheatsheet.PAGES) == set(pages.CHAPTERS)


def test_a_sheet_outside_the_chapters_fails_the_build() -> None:
    with pytest.raises(SystemExit, match="CHAPTERS"):
        cheatsheet.render("en", "en/cheatsheets/astrology.md")
