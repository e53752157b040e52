"""pytest plugin for practice mode: grade the reader's attempt with the topic's own tests.

It records each test's outcome and whether it called the reader's code, and, while grading
(``tools/practice.py`` sets the ``HANDBOOK_PRACTICE_*`` variables), it:

* loads the attempt once before any test runs, so an import error or an exception at import
  time is reported as itself (with the attempt's line), not as "no test called your function";
* grades the interview contract by default: tests that pin a library-exact detail (the strict
  registry in ``tools/practice.py`` or ``@pytest.mark.strict``) are deselected, and an error
  check passes when the right exception type names the argument (``--strict`` also asks for
  the rest of the expected message text);
* in seeded loops, keeps going after a failed comparison and reports the failing case with the
  smallest input (hypothesis tests shrink their own examples);
* warns when a practised function is the handbook's own (imported from the snippet).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import linecache
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

from tests import support

_results: list[dict[str, Any]] = []
_notes: dict[str, Any] = {"error": "", "warnings": [], "strict_skipped": []}

GRADING = bool(os.environ.get("HANDBOOK_PRACTICE_FILE"))
STRICT = os.environ.get("HANDBOOK_PRACTICE_STRICT", "") not in ("", "0")
STRICT_TESTS = set(filter(None, os.environ.get("HANDBOOK_PRACTICE_STRICT_TESTS", "").split(",")))
EQUIVALENTS = set(filter(None, os.environ.get("HANDBOOK_PRACTICE_EQUIVALENTS", "").split(",")))


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    name = item.name
    return f"{name} — {doc.strip().splitlines()[0]}" if doc else name


NOISE = re.compile(r"^\s*(Explanation:|These lines were always|/\S+\.py:\d+$|You can add @seed)")


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = str(getattr(longrepr, "reprcrash", "") and report.longreprtext)
    # Prefer the 'E   ' lines (the assertion message) and hypothesis' falsifying example.
    lines, example = [], False
    for ln in text.splitlines():
        if ln.startswith("E   "):
            lines.append(ln[4:])
        elif ln.startswith(("Falsifying", "Failing test case")):
            example = True
            lines.append(ln)
        elif example and ln.strip() and not NOISE.match(ln):
            lines.append(ln)  # the shrunk example: the smallest input hypothesis found
        elif example and NOISE.match(ln):
            example = False
    lines = [ln for ln in lines if not NOISE.match(ln) and "or any other generated value" not in ln]
    if lines:
        return "\n".join(lines)
    return crash.message if crash is not None else text[-2000:]


def _mentions(item: pytest.Item, names: list[str]) -> bool:
    if item.name.startswith("test_figure"):
        # Figures are drawn with the handbook's own code (figures/ imports snippets/ directly),
        # never with the attempt; skipping them also saves importing matplotlib (~1 s).
        return False
    try:
        source = inspect.getsource(item.function)  # type: ignore[attr-defined]
    except (AttributeError, OSError, TypeError):
        return True
    return any(re.search(rf"\b{re.escape(n)}\b", source + item.nodeid) for n in names)


def _is_strict(item: pytest.Item) -> bool:
    name = getattr(item, "originalname", None) or item.name.split("[")[0]
    return item.get_closest_marker("strict") is not None or name in STRICT_TESTS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run only the tests whose code mentions a practised function (the rest cannot exercise it),
    and, unless --strict, not the library-exact ones."""
    names = [n for n in os.environ.get("HANDBOOK_PRACTICE_FUNCS", "").split(",") if n]
    keep = [item for item in items if _mentions(item, names)]
    if GRADING and not STRICT:
        _notes["strict_skipped"] = [_title(i) for i in keep if _is_strict(i)]
        keep = [i for i in keep if not _is_strict(i)]
    if keep or GRADING:
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


# ---------------------------------------------------------------- the attempt itself


def _attempt_traceback(exc: BaseException, path: str) -> str:
    """The exception, with only the frames in the reader's file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    lines = [f"  {Path(f.filename).name}, line {f.lineno}: {f.line}" for f in frames]
    return "\n".join([*lines, "".join(traceback.format_exception_only(exc)).strip()])


def _reference_warnings(attempt: Any) -> list[str]:
    """Practised names that are the handbook's code, and handed-in twins of the answer."""
    module = os.environ.get("HANDBOOK_PRACTICE_MODULE", "")
    warnings = []
    for name in support.PRACTICE_FUNCS:
        fn = getattr(attempt, name, None)
        origin = getattr(fn, "__module__", "") or ""
        if fn is not None and origin != attempt.__name__:
            warnings.append(f"{name} comes from {origin}, not from your file")
    for key, value in vars(attempt).items():
        origin = getattr(value, "__module__", "") or ""
        if callable(value) and getattr(value, "__name__", key) in EQUIVALENTS and origin == module:
            warnings.append(
                f"your file imports {value.__name__} from {origin}, which computes the answer"
            )
    return warnings


