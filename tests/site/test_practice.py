"""Practice mode: templates for every registered topic, and grading with the topic's own tests."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

from tools import practice


@pytest.mark.parametrize("name", sorted(practice.REGISTRY))
def test_registered_topic_exists(name: str) -> None:
    topic = practice.REGISTRY[name]
    module = importlib.import_module(topic.module)
    for func in topic.functions:
        assert callable(getattr(module, func, None)), (
            f"{topic.module} has no {func}(): fix tools/practice.py REGISTRY"
        )
    assert topic.tests.is_file(), f"{topic.tests} missing"
    assert f'under_test("{topic.module}")' in topic.tests.read_text(encoding="utf-8"), (
        f"{topic.tests} must reach {topic.module} through under_test() so practice can grade it"
    )


@pytest.mark.parametrize("name", sorted(practice.REGISTRY))
def test_template_has_empty_bodies(name: str, tmp_path: Path) -> None:
    code = practice.template(name)
    tree = ast.parse(code)
    defs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert defs == set(practice.REGISTRY[name].functions)
    path = tmp_path / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"attempt_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the template imports cleanly
    func = getattr(module, practice.REGISTRY[name].functions[0])
    assert func.__doc__, "the docstring (shapes, examples) is kept for the reader"
    with pytest.raises(NotImplementedError):
        # signature() sees through decorators such as @torch.no_grad()
        params = [q for q in inspect.signature(func).parameters.values() if q.default is q.empty]
        positional = [q for q in params if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)]
        keywords = {q.name: None for q in params if q.kind is q.KEYWORD_ONLY}
        func(*([None] * len(positional)), **keywords)


def test_write_never_overwrites_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(practice, "PRACTICE_DIR", tmp_path)
    practice.write("iou_pair", force=False, lang="en")
    attempt = tmp_path / "iou_pair.py"
    attempt.write_text("# my work\n")
    practice.write("iou_pair", force=False, lang="en")
    assert attempt.read_text() == "# my work\n"
    practice.write("iou_pair", force=True, lang="en")
    assert "NotImplementedError" in attempt.read_text()


GOOD = "from snippets.detection.iou import box_iou  # noqa: F401\n"
PLUS_ONE = """
import torch


def box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0] + 1) * (boxes1[:, 3] - boxes1[:, 1] + 1)
    area2 = (boxes2[:, 2] - boxes2[:, 0] + 1) * (boxes2[:, 3] - boxes2[:, 1] + 1)
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt + 1).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2 - inter)
"""


def test_grading_passes_a_correct_attempt(tmp_path: Path) -> None:
    attempt = tmp_path / "box_iou.py"
    attempt.write_text(GOOD)
    code, report = practice.grade("box_iou", "en", attempt)
    assert code == 0, report
    assert "All" in report and "checks passed" in report


def test_grading_explains_a_wrong_attempt(tmp_path: Path) -> None:
    attempt = tmp_path / "box_iou.py"
    attempt.write_text(PLUS_ONE)  # the +1 pixel convention: wrong for continuous coordinates
    code, report = practice.grade("box_iou", "zh", attempt)
    assert code == 1
    for phrase in ("项检查未通过", "第一个不同的元素", "期望", "实际", "boxes1 ="):
        assert phrase in report, report
