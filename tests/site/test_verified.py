""" "Verified against" (tools/verified.py): the box at the end of every topic page names the
versions the build environment has, the libraries the topic's code and tests import, and the
last green full test run, which tests/conftest.py records only for a green full default run."""

from __future__ import annotations

import html
import importlib.metadata
import json
import re
import types
from collections import defaultdict
from pathlib import Path

import pytest

from tests.site.test_build import site  # noqa: F401  (the built site, HANDBOOK_SITE or a build)
from tools import pages, verified

ROOT = pages.ROOT
# import name -> distribution, written out here rather than read from tools/verified.py
REFERENCE = {
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
IMPORT = re.compile(r"^[ \t]*(?:import|from)[ \t]+(\w+)", re.M)
BOX = re.compile(r'<p class="hb-verified" data-libraries="(?P<libs>[^"]*)"[^>]*>(?P<text>.*?)</p>')
TOPICS = [(lang, p) for lang in pages.LANGS for p in pages.pages(lang) if p.is_topic]


def _expected_libraries(page: pages.Page) -> set[str]:
    """Read the page's embedded snippet modules and their tests with a plain regex."""
    chapter, topic = page.rel.split("/")[0], Path(page.rel).stem
    text = page.path.read_text(encoding="utf-8")
    modules = set(re.findall(r'--8<-- "(snippets/[\w/]+\.py):', text))
    modules.add(f"snippets/{chapter}/{topic}.py")
    files = set()
    for m in modules:
        files.add(ROOT / m)
        files.add(ROOT / "tests" / chapter / f"test_{Path(m).stem}.py")
    found = set()
    for f in files:
        if f.is_file():
            found |= {
                REFERENCE[n]
                for n in IMPORT.findall(f.read_text(encoding="utf-8"))
                if n in REFERENCE
            }
    return found


def _built(site: Path, lang: str, page: pages.Page) -> str:  # noqa: F811
    prefix = site / "en" if lang == "en" else site
    return (prefix / Path(page.rel).with_suffix("") / "index.html").read_text(encoding="utf-8")


def test_every_built_topic_page_shows_the_build_environments_versions(site: Path) -> None:  # noqa: F811
    for lang, page in TOPICS:
        built = _built(site, lang, page)
        boxes = BOX.findall(built)
        assert len(boxes) == 1, f"{lang}/{page.rel}: {len(boxes)} verified boxes"
        libs, text = boxes[0]
        text = html.unescape(text)
        listed = set(filter(None, libs.split(",")))
        assert listed == _expected_libraries(page), f"{lang}/{page.rel}"
        shown = dict(re.findall(r"([a-z][\w-]*) (\d+\.\d+[\w.+-]*)", re.split("；|; ", text)[0]))
        for dist in listed:
            assert shown.get(dist) == importlib.metadata.version(dist), (
                f"{lang}/{page.rel}: {dist} {shown.get(dist)} on the page, "
                f"{importlib.metadata.version(dist)} installed"
            )
        # the box comes after the sources, at the end of the article
        assert built.index('id="sources"') < built.index('class="hb-verified"')


def test_libraries_follow_the_imports() -> None:
    iou = pages.parse(pages.DOCS / "en" / "detection" / "iou.md")
    assert verified.libraries(iou) == ["torch", "torchvision"]
    for rel in ("llm/lora.md", "ml/pca.md", "detection/map.md", "backbone/vit.md"):
        page = pages.parse(pages.DOCS / "zh" / rel)  # every page: the built-site test above
        assert set(verified.libraries(page)) == _expected_libraries(page), page.rel


def test_imports_anywhere_in_a_file_count_and_relative_ones_do_not(tmp_path: Path) -> None:
    f = tmp_path / "t.py"
    f.write_text(
        "import os\nfrom . import torch\n\ndef f():\n    import sklearn.metrics\n"
        "    from scipy.optimize import linear_sum_assignment\n"
    )
    assert verified.imported_libraries(f) == {"sklearn", "scipy"}


# ------------------------------------------------------------------ the box's wording

IOU = "detection/iou.md"


def _record(**changes: object) -> dict:
    page = pages.parse(pages.DOCS / "en" / IOU)
    record = {
        "finished_utc": "2026-11-30T21:05:00Z",
        "commit": "0123456789abcdef",
        "versions": verified.versions(verified.LIBRARIES.values()),
        "modules": {m: 3 for m in verified.topic_test_modules(page)},
    }
    record.update(changes)
    return record


def test_box_with_a_green_run_names_its_date_and_commit() -> None:
    zh = verified.box("zh", f"zh/{IOU}", _record())
    en = verified.box("en", f"en/{IOU}", _record())
    torch = importlib.metadata.version("torch")
    assert f"代码已对照 torch {torch} · torchvision" in zh
    assert "最近一次全部通过：2026-11-30（提交 0123456789）" in zh
    assert f"Code checked against torch {torch}" in en
    assert "last green run: 2026-11-30 (commit 0123456789)" in en
    assert "that run used" not in en


def test_box_without_a_record_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verified, "RECORD", tmp_path / "missing.json")
    zh = verified.box("zh", f"zh/{IOU}")
    assert "构建本站时安装的版本" in zh and "没有记录到测试全部通过的运行" in zh
    assert "最近一次全部通过" not in zh


