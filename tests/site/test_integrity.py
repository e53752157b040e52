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
    "chapter missing from the home page": (
        lambda t: _edit(
            t / "docs/zh/index.md",
            lambda s: "\n".join(x for x in s.splitlines() if "](detection/index.md)" not in x),
        ),
        ["docs/zh/index.md does not list the chapter 'detection'"],
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
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_check_fails_when_rule_is_broken(tree: Path, name: str) -> None:
    breakage, expected = BREAKAGES[name]
    breakage(tree)
    errors = "\n".join(check_site.check(tree))
    for phrase in expected:
        assert phrase in errors, f"{name}: expected {phrase!r} in:\n{errors}"
