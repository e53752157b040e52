"""KaTeX's fonts cut to the characters a page shows, inlined in that page.

``katex.min.css`` declares 20 font faces by URL. A page with formulas used to fetch 4-7 of them
(83 KiB on the IoU page), each one more request on the first view. At build time we know every
character of every formula and, from the stylesheet's rules, which face draws it: a
``<span class="mord mathnormal">`` is KaTeX_Math italic, ``.mathbf`` is KaTeX_Main bold,
``.delimsizing.size2`` is KaTeX_Size2, and so on. So each page gets, in its ``<head>``, one
``@font-face`` per face it uses, a WOFF2 subset of only its characters as a ``data:`` URL, with a
``unicode-range`` that lists exactly the characters the subset has. The shared stylesheet carries
KaTeX's rules without its ``@font-face`` rules (``strip_font_faces``), so no font file is ever
requested; a character the original font does not have (a Chinese word inside ``\\text{}``) falls
to the next family of the stack, as it did before.

The browser test checks the mapping: for every character in every formula, the face Chromium
computes from the real stylesheet must be an inlined face that covers that character.

>>> rules = parse_rules('.katex{font:normal 1.21em KaTeX_Main,serif}'
...     '.katex .mathnormal{font-family:KaTeX_Math;font-style:italic}'
...     '.katex .mathbf{font-family:KaTeX_Main;font-weight:700}')
>>> sorted(characters('<span class="katex"><span class="mord mathnormal">x</span>'
...     '<span class="mbin">+</span><span class="mord mathbf">1</span></span>', rules).items())
[(('KaTeX_Main', '400', 'normal'), {'+'}), (('KaTeX_Main', '700', 'normal'), {'1'}), (('KaTeX_Math', '400', 'italic'), {'x'})]
>>> unicode_range({ord("a"), ord("b"), ord("c"), ord("x")})
'U+61-63,U+78'
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import re
from html import unescape
from pathlib import Path

from tools import katex

Face = tuple[str, str, str]  # (family, weight, style) as the stylesheet names them
CACHE = Path(os.environ.get("HANDBOOK_CACHE", katex.ROOT / ".cache")) / "katex-fonts"
FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
SUBSET_OPTIONS = "woff2, no hinting"  # part of the cache key: change it when subset() changes
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def strip_font_faces(css: str) -> str:
    """The stylesheet without its ``@font-face`` rules (the page inlines the faces it uses)."""
    return FONT_FACE.sub("", css)


# ----------------------------------------------------------------------- the stylesheet's rules


def parse_rules(css: str) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    """KaTeX's rules that set a font, as (selector parts, {property: value}), in source order.

    A selector part is a compound of classes (``.delimsizing.mult``) or ``>span``; every selector
    of katex.min.css that sets a font starts with ``.katex``. Specificity is not needed: no element
    KaTeX writes matches two of these rules that set the same property.
    """
    rules = []
    for selectors, body in re.findall(r"([^{}@]+)\{([^{}]*)\}", strip_font_faces(css)):
        props: dict[str, str] = {}
        for decl in body.split(";"):
            name, _, value = decl.partition(":")
            name, value = name.strip(), value.strip()
            if name == "font-family":
                props["family"] = value.split(",")[0].strip()
            elif name == "font-weight":
                props["weight"] = "700" if value in ("bold", "700") else "400"
            elif name == "font-style":
                props["style"] = value
            elif name == "font":  # the shorthand on .katex: style, size, family list
                words = value.split()
                props["style"] = "italic" if "italic" in words else "normal"
                props["weight"] = "700" if "bold" in words else "400"
                props["family"] = value.split(",")[0].split()[-1]
        if not props:
            continue
        for selector in selectors.split(","):
            parts = tuple(selector.replace(">", " > ").split())
            if parts and parts[0] == ".katex":
                rules.append((parts, props))
    return rules


def _matches(parts: tuple[str, ...], stack: list[set[str]]) -> bool:
    """Does the element at the top of ``stack`` (its ancestors' classes below it) match?"""

    def compound(part: str, classes: set[str]) -> bool:
        if part == "span":
            return True
        return set(part.lstrip(".").split(".")) <= classes

    i = len(stack) - 1
    if not compound(parts[-1], stack[i]):
        return False
    j = len(parts) - 2
    while j >= 0:
        if parts[j] == ">":  # the child combinator: the parent must match
            i -= 1
            if i < 0 or not compound(parts[j - 1], stack[i]):
                return False
            j -= 2
            continue
        i -= 1
        while i >= 0 and not compound(parts[j], stack[i]):
            i -= 1
        if i < 0:
            return False
        j -= 1
    return True


TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^>]*)>|([^<]+)")
CLASS = re.compile(r'class="([^"]*)"')
KATEX = re.compile(r'<span class="katex">')


def _by_last_class(rules: list) -> dict[str, list[int]]:
    """Rule numbers by a class the element itself must have (or "span"): the rules to try."""
    out: dict[str, list[int]] = {}
    for n, (parts, _) in enumerate(rules):
        out.setdefault(parts[-1].lstrip(".").split(".")[0], []).append(n)
    return out


