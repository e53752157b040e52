"""The integrity checks pass on the repository, and each one fails when its rule is broken.

Every "break it on purpose" test works on a temporary copy of docs/ and snippets/, applies one
edit, and asserts the check reports it with a message that says what to do.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tools import check_site, pages

ROOT = pages.ROOT


def test_repository_passes_every_check() -> None:
    errors = check_site.check(ROOT)
    assert errors == [], "\n".join(errors)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for folder in ("docs", "snippets", "tests", "figures"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for name in ("tracks.yml", "mkdocs.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    yield tmp_path
    pages.DOCS = ROOT / "docs"


def _edit(path: Path, change: Callable[[str], str]) -> None:
    text = path.read_text(encoding="utf-8")
    new = change(text)
    assert new != text, f"the edit did not apply to {path}"
    path.write_text(new, encoding="utf-8")


EN_IOU = "docs/en/detection/iou.md"
ZH_IOU = "docs/zh/detection/iou.md"


def _first_include(text: str) -> str:
    return pages.INCLUDE.search(text).group(0)


def _keep_questions(path: Path, n: int) -> None:
    """Turn every question after the first n into a plain note."""
    parts = path.read_text(encoding="utf-8").split("??? question ")
    text = "??? question ".join(parts[: n + 1]) + "".join("??? note " + p for p in parts[n + 1 :])
    path.write_text(text, encoding="utf-8")


BREAKAGES = {
    "bracket in a figure caption": (
        lambda t: _edit(t / EN_IOU, lambda s: s.replace("](figure:", " [sic]](figure:", 1)),
        ["docs/en/detection/iou.md", "'figure:' link(s) the build cannot read"],
    ),
    "topic missing from its chapter table": (
        lambda t: _edit(
            t / "docs/en/detection/index.md",
            lambda s: "\n".join(x for x in s.splitlines() if "](nms.md)" not in x),
        ),
        ["docs/en/detection/index.md does not list nms.md", "add a row"],
    ),
    "track map missing from the home page": (
        lambda t: _edit(
            t / "docs/zh/index.md", lambda s: s.replace("<!-- generated: tracks -->", "")
        ),
        ["docs/zh/index.md has no '<!-- generated: tracks -->' line"],
    ),
    "topic missing from tracks.yml (and so from the home page's map)": (
        lambda t: _edit(
            t / "tracks.yml",
            lambda s: "\n".join(x for x in s.splitlines() if not x.startswith("  detection/nms:")),
        ),
        ["tracks.yml does not list the topic detection/nms", "under 'topics:'"],
    ),
    "prerequisite that is not a topic": (
        lambda t: _edit(
            t / "tracks.yml",
            lambda s: s.replace(
                "  detection/nms: [detection/iou]", "  detection/nms: [detection/ious]"
            ),
        ),
        ["tracks.yml: detection/nms needs 'detection/ious'"],
    ),
    "frequency without a source": (
        lambda t: _edit(
            t / "tracks.yml",
            lambda s: s.replace(
                "  detection/nms:\n    heat: 3\n    sources:\n",
                "  detection/nms:\n    heat: 3\n    sources: []\n    unused:\n",
            ),
        ),
        ["frequency of detection/nms cites no source"],
    ),
    "topic in the wrong track of the nav": (
        lambda t: _edit(
            t / "mkdocs.yml",
            lambda s: s.replace("          - detection/nms.md\n", "", 1).replace(
                "      - ml/pca.md\n", "      - ml/pca.md\n      - detection/nms.md\n", 1
            ),
        ),
        ["mkdocs.yml: detection/nms.md is in the nav under '经典机器学习'"],
    ),
    "missing twin": (
        lambda t: (t / EN_IOU).unlink(),
        ["has no English twin", "create docs/en/detection/iou.md"],
    ),
    "heading id drift": (
        lambda t: _edit(t / EN_IOU, lambda s: s.replace("{ #questions }", "{ #interview }", 1)),
        ["differ in heading ids", "update the one that lags behind"],
    ),
    "include order drift": (
        lambda t: _edit(t / ZH_IOU, lambda s: s.replace(_first_include(s), "", 1)),
        ["differ in snippet includes"],
    ),
    "python typed into a page": (
        lambda t: _edit(t / ZH_IOU, lambda s: s + "\n```python\nprint('hi')\n```\n"),
        ["a Python block is typed into the page", "Move the code into snippets/"],
    ),
    "snippet never embedded": (
        lambda t: (t / "snippets/detection/orphan.py").write_text(
            '"""x\n\n>>> 1\n1\n"""\n# --8<-- [start:a]\nA = 1\n# --8<-- [end:a]\n'
        ),
        ["snippets/detection/orphan.py is not embedded by any page in docs/zh/"],
    ),
    "snippet without doctest": (
        lambda t: (t / "snippets/detection/nodoc.py").write_text(
            "# --8<-- [start:a]\nA = 1\n# --8<-- [end:a]\n"
        ),
        ["snippets/detection/nodoc.py has no doctest"],
    ),
    "wrong include section": (
        lambda t: _edit(t / ZH_IOU, lambda s: s.replace(':box_iou"', ':box_iou_typo"', 1)),
        ["includes section 'box_iou_typo'", "add the section or fix the name"],
    ),
    "too few questions": (
        lambda t: [_keep_questions(t / p, 4) for p in (ZH_IOU, EN_IOU)],
        ["has 4 interview questions", "needs at least 5"],
    ),
    "question without difficulty": (
        lambda t: _edit(t / ZH_IOU, lambda s: s.replace("??? question easy", "??? question", 1)),
        ["malformed question", "easy|medium|hard"],
    ),
    "heading without id": (
        lambda t: _edit(t / ZH_IOU, lambda s: s.replace(" { #mistakes }", "", 1)),
        ["has no explicit id"],
    ),
    "leftover TODO": (
        lambda t: _edit(t / EN_IOU, lambda s: s + "\nTODO: finish\n"),
        ["TODO left over", "write the missing part or remove the marker"],
    ),
    "leftover TODO with a full-width colon": (
        lambda t: _edit(t / ZH_IOU, lambda s: s + "\nTODO：补完\n"),
        ["docs/zh/detection/iou.md", "TODO left over"],
    ),
    "leftover lower-case todo": (
        lambda t: _edit(t / EN_IOU, lambda s: s + "\ntodo: finish\n"),
        ["docs/en/detection/iou.md", "TODO left over"],
    ),
    "indented code block": (
        lambda t: _edit(t / ZH_IOU, lambda s: s + "\n\n正文。\n\n    import torch\n    x = 1\n"),
        ["docs/zh/detection/iou.md: line", "an indented code block ('import torch')"],
    ),
    "indented code block inside an admonition": (
        lambda t: _edit(t / EN_IOU, lambda s: s + "\n\n!!! note\n    Text.\n\n        x = 1\n"),
        ["docs/en/detection/iou.md: line", "an indented code block ('x = 1')"],
    ),
    "raw pre block": (
        lambda t: _edit(
            t / EN_IOU, lambda s: s + '\n<pre><code class="language-python">x = 1</code></pre>\n'
        ),
        ["docs/en/detection/iou.md: line", "raw <pre>"],
    ),
    "setext heading": (
        lambda t: [_edit(t / p, lambda s: s + "\n\nSection\n-------\n") for p in (ZH_IOU, EN_IOU)],
        ["'Section' is a setext heading", "write it as '## Section { #some-id }'"],
    ),
    "level-4 heading without id": (
        lambda t: [_edit(t / p, lambda s: s + "\n\n#### Deeper\n") for p in (ZH_IOU, EN_IOU)],
        ["docs/zh/detection/iou.md:", "heading 'Deeper' has no explicit id"],
    ),
    "heading inside an admonition without id": (
        lambda t: [
            _edit(t / p, lambda s: s + "\n\n!!! note\n\n    ## Inner\n") for p in (ZH_IOU, EN_IOU)
        ],
        ["docs/en/detection/iou.md:", "heading 'Inner' has no explicit id"],
    ),
    "heading id drift inside an admonition": (
        lambda t: [
            _edit(t / p, lambda s, i=i: s + f"\n\n!!! note\n\n    ### Inner {{ #inner-{i} }}\n")
            for i, p in enumerate((ZH_IOU, EN_IOU))
        ],
        ["differ in heading ids (all levels", "'inner-0'", "'inner-1'"],
    ),
    "doctest only in a comment": (
        lambda t: (t / "snippets/detection/comment.py").write_text(
            '"""x"""\n# >>> 1\n# 1\n# --8<-- [start:a]\nA = 1\n# --8<-- [end:a]\n'
        ),
        ["snippets/detection/comment.py has no doctest"],
    ),
    "end marker deleted": (
        lambda t: _edit(
            t / "snippets/detection/iou.py", lambda s: s.replace("# --8<-- [end:box_iou]\n", "", 1)
        ),
        ["snippets/detection/iou.py: section 'box_iou' has markers ['start']", "publish the rest"],
    ),
    "end marker renamed": (
        lambda t: _edit(
            t / "snippets/detection/iou.py",
            lambda s: s.replace("# --8<-- [end:box_iou]", "# --8<-- [end:box_iou_v2]", 1),
        ),
        ["section 'box_iou' has markers ['start']", "section 'box_iou_v2' has markers ['end']"],
    ),
    "section duplicated": (
        lambda t: _edit(
            t / "snippets/detection/iou.py",
            lambda s: s + "\n# --8<-- [start:box_iou]\nX = 1\n# --8<-- [end:box_iou]\n",
        ),
        ["section 'box_iou' has markers ['start', 'end', 'start', 'end']"],
    ),
    "include from outside snippets and tests": (
        lambda t: _edit(t / ZH_IOU, lambda s: s + '\n```python\n--8<-- "tools/pages.py:x"\n```\n'),
        ["docs/zh/detection/iou.md includes tools/pages.py", "pages embed code only from"],
    ),
    "include with single quotes": (
        lambda t: _edit(t / EN_IOU, lambda s: s + "\n```text\n--8<-- 'snippets/x.py:y'\n```\n"),
        ["include line \"--8<-- 'snippets/x.py:y'\"", "the one form the checks read"],
    ),
    "figure link outside figures": (
        lambda t: [
            _edit(t / p, lambda s: s + "\n![x](figure:../snippets/detection/iou.py:box_iou)\n")
            for p in (ZH_IOU, EN_IOU)
        ],
        ["figure:../snippets/detection/iou.py:box_iou must name figures/<chapter>/<topic>.py"],
    ),
    "figure link to an absolute path": (
        lambda t: [
            _edit(t / p, lambda s: s + "\n![x](figure:/tmp/evil.py:draw)\n")
            for p in (ZH_IOU, EN_IOU)
        ],
        ["figure:/tmp/evil.py:draw must name figures/<chapter>/<topic>.py"],
    ),
    "figure link to a missing file or function": (
        lambda t: [
            _edit(
                t / p,
                lambda s: (
                    s + "\n![a](figure:detection/nope.py:draw)\n"
                    "![b](figure:detection/iou.py:no_such_figure)\n"
                ),
            )
            for p in (ZH_IOU, EN_IOU)
        ],
        ["figures/detection/nope.py does not exist", "defines no function no_such_figure()"],
    ),
    "figure link inside inline code": (
        lambda t: _edit(t / EN_IOU, lambda s: s + "\nSee `![x](figure:detection/iou.py:draw)`.\n"),
        ["docs/en/detection/iou.md: 1 'figure:' link(s) inside a code block or inline code"],
    ),
    "straight quotes around Chinese text": (
        lambda t: _edit(t / ZH_IOU, lambda s: s + '\n他说"这是错的"，然后走了。\n'),
        ["docs/zh/detection/iou.md:", "'\"这是错的\"'", "Chinese curly quotes “这是错的”"],
    ),
    "corner quotes": (
        lambda t: _edit(t / ZH_IOU, lambda s: s + "\n所谓「阈值」就是……\n"),
        ["'「阈值」'", "Chinese curly quotes"],
    ),
}

TYPED_PYTHON_FENCES = [
    "py3",
    "pyi",
    "sage",
    "numpy",
    "pycon",
    "python-console",
    "Python3",
    "{ .python }",
    '{ .python title="x.py" }',
    "{.py3}",
    "{.python .no-copy}",
]
for _info in TYPED_PYTHON_FENCES:
    BREAKAGES[f"python typed into a page as ```{_info}"] = (
        lambda t, i=_info: _edit(t / ZH_IOU, lambda s: s + f"\n```{i}\nprint('hi')\n```\n"),
        ["a Python block is typed into the page"],
    )


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_check_fails_when_rule_is_broken(tree: Path, name: str) -> None:
    breakage, expected = BREAKAGES[name]
    breakage(tree)
    errors = "\n".join(check_site.check(tree))
    for phrase in expected:
        assert phrase in errors, f"{name}: expected {phrase!r} in:\n{errors}"


def test_quotes_in_code_math_titles_and_attributes_are_not_flagged() -> None:
    """The zh quote rule reads prose only: code, math, link titles, HTML and admonition titles
    keep their straight quotes."""
    page = (
        '!!! warning "常见误区"\n'
        '    ??? question easy "为什么"\n'
        '=== "标签"\n'
        'Code `x = "中文"` and $\\text{"中文"}$, a [link](u "标题"), <span title="中文">x</span>.\n'
        '```python\ns = "中文"\n```\n'
        'English "quotes" stay too, and “中文” is right.\n'
    )
    assert check_site.zh_quote_problems(page) == []
    assert check_site.zh_quote_problems('他说"对"。') == [(1, '"对"')]


@pytest.mark.parametrize("info", ["text", "bash", "mermaid", "pytb", "", "{ .text }"])
def test_non_python_fences_are_not_python(info: str) -> None:
    assert not check_site.is_python(check_site.fence_language(info))


def test_scanner_does_not_call_prose_in_lists_and_admonitions_code() -> None:
    """Continuation paragraphs of list items and admonition bodies are indented, not code."""
    page = (
        "- item\n\n    more of the item\n\n"
        "1. step\n\n    more of the step\n\n"
        '!!! note "t"\n    body\n\n    more body\n\n'
        '??? question easy "q"\n\n    answer\n\n    - a list\n\n        its paragraph\n'
    )
    headings, problems = check_site.scan_blocks(page)
    assert problems == [] and headings == []


def test_figure_cache_key_covers_relative_imports_and_libraries(tmp_path: Path) -> None:
    """An edit to a module a figure imports (even relatively) must change its cache key."""
    from tools import figure

    pkg = tmp_path / "figures" / "demo"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "common.py").write_text("STYLE = 1\n")
    (pkg / "page.py").write_text("from .common import STYLE\n\ndef draw(lang):\n    return STYLE\n")
    old = figure.ROOT
    try:
        figure.ROOT = tmp_path
        deps = figure.dependencies(pkg / "page.py")
    finally:
        figure.ROOT = old
    assert pkg / "common.py" in deps
    assert "torch=" in figure._library_versions() and "numpy=" in figure._library_versions()


def test_a_label_mixing_chinese_and_math_fails_the_figure(tmp_path: Path) -> None:
    """mathtext has no CJK glyphs: it would draw ¤ for each Chinese character of the label."""
    from tools import figure

    demo = tmp_path / "figures" / "demo.py"
    demo.parent.mkdir()
    demo.write_text(
        "from matplotlib.figure import Figure\n\n"
        "def draw(lang):\n"
        "    fig = Figure()\n"
        # DejaVu Sans has no CJK glyphs: the dummy symbols appear whatever fonts this machine has
        "    fig.add_subplot().set_title(lang, fontfamily='DejaVu Sans')\n"
        "    return fig\n",
        encoding="utf-8",
    )
    old = figure.ROOT, figure.FIGURES
    try:
        figure.ROOT, figure.FIGURES = tmp_path, demo.parent
        assert "步数" in figure.draw_svg("demo.py", "draw", "步数 t")  # plain Chinese: kept
        with pytest.raises(SystemExit, match="dummy symbols"):
            figure.draw_svg("demo.py", "draw", "梯度 $m_t$")
    finally:
        figure.ROOT, figure.FIGURES = old


def test_figure_function_must_be_defined_in_the_figure_module() -> None:
    """`figure:x.py:np` must not call something the module merely imported."""
    from tools import figure

    with pytest.raises(SystemExit, match="has no function"):
        figure.load("detection/iou.py", "Figure")  # imported from matplotlib, not a figure


def test_figure_links_inside_code_are_not_drawn() -> None:
    """The build hook draws figures through figure.substitute: code only shows the syntax."""
    from tools import figure

    page = (
        "![a](figure:detection/iou.py:draw_cases)\n\n"
        "```markdown\n![b](figure:../../evil.py:run)\n```\n\n"
        "Inline `![c](figure:/tmp/evil.py:run)` too.\n"
    )
    drawn: list[str] = []
    out = figure.substitute(page, lambda m: drawn.append(m.group("path")) or "<svg/>")
    assert drawn == ["detection/iou.py"]
    assert out.startswith("<svg/>") and "figure:../../evil.py:run" in out
