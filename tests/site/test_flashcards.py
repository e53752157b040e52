"""The flashcard decks (tools/flashcards.py): opened as Anki would, checked against the pages.

The decks are read from the built site named by ``HANDBOOK_SITE`` (what readers download), or,
without it, generated into a temporary folder. The pages are read here with a regular expression
of our own, not through ``tools/pages.py``, so a parser bug there cannot hide one in the deck.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import json
import os
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tools import embed, flashcards, pages

ROOT = pages.ROOT
LANGS = ("zh", "en")
QUESTION = re.compile(
    r'^\?\?\?\+?[ \t]+question[ \t]+(easy|medium|hard)[ \t]+"([^"]+)"[ \t]*$', re.M
)
LABEL = {"zh": {"easy": "简单", "medium": "中等", "hard": "困难"}}
LABEL["en"] = {k: k for k in LABEL["zh"]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("HANDBOOK_SITE"):
        built = Path(os.environ["HANDBOOK_SITE"]) / flashcards.OUT
        assert built.is_dir(), f"HANDBOOK_SITE has no {flashcards.OUT}: the hook did not run"
        return built
    site = tmp_path_factory.mktemp("site")
    flashcards.write(site)
    return site / flashcards.OUT


def open_deck(path: Path) -> dict:
    """Notes, cards, models and decks of an .apkg (a zip holding an Anki sqlite collection)."""
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["collection.anki2", "media"], z.namelist()
        db = path.parent / f".{path.stem}.anki2"
        db.write_bytes(z.read("collection.anki2"))
        assert json.loads(z.read("media")) == {}
    try:
        conn = sqlite3.connect(db)
        notes = conn.execute("select id, guid, mid, flds, tags from notes order by id").fetchall()
        cards = conn.execute("select nid, did, ord from cards").fetchall()
        models, decks = conn.execute("select models, decks from col").fetchone()
        conn.close()
    finally:
        db.unlink()
    return {
        "notes": [
            {"guid": g, "mid": m, "fields": f.split("\x1f"), "tags": t.split()}
            for _, g, m, f, t in notes
        ],
        "cards": cards,
        "models": json.loads(models),
        "decks": json.loads(decks),
    }


@pytest.fixture(scope="module")
def decks(folder: Path) -> dict[str, dict]:
    return {lang: open_deck(folder / f"handbook-{lang}.apkg") for lang in LANGS}


def source_questions(lang: str) -> dict[str, list[tuple[str, str]]]:
    """{"detection/nms": [(difficulty, title), ...]} for every topic page, read from Markdown."""
    found = {}
    for chapter in pages.CHAPTERS:
        for md in sorted((ROOT / "docs" / lang / chapter).glob("*.md")):
            if md.name != "index.md":
                text = md.read_text(encoding="utf-8")
                found[f"{chapter}/{md.stem}"] = QUESTION.findall(text)
    return found


def plain(fragment: str) -> str:
    """Text of a card field: tags dropped, ``\\(x\\)`` as ``$x$``, whitespace collapsed."""
    text = re.sub(r"\\\((.*?)\\\)", r"$\1$", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def test_deck_has_a_card_per_question_and_per_cloze(decks: dict[str, dict]) -> None:
    for lang in LANGS:
        want = sum(len(qs) for qs in source_questions(lang).values())
        assert want == sum(len(p.questions) for p in pages.pages(lang) if p.is_topic)
        notes = decks[lang]["notes"]
        by_model = {mid: sum(n["mid"] == mid for n in notes) for mid in {n["mid"] for n in notes}}
        assert by_model == {
            flashcards.QA_MODEL_ID: want,
            flashcards.CLOZE_MODEL_ID: len(flashcards.CLOZES),
        }, lang
        assert len(decks[lang]["cards"]) == len(notes)  # one card per note (cloze: c1 only)
        assert {did for _, did, _ in decks[lang]["cards"]} == {flashcards.DECK_IDS[lang]}
        assert str(flashcards.DECK_IDS[lang]) in decks[lang]["decks"]
        assert {str(flashcards.QA_MODEL_ID), str(flashcards.CLOZE_MODEL_ID)} == set(
            decks[lang]["models"]
        )
        assert len({n["guid"] for n in notes}) == len(notes), f"{lang}: duplicate guids"


def test_each_question_card_matches_its_page(decks: dict[str, dict]) -> None:
    base = flashcards.site_url()
    site = Path(os.environ["HANDBOOK_SITE"]) if os.environ.get("HANDBOOK_SITE") else None
    for lang in LANGS:
        questions = source_questions(lang)
        prefix = base + ("en/" if lang == "en" else "")
        seen = set()
        for note in decks[lang]["notes"]:
            if note["mid"] != flashcards.QA_MODEL_ID:
                continue
            front, back, level, topic, link = note["fields"]
            m = re.fullmatch(re.escape(prefix) + r"([a-z_]+/[a-z0-9_]+)/#q(\d+)", link)
            assert m, f"{lang}: link {link} is not <site_url>[en/]<chapter>/<topic>/#q<N>"
            page, n = m.group(1), int(m.group(2))
            difficulty, title = questions[page][n - 1]
            assert plain(front) == " ".join(title.replace("`", "").split()), (link, front)
            assert level == LABEL[lang][difficulty], link
            assert f"difficulty::{difficulty}" in note["tags"], link
            assert f"chapter::{page.split('/')[0]}" in note["tags"], link
            h1 = re.search(
                r"^# (.+)$", (ROOT / "docs" / lang / f"{page}.md").read_text("utf-8"), re.M
            )
            assert h1 and topic == h1.group(1).strip(), link
            assert plain(back), f"{link}: empty answer"
            assert 'class="katex' not in back, f"{link}: KaTeX HTML; Anki renders LaTeX itself"
            for href in re.findall(r'href="([^"]*)"', back):
                assert href.startswith(("http://", "https://")), f"{link}: relative link {href}"
            if site is not None:  # the link lands on that answer of the built page
                built = (site / link[len(base) :].split("#")[0] / "index.html").read_text("utf-8")
                assert f'<details class="question {difficulty}" id="q{n}"' in built, link
            seen.add((page, n))
        assert seen == {(p, i + 1) for p, qs in questions.items() for i in range(len(qs))}, lang


def test_formulas_reach_anki_as_latex(decks: dict[str, dict]) -> None:
    """``$x$`` on a page is ``\\(x\\)`` on the card: Anki's MathJax renders that."""
    notes = [n for n in decks["en"]["notes"] if n["mid"] == flashcards.QA_MODEL_ID]
    with_math = [n for n in notes if "\\(" in n["fields"][1] or "\\[" in n["fields"][1]]
    assert len(with_math) > len(notes) // 4
    for note in notes:  # outside code, no $ is left over: every formula became \( \) or \[ \]
        prose = re.sub(r"<(pre|code)\b[^>]*>.*?</\1>", "", note["fields"][1], flags=re.S)
        assert "$" not in prose, note["fields"][4]


