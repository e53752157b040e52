"""Scaffold a topic: ``nox -s new -- <chapter>/<topic>``.

Writes both pages, the snippet (one named section, one doctest), the test module and a figure
function, and adds the page to the navigation in mkdocs.yml and to tracks.yml. Everything builds and passes at once
except the TODO check: ``nox`` keeps failing until every TODO marker is replaced by real content.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import pages  # noqa: E402

CHAPTERS = pages.CHAPTERS

SNIPPET = '''"""TODO: one sentence on what this module implements."""

from __future__ import annotations

import torch
from torch import Tensor


# --8<-- [start:{name}]
def {name}(x: Tensor) -> Tensor:
    """TODO: what it computes, with shapes.

    Args:
        x: ``[N, D]`` input.

    Returns:
        ``[N, D]`` output.

    Examples:
        >>> {name}(torch.ones(2, 3)).shape
        torch.Size([2, 3])
    """
    if x.ndim != 2:
        raise ValueError(f"x must have shape [N, D], got {{tuple(x.shape)}}")
    return x.clone()  # TODO: the real computation
# --8<-- [end:{name}]
'''

TEST = '''"""Tests for snippets/{chapter}/{name}.py."""

from __future__ import annotations

import torch

from tests.support import assert_close, raises_naming, under_test

impl = under_test("snippets.{chapter}.{name}")


def test_matches_reference() -> None:
    """TODO: compare with the library (torchvision / timm / torch.nn.functional) on random inputs."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g)
    assert_close(impl.{name}(x), x, inputs={{"x": x}})


def test_rejects_bad_shape() -> None:
    with raises_naming(ValueError, "x", "[N, D]"):
        impl.{name}(torch.ones(3))
'''

FIGURE = '''"""Figures for the {name} page (drawn at build time)."""

from __future__ import annotations

from matplotlib.figure import Figure


def draw_{name}(lang: str) -> Figure:
    """TODO: draw what the page explains; labels in ``lang``."""
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("示意图" if lang == "zh" else "Sketch")
    return fig