def pytest_sessionstart(session: pytest.Session) -> None:
    if not GRADING:
        return
    path = os.environ["HANDBOOK_PRACTICE_FILE"]
    try:
        attempt = support._load_attempt(path)
    except BaseException as exc:  # whatever the file raises is the reader's to see
        _notes["error"] = _attempt_traceback(exc, path)
        _write()
        pytest.exit("the practice file did not import", returncode=3)
    _notes["warnings"] = _reference_warnings(attempt)
    _install_graders()


# ---------------------------------------------------------------- contract-level checks

SMALLEST = (
    "(+ {n} more failing case(s); this one has the smallest input)",
    "（另有 {n} 个用例失败；这是输入最小的一个）",
)
_failures: list[tuple[int, str]] = []  # (input size, message) of failed comparisons in a test
_collecting = [False]


def _size(inputs: Any) -> int:
    total = 0
    for value in (inputs or {}).values():
        if hasattr(value, "numel"):
            total += int(value.numel())
        elif hasattr(value, "size") and not callable(value.size):
            total += int(value.size)
        elif isinstance(value, list | tuple):
            total += len(value)
        else:
            total += 1
    return total


def _wanted(exc: type[Exception], words: tuple[str, ...]) -> str:
    return f"{exc.__name__} whose message names {' and '.join(map(repr, words))}"


def _install_graders() -> None:
    """Patch the assertion helpers before the test modules import them."""
    strict_raises, close, equal = support.raises_naming, support.assert_close, support.assert_equal

    @contextlib.contextmanager
    def raises_naming(exc: type[Exception], *words: str) -> Any:
        # The contract: the right exception type, naming the argument (the first word).
        asked = words if STRICT else words[:1]
        caller = sys._getframe(2)  # the test's `with` line; the call is on the next one
        call = linecache.getline(caller.f_code.co_filename, caller.f_lineno + 1).strip()
        try:
            with strict_raises(exc, *asked) as info:
                yield info
        except (AssertionError, pytest.fail.Exception) as error:  # none, or the wrong words
            raise AssertionError(
                f"expected {_wanted(exc, asked)} from\n  {call}\n{error}"
            ) from None
        except Exception as other:  # another exception type
            got = f"got {type(other).__name__}: {other}"
            raise AssertionError(f"expected {_wanted(exc, asked)} from\n  {call}\n{got}") from None

    def collecting(check: Any) -> Any:
        def wrapped(actual: Any, expected: Any, **kw: Any) -> None:
            try:
                check(actual, expected, **kw)
            except AssertionError as error:
                if not _collecting[0]:
                    raise
                _failures.append((_size(kw.get("inputs")), str(error)))

        return wrapped

    support.raises_naming = raises_naming
    support.assert_close = collecting(close)
    support.assert_equal = collecting(equal)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    _failures.clear()
    # Hypothesis must see each failure to shrink it; plain loops go on to find a smaller case.
    function = getattr(item, "function", None)
    _collecting[0] = GRADING and not getattr(function, "is_hypothesis_test", False)
    try:
        result = yield
    except BaseException:
        if not _failures:
            raise
        result = None
    finally:
        _collecting[0] = False
    if _failures:
        _, message = min(_failures, key=lambda f: f[0])
        others = len(_failures) - 1
        more = f"\n{SMALLEST[support.LANG == 'zh'].format(n=others)}" if others else ""
        raise AssertionError(message + more)
    return result


# ---------------------------------------------------------------- recording


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    failed_setup = report.when == "setup" and report.outcome != "passed"
    if report.when == "call" or failed_setup:
        _results.append(
            {
                "nodeid": item.nodeid,
                "title": _title(item),
                "outcome": report.outcome,
                # a failed setup never reaches the reader's code, but the check did not pass
                "called": item.nodeid in support.CALLED_PRACTICE or failed_setup,
                # @pytest.mark.diagnosis: a check written to name one classic mistake
                "diagnosis": item.get_closest_marker("diagnosis") is not None,
                "message": _message(report) if report.outcome == "failed" else "",
            }
        )


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed and not _notes["error"]:
        _notes["error"] = str(report.longreprtext)[-3000:]


def _write() -> None:
    path = os.environ.get("HANDBOOK_PRACTICE_RESULTS")
    if path:
        data = {"results": _results, **_notes}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def pytest_sessionfinish(session: pytest.Session) -> None:
    _write()
