"""Flashcards: an Anki deck (``.apkg``) and a CSV per language, written into the built site.

``<site>/assets/flashcards/handbook-<lang>.apkg`` and ``.csv`` hold

* one card per interview question of every topic page (question, folded answer, difficulty,
  topic, link back to the answer on the site), and
* one code-cloze card per entry of :data:`CLOZES`: a snippet function with one key line blanked
  (the suppression line of NMS, the max shift of softmax, ...).

Source: the pages' Markdown (:mod:`tools.pages`), not the built HTML. The built answers carry
KaTeX's rendered HTML without the LaTeX it came from, and Anki has no KaTeX stylesheet; Anki
renders ``\\(..\\)`` / ``\\[..\\]`` with its own MathJax, which is exactly what
pymdownx.arithmatex (``generic``) writes. So each answer's Markdown is rendered here with the
page's extensions minus the site-only ones, and its relative links are made absolute.

Re-importing a newer deck updates the cards instead of duplicating them: model and deck ids are
constants and each note's guid comes from (language, page, question title) or (language, cloze
entry). Anki replaces a note only when the imported one is newer, so notes carry the build time;
with ``SOURCE_DATE_EPOCH`` set (the reproducible-builds convention) the files are byte-identical
across builds.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import os
import posixpath
import re
import sqlite3
import tempfile
import textwrap
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import genanki
import markdown

from tools import embed, pages

ROOT = pages.ROOT
OUT = "assets/flashcards"  # inside the built site
# Fixed ids (random once, never change): Anki matches models and decks by id.
QA_MODEL_ID = 1_738_412_907
CLOZE_MODEL_ID = 1_738_412_908
DECK_IDS = {"zh": 2_059_400_110, "en": 2_059_400_111}
DECK_NAMES = {"zh": "算法岗面试手册", "en": "ML Interview Handbook"}
DIFFICULTY = {
    "easy": {"zh": "简单", "en": "easy"},
    "medium": {"zh": "中等", "en": "medium"},
    "hard": {"zh": "困难", "en": "hard"},
}
CSV_COLUMNS = ("guid", "kind", "difficulty", "track", "chapter", "topic", "front", "back", "link")
MARKDOWN_EXTENSIONS = [
    "abbr",
    "admonition",
    "attr_list",
    "def_list",
    "footnotes",
    "md_in_html",
    "tables",
    "pymdownx.arithmatex",
    "pymdownx.details",
    "pymdownx.highlight",
    "pymdownx.superfences",
    "pymdownx.inlinehilite",
    "pymdownx.tasklist",
]
MARKDOWN_CONFIG = {
    "pymdownx.arithmatex": {"generic": True},  # \( \) and \[ \]: Anki's MathJax renders them
    "pymdownx.highlight": {"use_pygments": False},  # plain <pre><code>, no stylesheet needed
}
CSS = """.card { font-family: system-ui, sans-serif; font-size: 18px; text-align: left;
  color: #222; background: #fff; max-width: 42em; margin: 0 auto; }
.nightMode.card, .night_mode .card { color: #ddd; background: #222; }
.meta { font-size: 13px; color: #777; margin-bottom: .6em; }
pre { white-space: pre-wrap; background: rgba(127,127,127,.12); padding: .5em; font-size: 14px; }
code { font-size: 90%; }
.cloze { font-weight: bold; color: #1565c0; }
.nightMode .cloze { color: #90caf9; }
a { color: #3949ab; }"""


@dataclass(frozen=True)
class Cloze:
    """A key line of a snippet function, blanked on a card.

    ``line`` is a regular expression that must match exactly one line of the function (searched,
    so a plain substring works when it has no special characters).
    """

    name: str  # stable id of the card: its guid comes from it
    module: str  # snippets/<chapter>/<topic>.py
    function: str
    line: str
    hint: dict[str, str]
    page: str  # <chapter>/<topic>.md, the page that explains it


# The classic key lines an interviewer expects you to get right.
CLOZES: tuple[Cloze, ...] = (
    Cloze(
        "nms-suppress",
        "snippets/detection/nms.py",
        "nms_naive",
        r"order = rest\[~\(ious",
        {
            "zh": "保留哪些框（IoU 严格大于阈值才抑制，NaN 不抑制）",
            "en": "which boxes survive (> threshold suppresses, NaN never)",
        },
        "detection/nms.md",
    ),
    Cloze(
        "softmax-max-shift",
        "snippets/fundamentals/softmax_cross_entropy.py",
        "softmax",
        r"m = x\.amax\(dim, keepdim=True\)",
        {"zh": "数值稳定的平移量", "en": "the shift that keeps exp from overflowing"},
        "fundamentals/softmax_cross_entropy.md",
    ),
    Cloze(
        "attention-scale",
        "snippets/transformer/attention.py",
        "attention_naive",
        r"scores = query @ key\.T / math\.sqrt",
        {"zh": "打分与缩放", "en": "the scores and their scaling"},
        "transformer/attention.md",
    ),
    Cloze(
        "rope-rotate-half",
        "snippets/transformer/rope.py",
        "rotate_half",
        r"return torch\.cat\(\(-x2, x1\)",
        {"zh": "[x1, x2] 转 90 度", "en": "[x1, x2] turned by 90 degrees"},
        "transformer/rope.md",
    ),
    Cloze(
        "layer-norm-normalise",
        "snippets/fundamentals/normalization.py",
        "layer_norm",
        r"out = \(input - mean\) \* torch\.rsqrt",
        {"zh": "归一化（eps 在哪里）", "en": "the normalisation (where does eps go?)"},
        "fundamentals/normalization.md",
    ),
    Cloze(
        "dpo-loss",
        "snippets/llm/alignment.py",
        "dpo_loss",
        r"return -F\.logsigmoid\(beta \* logits\)",
        {"zh": "DPO 损失（数值稳定的写法）", "en": "the DPO loss, written stably"},
        "llm/alignment.md",
    ),
    Cloze(
        "top-p-cutoff",
        "snippets/llm/decoding.py",
        "top_p_logits",
        r"remove_sorted = cum_probs <= \(1 - top_p\)",
        {
            "zh": "升序累积概率下的截断条件",
            "en": "the cut on the ascending cumulative probabilities",
        },
        "llm/decoding.md",
    ),
    Cloze(
        "iou-intersection-clamp",
        "snippets/detection/iou.py",
        "_box_inter_union",
        r"wh = \(bottom_right - top_left\)\.clamp",
        {"zh": "不相交的框怎么办", "en": "what disjoint boxes must give"},
        "detection/iou.md",
    ),
    Cloze(
        "kv-repeat",
        "snippets/transformer/kv_cache.py",
        "repeat_kv",
        r"expanded = hidden_states\[:, :, None",
        {
            "zh": "每个 KV 头复制 n_rep 次（不拷贝的视图）",
            "en": "each KV head n_rep times, as a view",
        },
        "transformer/kv_cache.md",
    ),
    Cloze(
        "focal-modulating-factor",
        "snippets/detection/focal_loss.py",
        "_modulating_factor",
        r"return \(1 - p_t\)\.clamp",
        {"zh": "调制因子", "en": "the modulating factor"},
        "detection/focal_loss.md",
    ),
    Cloze(
        "mae-shuffle",
        "snippets/selfsup/mae.py",
        "random_masking",
        r"ids_shuffle = torch\.argsort\(noise",
        {"zh": "随机打乱：保留噪声最小的", "en": "the shuffle: the smallest noise values are kept"},
        "selfsup/mae.md",
    ),
    Cloze(
        "adam-denominator",
        "snippets/fundamentals/optimizers.py",
        "adam_step",
        r"denom = v\.sqrt\(\) / math\.sqrt\(bias2\)",
        {"zh": "分母：偏差修正与 eps 的位置", "en": "the denominator: bias correction and eps"},
        "fundamentals/optimizers.md",
    ),
    Cloze(
        "lora-scaling",
        "snippets/llm/lora.py",
        "lora_scaling",
        r"return lora_alpha / math\.sqrt\(r\) if use_rslora",
        {"zh": "LoRA 与 rsLoRA 的缩放", "en": "the LoRA and rsLoRA scaling"},
        "llm/lora.md",
    ),
    Cloze(
        "ddpm-add-noise",
        "snippets/generative/diffusion.py",
        "add_noise",
        r"return ab\.sqrt\(\) \* original_samples",
        {"zh": "一步采样 x_t", "en": "x_t in one shot"},
        "generative/diffusion.md",
    ),
)


class FlashcardError(SystemExit):
    """Fails the build with a message that names the card to fix."""


@dataclass(frozen=True)
class Card:
    guid: str
    kind: str  # "question" or "cloze"
    difficulty: str  # "easy" | "medium" | "hard" ("" for cloze cards)
    track: str
    chapter: str
    topic: str
    front: str  # HTML (question) or cloze text with {{c1::...}}
    back: str  # HTML answer (question) or the hint (cloze)
    link: str  # absolute URL back to the page


def site_url() -> str:
    """``site_url`` of mkdocs.yml (read as text: the file has tags a safe YAML loader refuses)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    found = re.search(r"^site_url:\s*(\S+)\s*$", text, re.M)
    if not found:
        raise FlashcardError("mkdocs.yml has no site_url: the cards' links need it")
    return found.group(1).rstrip("/") + "/"


def page_url(base: str, lang: str, rel: str) -> str:
    """Absolute URL of ``<lang>/<rel>`` (``detection/nms.md`` -> ``<base>[en/]detection/nms/``)."""
    path = rel[: -len(".md")] if rel.endswith(".md") else rel
    if path == "index" or path.endswith("/index"):
        path = path[: -len("index")]
    path = path.rstrip("/")
    return base + ("en/" if lang == "en" else "") + (path + "/" if path else "")


def _answer_bodies(text: str) -> list[tuple[str, str, str]]:
    """(difficulty, title, answer Markdown dedented) of every ``??? question`` of a page.

    The question lines are found on the page without its fences (as :mod:`tools.pages` finds
    them); the answer is every following line that is blank or indented, taken from the page.
    """
    raw = text.split("\n")
    prose = pages.strip_fences(text).split("\n")  # same line count as the page
    found = []
    for i, line in enumerate(prose):
        m = pages.QUESTION.match(line)
        if not m:
            continue
        body = []
        for nxt in raw[i + 1 :]:
            if nxt.strip() and not nxt.startswith((" ", "\t")):
                break
            body.append(nxt)
        answer = textwrap.dedent("\n".join(body)).strip("\n")
        found.append((m.group("difficulty"), m.group("title"), answer))
    return found


MD_LINK = re.compile(r"(?<!!)\]\((?P<target>[^)\s]+)\)")


def _absolute_links(md: str, base: str, lang: str, rel: str) -> str:
    """Relative Markdown links of a page (``#x``, ``nms.md#x``) as absolute site URLs."""

    def fix(m: re.Match[str]) -> str:
        target = m.group("target")
        if re.match(r"[a-z]+:", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), path)) if path else rel
        url = page_url(base, lang, resolved)
        return f"]({url}#{anchor})" if anchor else f"]({url})"

    return MD_LINK.sub(fix, md)


_converter: markdown.Markdown | None = None


def render(md: str) -> str:
    """Markdown -> HTML for Anki (math left as ``\\(..\\)`` / ``\\[..\\]`` for its MathJax)."""
    global _converter
    if _converter is None:
        _converter = markdown.Markdown(
            extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_CONFIG
        )
    return _converter.reset().convert(embed.expand(md)).strip()


def question_cards(lang: str, base: str) -> list[Card]:
    """One card per question of every topic page of ``lang``, in page order."""
    topics = [p for p in pages.pages(lang) if p.is_topic]
    cards = []
    for page in topics:
        chapter = Path(page.rel).parts[0]
        bodies = _answer_bodies(page.path.read_text(encoding="utf-8"))
        if [(d, t) for d, t, _ in bodies] != [(q.difficulty, q.title) for q in page.questions]:
            raise FlashcardError(f"{lang}/{page.rel}: could not read the answers of its questions")
        url = page_url(base, lang, page.rel)
        for q, (_, title, answer) in zip(page.questions, bodies, strict=True):
            front = render(title)
            front = front[3:-4] if front.startswith("<p>") and front.endswith("</p>") else front
            cards.append(
                Card(
                    guid=genanki.guid_for("handbook", lang, page.rel, title),
                    kind="question",
                    difficulty=q.difficulty,
                    track=pages.TRACK_OF[chapter],
                    chapter=chapter,
                    topic=page.title,
                    front=front,
                    back=render(_absolute_links(answer, base, lang, page.rel)),
                    link=f"{url}#{q.anchor}",
                )
            )
    return cards


# ----------------------------------------------------------------------- code cloze


def function_source(module: str, function: str, root: Path = ROOT) -> str:
    """The source of ``function`` in ``module`` as a page shows it (docstring: first line)."""
    path = root / module
    if not path.is_file():
        raise FlashcardError(f"flashcards: {module} does not exist")
    text = path.read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = text.split("\n")[first - 1 : node.end_lineno]
            return embed.short_docstrings("\n".join(lines))
    raise FlashcardError(f"flashcards: {module} has no top-level function {function}()")


def blank(entry: Cloze, root: Path = ROOT) -> tuple[str, str, str]:
    """(function source, the key line without its indent, the line's indent).

    Fails, naming the entry, when its line is not exactly once in the function: a code change
    cannot silently break a card.
    """
    source = function_source(entry.module, entry.function, root)
    hits = [line for line in source.split("\n") if re.search(entry.line, line)]
    if len(hits) != 1:
        raise FlashcardError(
            f"flashcards: cloze entry '{entry.name}' expects one line matching {entry.line!r} in "
            f"{entry.module}:{entry.function}(), found {len(hits)}; update CLOZES in "
            "tools/flashcards.py to the current code"
        )
    line = hits[0]
    indent = line[: len(line) - len(line.lstrip())]
    if "::" in line or "}}" in line:
        raise FlashcardError(
            f"flashcards: cloze entry '{entry.name}': the line contains '::' or '}}}}', which "
            "Anki's cloze syntax cannot hold; pick another line"
        )
    return source, line.strip(), indent


def cloze_text(entry: Cloze, lang: str, root: Path = ROOT) -> str:
    """The function as HTML ``<pre>`` with the key line as ``{{c1::line::hint}}``."""
    source, key, indent = blank(entry, root)
    out = []
    done = False
    for line in source.split("\n"):
        if not done and line == indent + key:
            hint = entry.hint[lang].replace(":", "：") if lang == "zh" else entry.hint[lang]
            out.append(f"{indent}{{{{c1::{html.escape(key)}::{html.escape(hint)}}}}}")
            done = True
        else:
            out.append(html.escape(line))
    return "<pre><code>" + "\n".join(out) + "</code></pre>"


def cloze_cards(lang: str, base: str, root: Path = ROOT) -> list[Card]:
    cards = []
    for entry in sorted(CLOZES, key=lambda e: e.name):
        chapter = entry.page.split("/")[0]
        page = pages.DOCS / lang / entry.page
        if not page.is_file():
            raise FlashcardError(
                f"flashcards: cloze entry '{entry.name}': no page {lang}/{entry.page}"
            )
        topic = pages.parse(page).title
        cards.append(
            Card(
                guid=genanki.guid_for("handbook", lang, "cloze", entry.name),
                kind="cloze",
                difficulty="",
                track=pages.TRACK_OF[chapter],
                chapter=chapter,
                topic=topic,
                front=cloze_text(entry, lang, root),
                back=html.escape(f"{entry.module}:{entry.function}()"),
                link=page_url(base, lang, entry.page),
            )
        )
    return cards


# ----------------------------------------------------------------------- the files


def _models() -> tuple[genanki.Model, genanki.Model]:
    qa = genanki.Model(
        QA_MODEL_ID,
        "ML Interview Handbook: question",
        fields=[
            {"name": "Question"},
            {"name": "Answer"},
            {"name": "Difficulty"},
            {"name": "Topic"},
            {"name": "Link"},
        ],
        templates=[
            {
                "name": "Card 1",
                "qfmt": '<div class="meta">{{Difficulty}} · {{Topic}}</div>{{Question}}',
                "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}'
                '<p class="meta"><a href="{{Link}}">{{Link}}</a></p>',
            }
        ],
        css=CSS,
        sort_field_index=0,
    )
    cloze = genanki.Model(
        CLOZE_MODEL_ID,
        "ML Interview Handbook: code cloze",
        fields=[{"name": "Text"}, {"name": "Source"}, {"name": "Topic"}, {"name": "Link"}],
        templates=[
            {
                "name": "Cloze",
                "qfmt": '<div class="meta">{{Topic}}</div>{{cloze:Text}}',
                "afmt": '<div class="meta">{{Topic}}</div>{{cloze:Text}}'
                '<p class="meta">{{Source}} · <a href="{{Link}}">{{Link}}</a></p>',
            }
        ],
        css=CSS,
        model_type=genanki.Model.CLOZE,
    )
    return qa, cloze


def _tags(card: Card) -> list[str]:
    tags = [f"track::{card.track}", f"chapter::{card.chapter}", card.kind]
    return tags + ([f"difficulty::{card.difficulty}"] if card.difficulty else [])


def deck(lang: str, cards: list[Card]) -> genanki.Deck:
    qa, cloze = _models()
    out = genanki.Deck(DECK_IDS[lang], DECK_NAMES[lang])
    for card in cards:
        if card.kind == "question":
            fields = [
                card.front,
                card.back,
                DIFFICULTY[card.difficulty][lang],
                card.topic,
                card.link,
            ]
            out.add_note(genanki.Note(model=qa, fields=fields, guid=card.guid, tags=_tags(card)))
        else:
            fields = [card.front, card.back, card.topic, card.link]
            out.add_note(genanki.Note(model=cloze, fields=fields, guid=card.guid, tags=_tags(card)))
    return out


def build_time() -> float:
    """The notes' modification time: ``SOURCE_DATE_EPOCH`` when set, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return float(epoch) if epoch else time.time()


def write_apkg(path: Path, package: genanki.Package, timestamp: float) -> None:
    """genanki's ``write_to_file``, with fixed zip dates so equal input gives equal bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db)
        package.write_to_db(conn.cursor(), timestamp, iter(range(int(timestamp * 1000), 2**62)))
        conn.commit()
        conn.close()
        date = time.gmtime(max(timestamp, 315532800))[:6]  # zip dates start in 1980
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(
                zipfile.ZipInfo("collection.anki2", date), db.read_bytes(), zipfile.ZIP_DEFLATED
            )
            z.writestr(zipfile.ZipInfo("media", date), "{}")


def csv_text(lang: str, cards: list[Card]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in cards:
        level = DIFFICULTY[c.difficulty][lang] if c.difficulty else ""
        writer.writerow(
            [c.guid, c.kind, level, c.track, c.chapter, c.topic, c.front, c.back, c.link]
        )
    return out.getvalue()


def cards(lang: str, base: str | None = None) -> list[Card]:
    """Every card of ``lang``: the questions in page order, then the cloze cards by name."""
    base = base or site_url()
    return question_cards(lang, base) + cloze_cards(lang, base)


def write(site: Path, base: str | None = None) -> dict[str, dict[str, int]]:
    """Write both languages' decks and CSVs into ``site``; returns card counts and sizes."""
    out = site / OUT
    out.mkdir(parents=True, exist_ok=True)
    timestamp = build_time()
    report = {}
    for lang in pages.LANGS:
        found = cards(lang, base)
        apkg = out / f"handbook-{lang}.apkg"
        write_apkg(apkg, genanki.Package(deck(lang, found)), timestamp)
        table = out / f"handbook-{lang}.csv"
        table.write_text(csv_text(lang, found), encoding="utf-8")
        report[lang] = {
            "cards": len(found),
            "cloze": sum(c.kind == "cloze" for c in found),
            "apkg_bytes": apkg.stat().st_size,
            "csv_bytes": table.stat().st_size,
        }
    return report