def test_box_names_other_versions_of_the_green_run() -> None:
    en = verified.box("en", f"en/{IOU}", _record(versions={"torch": "2.13.0"}))
    assert "that run used torch 2.13.0" in en


def test_box_when_the_green_run_did_not_run_this_topic() -> None:
    en = verified.box("en", f"en/{IOU}", _record(modules={"tests/ml/test_pca.py": 5}))
    assert "the last green run (2026-11-30) did not run this page's tests" in en
    assert "last green run: " not in en


def test_no_box_outside_topic_pages() -> None:
    assert verified.box("en", "en/index.md") == ""
    assert verified.box("zh", "zh/detection/index.md") == ""


# ------------------------------------------------------------------ when a run is recorded

ALL = verified.expected_test_modules(ROOT)
FULL = {"HANDBOOK_RECORD_TIMES": "1"}


def test_expected_modules_are_the_topic_test_modules() -> None:
    assert "tests/detection/test_iou.py" in ALL and "tests/detection/test_nms_variants.py" in ALL
    assert not [m for m in ALL if m.startswith(("tests/site/", "tests/browser/"))]


@pytest.mark.parametrize(
    "exitstatus,environ,ran,ok,why",
    [
        (0, FULL, ALL, True, "green full run"),
        (1, FULL, ALL, False, "did not pass (exit status 1)"),
        (2, FULL, ALL, False, "did not pass"),  # interrupted
        (5, FULL, [], False, "did not pass"),  # no tests collected
        (0, {}, ALL, False, "not a full default run"),
        (0, {"HANDBOOK_RECORD_TIMES": "0"}, ALL, False, "not a full default run"),
        (0, {**FULL, "HANDBOOK_QUICK": "1"}, ALL, False, "a quick run"),
        (0, {**FULL, "HANDBOOK_QUICK": "0"}, ALL, True, "green full run"),
        (0, {**FULL, "HANDBOOK_PRACTICE_FILE": "practice/nms.py"}, ALL, False, "practice mode"),
        (0, FULL, ALL[1:], False, f"1 topic test module(s) did not run, e.g. {ALL[0]}"),
        (0, FULL, ["tests/detection/test_iou.py"], False, "did not run"),
    ],
)
def test_should_record(exitstatus: int, environ: dict, ran: list, ok: bool, why: str) -> None:
    got_ok, got_why = verified.should_record(exitstatus, environ, ran, ALL)
    assert got_ok is ok and why in got_why


def test_the_root_conftest_writes_the_record_only_for_a_green_full_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook itself, with a fake session: a green full run writes, anything else does not."""
    import tests.conftest as root_conftest

    record = tmp_path / "last-green.json"
    monkeypatch.setattr(verified, "RECORD", record)
    monkeypatch.setattr(root_conftest, "_ran", defaultdict(int, dict.fromkeys(ALL, 2)))
    monkeypatch.setattr(root_conftest, "_outcomes", defaultdict(int, passed=2 * len(ALL)))
    session = types.SimpleNamespace(config=types.SimpleNamespace())
    for key in ("HANDBOOK_QUICK", "HANDBOOK_PRACTICE_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HANDBOOK_RECORD_TIMES", "1")
    root_conftest.pytest_sessionfinish(session, 1)
    assert not record.exists()
    root_conftest.pytest_sessionfinish(session, 0)
    data = json.loads(record.read_text())
    assert (
        data["finished_utc"].endswith("Z") and data["modules"]["tests/detection/test_iou.py"] == 2
    )
    assert data["versions"]["torch"] == importlib.metadata.version("torch")
    assert data["outcomes"] == {"passed": 2 * len(ALL)}
    record.unlink()
    monkeypatch.setenv("HANDBOOK_QUICK", "1")
    root_conftest.pytest_sessionfinish(session, 0)
    assert not record.exists()
    worker = types.SimpleNamespace(config=types.SimpleNamespace(workerinput={}))
    monkeypatch.delenv("HANDBOOK_QUICK")
    root_conftest.pytest_sessionfinish(worker, 0)
    assert not record.exists()  # xdist workers never write: the controller has every report
