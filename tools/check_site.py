"""Integrity checks that keep the golden rule true: if a reader can see code, CI runs it.

Run ``python -m tools.check_site`` (part of ``nox -s tests`` through tests/test_site_integrity.py).
Every message names the file to touch and what to do.

1. zh/en parity: the same pages, heading ids, snippet includes, code blocks, figures, questions;
2. no Python typed into a page: every Python block is a snippet include;
3. every snippet module is embedded by a page in each language and has doctests;
4. every include names an existing file and section (the build checks this too);
5. topic pages: at least five questions, the closing sections, ids on every heading;
6. every topic is listed in its chapter's table and every chapter on the home page;
7. no TODO markers left by ``nox -s new``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import pages as P

MIN_QUESTIONS = 5
CLOSING = ["questions", "mistakes", "sources"]
TODO = re.compile(r"\bTODO:")  # the scaffold's marker; prose may mention "TODO" itself


def _parse_all(root: Path) -> dict[str, dict[str, P.Page]]:
    docs = root / "docs"
    P.DOCS = docs  # parse relative to this tree (tests point it at a temporary copy)
    out: dict[str, dict[str, P.Page]] = {}
    for lang in P.LANGS:
        out[lang] = {}
        for path in sorted((docs / lang).rglob("*.md")):
            page = P.parse(path)
            out[lang][page.rel] = page
    return out


def check_parity(site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    zh, en = site["zh"], site["en"]
    for rel in sorted(set(zh) - set(en)):
        errors.append(
            f"docs/zh/{rel} has no English twin: create docs/en/{rel} with the same headings and includes"
        )
    for rel in sorted(set(en) - set(zh)):
        errors.append(
            f"docs/en/{rel} has no Chinese twin: create docs/zh/{rel} with the same headings and includes"
        )
    for rel in sorted(set(zh) & set(en)):
        a, b = zh[rel], en[rel]
        pairs = {
            "heading ids": ([h[2] for h in a.headings], [h[2] for h in b.headings]),
            "snippet includes": (a.includes, b.includes),
            "code blocks": (len(a.fences), len(b.fences)),
            "figures": (a.figures, b.figures),
            "question difficulties": (
                [q.difficulty for q in a.questions],
                [q.difficulty for q in b.questions],
            ),
            "generated sections": (a.generated, b.generated),
        }
        for what, (x, y) in pairs.items():
            if x != y:
                errors.append(
                    f"docs/zh/{rel} and docs/en/{rel} differ in {what}: zh {x!r} vs en {y!r}. "
                    "Both languages must carry the same ones in the same order: update the one that lags behind."
                )
    return errors


def check_no_loose_python(site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    for lang, pages in site.items():
        for rel, page in pages.items():
            for info, body in page.fences:
                if P.fence_language(info) not in P.PYTHON_LANGS:
                    continue
                lines = [line for line in body.splitlines() if line.strip()]
                if not lines or not all(P.INCLUDE.match(line) for line in lines):
                    first = next((line.strip() for line in lines if not P.INCLUDE.match(line)), "")
                    errors.append(
                        f"docs/{lang}/{rel}: a Python block is typed into the page ({first[:60]!r}). "
                        "Move the code into snippets/<chapter>/<topic>.py between "
                        "'# --8<-- [start:name]' and '# --8<-- [end:name]', test it, and embed it with "
                        "'--8<-- \"snippets/<chapter>/<topic>.py:name\"'."
                    )
    return errors


def _sections(path: Path) -> set[str]:
    return set(re.findall(r"--8<--\s*\[start:([^\]]+)\]", path.read_text(encoding="utf-8")))


def check_includes(root: Path, site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    for lang, pages in site.items():
        for rel, page in pages.items():
            for inc in page.includes:
                path, _, section = inc.partition(":")
                target = root / path
                if not target.is_file():
                    errors.append(
                        f"docs/{lang}/{rel} includes {path}, which does not exist: fix the path"
                    )
                elif section and section not in _sections(target):
                    errors.append(
                        f"docs/{lang}/{rel} includes section '{section}' of {path}, which has no "
                        f"'# --8<-- [start:{section}]' marker: add the section or fix the name"
                    )
    return errors


def check_snippets_embedded(root: Path, site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    for module in sorted((root / "snippets").rglob("*.py")):
        if module.name == "__init__.py":
            continue
        rel = module.relative_to(root).as_posix()
        text = module.read_text(encoding="utf-8")
        if ">>>" not in text:
            errors.append(
                f"{rel} has no doctest: add an 'Examples:' section with '>>>' lines to a docstring"
            )
        if not _sections(module):
            errors.append(
                f"{rel} has no named section: mark what pages show with '# --8<-- [start:name]'"
            )
        for lang, pages in site.items():
            if not any(
                inc.partition(":")[0] == rel for page in pages.values() for inc in page.includes
            ):
                errors.append(
                    f"{rel} is not embedded by any page in docs/{lang}/: embed it with '--8<-- \"{rel}:<section>\"'"
                )
    return errors


def check_topic_pages(site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    for lang, pages in site.items():
        for rel, page in pages.items():
            where = f"docs/{lang}/{rel}"
            for level, text, hid in page.headings:
                if level in (2, 3) and hid is None:
                    errors.append(
                        f"{where}: heading '{text}' has no explicit id: write it as '{'#' * level} {text} {{ #some-id }}' with the same id in both languages"
                    )
            for bad in page.bad_questions:
                errors.append(
                    f"{where}: malformed question '{bad}': write '??? question easy|medium|hard \"title\"'"
                )
            for q in page.questions:
                if q.difficulty not in P.DIFFICULTIES:
                    errors.append(
                        f"{where}: question '{q.title}' has difficulty '{q.difficulty}': use easy, medium or hard"
                    )
            links = P.strip_fences(page.path.read_text(encoding="utf-8")).count("](figure:")
            if links != len(page.figures):
                errors.append(
                    f"{where}: {links - len(page.figures)} 'figure:' link(s) the build cannot read "
                    "(it would publish the raw link): write ![caption](figure:<chapter>/<topic>.py:<fn>) "
                    "with no ']' inside the caption"
                )
            if not page.is_topic:
                continue
            if len(page.questions) < MIN_QUESTIONS:
                errors.append(
                    f"{where} has {len(page.questions)} interview questions: a topic page needs at least {MIN_QUESTIONS} ('??? question medium \"...\"')"
                )
            ids = [h[2] for h in page.headings if h[0] == 2]
            if ids[-3:] != CLOSING:
                errors.append(
                    f"{where} must end with the sections {CLOSING} (ids of its last '##' headings), found {ids[-3:]}"
                )
            if not page.title:
                errors.append(f"{where} has no '# title' line")
    return errors


def check_listed(site: dict[str, dict[str, P.Page]]) -> list[str]:
    """Every topic is a row of its chapter's table, every chapter a row of the home page's."""
    errors = []
    for lang, pages in site.items():
        home = P.DOCS / lang / "index.md"
        home_text = home.read_text(encoding="utf-8") if home.is_file() else ""
        for chapter in sorted({rel.split("/")[0] for rel, pg in pages.items() if pg.is_topic}):
            index = P.DOCS / lang / chapter / "index.md"
            if f"]({chapter}/index.md)" not in home_text:
                errors.append(
                    f"docs/{lang}/index.md does not list the chapter '{chapter}': add a row "
                    f"'| [title]({chapter}/index.md) | topics |' to its chapter table"
                )
            text = index.read_text(encoding="utf-8") if index.is_file() else ""
            for rel, page in sorted(pages.items()):
                if not (page.is_topic and rel.startswith(f"{chapter}/")):
                    continue
                name = rel.split("/", 1)[1]
                if f"]({name})" not in text:
                    errors.append(
                        f"docs/{lang}/{chapter}/index.md does not list {name}: add a row "
                        f"'| [{page.title}]({name}) | what interviewers ask |' to its table"
                    )
    return errors


def check_todo(root: Path) -> list[str]:
    errors = []
    for folder in ("docs", "snippets", "tests", "figures"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".md", ".py") or not path.is_file():
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if TODO.search(line):
                    errors.append(
                        f"{path.relative_to(root)}:{n}: TODO left over ({line.strip()[:60]}): write the missing part or remove the marker"
                    )
    return errors


def check(root: Path) -> list[str]:
    site = _parse_all(root)
    return (
        check_parity(site)
        + check_no_loose_python(site)
        + check_includes(root, site)
        + check_snippets_embedded(root, site)
        + check_topic_pages(site)
        + check_listed(site)
        + check_todo(root)
    )


def main() -> int:
    errors = check(P.ROOT)
    for e in errors:
        print(f"- {e}")
    print(f"check_site: {len(errors)} problem(s)" if errors else "check_site: all checks passed")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