'''

PAGE = {
    "zh": """# {title}

TODO: 一段话介绍这个主题，以及面试官为什么问它。

## 思路 {{ #idea }}

TODO: 概念与公式，例如 $y = f(x)$。

![TODO: 图注](figure:{chapter}/{name}.py:draw_{name})

## 手撕代码 {{ #code }}

```python
--8<-- "snippets/{chapter}/{name}.py:{name}"
```

## 面试题 {{ #questions }}

??? question easy "TODO: 问题一"

    TODO: 答案。

??? question easy "TODO: 问题二"

    TODO: 答案。

??? question medium "TODO: 问题三"

    TODO: 答案。

??? question medium "TODO: 问题四"

    TODO: 答案。

??? question hard "TODO: 问题五"

    TODO: 答案。

## 常见错误 {{ #mistakes }}

<!-- cheatsheet -->
- TODO: 常见错误（这两行标记之间的内容进本章速查表；也标出关键公式）。
<!-- /cheatsheet -->

## 参考 {{ #sources }}

- TODO: 论文（章节）与官方代码（仓库 + 路径）。
""",
    "en": """# {title}

TODO: one paragraph on the topic and why interviewers ask about it.

## The idea {{ #idea }}

TODO: the concept and its formulas, e.g. $y = f(x)$.

![TODO: caption](figure:{chapter}/{name}.py:draw_{name})

## The code {{ #code }}

```python
--8<-- "snippets/{chapter}/{name}.py:{name}"
```

## Interview questions {{ #questions }}

??? question easy "TODO: question one"

    TODO: answer.

??? question easy "TODO: question two"

    TODO: answer.

??? question medium "TODO: question three"

    TODO: answer.

??? question medium "TODO: question four"

    TODO: answer.

??? question hard "TODO: question five"

    TODO: answer.

## Common mistakes {{ #mistakes }}

<!-- cheatsheet -->
- TODO: common mistakes (what lies between these marks goes into the chapter's cheat sheet; mark the key formula too).
<!-- /cheatsheet -->

## Sources {{ #sources }}

- TODO: papers (section) and official code (repository + path).
""",
}


def add_to_nav(mkdocs_yml: Path, chapter: str, name: str) -> None:
    lines = mkdocs_yml.read_text(encoding="utf-8").splitlines()
    entry = f"{chapter}/{name}.md"
    if any(line.strip() == f"- {entry}" for line in lines):
        return
    last = max(i for i, line in enumerate(lines) if line.strip().startswith(f"- {chapter}/"))
    indent = re.match(r"\s*", lines[last]).group(0)
    lines.insert(last + 1, f"{indent}- {entry}")
    mkdocs_yml.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_to_tracks(tracks_yml: Path, chapter: str, name: str) -> None:
    """A line under ``topics:`` in tracks.yml (no prerequisites yet), after its chapter's topics."""
    lines = tracks_yml.read_text(encoding="utf-8").splitlines()
    entry = f"{chapter}/{name}"
    start = lines.index("topics:")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines))
    block = range(start + 1, end)
    if any(lines[i].startswith(f"  {entry}:") for i in block):
        return
    mine = [i for i in block if lines[i].startswith(f"  {chapter}/")]
    others = [i for i in block if re.match(r"^  [a-z]+/", lines[i])]
    at = (mine or others or [start])[-1] + 1
    lines.insert(at, f"  {entry}: []")
    tracks_yml.write_text("\n".join(lines) + "\n", encoding="utf-8")


ROW = {
    "zh": "| [{title}]({name}.md) | TODO: 面试官常问什么 |",
    "en": "| [{title}]({name}.md) | TODO: what interviewers ask |",
}


def add_to_tables(root: Path, chapter: str, name: str, title: str) -> None:
    """A row in the chapter's table (index.md, both languages); the home page lists the chapter."""
    for lang in ("zh", "en"):
        index = root / "docs" / lang / chapter / "index.md"
        text = index.read_text(encoding="utf-8")
        if f"]({name}.md)" not in text:
            row = ROW[lang].format(title=title, name=name)
            index.write_text(text.rstrip("\n") + "\n" + row + "\n", encoding="utf-8")


def scaffold(root: Path, target: str) -> list[Path]:
    if not re.fullmatch(r"[a-z]+/[a-z][a-z0-9_]*", target) or target.split("/")[0] not in CHAPTERS:
        raise SystemExit(
            f"usage: nox -s new -- <chapter>/<topic>, chapter one of {CHAPTERS}, topic in snake_case"
        )
    chapter, name = target.split("/")
    title = name.replace("_", " ").title()
    files = {
        root / "snippets" / chapter / f"{name}.py": SNIPPET.format(name=name),
        root / "tests" / chapter / f"test_{name}.py": TEST.format(chapter=chapter, name=name),
        root / "figures" / chapter / f"{name}.py": FIGURE.format(name=name),
        root / "docs" / "zh" / chapter / f"{name}.md": PAGE["zh"].format(
            title=title, chapter=chapter, name=name
        ),
        root / "docs" / "en" / chapter / f"{name}.md": PAGE["en"].format(
            title=title, chapter=chapter, name=name
        ),
    }
    existing = [p for p in files if p.exists()]
    if existing:
        raise SystemExit(f"{existing[0].relative_to(root)} already exists: pick another topic name")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    add_to_nav(root / "mkdocs.yml", chapter, name)
    add_to_tracks(root / "tracks.yml", chapter, name)
    add_to_tables(root, chapter, name, title)
    return list(files)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    for path in scaffold(ROOT, argv[0]):
        print(f"wrote {path.relative_to(ROOT)}")
    print(
        "added to the nav in mkdocs.yml, to tracks.yml (list its prerequisites there) and to the "
        "chapter's table in docs/{zh,en}/<chapter>/index.md"
    )
    print(
        "Next: replace every TODO (nox -s tests reports the ones left), then run nox. See CONTRIBUTING.md."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
