"""The sessions a contributor runs. ``nox`` alone runs every check; ``nox -s serve`` serves the site.

All sessions share one environment, ``.venv/``, created on first use from the pinned dependency
groups in pyproject.toml and re-synced only when those pins change (torch + torchvision are
5.5 GB: one copy, installed once, is enough).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = str(BIN / "python")
GROUPS = ("core", "docs", "test", "lint")

# The site is built once (docs) and reused by the site tests (tests) and the browser tests.
nox.options.sessions = ["lint", "docs", "tests", "bench_quick", "browser"]
nox.options.default_venv_backend = "none"
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner
# This machine (and CI's) sets PYTHONDONTWRITEBYTECODE=1, so without this every process would
# compile torch, torchvision, transformers, ... from source again: measured `import torchvision`
# 18.7 s with it set, 6.5 s once __pycache__ exists. pip installs with --no-compile (below), so
# the sessions' first imports write the bytecode into .venv once, and every later process reads it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
SITE = ROOT / "site"
SITE_STAMP = SITE / ".handbook-inputs"
# What the built site is made from: a change to any of these makes site/ stale.
SITE_INPUTS = (
    "docs",
    "snippets",
    "tests",
    "figures",
    "hooks",
    "tools",
    "overrides",
    "bench/results.json",
)
SITE_FILES = ("mkdocs.yml", "glossary.yml", "tracks.yml", "pyproject.toml")


class _NoUvNotice(logging.Filter):
    """nox looks for uv on every start and says "uv binary not found", which reads like an error.

    The handbook does not use uv (pip reads this machine's pinned local wheels; uv would not).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "uv binary not found" not in record.getMessage()


logging.getLogger("nox").addFilter(_NoUvNotice())


def _pins() -> str:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "dependency-groups"
    ]
    return hashlib.sha256(repr(sorted(groups.items())).encode()).hexdigest()


def env(session: nox.Session) -> None:
    """Create or update the shared environment when the pins changed."""
    stamp = VENV / ".handbook-pins"
    if stamp.exists() and stamp.read_text() == _pins():
        return
    first = not (BIN / "python").exists()
    if first:
        session.log(
            f"creating the shared environment in {VENV}: about 6 GB (torch's CUDA build, which "
            "runs on CPU, is 5.5 GB of it). Measured on 2 cores: 3 min with pip's cache or local "
            "wheels, 5-15 min downloading everything; pip prints each package as it goes."
        )
        session.run(sys.executable, "-m", "venv", str(VENV), external=True)
    else:
        session.log("the pins in pyproject.toml changed: updating the shared environment")
    session.run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=25.1", external=True)
    args = [a for g in GROUPS for a in ("--group", g)]
    # Not --quiet: a silent install of several GB looks like a hang. One line per package.
    # --no-compile: pip would byte-compile every module of torch, transformers, scipy, ... (most
    # never imported); Python compiles the ones a session imports, once, on first import (hence
    # PYTHONDONTWRITEBYTECODE is removed above).
    # Measured: transformers + scikit-learn + scipy install in 24 s instead of 65 s.
    install = [PYTHON, "-m", "pip", "install", "--progress-bar", "off", "--no-compile"]
    session.run(*install, *args, external=True)
    stamp.write_text(_pins())


def run(session: nox.Session, tool: str, *args: str, **kwargs: object) -> None:
    session.run(str(BIN / tool), *args, external=True, **kwargs)


def _site_inputs_digest() -> str:
    digest = hashlib.sha256()
    paths = [ROOT / f for f in SITE_FILES]
    for name in SITE_INPUTS:
        target = ROOT / name
        paths += sorted(target.rglob("*")) if target.is_dir() else [target]
    for path in paths:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _site(session: nox.Session, *, force: bool = False) -> Path:
    """site/, built strictly, rebuilt only when an input changed since the last build."""
    digest = _site_inputs_digest()
    fresh = SITE_STAMP.exists() and SITE_STAMP.read_text() == digest
    if fresh and not force:
        session.log("site/ is up to date with its sources: reusing it")
        return SITE
    _chromium(session, required=False)
    run(session, "mkdocs", "build", "--strict", "--site-dir", str(SITE))
    SITE_STAMP.write_text(digest)
    return SITE