def test_csv_agrees_with_the_deck(folder: Path, decks: dict[str, dict]) -> None:
    for lang in LANGS:
        rows = list(
            csv.DictReader(io.StringIO((folder / f"handbook-{lang}.csv").read_text("utf-8")))
        )
        assert tuple(rows[0]) == flashcards.CSV_COLUMNS
        notes = {n["guid"]: n for n in decks[lang]["notes"]}
        assert [r["guid"] for r in rows] == list(notes)  # same cards, same order
        for row in rows:
            fields = notes[row["guid"]]["fields"]
            if row["kind"] == "question":
                assert [
                    row["front"],
                    row["back"],
                    row["difficulty"],
                    row["topic"],
                    row["link"],
                ] == fields
            else:
                assert row["kind"] == "cloze" and row["difficulty"] == ""
                assert [row["front"], row["back"], row["topic"], row["link"]] == fields


def test_guids_are_stable_across_generations(decks: dict[str, dict], tmp_path: Path) -> None:
    """A second generation gives every card the same guid (re-import updates, never duplicates),
    and with SOURCE_DATE_EPOCH the same bytes."""
    for lang in LANGS:
        again = flashcards.cards(lang)
        assert [c.guid for c in again] == [n["guid"] for n in decks[lang]["notes"]], lang
    package = flashcards.genanki.Package(flashcards.deck("en", again))
    a, b = tmp_path / "a.apkg", tmp_path / "b.apkg"
    flashcards.write_apkg(a, package, 1_700_000_000)
    flashcards.write_apkg(
        b, flashcards.genanki.Package(flashcards.deck("en", again)), 1_700_000_000
    )
    assert a.read_bytes() == b.read_bytes()


