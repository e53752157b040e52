"""Integrity checks that keep the golden rule true: if a reader can see code, CI runs it.

Run ``python -m tools.check_site`` (part of ``nox -s tests`` through tests/test_site_integrity.py).
Every message names the file to touch and what to do.

1. zh/en parity: the same pages, heading ids, snippet includes, code blocks, figures, questions;
2. no Python typed into a page: every block that Pygments highlights as Python (``py3``, ``pycon``,
   ``{ .python title="x" }``, ...) is a snippet include, and there are no indented code blocks
   or raw ``<pre>``;
3. every snippet module is embedded by a page in each language and has doctests (real ``>>>``
   examples in a docstring, not in a comment);
4. every include names an existing file under ``snippets/`` or ``tests/`` and a section with
   exactly one start and one end marker (the build checks this too);
5. topic pages: at least five questions, the closing sections, an id on every heading of levels
   2 to 6 (inside admonitions too; setext headings are not allowed);
6. every topic is listed in its chapter's table and in ``tracks.yml`` (prerequisites that exist,
   frequency only with a source), and the home page has the generated map of the tracks;
7. no TODO markers left by ``nox -s new`` (``TODO:``, ``todo:``, ``TODO：``);
8. ``figure:`` links name ``<chapter>/<topic>.py:<function>`` inside ``figures/``, in prose only;
9. zh prose quotes with Chinese curly quotes “…”, not straight "…" or 「…」;
10. cheat-sheet marks (tools/cheatsheet.py): every topic page marks at least one block, the marks
    are balanced, and both languages mark the same number of blocks.
"""

from __future__ import annotations

import ast
import doctest
import functools
import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import pages as P
from tools import tracks

MIN_QUESTIONS = 5
CLOSING = ["questions", "mistakes", "sources"]
# The scaffold's marker, in any case and with a full-width colon; prose may mention "TODO" itself.
TODO = re.compile(r"\bTODO[ \t]*[:：]", re.I)
EMBED_FROM = ("snippets/", "tests/")  # the folders CI runs (tools/embed.py ALLOWED)


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


def fence_language(info: str) -> str:
    """The language superfences reads from a fence's info string, lower case.

    >>> [fence_language(i) for i in ['py3 title="a"', '{ .python }', '{.py3 .x}', '{ #i .pycon }']]
    ['py3', 'python', 'py3', 'pycon']
    """
    info = info.strip()
    if info.startswith("{"):  # attribute list: the first .class names the language
        m = re.search(r"(?:^|\s|\{)\.([\w+-]+)", info)
        return m.group(1).lower() if m else ""
    return re.split(r"[\s{]", info, maxsplit=1)[0].lower() if info else ""


def is_python(lang: str) -> bool:
    """Whether Pygments highlights a fence of this language as Python (py3, pyi, sage, numpy, ...)."""
    if not lang:
        return False
    if lang in P.PYTHON_LANGS or lang.startswith("ipython"):  # IPython's lexers may be absent
        return True
    from pygments.lexers import get_lexer_by_name
    from pygments.lexers.python import Python2Lexer, PythonConsoleLexer, PythonLexer
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lang)
    except ClassNotFound:
        return False
    python = (PythonLexer, Python2Lexer, PythonConsoleLexer)
    return isinstance(lexer, python) or lexer.name == "Cython"