def _workers() -> str:
    return str(max(1, min(os.cpu_count() or 1, 4)))


@nox.session
def tests(session: nox.Session) -> None:
    """pytest over tests/ and the doctests of snippets/ on every core (coverage: `nox -s coverage`).

    The site tests read the site built by `nox -s docs` (built here when missing or stale).
    Arguments go to pytest: `nox -s tests -- tests/detection -x`.
    """
    env(session)
    site = _site(session)
    environ = {"HANDBOOK_SITE": str(site)}
    if session.posargs:
        args = list(session.posargs)
    else:
        args = ["-m", "not slow and not browser", "--durations=25"]
        environ["HANDBOOK_RECORD_TIMES"] = "1"  # the per-chapter table on the benchmark page
    args = ["-n", _workers(), *args]
    run(session, "python", "-m", "pytest", *args, env=environ)


@nox.session
def coverage(session: nox.Session) -> None:
    """The tests session with branch coverage of snippets/ (a report, not a check).

    Not in the default run: tracing every line and branch makes the tests about 1.5x slower
    (measured on tests/detection: 83 s instead of 57 s on one core).
    """
    env(session)
    site = _site(session)
    args = list(session.posargs) or ["-m", "not slow and not browser"]
    run(
        session,
        "python",
        "-m",
        "pytest",
        "-n",
        _workers(),
        "--cov",
        "--cov-report=term",
        *args,
        env={"HANDBOOK_SITE": str(site)},
    )


@nox.session
def quick(session: nox.Session) -> None:
    """The inner loop: doctests + every test module at a twentieth of its seeded cases (< 1 min).

    No site build, no browser. Arguments narrow it down: `nox -s quick -- tests/transformer`.
    """
    env(session)
    args = list(session.posargs) or ["tests", "snippets", "tools"]
    ignore = ["--ignore=tests/site", "--ignore=tests/bench", "--ignore=tests/browser"]
    run(
        session,
        "python",
        "-m",
        "pytest",
        "-q",
        "-n",
        _workers(),
        # Each worker gets whole files: a module's libraries (sklearn, diffusers, ...) and its
        # module fixtures load in one worker, not both. Measured: 45.6 s against 49.4 s.
        "--dist",
        "loadfile",
        "-m",
        "not slow and not browser",
        "--durations=10",
        *ignore,
        *args,
        env={"HANDBOOK_QUICK": "1"},
    )


