"""Embed named snippet sections into pages: the code a reader needs, and nothing else.

A page asks for code with ``--8<-- "snippets/<chapter>/<topic>.py:name"`` inside a fence. The
hook replaces that line with the section between ``# --8<-- [start:name]`` and
``# --8<-- [end:name]`` before Markdown sees it, and shortens each docstring in it to its first
line: on a phone only about 40 characters of a line show, and the Args / Returns / Examples live
in the API reference (generated from the same docstrings) and run as doctests.

It is stricter than pymdownx.snippets, which publishes the rest of the module when an end marker
is renamed or deleted: a missing or doubled marker, or a path outside ``snippets/`` and ``tests/``
(the two folders CI runs), is an ``EmbedError`` that fails the build and names the page.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from tools.pages import INCLUDE, ROOT

ALLOWED = ("snippets/", "tests/")  # code that CI runs; nothing else is embedded


class EmbedError(ValueError):
    pass


def section(path: str, name: str) -> str:
    """The dedented lines between the start and end markers of ``name`` in ``path``.

    >>> code = section("snippets/detection/iou.py", "box_area")
    >>> "def box_area(boxes: Tensor) -> Tensor:" in code, "--8<--" in code
    (True, False)
    """
    if not path.startswith(ALLOWED) or ".." in Path(path).parts:
        raise EmbedError(f"{path}: pages embed code only from {' or '.join(ALLOWED)}")
    file = ROOT / path
    if not file.is_file():
        raise EmbedError(f"{path} does not exist")
    lines = file.read_text(encoding="utf-8").splitlines()
    marker = re.compile(rf"^\s*#\s*--8<--\s*\[(start|end):{re.escape(name)}\]\s*$")
    found = [(i, m.group(1)) for i, line in enumerate(lines) if (m := marker.match(line))]
    kinds = [kind for _, kind in found]
    if kinds != ["start", "end"]:
        raise EmbedError(
            f"{path}: section '{name}' needs exactly one '# --8<-- [start:{name}]' followed by "
            f"one '# --8<-- [end:{name}]', found {kinds or 'neither'}"
        )
    (start, _), (end, _) = found
    body = [line for line in lines[start + 1 : end] if not re.match(r"^\s*#\s*--8<--", line)]
    return textwrap.dedent("\n".join(body)).strip("\n")


def short_docstrings(code: str) -> str:
    r"""Keep only the first line of every function's and class's docstring.

    >>> q = chr(34) * 3  # a triple quote
    >>> code = f"def f(x):\n    {q}Double x.\n\n    Args:\n        x: a number.\n    {q}\n    return 2 * x"
    >>> print(short_docstrings(code).replace(q, "<q>"))
    def f(x):
        <q>Double x.<q>
        return 2 * x
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a fragment that is not a whole statement: show it as written
        return code
    lines = code.split("\n")
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        doc = node.body[0] if node.body else None
        if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)):
            continue
        if not isinstance(doc.value.value, str) or doc.end_lineno == doc.lineno:
            continue  # already one line
        summary = doc.value.value.strip().split("\n", 1)[0].strip()
        indent = lines[doc.lineno - 1][: doc.col_offset]
        spans.append((doc.lineno - 1, doc.end_lineno, f'{indent}"""{summary}"""'))
    for first, last, replacement in sorted(spans, reverse=True):
        lines[first:last] = [replacement]
    return "\n".join(lines)


def expand(markdown: str) -> str:
    """Replace every include line of a page with its (shortened) section, keeping its indent."""

    def replace(match: re.Match[str]) -> str:
        path, name = match.group("path"), match.group("section")
        if not name:
            raise EmbedError(f'--8<-- "{path}": name the section to embed ("{path}:name")')
        indent = re.match(r"[ \t]*", match.group(0)).group(0)  # type: ignore[union-attr]
        code = short_docstrings(section(path, name))
        return "\n".join(indent + line if line else line for line in code.split("\n"))

    return INCLUDE.sub(replace, markdown)
