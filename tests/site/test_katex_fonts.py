"""The KaTeX font subsets a page inlines (tools/katex_fonts.py): the face each character is drawn
in, and subsets that hold exactly the characters their ``unicode-range`` promises.

The browser test (tests/browser/test_pages.py) checks the same mapping against the faces Chromium
computes on every built page; these run without a browser, on KaTeX's real output.
"""

from __future__ import annotations

import base64
import io
import re

import pytest
from fontTools.ttLib import TTFont

from tools import katex, katex_fonts


@pytest.fixture(scope="module")
def rendered() -> str:
    katex.ensure()
    formulas = [
        (r"\sum_{i=1}^{n} \mathbf{x}_i", True),  # Size2 (display sum), Main bold, Math italic
        (r"\left( \frac{a}{b} \right)", True),  # a delimiter from the Size fonts
        (r"\mathbb{R}^{d} \mathcal{L}", False),  # AMS, Caligraphic
    ]
    return "".join(katex.render(tex, display) for tex, display in formulas)


def test_each_character_is_mapped_to_the_face_katex_css_gives_it(rendered: str) -> None:
    used = katex_fonts.characters(rendered, katex_fonts._rules())
    assert {"i", "n", "a", "b", "d"} <= used[("KaTeX_Math", "400", "italic")]
    assert "x" in used[("KaTeX_Main", "700", "normal")]  # \mathbf{x}
    assert "∑" in used[("KaTeX_Size2", "400", "normal")]  # a display-style sum is large-op
    assert "R" in used[("KaTeX_AMS", "400", "normal")]
    assert "L" in used[("KaTeX_Caligraphic", "400", "normal")]
    sizes = {f[0] for f, chars in used.items() if "(" in chars}
    assert sizes & {"KaTeX_Size1", "KaTeX_Size2", "KaTeX_Size3", "KaTeX_Size4"}, used


def test_the_child_combinator_rule_needs_its_parent() -> None:
    rules = katex_fonts.parse_rules(
        ".katex{font:normal 1em KaTeX_Main}"
        ".katex .delimsizing.mult .delim-size1>span{font-family:KaTeX_Size1}"
    )
    inside = (
        '<span class="katex"><span class="delimsizing mult"><span class="delim-size1">'
        "<span>a</span></span></span></span>"
    )
    deeper = (
        '<span class="katex"><span class="delimsizing mult"><span class="delim-size1"><span>'
        "<span>b</span></span></span></span></span>"
    )
    assert katex_fonts.characters(inside, rules) == {("KaTeX_Size1", "400", "normal"): {"a"}}
    # b's parent is a plain span, not .delim-size1: b inherits Size1 from it, as in CSS
    assert katex_fonts.characters(deeper, rules) == {("KaTeX_Size1", "400", "normal"): {"b"}}
    outside = '<span class="katex"><span class="delim-size1"><span>c</span></span></span>'
    assert katex_fonts.characters(outside, rules) == {("KaTeX_Main", "400", "normal"): {"c"}}


def test_the_inlined_subsets_hold_exactly_their_unicode_range(rendered: str) -> None:
    style = katex_fonts.inline_style(rendered)
    faces = re.findall(
        r"font-family:([^;]+);font-weight:(\d+);font-style:(\w+);"
        r"src:url\(data:font/woff2;base64,([^)]+)\) format\(\"woff2\"\);unicode-range:([^}]+)\}",
        style,
    )
    assert len(faces) == style.count("@font-face") >= 5, style[:300]
    for family, weight, style_name, data, ranges in faces:
        font = TTFont(io.BytesIO(base64.b64decode(data)))
        have = set(font.getBestCmap())
        promised = set()
        for part in ranges.split(","):
            low, _, high = part.removeprefix("U+").partition("-")
            promised |= set(range(int(low, 16), int(high or low, 16) + 1))
        assert have == promised, (family, weight, style_name)
        full = katex_fonts.faces()[(family, weight, style_name)]
        assert have <= set(TTFont(full).getBestCmap())  # glyphs of that face, not another's


def test_a_page_without_formulas_inlines_nothing() -> None:
    assert katex_fonts.inline_style("<p>no formula, $5 only</p>") == ""
