"""Test-suite configuration: deterministic hypothesis profiles, the practice hooks, and the
per-chapter test-time report printed at the end of every run (so a slow test is seen the day it
is added; nothing asserts on time: these machines are noisy)."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests import support

# Deterministic by design: the same examples on every run, no example database.
# "ci" is the default; `HYPOTHESIS_PROFILE=thorough` explores ten times more locally.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=1000)
# `nox -s quick`: a tenth of the examples (explicit @settings use cases(), a twentieth).
settings.register_profile("quick", parent=settings.get_profile("ci"), max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick" if support.QUICK else "ci"))

_threads_set = [False]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    support.CURRENT_TEST[0] = item.nodeid
    if not _threads_set[0]:
        # The tests use small tensors: one thread avoids oversubscribing two cores (pytest +
        # torch's pool) and keeps results bit-for-bit repeatable. Benchmarks set their own count.
        # Here, not at import: xdist's controller runs no test and need not pay torch's import.
        import torch

        torch.set_num_threads(1)
        _threads_set[0] = True


# ---------------------------------------------------------------- test time per chapter

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / ".cache" / "test-times.json"
_seconds: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)
_ran: dict[str, int] = defaultdict(int)  # test file -> tests run (for .cache/last-green.json)
_outcomes: dict[str, int] = defaultdict(int)


def _chapter(nodeid: str) -> str:
    """tests/detection/test_nms.py::x and snippets/detection/nms.py::y both count as detection."""
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] in ("tests", "snippets") else parts[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # setup + call + teardown: a module fixture that builds the site counts for its chapter.
    _seconds[_chapter(report.nodeid)] += report.duration
    if report.when == "call":
        _counts[_chapter(report.nodeid)] += 1
        _ran[report.nodeid.split("::", 1)[0]] += 1
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.outcome] += 1


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        from tests.browser import metrics

        metrics.clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A green full default run leaves its record for the topic pages' "verified" box."""
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller has every report
    from tools import verified

    ok, _ = verified.should_record(
        int(exitstatus), os.environ, _ran, verified.expected_test_modules(ROOT)
    )
    if ok:
        verified.write_record(_ran, _outcomes)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if hasattr(terminalreporter.config, "workerinput"):
        return  # an xdist worker: the controller reports for everyone
    from tests.browser import metrics

    metrics.report(terminalreporter)
    if not _seconds:
        return
    rows = sorted(_seconds.items(), key=lambda kv: -kv[1])
    terminalreporter.section("test time per chapter (sum over workers)")
    for chapter, secs in rows:
        terminalreporter.write_line(f"{chapter:<14} {_counts[chapter]:>5} tests {secs:>8.1f} s")
    if not os.environ.get("HANDBOOK_RECORD_TIMES"):
        return  # only `nox -s tests` over the whole suite feeds the benchmark page's table
    TIMES.parent.mkdir(exist_ok=True)
    chapters = {c: {"tests": _counts[c], "seconds": round(s, 2)} for c, s in rows}
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT") or getattr(
        terminalreporter.config.option, "numprocesses", None
    )
    TIMES.write_text(json.dumps({"workers": workers or 1, "chapters": chapters}, indent=1))