def _function_lines(module: str, function: str) -> list[str]:
    text = (ROOT / module).read_text(encoding="utf-8")
    node = next(
        n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == function
    )
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return text.split("\n")[first - 1 : node.end_lineno]


CLOZE = re.compile(r"\{\{c1::(?P<line>.*?)::(?P<hint>[^}]*)\}\}")


def test_cloze_cards_blank_a_line_of_the_current_snippet(decks: dict[str, dict]) -> None:
    assert len(flashcards.CLOZES) >= 12
    names = sorted(e.name for e in flashcards.CLOZES)
    for lang in LANGS:
        clozes = [n for n in decks[lang]["notes"] if n["mid"] == flashcards.CLOZE_MODEL_ID]
        for entry, note in zip(
            sorted(flashcards.CLOZES, key=lambda e: e.name), clozes, strict=True
        ):
            text = note["fields"][0]
            assert text.startswith("<pre><code>") and text.endswith("</code></pre>")
            blanks = list(CLOZE.finditer(text))
            assert len(blanks) == 1, f"{entry.name}: {len(blanks)} blanks"
            line = html.unescape(blanks[0].group("line"))
            source = _function_lines(entry.module, entry.function)
            assert [s.strip() for s in source].count(line) == 1, f"{entry.name}: {line!r}"
            assert re.search(entry.line, line), entry.name
            assert html.unescape(blanks[0].group("hint")), f"{entry.name}: no hint"
            filled = html.unescape(CLOZE.sub(lambda m: m.group("line"), text)[11:-13])
            assert filled == embed.short_docstrings("\n".join(source)), entry.name
            assert note["fields"][1] == f"{entry.module}:{entry.function}()"
            assert note["fields"][3] == flashcards.page_url(flashcards.site_url(), lang, entry.page)
            assert (ROOT / "docs" / lang / entry.page).is_file()
        assert len(clozes) == len(names)


def test_a_cloze_line_gone_from_the_code_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = flashcards.CLOZES[0]
    moved = flashcards.Cloze(
        entry.name, entry.module, entry.function, "no such line", entry.hint, entry.page
    )
    monkeypatch.setattr(flashcards, "CLOZES", (moved,))
    with pytest.raises(flashcards.FlashcardError, match=f"'{entry.name}'.*{entry.function}"):
        flashcards.cloze_cards("en", "https://example.org/")
    gone = flashcards.Cloze(
        entry.name, entry.module, "no_such_function", "x", entry.hint, entry.page
    )
    monkeypatch.setattr(flashcards, "CLOZES", (gone,))
    with pytest.raises(flashcards.FlashcardError, match="no_such_function"):
        flashcards.cloze_cards("en", "https://example.org/")


def test_generator_on_a_tiny_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "en" / "detection" / "toy.md"
    page.parent.mkdir(parents=True)
    page.write_text(
        "# Toy\n\n## Questions { #questions }\n\n"
        '??? question hard "Why is $a < b$ with `x`?"\n\n'
        "    Because $a = 1$ and\n\n    $$\n    b = 2\n    $$\n\n"
        "    See [NMS](nms.md#code) and [above](#questions).\n\n"
        '    ```text\n    ??? question easy "not a question"\n    ```\n\n'
        '??? question easy "Second?"\n\n    Yes.\n\n## Mistakes { #mistakes }\n\nNone.\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(pages, "DOCS", tmp_path)
    cards = flashcards.question_cards("en", "https://h.example/sub/")
    assert [(c.difficulty, c.link) for c in cards] == [
        ("hard", "https://h.example/sub/en/detection/toy/#q1"),
        ("easy", "https://h.example/sub/en/detection/toy/#q2"),
    ]
    first = cards[0]
    assert (
        first.front == r'Why is <span class="arithmatex">\(a &lt; b\)</span> with <code>x</code>?'
    )
    assert r"\(a = 1\)" in first.back and "\\[\nb = 2\n\\]" in first.back
    assert 'href="https://h.example/sub/en/detection/nms/#code"' in first.back
    assert 'href="https://h.example/sub/en/detection/toy/#questions"' in first.back
    assert "not a question" in first.back and "Mistakes" not in cards[1].back
    assert cards[1].back == "<p>Yes.</p>"
    assert first.guid == flashcards.genanki.guid_for(
        "handbook", "en", "detection/toy.md", "Why is $a < b$ with `x`?"
    )
