"""Practice mode: templates for every registered topic, and grading with the topic's own tests."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from tools import practice

ROOT = practice.ROOT


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
    # a seeded loop goes on after the first failure and shows the smallest failing case
    assert "这是输入最小的一个" in report, report


@pytest.mark.parametrize("name", sorted(practice.REGISTRY))
def test_template_hands_out_no_twin_of_the_answer(name: str) -> None:
    """The helpers block imports neither a naive/fast twin nor a withheld helper."""
    tree = ast.parse(practice.template(name))
    imported = {
        alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    leaked = imported & set(practice.equivalents(name))
    assert not leaked, f"the {name} template hands out {sorted(leaked)}, which compute the answer"
    assert not imported & set(practice.REGISTRY[name].functions)


@pytest.mark.parametrize(
    ("name", "twins"),
    [
        ("nms", {"nms_naive"}),
        ("batched_nms", {"batched_nms_per_class"}),
        ("box_iou", {"box_iou_naive", "_box_inter_union"}),
        ("conv2d", {"conv2d_naive", "im2col"}),
        ("conv2d_naive", {"conv2d"}),
        ("patchify", {"patchify_naive"}),
        ("dino_loss", {"dino_loss_naive"}),
        ("receptive_field", {"receptive_field_per_layer"}),
    ],
)
def test_known_twins_are_withheld(name: str, twins: set[str]) -> None:
    """The reliability review's list: each of these let `return twin(...)` pass every check."""
    assert twins <= set(practice.equivalents(name))


def test_every_strict_test_exists() -> None:
    """A renamed test would silently leave the strict registry (and grade it by default)."""
    for path, names in practice.STRICT_TESTS.items():
        defined = set(
            re.findall(r"^def (test_\w+)", (ROOT / path).read_text(encoding="utf-8"), re.M)
        )
        assert set(names) <= defined, f"{path} has no {sorted(set(names) - defined)}"


def test_template_states_the_contract_and_the_strict_checks() -> None:
    code = practice.template("nms")
    for phrase in ("interview contract", "TypeError", "ValueError", "names the", "--strict"):
        assert phrase in code
    assert "test_threshold_compared_in_float64_like_torchvision" in code
    assert "_check_nms_inputs" in code  # the checks that raise exactly those errors
    assert max(len(line) for line in code.splitlines()[:20]) <= 100


def test_a_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    attempt = tmp_path / "box_iou.py"
    attempt.write_text("import torch\n\n\ndef box_iou(boxes1, boxes2)\n    return boxes1\n")
    code, report = practice.grade("box_iou", "en", attempt)
    assert code == 1
    assert "line 4: syntax error" in report and "def box_iou(boxes1, boxes2)" in report, report
    assert "No test called" not in report


def test_an_error_at_import_is_reported_as_itself(tmp_path: Path) -> None:
    attempt = tmp_path / "box_iou.py"
    attempt.write_text(
        "import torch\n\nSCALE = 1 / 0\n\n\ndef box_iou(boxes1, boxes2):\n    return 0\n"
    )
    code, report = practice.grade("box_iou", "en", attempt)
    assert code == 1
    assert "line 3: SCALE = 1 / 0" in report and "ZeroDivisionError" in report, report


TEXTBOOK_NMS = """
import torch
from snippets.detection.nms import _check_nms_inputs


def nms(boxes, scores, iou_threshold):
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i, rest = order[0], order[1:]
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        keep.append(int(i))
        order = rest[iou <= iou_threshold]
    return torch.tensor(keep, dtype=torch.int64)
"""


def test_a_textbook_nms_passes_the_contract(tmp_path: Path) -> None:
    """Unstable sort, `<=` instead of `not >`: right in an interview, wrong only in --strict."""
    attempt = tmp_path / "nms.py"
    attempt.write_text(TEXTBOOK_NMS)
    code, report = practice.grade("nms", "en", attempt)
    assert code == 0, report
    assert "--strict runs them" in report


def test_strict_tests_are_found_by_registry_name_or_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--check` leaves these out: listed in STRICT_TESTS, or marked @pytest.mark.strict."""
    from tools import practice_plugin as plugin

    class Item:
        def __init__(self, name: str, marked: bool) -> None:
            self.name, self.originalname, self.marked = f"{name}[x]", name, marked

        def get_closest_marker(self, marker: str) -> object | None:
            return object() if self.marked and marker == "strict" else None

    monkeypatch.setattr(plugin, "STRICT_TESTS", {"test_listed"})
    assert plugin._is_strict(Item("test_listed", False))
    assert plugin._is_strict(Item("test_marked", True))
    assert not plugin._is_strict(Item("test_contract", False))


def test_watch_grades_again_on_every_save(tmp_path: Path) -> None:
    """`--watch` grades at once, then each save, in a fork that has torch imported already."""
    import subprocess
    import sys
    import time

    attempt = tmp_path / "nms.py"
    attempt.write_text(TEXTBOOK_NMS)
    cmd = [sys.executable, "-m", "tools.practice", "nms", "--watch", "--grades", "3"]
    proc = subprocess.Popen(
        [*cmd, "--file", str(attempt), "--lang", "en"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    reports: list[list[str]] = [[]]
    edits = [
        # the second save: keep only the best box, a wrong answer the tests must catch
        lambda: attempt.write_text(TEXTBOOK_NMS.replace("keep.append(int(i))", "keep = [int(i)]")),
        lambda: attempt.write_text(TEXTBOOK_NMS + "\ndef broken(:\n"),  # the third: syntax
    ]
    for line in proc.stdout:
        reports[-1].append(line)
        if line.startswith("— graded at"):
            if not edits:
                break
            time.sleep(0.05)  # a save in a later clock tick than the grade's
            edits.pop(0)()
            reports.append([])
    assert proc.wait(timeout=120) == 1
    first, second, third = ("".join(r) for r in reports[:3])
    assert "✓ All" in first, first
    assert "✗" in second and "shapes differ" in second, second
    assert "syntax error" in third and "def broken(:" in third, third
