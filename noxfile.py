"""The sessions a contributor runs. ``nox`` alone runs every check; ``nox -s serve`` serves the site.

All sessions share one environment, ``.venv/``, created on first use from the pinned dependency
groups in pyproject.toml and re-synced only when those pins change (torch + torchvision are
5.5 GB: one copy, installed once, is enough).
"""

from __future__ import annotations

import hashlib
import os
import shutil
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

nox.options.sessions = ["lint", "tests", "docs", "bench_quick", "browser"]
nox.options.default_venv_backend = "none"
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner


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
    if not (BIN / "python").exists():
        session.log(f"creating the shared environment in {VENV}")
        session.run(sys.executable, "-m", "venv", str(VENV), external=True)
    session.run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=25.1", external=True)
    args = [a for g in GROUPS for a in ("--group", g)]
    session.run(PYTHON, "-m", "pip", "install", "--quiet", *args, external=True)
    stamp.write_text(_pins())


def run(session: nox.Session, tool: str, *args: str, **kwargs: object) -> None:
    session.run(str(BIN / tool), *args, external=True, **kwargs)


@nox.session
def tests(session: nox.Session) -> None:
    """pytest over tests/ and the doctests of snippets/, with coverage of snippets/."""
    env(session)
    _chromium(session, required=False)  # the site tests build the site
    args = session.posargs or ["-m", "not slow and not browser"]
    run(session, "python", "-m", "pytest", "--cov", "--cov-report=term", *args)


@nox.session
def slow(session: nox.Session) -> None:
    """Experiments that take longer (marked @pytest.mark.slow)."""
    env(session)
    run(session, "python", "-m", "pytest", "-m", "slow", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Strict build of both languages into site/."""
    env(session)
    _chromium(session, required=False)
    run(session, "mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)


@nox.session
def serve(session: nox.Session) -> None:
    """Serve the site at http://127.0.0.1:8000 with live reload (both languages)."""
    env(session)
    _chromium(session, required=False)
    run(
        session, "mkdocs", "serve", "--dev-addr", "127.0.0.1:8000", "--livereload", *session.posargs
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, codespell (English)."""
    env(session)
    run(session, "ruff", "check", ".")
    run(session, "ruff", "format", "--check", ".")
    run(session, "codespell")


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
    if not (ROOT / "site" / "index.html").exists() or "--build" in session.posargs:
        run(session, "mkdocs", "build", "--strict", "--site-dir", "site")
    args = [a for a in session.posargs if a != "--build"]
    run(session, "python", "-m", "pytest", "-m", "browser", "-p", "no:cacheprovider", *args)


@nox.session
def practice(session: nox.Session) -> None:
    """Write practice/<topic>.py to solve yourself; '-- <topic> --check' grades it with the handbook's tests."""
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
