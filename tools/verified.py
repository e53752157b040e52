"""The "verified against" box: which library versions a topic's code is checked against, and
when the whole test suite last passed. Generated at build time from the environment, never typed.

* The libraries of a topic are the ones its code and its tests import: the snippet modules the
  page embeds and, for each, ``tests/<chapter>/test_<module>.py`` (plus the topic's own test
  module), read with ``ast`` and kept to the reference libraries in :data:`LIBRARIES`.
* Their versions come from ``importlib.metadata`` in the environment that builds the site.
* The last green run is ``.cache/last-green.json``, written by ``tests/conftest.py`` at the end
  of a pytest run that passed and was a full default run (:func:`should_record`): ``nox -s
  tests`` without arguments, which sets ``HANDBOOK_RECORD_TIMES=1``; not ``nox -s quick``, not
  practice mode, not a run of part of the suite.

The hook appends :func:`box` to every topic page (after its sources). The build reads the record
as it is when the build starts: a site built before the tests shows the previous green run (see
the note in ``/work/handoff`` or the deploy workflow: run the tests, then build again).
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import html
import importlib.metadata
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools import pages

ROOT = pages.ROOT
RECORD = ROOT / ".cache" / "last-green.json"
# import name -> distribution name, in the order the box lists them.
LIBRARIES: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torchvision",
    "timm": "timm",
    "transformers": "transformers",
    "peft": "peft",
    "tokenizers": "tokenizers",
    "diffusers": "diffusers",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "pycocotools": "pycocotools",
    "numpy": "numpy",
}

TEXT = {
    "checked": {"zh": "代码已对照 {libs} 验证", "en": "Code checked against {libs}"},
    "green": {"zh": "最近一次全部通过：{date}", "en": "last green run: {date}"},
    "commit": {"zh": "（提交 {commit}）", "en": " (commit {commit})"},
    "other": {
        "zh": "那次运行用的是 {libs}",
        "en": "that run used {libs}",
    },
    "none": {
        "zh": "本页代码的测试对照 {libs}（构建本站时安装的版本）；这份检出里没有记录到测试全部通过的运行",
        "en": "This page's tests compare with {libs} (as installed when the site was built); no "
        "green test run is recorded in this checkout",
    },
    "not_in_run": {
        "zh": "最近一次全部通过（{date}）没有运行本页的测试",
        "en": "the last green run ({date}) did not run this page's tests",
    },
    "no_libs": {
        "zh": "本页代码只用 Python 标准库",
        "en": "this page's code uses only the Python standard library",
    },
    "sep": {"zh": "；", "en": "; "},
}


# ------------------------------------------------------------------ which libraries


def imported_libraries(path: Path) -> set[str]:
    """The reference libraries (import names) a Python file imports, anywhere in it."""
    if not path.is_file():
        return set()
    return set(_imports_in(path.read_text(encoding="utf-8")))


@functools.cache  # keyed on the text: each file is parsed once per version
def _imports_in(text: str) -> frozenset[str]:
    tree = ast.parse(text)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return frozenset(found & set(LIBRARIES))


def sources(page: pages.Page) -> list[Path]:
    """The snippet modules a topic page embeds and the test modules that check them."""
    chapter, topic = Path(page.rel).parts[0], Path(page.rel).stem
    modules = dict.fromkeys(inc.partition(":")[0] for inc in page.includes)
    modules.setdefault(f"snippets/{chapter}/{topic}.py", None)
    files: list[Path] = []
    for module in modules:
        path = ROOT / module
        files.append(path)
        if module.startswith("snippets/"):
            files.append(path.parent.parent.parent / "tests" / chapter / f"test_{path.stem}.py")
    return [f for f in dict.fromkeys(files) if f.is_file()]


def topic_test_modules(page: pages.Page) -> list[str]:
    """The test modules of a topic, as paths relative to the repository (``tests/x/test_y.py``)."""
    return [
        f.relative_to(ROOT).as_posix()
        for f in sources(page)
        if f.relative_to(ROOT).parts[0] == "tests"
    ]


def libraries(page: pages.Page) -> list[str]:
    """Distribution names, in :data:`LIBRARIES` order."""
    found: set[str] = set()
    for path in sources(page):
        found |= imported_libraries(path)
    return [dist for name, dist in LIBRARIES.items() if name in found]


def versions(dists: Iterable[str]) -> dict[str, str]:
    out = {}
    for dist in dists:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# ------------------------------------------------------------------ the record of a green run


def should_record(
    exitstatus: int,
    environ: Mapping[str, str],
    ran: Iterable[str],
    expected: Iterable[str],
) -> tuple[bool, str]:
    """Whether a finished pytest run is a green full default run, and why not.

    ``ran``: the files of the tests that ran (``tests/detection/test_iou.py``); ``expected``:
    every topic test module on disk. Each condition can be checked without running pytest.
    """
    if exitstatus != 0:
        return False, f"the run did not pass (exit status {exitstatus})"
    if environ.get("HANDBOOK_RECORD_TIMES") != "1":
        return False, "not a full default run (`nox -s tests` without arguments sets it)"
    if environ.get("HANDBOOK_QUICK", "") not in ("", "0"):
        return False, "a quick run (HANDBOOK_QUICK) runs a twentieth of the cases"
    if environ.get("HANDBOOK_PRACTICE_FILE"):
        return False, "practice mode tests a reader's attempt, not the handbook's code"
    missing = sorted(set(expected) - set(ran))
    if missing:
        return False, f"{len(missing)} topic test module(s) did not run, e.g. {missing[0]}"
    return True, "green full run"


def expected_test_modules(root: Path = ROOT) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for chapter in pages.CHAPTERS
        for p in (root / "tests" / chapter).glob("test_*.py")
    )


def _commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def write_record(
    ran: Mapping[str, int], outcomes: Mapping[str, int], path: Path | None = None
) -> None:
    """Write the record of a green run: UTC time, versions, commit, what ran."""
    path = RECORD if path is None else path
    record = {
        "finished_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _commit(),
        "versions": versions(LIBRARIES.values()),
        "outcomes": dict(outcomes),
        "modules": dict(sorted(ran.items())),  # test file -> tests that ran in it
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_record(path: Path | None = None) -> dict[str, Any] | None:
    path = RECORD if path is None else path
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "finished_utc" in record else None


# ------------------------------------------------------------------ the box on a topic page


def _libs(vs: Mapping[str, str]) -> str:
    return " · ".join(f"{d} {v}" for d, v in vs.items())


def box(lang: str, src: str, record: dict[str, Any] | None = None) -> str:
    """The HTML box for the topic page ``src`` (``zh/detection/iou.md``); ``""`` elsewhere."""
    rel = src.split("/", 1)[1] if "/" in src else src
    path = pages.DOCS / lang / rel
    if not path.is_file():
        return ""
    page = pages.parse(path)
    if not page.is_topic:
        return ""
    record = read_record() if record is None else record
    dists = libraries(page)
    now = versions(dists)
    parts = [TEXT["checked"][lang].format(libs=_libs(now)) if dists else TEXT["no_libs"][lang]]
    if record is None:
        if dists:
            parts = [TEXT["none"][lang].format(libs=_libs(now))]
        else:
            parts.append(TEXT["none"][lang].split("；")[-1].split("; ")[-1])
    else:
        date = record["finished_utc"][:10]
        ran = record.get("modules", {})
        if not all(m in ran for m in topic_test_modules(page)):
            parts.append(TEXT["not_in_run"][lang].format(date=date))
        else:
            green = TEXT["green"][lang].format(date=date)
            if record.get("commit"):
                green += TEXT["commit"][lang].format(commit=record["commit"][:10])
            parts.append(green)
            then = {d: record.get("versions", {}).get(d, "?") for d in dists}
            if then != now:
                parts.append(TEXT["other"][lang].format(libs=_libs(then)))
    attrs = f'class="hb-verified" data-libraries="{html.escape(",".join(dists))}"'
    text = TEXT["sep"][lang].join(html.escape(p, quote=False) for p in parts)
    end = "。" if lang == "zh" else "."
    return f'<p {attrs} data-pagefind-ignore="all">{text}{end}</p>'


def append_box(markdown: str, lang: str, src: str) -> str:
    """The page with its box at the end (after the sources); other pages unchanged."""
    found = box(lang, src)
    return f"{markdown.rstrip()}\n\n{found}\n" if found else markdown
