"""Which pages the browser tests visit, and the search table for the twelve topics.

Pages come from two places so a test covers whatever exists and a missing page still fails:
the docs tree (``docs/zh/**.md``, ``docs/en/**.md``) and the built site (``site/**/index.html``).
The twelve topics of the handbook are listed here once, with the queries a reader types.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# The built site: site/ (what `nox -s docs` writes), or HANDBOOK_SITE when set.
SITE = Path(os.environ["HANDBOOK_SITE"]) if os.environ.get("HANDBOOK_SITE") else ROOT / "site"
LANGS = ("zh", "en")
PREFIX = {"zh": "/", "en": "/en/"}


@dataclass(frozen=True)
class Topic:
    """One topic page and what a reader types to find it.

    ``zh_term`` / ``en_term`` are words from the middle of a sentence of the page's prose (not a
    heading, not the title): they check that search indexes the body text, not just titles.
    ``test_query_terms_are_mid_sentence_on_the_pages`` keeps them honest.
    """

    page: str  # <chapter>/<topic>
    zh_name: str
    en_name: str
    zh_term: str
    en_term: str

    def path(self, lang: str) -> str:
        return f"{PREFIX[lang]}{self.page}/"


# The one table of search queries. Names come from the issue; the mid-sentence terms were read
# from docs/zh/<page>.md and docs/en/<page>.md (update them when a page's prose changes).
TOPICS: tuple[Topic, ...] = (
    Topic("backbone/receptive_field", "感受野", "receptive field", "递推公式", "recurrence"),
    Topic("backbone/params_flops", "参数量", "parameters", "MACs", "multiply-adds"),
    Topic("backbone/conv1x1", "1x1 卷积", "1x1 convolution", "升降维", "pointwise"),
    Topic("backbone/conv_numpy", "NumPy 卷积", "NumPy convolution", "互相关", "cross-correlation"),
    Topic("backbone/vit", "ViT", "Vision Transformer", "patch embedding", "inductive bias"),
    Topic("detection/iou", "交并比", "IoU", "框回归", "box regression"),
    Topic("detection/nms", "非极大值抑制", "NMS", "贪心循环", "greedy loop"),
    Topic("detection/focal_loss", "Focal Loss", "focal loss", "易分", "easy background"),
    Topic("segmentation/unet", "UNet", "UNet", "收缩路径", "contracting path"),
    Topic("segmentation/sam", "SAM", "Segment Anything", "超网络", "promptable"),
    Topic("selfsup/dino", "DINO", "DINO", "锐化", "exponential moving average"),
    Topic("selfsup/mae", "掩码自编码器", "MAE", "掩码率", "mask ratio"),
)


# The budget for a topic page on first view (everything: HTML, CSS, JS, fonts, index).
MAX_TOPIC_BYTES = 1_500_000
MAX_TOPIC_REQUESTS = 40


def showcase_topic() -> str:
    """detection/iou when it is built in both languages, else the first built topic of the table
    (for screenshots, the phone test and the page-weight comparison)."""
    for page in ["detection/iou"] + [t.page for t in TOPICS]:
        if all((SITE / p / "index.html").exists() for p in (page, f"en/{page}")):
            return page
    return "detection/iou"  # nothing built: the tests that use it fail with a 404 and say so


def lang_of(path: str) -> str:
    return "en" if path == "/en/" or path.startswith("/en/") else "zh"


def other_language(path: str) -> str:
    """``/x/y/`` <-> ``/en/x/y/``: the same page in the other language."""
    return path[3:] if lang_of(path) == "en" else "/en" + path


def _url_of(rel: Path) -> str:
    parts = rel.with_suffix("").parts
    if parts and parts[-1] in ("index", "README"):
        parts = parts[:-1]
    return "/" + "".join(f"{p}/" for p in parts)


def docs_pages() -> list[str]:
    """URL paths of every page in the docs tree, both languages (``/x/y/``, ``/en/x/y/``)."""
    found = []
    for lang in LANGS:
        base = DOCS / lang
        for md in sorted(base.rglob("*.md")):
            found.append(PREFIX[lang].rstrip("/") + _url_of(md.relative_to(base)))
    return found


def site_pages(site: Path = SITE) -> list[str]:
    """URL paths of every page in the built site (folders with an index.html)."""
    skip = {"assets", "search", "_screenshots"}
    found = []
    for html in sorted(site.rglob("index.html")) if site.is_dir() else []:
        rel = html.parent.relative_to(site)
        if not skip.intersection(rel.parts):
            found.append("/" + "".join(f"{p}/" for p in rel.parts))
    return found


def all_pages() -> list[str]:
    """Every page that exists in the docs tree or the built site, zh first, then en."""
    return sorted(set(docs_pages()) | set(site_pages()), key=lambda p: (lang_of(p) == "en", p))


def source_of(path: str) -> Path:
    """The markdown file a URL path is built from (it may not exist)."""
    lang = lang_of(path)
    rel = path[len(PREFIX[lang]) :].strip("/")
    if not rel:
        return DOCS / lang / "index.md"
    page = DOCS / lang / f"{rel}.md"
    return page if page.exists() else DOCS / lang / rel / "index.md"
