"""What the build and CI fetch is pinned: exact versions, integrity hashes, commit SHAs."""

from __future__ import annotations

import json
import re
import tomllib

from tools import katex, pages

ROOT = pages.ROOT


def test_npm_packages_come_from_the_lockfile_with_integrity_hashes() -> None:
    lock = json.loads((ROOT / "tools/npm/package-lock.json").read_text(encoding="utf-8"))
    packages = {k: v for k, v in lock["packages"].items() if k}
    assert packages["node_modules/katex"]["version"] == katex.VERSION
    missing = [k for k, v in packages.items() if not v.get("integrity", "").startswith("sha512-")]
    assert missing == [], f"lockfile entries without a sha512 integrity hash: {missing}"
    source = (ROOT / "tools/katex.py").read_text(encoding="utf-8")
    assert '"ci"' in source and "--ignore-scripts" in source, "KaTeX must be installed by npm ci"


def test_mermaid_tarball_is_checked_against_a_pinned_hash() -> None:
    hook = (ROOT / "hooks/handbook.py").read_text(encoding="utf-8")
    assert re.search(r'MERMAID_INTEGRITY = \(?\s*"sha512-[A-Za-z0-9+/]{86}=="', hook)
    assert "digest != MERMAID_INTEGRITY" in hook


def test_python_dependencies_are_pinned_exactly() -> None:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "dependency-groups"
    ]
    loose = [d for deps in groups.values() for d in deps if "==" not in d]
    assert loose == [], f"dependencies without an exact pin: {loose}"


def test_nox_is_pinned_wherever_it_is_installed() -> None:
    for name in (".ci/run", ".github/workflows/ci.yml", "README.md", "CONTRIBUTING.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        unpinned = re.findall(r"pip install nox(?!==\d)", text)
        assert unpinned == [], f"{name} installs nox without a version"


def test_github_actions_are_pinned_by_commit_sha() -> None:
    for workflow in (ROOT / ".github/workflows").glob("*.yml"):
        uses = re.findall(r"uses:\s*(\S+)", workflow.read_text(encoding="utf-8"))
        assert uses, f"{workflow.name} uses no action?"
        loose = [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u)]
        assert loose == [], f"{workflow.name}: actions not pinned by a commit SHA: {loose}"
