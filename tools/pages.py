"""Read the structure of a handbook page: headings, code blocks, includes, figures, questions.

Used by the build hooks (question index, figures) and by the integrity checks, so both see a
page the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LANGS = ("zh", "en")
# Every chapter, in reading order, with its title in each language: the one list the question
# index, the API reference, the scaffold and the checks read (the nav lives in mkdocs.yml).
CHAPTER_TITLES: dict[str, dict[str, str]] = {
    "fundamentals": {"zh": "深度学习基础", "en": "Deep-learning fundamentals"},
    "transformer": {"zh": "注意力与 Transformer", "en": "Attention and Transformers"},
    "llm": {"zh": "大模型", "en": "Large language models"},
    "backbone": {"zh": "视觉 Backbone", "en": "Vision backbones"},
    "detection": {"zh": "目标检测", "en": "Object detection"},
    "segmentation": {"zh": "语义分割", "en": "Segmentation"},
    "selfsup": {"zh": "自监督预训练", "en": "Self-supervised pre-training"},
    "generative": {"zh": "生成模型", "en": "Generative models"},
    "ml": {"zh": "经典机器学习", "en": "Classic machine learning"},
}
CHAPTERS = tuple(CHAPTER_TITLES)
# The tracks the header groups the chapters into (a chapter belongs to exactly one track).
TRACKS: dict[str, dict[str, object]] = {
    "foundations": {
        "zh": "深度学习基础",
        "en": "Foundations",
        "chapters": ("fundamentals", "transformer"),
    },
    "llm": {"zh": "大模型", "en": "LLMs", "chapters": ("llm",)},
    "cv": {
        "zh": "计算机视觉",
        "en": "Computer vision",
        "chapters": ("backbone", "detection", "segmentation", "selfsup", "generative"),
    },
    "ml": {"zh": "经典机器学习", "en": "Classic ML", "chapters": ("ml",)},
}
TRACK_OF = {ch: track for track, t in TRACKS.items() for ch in t["chapters"]}  # type: ignore[attr-defined]
DIFFICULTIES = ("easy", "medium", "hard")

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S,
)
HEADING = re.compile(r"^(?P<level>#{2,6})[ \t]+(?P<text>.*?)[ \t]*$", re.M)
HEADING_ID = re.compile(r"\{[^}]*#(?P<id>[A-Za-z0-9_\-]+)[^}]*\}\s*$")
INCLUDE = re.compile(r'^[ \t]*--8<--[ \t]+"(?P<path>[^":]+)(?::(?P<section>[^"]+))?"[ \t]*$', re.M)
FIGURE = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\(figure:(?P<path>[^):]+):(?P<func>[A-Za-z_][A-Za-z0-9_]*)\)"
)
QUESTION = re.compile(
    r'^(?P<marker>\?\?\?\+?)[ \t]+question[ \t]+(?P<difficulty>[a-z]+)[ \t]+"(?P<title>[^"]+)"[ \t]*$',
    re.M,
)
ANY_QUESTION = re.compile(r"^(\?\?\?\+?|!!!)[ \t]+question\b.*$", re.M)
GENERATED = re.compile(
    r"^<!--[ \t]*generated:[ \t]*(?P<name>[a-z_]+)(?P<args>[^>]*?)[ \t]*-->[ \t]*$", re.M
)
PYTHON_LANGS = {"python", "py", "python3", "pycon", "ipython"}


@dataclass
class Question:
    difficulty: str
    title: str
    anchor: str


@dataclass
class Page:
    path: Path  # absolute
    lang: str
    rel: str  # path relative to docs/<lang>/, e.g. "detection/iou.md"
    title: str = ""
    headings: list[tuple[int, str, str | None]] = field(default_factory=list)  # level, text, id
    fences: list[tuple[str, str]] = field(default_factory=list)  # (info, body)
    includes: list[str] = field(default_factory=list)  # "snippets/x.py:section"
    figures: list[str] = field(default_factory=list)  # "detection/iou.py:draw"
    questions: list[Question] = field(default_factory=list)
    bad_questions: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)

    @property
    def is_topic(self) -> bool:
        parts = Path(self.rel).parts
        return len(parts) == 2 and parts[0] in CHAPTERS and parts[1] != "index.md"


def strip_fences(text: str) -> str:
    """The page without its fenced blocks (so a '#' inside code is not a heading)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def parse(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    lang = path.relative_to(DOCS).parts[0]
    page = Page(path=path, lang=lang, rel=path.relative_to(DOCS / lang).as_posix())
    prose = strip_fences(text)
    h1 = re.search(r"^#[ \t]+(.+?)[ \t]*$", prose, re.M)
    page.title = h1.group(1).strip() if h1 else ""
    for m in HEADING.finditer(prose):
        hid = HEADING_ID.search(m.group("text"))
        page.headings.append(
            (len(m.group("level")), m.group("text"), hid.group("id") if hid else None)
        )
    for m in FENCE.finditer(text):
        page.fences.append((m.group("info").strip(), m.group("body")))
    page.includes = [
        f"{m.group('path')}:{m.group('section')}" if m.group("section") else m.group("path")
        for m in INCLUDE.finditer(text)
    ]
    page.figures = [f"{m.group('path')}:{m.group('func')}" for m in FIGURE.finditer(prose)]
    good = {m.start() for m in QUESTION.finditer(prose)}
    for m in ANY_QUESTION.finditer(prose):
        if m.start() not in good:
            page.bad_questions.append(m.group(0))
    for i, m in enumerate(QUESTION.finditer(prose), start=1):
        page.questions.append(Question(m.group("difficulty"), m.group("title"), f"q{i}"))
    page.generated = [m.group("name") for m in GENERATED.finditer(prose)]
    return page


def pages(lang: str) -> list[Page]:
    return sorted((parse(p) for p in (DOCS / lang).rglob("*.md")), key=lambda p: p.rel)


def fence_language(info: str) -> str:
    """The language of a fence from its info string: ```python title="x" -> python."""
    info = info.strip().lstrip("{").lstrip(".")
    return re.split(r"[\s{}]", info, maxsplit=1)[0].lower() if info else ""
