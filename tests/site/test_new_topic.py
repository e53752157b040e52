"""`nox -s new` scaffolds a topic that builds and tests at once, and the TODO check keeps it red."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import check_site, new_topic, pages

ROOT = pages.ROOT


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    for folder in ("docs", "snippets", "tests", "figures", "hooks", "tools", "bench"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mkdocs.yml", "glossary.yml", "pyproject.toml", "tracks.yml"):
        shutil.copy2(ROOT / name, root / name)
    shutil.copytree(ROOT / "overrides", root / "overrides")
    (ROOT / ".cache").mkdir(exist_ok=True)
    (root / ".cache").symlink_to(ROOT / ".cache")  # KaTeX, mermaid, drawn figures: fetch once
    new_topic.scaffold(root, "detection/anchor_boxes")
    yield root
    pages.DOCS = ROOT / "docs"


def test_scaffold_writes_the_four_places_and_the_nav(scaffolded: Path) -> None:
    for rel in (
        "docs/zh/detection/anchor_boxes.md",
        "docs/en/detection/anchor_boxes.md",
        "snippets/detection/anchor_boxes.py",
        "tests/detection/test_anchor_boxes.py",
    ):
        assert (scaffolded / rel).is_file(), rel
    assert "- detection/anchor_boxes.md" in (scaffolded / "mkdocs.yml").read_text(encoding="utf-8")
    # inside the detection section of the computer-vision track, after the chapter's last topic
    nav = (scaffolded / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    lines = nav.splitlines()
    at = lines.index("          - detection/anchor_boxes.md")
    assert lines[at - 1] == "          - detection/map.md", lines[at - 3 : at + 2]
    assert "  detection/anchor_boxes: []" in (scaffolded / "tracks.yml").read_text(encoding="utf-8")
    for lang in ("zh", "en"):  # and a row in the chapter's table, which check_listed requires
        index = (scaffolded / f"docs/{lang}/detection/index.md").read_text(encoding="utf-8")
        assert "](anchor_boxes.md)" in index, lang


def test_only_the_todo_check_fails(scaffolded: Path) -> None:
    errors = check_site.check(scaffolded)
    assert errors, "a half-written topic must not pass"
    assert all("TODO left over" in e for e in errors), "\n".join(
        e for e in errors if "TODO" not in e
    )


def test_scaffolded_tests_and_doctest_pass(scaffolded: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-cov",
            "tests/detection/test_anchor_boxes.py",
            "snippets/detection/anchor_boxes.py",
        ],
        cwd=scaffolded,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "3 passed" in proc.stdout


def test_scaffolded_site_builds_strictly(scaffolded: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "--site-dir",
            str(scaffolded / "site"),
        ],
        cwd=scaffolded,
        capture_output=True,
        text=True,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (scaffolded / "site/en/detection/anchor_boxes/index.html").is_file()


def test_rejects_a_bad_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="usage"):
        new_topic.scaffold(tmp_path, "Detection/Anchor Boxes")