@nox.session
def slow(session: nox.Session) -> None:
    """Experiments that take longer (marked @pytest.mark.slow)."""
    env(session)
    run(session, "python", "-m", "pytest", "-m", "slow", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Strict build of both languages into site/ (skipped when site/ is up to date)."""
    env(session)
    if session.posargs:
        _chromium(session, required=False)
        run(session, "mkdocs", "build", "--strict", "--site-dir", str(SITE), *session.posargs)
        SITE_STAMP.unlink(missing_ok=True)
        return
    _site(session)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@nox.session
def serve(session: nox.Session) -> None:
    """Serve the site at http://127.0.0.1:8000 with live reload (both languages).

    `nox -s serve -- --port 8001` picks another port. Rebuilds are dirty: only the pages whose
    sources changed are rendered again (see CONTRIBUTING, "Live preview").
    """
    env(session)
    _chromium(session, required=False)
    args = list(session.posargs)
    port = 8000
    if "--port" in args:
        i = args.index("--port")
        port = int(args[i + 1])
        del args[i : i + 2]
    if not _port_free("127.0.0.1", port):
        session.error(
            f"port {port} on 127.0.0.1 is already in use (another `nox -s serve`?). Stop that "
            f"server, or serve on another port: nox -s serve -- --port {port + 1}"
        )
    session.log(
        f"serving at http://127.0.0.1:{port}/ (English: /en/). An edit re-renders its pages in both "
        "languages; a broken figure or formula shows on its page and the server keeps running."
    )
    run(
        session,
        "mkdocs",
        "serve",
        "--dirty",  # only the pages an edit changes (tools/live.py); the i18n plugin honours it
        "--no-strict",  # a warning during an edit must not stop the server (`nox -s docs` is strict)
        "--livereload",
        "--dev-addr",
        f"127.0.0.1:{port}",
        *args,
        env={"HANDBOOK_SERVE": "1"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, codespell (English)."""
    env(session)
    run(session, "ruff", "check", ".")
    run(session, "ruff", "format", "--check", ".")
    run(session, "codespell")


@nox.session
def format(session: nox.Session) -> None:
    """Fix what lint can fix: ruff format, then ruff check --fix."""
    env(session)
    run(session, "ruff", "format", ".")
    run(session, "ruff", "check", "--fix", ".")


def _chromium(session: nox.Session, *, required: bool) -> None:
    """Debian's Chromium: draws mermaid diagrams at build time and runs the browser tests."""
    if Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        session.log("installing Debian's chromium and a CJK font (diagrams, browser tests)")
        quiet = {"stdout": subprocess.DEVNULL}
        session.run("apt-get", "update", "-qq", external=True, **quiet)
        session.run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "chromium",
            "fonts-wqy-microhei",
            external=True,
            **quiet,
        )
        return
    hint = "install it with 'sudo apt-get install chromium fonts-wqy-microhei'"
    if required:
        session.error(f"the browser tests drive /usr/bin/chromium: {hint}")
    session.warn(f"no /usr/bin/chromium: diagrams will be drawn in the reader's browser; {hint}")


@nox.session
def browser(session: nox.Session) -> None:
    """Headless Chromium against the built site: search, math, language switch, no third-party requests."""
    env(session)
    _chromium(session, required=True)
    _site(session, force="--build" in session.posargs)
    args = [a for a in session.posargs if a != "--build"]
    pytest = ["python", "-m", "pytest", "-m", "browser", "-p", "no:cacheprovider"]
    # Both cores: tests that share a page visit or a search box are grouped on one worker
    # (tests/browser/conftest.py), and the workers' metrics are merged at the end.
    workers = ["-n", str(min(int(_workers()), 2)), "--dist", "loadgroup"]
    if args:
        run(session, *pytest, "--durations=25", *workers, *args)
        return
    live = "tests/browser/test_live.py"
    run(session, *pytest, "--durations=25", *workers, f"--ignore={live}")
    # The live-preview timing runs alone, after the rest: next to the other worker's Chromium on
    # the same two cores a page edit took 9.2 s to show, 3.0 s alone (the served HTML had it after
    # 1.6-1.9 s): it measured the neighbour, not `nox -s serve`. Its numbers join the first run's.
    run(session, *pytest, "--durations=5", live, env={"HANDBOOK_METRICS_APPEND": "1"})


@nox.session
def practice(session: nox.Session) -> None:
    """Write practice/<topic>.py to solve yourself; '-- <topic> --check' grades it with the handbook's tests.

    '--check' grades the interview contract the template states, in seconds; '--check --strict'
    adds the library-exact checks and every seeded case.
    """
    env(session)
    run(session, "python", "-m", "tools.practice", *session.posargs)


@nox.session
def new(session: nox.Session) -> None:
    """Scaffold a topic: nox -s new -- <chapter>/<topic>."""
    env(session)
    run(session, "python", "-m", "tools.new_topic", *session.posargs)


@nox.session(name="bench_quick")
def bench_quick(session: nox.Session) -> None:
    """The benchmarks' quick mode (under a minute), so the benchmark code keeps working in CI."""
    env(session)
    run(session, "python", "-m", "bench.run", "--quick")


@nox.session
def bench(session: nox.Session) -> None:
    """Time the hand-written ops against the libraries ('-- --quick' for the short smoke run)."""
    env(session)
    run(session, "python", "-m", "bench.run", *session.posargs)
