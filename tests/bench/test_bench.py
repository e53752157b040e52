"""The benchmark code keeps working: a tiny run's results have the right shape, and the page renders.

No timing is asserted (timings belong to bench/, and this machine is shared); only that every
measured ratio is a positive finite number and that the outputs agree with the libraries.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

from bench import cases, report
from bench import run as bench_run
from tools import bench_page

ROW_KEYS = {
    "op",
    "impl",
    "function",
    "size",
    "label",
    "status",
    "median_s",
    "spread",
    "ratio_to_library",
    "ratio_of_min",
    "loops",
    "repeats",
    "matches_library",
    "library_kernel",
    "note",
}
OPTIONAL_ROW_KEYS = {"peak_bytes"}  # added with the attention op; older results lack it
STATUSES = {"ok", "skipped", "unavailable", "error"}
META_KEYS = {
    "date",
    "cpu_model",
    "cpu_count",
    "python",
    "numpy",
    "torch",
    "torchvision",
    "timm",
    "threads",
    "env",
    "profile",
    "settings",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    assert bench_run.main(["--profile", "tiny", "--out", str(out)]) == 0
    return out, json.loads(out.read_text(encoding="utf-8"))


def check_schema(data: dict) -> None:
    assert data["schema"] == bench_run.SCHEMA
    assert set(data["metadata"]) >= META_KEYS, META_KEYS - set(data["metadata"])
    assert "OPENBLAS_CORETYPE" in data["metadata"]["env"]
    assert data["rows"], "no rows"
    for row in data["rows"]:
        assert ROW_KEYS <= set(row) <= ROW_KEYS | OPTIONAL_ROW_KEYS, set(row) ^ ROW_KEYS
        assert row["status"] in STATUSES, row
        if row["status"] == "ok":
            for key in ("median_s", "ratio_to_library", "ratio_of_min"):
                assert isinstance(row[key], float) and math.isfinite(row[key]) and row[key] > 0, row
            spread = row["spread"]
            assert (
                spread["min_s"]
                <= spread["q1_s"]
                <= row["median_s"]
                <= spread["q3_s"]
                <= spread["max_s"]
            ), row
            assert row["loops"] >= 1 and row["repeats"] >= 3, row
        else:
            assert row["median_s"] is None and row["note"], row
    for target in data["targets"]:
        assert {"op", "impl", "max_ratio", "measured_ratio", "met", "anchor"} <= set(target)


def test_tiny_run_writes_valid_json_and_markdown(tiny: tuple[Path, dict]) -> None:
    out, data = tiny
    check_schema(data)
    libraries = [r for r in data["rows"] if r["impl"] == "library"]
    assert libraries and all(r["ratio_to_library"] == 1.0 for r in libraries)
    assert {r["op"] for r in data["rows"]} == {op.name for op in cases.OPS}
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| Case | Implementation |" in md and "torchvision.ops.nms" in md


def test_every_available_implementation_agrees_with_its_library(tiny: tuple[Path, dict]) -> None:
    _, data = tiny
    ok = [r for r in data["rows"] if r["status"] == "ok"]
    assert ok and all(r["matches_library"] for r in ok), [r for r in ok if not r["matches_library"]]


def test_quick_run_refuses_to_overwrite_committed_results() -> None:
    with pytest.raises(SystemExit):
        bench_run.main(["--quick", "--out", str(bench_run.COMMITTED)])


def test_slow_implementation_is_skipped_past_its_budget() -> None:
    op = next(o for o in cases.OPS if o.name == "box_iou")
    slow = cases.Op(**{**op.__dict__, "sizes": {"tiny": (10, 1000)}})
    rows = bench_run.bench_op(slow, "tiny", log=lambda _: None)
    naive_1000 = next(r for r in rows if r["impl"] == "naive" and r["size"] == 1000)
    assert naive_1000["status"] == "skipped" and "budget" in naive_1000["note"]


def test_missing_function_is_reported_not_fatal() -> None:
    op = next(o for o in cases.OPS if o.name == "nms")
    ghost = cases.Op(
        **{
            **op.__dict__,
            "impls": (("naive", "no_such_nms"), ("fast", "nms")),
            "sizes": {"tiny": (30,)},
        }
    )
    rows = bench_run.bench_op(ghost, "tiny", log=lambda _: None)
    naive = next(r for r in rows if r["impl"] == "naive")
    assert naive["status"] == "unavailable" and "not available" in naive["note"]
    assert next(r for r in rows if r["impl"] == "fast")["status"] == "ok"


# ----------------------------------------------------------------------------- committed results


def test_committed_results_are_complete() -> None:
    data = json.loads(bench_run.COMMITTED.read_text(encoding="utf-8"))
    check_schema(data)
    assert data["metadata"]["profile"] == "full"
    assert not [r for r in data["rows"] if r["status"] in ("unavailable", "error")]
    assert all(t["met"] is not None for t in data["targets"])
    site = data["site_scale"]
    assert [r["factor"] for r in site["runs"]] == [1, 4, 10]
    for run in site["runs"]:
        for lang in ("zh", "en"):
            assert run["index_bytes"][lang] > 0 and run["pages"][lang] > 0


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_renders_tables_plot_and_metadata(lang: str) -> None:
    md = bench_page.render(lang)
    data = json.loads(bench_run.COMMITTED.read_text(encoding="utf-8"))
    assert report.t("col.ratio", lang) in md and "| --- |" in md  # the tables
    for anchor in ("targets", "plot", "data-nms", "data-box-iou", "data-conv2d", "data-pos-embed"):
        assert f"{{ #{anchor} }}" in md
    for target in data["targets"]:
        assert f"](#{target['anchor']})" in md  # each target links to its explanation
    start = md.index('src="data:image/svg+xml;base64,') + len('src="data:image/svg+xml;base64,')
    svg = base64.b64decode(md[start : md.index('"', start)]).decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert report.t(f"impl.{'naive'}", lang) in svg  # legend in the page's language
    meta = data["metadata"]
    for value in (
        meta["cpu_model"],
        meta["torch"],
        meta["torchvision"],
        meta["timm"],
        meta["numpy"],
    ):
        assert str(value) in md
    assert "OPENBLAS_CORETYPE" in md  # "=value" when set, "unset" otherwise


def test_page_says_so_when_results_are_missing(tmp_path: Path) -> None:
    assert "bench" in bench_page.render("en", tmp_path / "none.json")
    with pytest.raises(ValueError, match="lang"):
        bench_page.render("fr")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_has_the_generated_marker_and_op_anchors(lang: str) -> None:
    text = (bench_page.ROOT / "docs" / lang / "benchmarks.md").read_text(encoding="utf-8")
    assert "<!-- generated: bench -->" in text
    for anchor in ("method", "results", "nms", "box-iou", "conv2d", "pos-embed", "site-scale"):
        assert f"{{ #{anchor} }}" in text


# ----------------------------------------------------------------------------- site scale


def test_site_scale_copies_topic_pages_into_docs_and_nav(tmp_path: Path) -> None:
    from bench import site_scale

    for lang, title in (("zh", "# 非极大值抑制\n\n正文"), ("en", "# NMS\n\nText")):
        (tmp_path / "docs" / lang / "detection").mkdir(parents=True)
        (tmp_path / "docs" / lang / "detection" / "index.md").write_text("# Index\n")
        (tmp_path / "docs" / lang / "detection" / "nms.md").write_text(title + "\n")
    (tmp_path / "mkdocs.yml").write_text(
        "nav:\n  - 目标检测:\n      - detection/index.md\n      - detection/nms.md\n"
    )
    (tmp_path / "tracks.yml").write_text(
        "topics:\n  detection/nms: [detection/iou]\nfrequency:\n  detection/nms:\n    heat: 3\n"
    )
    counts = site_scale.add_copies(tmp_path, 3)
    assert counts == {"zh": 3, "en": 3}
    copy = (tmp_path / "docs" / "en" / "detection" / "nms_scale3.md").read_text()
    assert copy.startswith("# NMS (copy 3)\n")
    assert "（副本 2）" in (tmp_path / "docs" / "zh" / "detection" / "nms_scale2.md").read_text()
    nav = (tmp_path / "mkdocs.yml").read_text()
    assert "      - detection/nms_scale2.md\n      - detection/nms_scale3.md" in nav
    assert "index_scale" not in nav
    # Each copy has the prerequisites of its original in tracks.yml (and no frequency of its own).
    tracks = (tmp_path / "tracks.yml").read_text()
    assert (
        "  detection/nms_scale2: [detection/iou]\n  detection/nms_scale3: [detection/iou]\n"
        in tracks
    )
    assert tracks.count("_scale") == 2


def test_site_scale_fit_separates_fixed_and_per_page_cost() -> None:
    from bench import site_scale

    runs = [{"pages": {"zh": p, "en": p}, "build_cpu_s": 10 + 0.2 * 2 * p} for p in (10, 40, 100)]
    fit = site_scale.fit(runs)
    assert math.isclose(fit["fixed_s"], 10) and math.isclose(fit["per_page_s"], 0.2)
    assert fit["linear"] is True
    runs[-1]["build_cpu_s"] = 10 + 0.2 * 2 * 100 * 3  # the last step got much dearer per page
    assert site_scale.fit(runs)["linear"] is False