def characters(html: str, rules: list) -> dict[Face, set[str]]:
    """The characters of the page's formulas, by the face the stylesheet draws them in.

    Walks each ``<span class="katex">`` element (KaTeX's output is well-formed HTML) with the
    font each element inherits, updated by the rules its classes match, in source order.
    """
    index = _by_last_class(rules)
    used: dict[Face, set[str]] = {}
    for start in KATEX.finditer(html):
        classes: list[set[str]] = []  # of the open elements, from the .katex span down
        fonts: list[dict[str, str]] = []
        for m in TAG.finditer(html, start.start()):
            close, tag, attrs, text = m.groups()
            if text is not None:
                text = unescape(text).strip()
                if text and not any("katex-mathml" in c for c in classes):
                    font = fonts[-1]
                    face = (font["family"], font.get("weight", "400"), font.get("style", "normal"))
                    used.setdefault(face, set()).update(text)
                continue
            if tag in VOID or attrs.endswith("/"):
                continue
            if close:
                classes.pop()
                fonts.pop()
                if not classes:
                    break
                continue
            found = CLASS.search(attrs)
            names = set(found.group(1).split()) if found else set()
            classes.append(names)
            font = dict(fonts[-1]) if fonts else {}
            tried = sorted({n for c in (*names, tag) for n in index.get(c, ())})
            for n in tried:
                parts, props = rules[n]
                if _matches(parts, classes):
                    font.update(props)
            fonts.append(font)
    return used


# ----------------------------------------------------------------------- the faces and subsets


@functools.cache
def stylesheet() -> str:
    return (katex.DIST / "katex.min.css").read_text(encoding="utf-8")


@functools.cache
def _rules() -> list:
    return parse_rules(stylesheet())


@functools.cache
def faces() -> dict[Face, Path]:
    """Each face katex.min.css declares, by (family, weight, style), to its WOFF2 file."""
    out = {}
    for rule in FONT_FACE.findall(stylesheet()):
        family = re.search(r"font-family:([^;}]+)", rule).group(1).strip()
        weight = re.search(r"font-weight:([^;}]+)", rule).group(1).strip()
        style = re.search(r"font-style:([^;}]+)", rule).group(1).strip()
        woff2 = re.search(r"url\(([^)]+\.woff2)\)", rule).group(1)
        weight = "700" if weight in ("bold", "700") else "400"
        out[(family, weight, style)] = katex.DIST / woff2
    return out


def resolve(face: Face) -> Face | None:
    """The declared face the browser picks for a wanted one (CSS font matching, for KaTeX's
    faces: the same style first, then the nearest weight), None for a family KaTeX does not
    declare."""
    family, weight, style = face
    candidates = [f for f in faces() if f[0] == family]
    if not candidates:
        return None
    same_style = [f for f in candidates if f[2] == style] or candidates
    return min(same_style, key=lambda f: abs(int(f[1]) - int(weight)))


@functools.cache
def cmap(path: Path) -> frozenset[int]:
    """The code points a font file has glyphs for."""
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(path).getBestCmap())


def unicode_range(points: set[int]) -> str:
    """Code points as a CSS ``unicode-range``, runs of consecutive points merged."""
    runs: list[list[int]] = []
    for p in sorted(points):
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ",".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in runs)


def subset(path: Path, points: frozenset[int]) -> bytes:
    """A WOFF2 font with only ``points`` (cached on disk by font and characters)."""
    key = f"{katex.VERSION}:{path.name}:{SUBSET_OPTIONS}:{sorted(points)}"
    key = hashlib.sha256(key.encode()).hexdigest()[:24]
    cached = CACHE / f"{key}.woff2"
    if cached.exists():
        return cached.read_bytes()
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    font = TTFont(path)
    options = ft_subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]  # KaTeX's fonts have no layout tables to speak of; keep any
    options.name_IDs = []
    options.notdef_outline = False
    # No TrueType hinting programs: they are half of a small subset's bytes (a one-glyph face:
    # 2.2 kB with, 0.4 kB without) and only Windows' GDI at small sizes uses them.
    options.hinting = False
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(points))
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out)
    data = out.getvalue()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return data


def inline_style(html: str) -> str:
    """``<style>`` with the ``@font-face`` rules the formulas in ``html`` need ("" without any)."""
    if 'class="katex' not in html:
        return ""
    wanted: dict[Face, set[int]] = {}
    for face, chars in characters(html, _rules()).items():
        declared = resolve(face)
        if declared is not None:
            wanted.setdefault(declared, set()).update(ord(c) for c in chars)
    rules = []
    for face, points in sorted(wanted.items()):
        path = faces()[face]
        have = frozenset(points & cmap(path))
        if not have:
            continue
        data = base64.b64encode(subset(path, have)).decode("ascii")
        family, weight, style = face
        rules.append(
            f"@font-face{{font-family:{family};font-weight:{weight};font-style:{style};"
            f'src:url(data:font/woff2;base64,{data}) format("woff2");'
            f"unicode-range:{unicode_range(set(have))}}}"
        )
    if not rules:
        return ""
    return '<style id="hb-katex-fonts">' + "".join(rules) + "</style>"
