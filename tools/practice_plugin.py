"""pytest plugin for practice mode: record each test's outcome and whether it called the reader's code."""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests import support

_results: list[dict[str, Any]] = []


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    name = item.name
    return f"{name} — {doc.strip().splitlines()[0]}" if doc else name


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = str(getattr(longrepr, "reprcrash", "") and report.longreprtext)
    # Prefer the 'E   ' lines (the assertion message) and hypothesis' falsifying example.
    lines = [
        ln[4:] if ln.startswith("E   ") else ln
        for ln in text.splitlines()
        if ln.startswith(("E   ", "Falsifying"))
    ]
    if lines:
        return "\n".join(lines)
    return crash.message if crash is not None else text[-2000:]


def _mentions(item: pytest.Item, names: list[str]) -> bool:
    try:
        source = inspect.getsource(item.function)  # type: ignore[attr-defined]
    except (AttributeError, OSError, TypeError):
        return True
    return any(re.search(rf"\b{re.escape(n)}\b", source + item.nodeid) for n in names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run only the tests whose code mentions a practised function (the rest cannot exercise it)."""
    names = [n for n in os.environ.get("HANDBOOK_PRACTICE_FUNCS", "").split(",") if n]
    keep = [item for item in items if _mentions(item, names)]
    if keep:
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _results.append(
            {
                "nodeid": item.nodeid,
                "title": _title(item),
                "outcome": report.outcome,
                "called": item.nodeid in support.CALLED_PRACTICE,
                # @pytest.mark.diagnosis: a check written to name one classic mistake
                "diagnosis": item.get_closest_marker("diagnosis") is not None,
                "message": _message(report) if report.outcome == "failed" else "",
            }
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("HANDBOOK_PRACTICE_RESULTS")
    if path:
        Path(path).write_text(json.dumps(_results, ensure_ascii=False, indent=1), encoding="utf-8")