def check_no_loose_python(site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    for lang, pages in site.items():
        for rel, page in pages.items():
            for info, body in page.fences:
                if not is_python(fence_language(info)):
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
    return {m.group("name") for m in MARKER.finditer(path.read_text(encoding="utf-8"))}


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
        if not has_doctest(text):
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
    """Every topic is a row of its chapter's table and in tracks.yml (so on the home page's map)."""
    errors = tracks.problems(P.DOCS.parent, check_nav=(P.DOCS.parent / "mkdocs.yml").is_file())
    for lang, pages in site.items():
        home = P.DOCS / lang / "index.md"
        home_text = home.read_text(encoding="utf-8") if home.is_file() else ""
        if tracks.MARKER_MAP not in home_text:  # the map lists every topic of tracks.yml
            errors.append(
                f"docs/{lang}/index.md has no '{tracks.MARKER_MAP}' line: the home page's map of "
                "the tracks lists every topic; put the line back under '## … { #tracks }'"
            )
        for chapter in sorted({rel.split("/")[0] for rel, pg in pages.items() if pg.is_topic}):
            index = P.DOCS / lang / chapter / "index.md"
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


# ------------------------------------------------------------------ block structure of the prose

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
OPENER = re.compile(r"^(?P<indent> *)(?:(?:!!!|\?\?\?\+?|===)[ \t]|(?:[-*+]|\d+[.)])[ \t]+\S)")
ANY_HEADING = re.compile(r"^ *(?P<level>#{1,6})[ \t]+(?P<text>.*?)[ \t#]*$")
SETEXT = re.compile(r"^ *(=+|-+)[ \t]*$")
NOT_PARAGRAPH = re.compile(r"^ *(?:[|#>$<]|!!!|\?\?\?|===|[-*+][ \t]|\d+[.)][ \t]|\*\[)")


@functools.cache  # keyed on the text: unchanged files are read once
def prose_lines(text: str) -> tuple[str, ...]:
    """The page with front matter, fenced blocks and inline code blanked, line numbers kept."""
    blank = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731
    text = FRONT_MATTER.sub(blank, text)
    text = P.strip_fences(text)
    text = INLINE_CODE.sub(lambda m: re.sub(r"[^\n]", "C", m.group(0)), text)  # keeps indents
    return tuple(line.expandtabs(4) for line in text.split("\n"))


@functools.cache  # keyed on the text: unchanged files are read once
def scan_blocks(text: str) -> tuple[list[tuple[int, int, str, str | None]], list[str]]:
    """Every heading (line, level, text, id) and every block problem of a page's prose.

    A line is inside the containers (admonitions, details, tabs, list items) opened above it
    while it is indented by their content indent (4 spaces in Python-Markdown); after a blank
    line, 4 more spaces than that make an indented code block, which shows code CI never runs.
    """
    lines = prose_lines(text)
    headings: list[tuple[int, int, str, str | None]] = []
    problems: list[str] = []
    containers = [0]
    previous = ""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            previous = ""
            continue
        indent = len(line) - len(line.lstrip(" "))
        if not previous:  # after a blank line a container ends where its indent ends
            while len(containers) > 1 and indent < containers[-1]:
                containers.pop()
            if indent >= containers[-1] + 4:
                problems.append(
                    f"line {n}: an indented code block ({line.strip()[:40]!r}) shows code that "
                    "CI does not run: embed it from a snippet in a fenced block, or un-indent it"
                )
                previous = line
                continue
        if re.search(r"<pre\b", line, re.I):
            problems.append(
                f"line {n}: raw <pre> shows code that CI does not run: embed it from a snippet "
                "in a fenced block"
            )
        if h := ANY_HEADING.match(line):
            hid = P.HEADING_ID.search(h.group("text"))
            headings.append(
                (n, len(h.group("level")), h.group("text"), hid.group("id") if hid else None)
            )
        elif previous and SETEXT.match(line) and not NOT_PARAGRAPH.match(previous):
            problems.append(
                f"line {n}: '{previous.strip()[:40]}' is a setext heading (underlined with "
                f"'{line.strip()[:3]}'): write it as '## {previous.strip()[:40]} {{ #some-id }}'"
            )
        if m := OPENER.match(line):
            containers.append(len(m.group("indent")) + 4)
        previous = line
    return headings, problems


def check_blocks(site: dict[str, dict[str, P.Page]]) -> list[str]:
    """Indented code, raw <pre>, setext headings, and an id on every heading of levels 2-6."""
    errors = []
    scanned: dict[tuple[str, str], list[str | None]] = {}
    for lang, pages in site.items():
        for rel, page in pages.items():
            where = f"docs/{lang}/{rel}"
            headings, problems = scan_blocks(page.path.read_text(encoding="utf-8"))
            errors += [f"{where}: {problem}" for problem in problems]
            top = {(level, text) for level, text, _ in page.headings}
            for n, level, text, hid in headings:
                if level >= 2 and hid is None and (level > 3 or (level, text) not in top):
                    errors.append(
                        f"{where}:{n}: heading '{text}' has no explicit id: write it as "
                        f"'{'#' * level} {text} {{ #some-id }}' with the same id in both languages"
                    )
            scanned[(lang, rel)] = [hid for _, level, _, hid in headings if level >= 2]
    for rel in sorted(set(site["zh"]) & set(site["en"])):
        a, b = site["zh"][rel], site["en"][rel]
        if [h[2] for h in a.headings] != [h[2] for h in b.headings]:
            continue  # check_parity already names the difference
        x, y = scanned[("zh", rel)], scanned[("en", rel)]
        if x != y:
            errors.append(
                f"docs/zh/{rel} and docs/en/{rel} differ in heading ids (all levels, inside "
                f"admonitions too): zh {x!r} vs en {y!r}. Both languages must carry the same ones "
                "in the same order: update the one that lags behind."
            )
    return errors


# ------------------------------------------------------------------ snippets and includes

MARKER = re.compile(
    r"^[ \t]*#[ \t]*--8<--[ \t]*\[(?P<kind>start|end):(?P<name>[^\]]+)\][ \t]*$", re.M
)
ANY_INCLUDE = re.compile(r"^[ \t]*-{1,2}8<-{1,2}.*$", re.M)


@functools.cache  # keyed on the text: unchanged files are read once
def marker_problems(text: str) -> dict[str, list[str]]:
    """Section name -> its markers in order, for every section not marked exactly start, end."""
    kinds: dict[str, list[str]] = {}
    for m in MARKER.finditer(text):
        kinds.setdefault(m.group("name"), []).append(m.group("kind"))
    return {name: k for name, k in kinds.items() if k != ["start", "end"]}


@functools.cache  # keyed on the text: unchanged files are read once
def has_doctest(text: str) -> bool:
    """Whether a docstring (module, class or function, nested too) holds a '>>>' example."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ">>>" in text
    parser = doctest.DocTestParser()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc and parser.get_examples(doc):
                return True
    return False


def check_markers(root: Path, site: dict[str, dict[str, P.Page]]) -> list[str]:
    """Paired section markers, includes only from the folders CI runs, one include syntax."""
    errors = []
    for folder in ("snippets", "tests"):
        for module in sorted((root / folder).rglob("*.py")):
            rel = module.relative_to(root).as_posix()
            for name, kinds in marker_problems(module.read_text(encoding="utf-8")).items():
                errors.append(
                    f"{rel}: section '{name}' has markers {kinds}: it needs exactly one "
                    f"'# --8<-- [start:{name}]' followed by one '# --8<-- [end:{name}]' (with the "
                    "end missing, the page would publish the rest of the module)"
                )
    for lang, pages in site.items():
        for rel, page in pages.items():
            text = page.path.read_text(encoding="utf-8")
            for inc in page.includes:
                path = inc.partition(":")[0]
                if not path.startswith(EMBED_FROM) or ".." in Path(path).parts:
                    errors.append(
                        f"docs/{lang}/{rel} includes {path}: pages embed code only from "
                        f"{' or '.join(EMBED_FROM)} (code CI runs): move the code into a snippet"
                    )
            for m in ANY_INCLUDE.finditer(text):
                if not P.INCLUDE.match(m.group(0)):
                    errors.append(
                        f"docs/{lang}/{rel}: include line {m.group(0).strip()[:60]!r} is not in "
                        'the one form the checks read: write --8<-- "snippets/<chapter>/<topic>.py:<section>"'
                    )
    return errors


# ------------------------------------------------------------------ figure links

FIGURE_PATH = re.compile(r"^[a-z0-9_]+/[a-z0-9_]+\.py$")


def _top_level_functions(path: Path) -> frozenset[str]:
    return _functions_in(path.read_text(encoding="utf-8"))


@functools.cache
def _functions_in(text: str) -> frozenset[str]:
    return frozenset(n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef))


def check_figures(root: Path, site: dict[str, dict[str, P.Page]]) -> list[str]:
    """A figure link names a function of a module inside figures/, and sits in prose."""
    errors = []
    for lang, pages in site.items():
        for rel, page in pages.items():
            where = f"docs/{lang}/{rel}"
            text = page.path.read_text(encoding="utf-8")
            raw = len(P.FIGURE.findall(text))
            prose = len(P.FIGURE.findall("\n".join(prose_lines(text))))
            if raw > prose:
                errors.append(
                    f"{where}: {raw - prose} 'figure:' link(s) inside a code block or "
                    "inline code: the build would still draw them. Move the figure into prose, or "
                    "write 'figure&#58;' to show the syntax"
                )
            for fig in page.figures:
                path, _, func = fig.rpartition(":")
                target = root / "figures" / path
                if not FIGURE_PATH.match(path):
                    errors.append(
                        f"{where}: figure:{fig} must name figures/<chapter>/<topic>.py (no '/', "
                        "'..' or absolute paths): the build imports and runs that file"
                    )
                elif not target.is_file():
                    errors.append(f"{where}: figure:{fig}: figures/{path} does not exist")
                elif func not in _top_level_functions(target):
                    errors.append(
                        f"{where}: figure:{fig}: figures/{path} defines no function {func}()"
                    )
    return errors


# ------------------------------------------------------------------ zh quotation marks

CJK = r"[\u3400-\u9fff\uf900-\ufaff]"
QUOTED = re.compile(r'"[^"\n]*"')  # pairs from the left, as a reader pairs them
CORNER = re.compile(r"「[^」\n]*」|『[^』\n]*』")
TITLED = re.compile(r'^(?P<head> *(?:!!!|\?\?\?\+?|===)[^"\n]*)"[^"\n]*"')
NOT_PROSE = [
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<!\s)\$"),  # inline math
    re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.S),
    re.compile(r"\]\([^)\n]*\)"),  # link targets and their titles
    re.compile(r"<[^>\n]+>"),  # HTML tags and their attributes
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"^ *\*\[[^\]]*\]:.*$", re.M),  # abbreviation definitions (glossary)
]


@functools.cache  # keyed on the text: unchanged files are read once
def zh_quote_problems(text: str) -> list[tuple[int, str]]:
    """(line, quote) for straight "…" or corner 「…」 quotes around Chinese text in zh prose."""
    prose = "\n".join(TITLED.sub(lambda m: m.group("head") + "  ", ln) for ln in prose_lines(text))
    for pattern in NOT_PROSE:
        prose = pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose)
    found = []
    for n, line in enumerate(prose.split("\n"), start=1):
        found += [(n, m.group(0)) for m in QUOTED.finditer(line) if re.search(CJK, m.group(0))]
        found += [(n, m.group(0)) for m in CORNER.finditer(line)]
    return found


def check_zh_quotes(site: dict[str, dict[str, P.Page]]) -> list[str]:
    errors = []
    for rel, page in site["zh"].items():
        for n, quote in zh_quote_problems(page.path.read_text(encoding="utf-8")):
            errors.append(
                f"docs/zh/{rel}:{n}: {quote[:30]!r}: zh prose quotes with Chinese curly quotes "
                f"“{quote[1:-1][:20]}” (CONTRIBUTING.zh.md); straight quotes stay only in code, "
                "math and admonition titles"
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


def check_cheatsheet_marks(site: dict[str, dict[str, P.Page]]) -> list[str]:
    from tools import cheatsheet

    errors = []
    counts: dict[tuple[str, str], int] = {}
    for lang, pages in site.items():
        for rel, page in pages.items():
            if not page.is_topic:
                continue
            text = page.path.read_text(encoding="utf-8")
            problems = cheatsheet.mark_problems(text)
            errors += [f"docs/{lang}/{rel}: {p}" for p in problems]
            counts[(lang, rel)] = n = len(cheatsheet.blocks(text))
            if not n and not problems:
                errors.append(
                    f"docs/{lang}/{rel} marks nothing for its chapter's cheat sheet: put "
                    f"'{cheatsheet.OPEN}' and '{cheatsheet.CLOSE}' lines around its key formula, "
                    "conventions and a few common mistakes (the same blocks in both languages)"
                )
    for rel in sorted(set(site["zh"]) & set(site["en"])):
        x, y = counts.get(("zh", rel)), counts.get(("en", rel))
        if x is not None and y is not None and x != y:
            errors.append(
                f"docs/zh/{rel} and docs/en/{rel} mark {x} and {y} cheat-sheet blocks: mark the "
                "same blocks in both languages"
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
        + check_blocks(site)
        + check_markers(root, site)
        + check_figures(root, site)
        + check_zh_quotes(site)
        + check_cheatsheet_marks(site)
    )


def main() -> int:
    errors = check(P.ROOT)
    for e in errors:
        print(f"- {e}")
    print(f"check_site: {len(errors)} problem(s)" if errors else "check_site: all checks passed")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
