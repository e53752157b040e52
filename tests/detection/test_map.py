"""Tests for snippets/detection/map.py: matching, P-R points, AP, COCO mAP.

References: pycocotools 2.0.11 ``COCOeval`` (the official COCO evaluator) on seeded random
multi-image scenes; transcriptions, written here, of ``voc_ap`` (py-faster-rcnn
``lib/datasets/voc_eval.py``) and of ``COCOeval.evaluateImg`` / ``accumulate``; scikit-learn's
``average_precision_score`` for the documented difference (no envelope).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from sklearn.metrics import average_precision_score

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.detection.map")

KEYS = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large")


# ---------------------------------------------------------------- pycocotools reference


def coco_eval(preds: list, target: list, max_dets: int = 100) -> dict[str, float]:
    """Run COCOeval on torchmetrics-style inputs, built in memory (xyxy -> COCO's xywh)."""
    labels = sorted(
        set(torch.cat([t["labels"] for t in target] + [p["labels"] for p in preds]).tolist())
    )
    gt = {"images": [], "annotations": [], "categories": [{"id": c + 1} for c in labels]}
    dts = []
    for img, (p, t) in enumerate(zip(preds, target, strict=True), start=1):
        gt["images"].append({"id": img})
        crowd = t.get("iscrowd", torch.zeros(len(t["labels"]), dtype=torch.int64))
        for box, label, c, area in zip(
            t["boxes"].tolist(),
            t["labels"].tolist(),
            crowd.tolist(),
            t["area"].tolist(),
            strict=True,
        ):
            x1, y1, x2, y2 = box
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,  # ids must start at 1 (0 means "unmatched")
                    "image_id": img,
                    "category_id": label + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": area,
                    "iscrowd": int(c),
                }
            )
        for box, label, s in zip(
            p["boxes"].tolist(), p["labels"].tolist(), p["scores"].tolist(), strict=True
        ):
            x1, y1, x2, y2 = box
            dts.append(
                {
                    "image_id": img,
                    "category_id": label + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": s,
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if dts:
            coco_dt = coco_gt.loadRes(dts)
        else:  # loadRes([]) fails: an empty result set by hand
            coco_dt = COCO()
            coco_dt.dataset = {
                "images": gt["images"],
                "annotations": [],
                "categories": gt["categories"],
            }
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.maxDets = [1, 10, 100] if max_dets == 100 else [1, max_dets, 100]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    if max_dets == 100:
        return dict(zip(KEYS, ev.stats[:6].tolist(), strict=True))
    # Transcription of COCOeval.summarize's _summarize for maxDets = max_dets (index 1).
    prec = ev.eval["precision"][:, :, :, :, 1]  # [T, R, K, A]

    def mean(s: np.ndarray) -> float:
        return float(np.mean(s[s > -1])) if (s > -1).any() else -1.0

    return {
        "map": mean(prec[:, :, :, 0]),
        "map_50": mean(prec[0, :, :, 0]),
        "map_75": mean(prec[5, :, :, 0]),
        "map_small": mean(prec[:, :, :, 1]),
        "map_medium": mean(prec[:, :, :, 2]),
        "map_large": mean(prec[:, :, :, 3]),
    }


def random_scene(rng: np.random.Generator, grid: int) -> tuple[list, list]:
    """1-3 images, classes 0-2, <= 4 GTs and <= 6 detections each, integer corners.

    Corners on a coarse grid (grid=16) make equal IoUs and IoUs exactly on a threshold common;
    scores rounded to 0.1 make tied scores common. Sizes span COCO's small/medium/large.
    """
    preds, target = [], []
    for _ in range(rng.integers(1, 4)):
        n_gt = int(rng.integers(0, 5))
        xy = rng.integers(0, 200 // grid, (n_gt, 2)) * grid
        wh = rng.integers(1, 140 // grid + 1, (n_gt, 2)) * grid
        gt_boxes = np.concatenate([xy, xy + wh], axis=1).astype(float)
        gt_labels = rng.integers(0, 3, n_gt)
        n_dt = int(rng.integers(0, 7))
        src = rng.integers(0, max(n_gt, 1), n_dt)
        jitter = rng.integers(-2, 3, (n_dt, 4)) * grid // 2
        dt_boxes = np.empty((n_dt, 4))
        dt_labels = rng.integers(0, 3, n_dt)
        for i in range(n_dt):
            if n_gt and rng.random() < 0.75:  # a jittered copy of a GT, usually its class
                dt_boxes[i] = gt_boxes[src[i]] + jitter[i]
                if rng.random() < 0.8:
                    dt_labels[i] = gt_labels[src[i]]
            else:  # a random false positive
                p = rng.integers(0, 200 // grid, 2) * grid
                dt_boxes[i] = np.concatenate([p, p + rng.integers(1, 140 // grid + 1, 2) * grid])
            dt_boxes[i, 2:] = np.maximum(dt_boxes[i, 2:], dt_boxes[i, :2] + 1)
        crowd = (rng.random(n_gt) < 0.15).astype(np.int64)
        gt_t = torch.tensor(gt_boxes, dtype=torch.float32).reshape(-1, 4)
        target.append(
            {
                "boxes": gt_t,
                "labels": torch.tensor(gt_labels, dtype=torch.int64),
                "iscrowd": torch.tensor(crowd),
                "area": (gt_t[:, 2] - gt_t[:, 0]) * (gt_t[:, 3] - gt_t[:, 1]),
            }
        )
        preds.append(
            {
                "boxes": torch.tensor(dt_boxes, dtype=torch.float32).reshape(-1, 4),
                "scores": torch.tensor(np.round(rng.random(n_dt), 1), dtype=torch.float32),
                "labels": torch.tensor(dt_labels, dtype=torch.int64),
            }
        )
    return preds, target


@pytest.mark.parametrize(("grid", "seed", "n"), [(16, 0, 60), (1, 1, 40)])
def test_mean_average_precision_matches_cocoeval(grid: int, seed: int, n: int) -> None:
    """100 random scenes (60 on a coarse grid with ties, 40 on the integer grid)."""
    rng = np.random.default_rng(seed)
    for _ in range(cases(n)):
        preds, target = random_scene(rng, grid)
        expected = coco_eval(preds, target)
        actual = impl.mean_average_precision(preds, target)
        assert_close(
            [actual[k] for k in KEYS],
            [expected[k] for k in KEYS],
            atol=1e-10,
            rtol=0,
            inputs={"preds": preds, "target": target},
        )


def test_max_dets_is_per_image_and_class_like_cocoeval() -> None:
    rng = np.random.default_rng(2)
    for _ in range(cases(20)):
        preds, target = random_scene(rng, 16)
        expected = coco_eval(preds, target, max_dets=2)
        actual = impl.mean_average_precision(preds, target, max_dets=2)
        assert_close([actual[k] for k in KEYS], [expected[k] for k in KEYS], atol=1e-10, rtol=0)


def test_torchmetrics_docstring_example() -> None:
    """torchmetrics' MeanAveragePrecision docstring (pycocotools backend) prints these values."""
    preds = [
        {
            "boxes": torch.tensor([[258.0, 41.0, 606.0, 285.0]]),
            "scores": torch.tensor([0.536]),
            "labels": torch.tensor([0]),
        }
    ]
    target = [{"boxes": torch.tensor([[214.0, 41.0, 562.0, 285.0]]), "labels": torch.tensor([0])}]
    r = impl.mean_average_precision(preds, target)
    assert_close([r[k] for k in KEYS], [0.6, 1.0, 1.0, -1.0, -1.0, 0.6], atol=1e-12, rtol=0)


def test_no_ground_truth_gives_minus_one() -> None:
    preds = [
        {
            "boxes": torch.tensor([[0.0, 0, 5, 5]]),
            "scores": torch.tensor([0.5]),
            "labels": torch.tensor([1]),
        }
    ]
    target = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    r = impl.mean_average_precision(preds, target)
    assert all(r[k] == -1.0 for k in KEYS), r


# ---------------------------------------------------------------- matching


def match_reference(
    ious: np.ndarray, scores: np.ndarray, t: float, ignore: np.ndarray, crowd: np.ndarray
) -> list:
    """Transcription of COCOeval.evaluateImg's matching loop (cocoeval.py), original indices."""
    gtind = np.argsort(ignore.astype(int), kind="mergesort")  # regular GTs first
    dtind = np.argsort(-scores, kind="mergesort")
    gtm = np.zeros(len(gtind))
    out = [-1] * len(scores)
    for d in dtind:
        iou, m = min(t, 1 - 1e-10), -1
        for gi, g in enumerate(gtind):
            if gtm[gi] > 0 and not crowd[g]:
                continue
            if m > -1 and not ignore[gtind[m]] and ignore[g]:
                break
            if ious[d, g] < iou:
                continue
            iou, m = ious[d, g], gi
        if m == -1:
            continue
        gtm[m] = 1
        out[d] = int(gtind[m])
    return out


def test_match_detections_matches_cocoeval_loop() -> None:
    rng = np.random.default_rng(3)
    for _ in range(cases(700)):
        d, g = int(rng.integers(0, 7)), int(rng.integers(0, 5))
        ious = np.round(rng.random((d, g)), 1) * (rng.random((d, g)) < 0.7)  # ties and zeros
        scores = np.round(rng.random(d), 1)
        ignore, crowd = rng.random(g) < 0.3, rng.random(g) < 0.2
        t = float(rng.choice([0.5, 0.6, 0.75, 0.0]))
        actual = impl.match_detections(
            torch.tensor(ious).reshape(d, g),
            torch.tensor(scores),
            t,
            torch.tensor(ignore),
            torch.tensor(crowd),
        )
        expected = match_reference(ious.reshape(d, g), scores, t, ignore | crowd, crowd)
        assert_equal(
            actual,
            torch.tensor(expected, dtype=torch.int64),
            inputs={"ious": ious, "scores": scores},
        )


def test_diagnose_detections_sorted_by_score_before_matching() -> None:
    # Det 0 has the better IoU but the lower score: det 1 is matched first and takes the GT.
    m = impl.match_detections(torch.tensor([[0.9], [0.6]]), torch.tensor([0.5, 0.9]), 0.5)
    assert int(m[1]) == 0, (
        "detections must be matched in DECREASING SCORE order (sort by score first), not in "
        f"input order: the higher-scored detection 1 takes the GT; got matches {m.tolist()}"
    )


def test_diagnose_one_ground_truth_matches_one_detection() -> None:
    m = impl.match_detections(torch.tensor([[0.8], [0.7]]), torch.tensor([0.9, 0.8]), 0.5)
    assert m.tolist() == [0, -1], (
        "a ground truth already matched cannot be matched again: the second detection on the "
        f"same object is a false positive (duplicate). Expected [0, -1], got {m.tolist()}"
    )


def test_diagnose_iou_equal_to_threshold_matches() -> None:
    # [0,0,2,2] vs [0,0,2,1]: intersection 2, union 4, IoU exactly 0.5 in binary.
    ious = impl.coco_box_iou(torch.tensor([[0.0, 0, 2, 2]]), torch.tensor([[0.0, 0, 2, 1]]))
    m = impl.match_detections(ious, torch.tensor([0.9]), 0.5)
    assert m.tolist() == [0], (
        "COCO matches when IoU >= threshold (cocoeval.py skips only `ious < iou`): IoU exactly 0.5 "
        f"at threshold 0.5 is a true positive. Got {m.tolist()}"
    )


def test_tied_ious_go_to_the_later_ground_truth() -> None:
    # Det 0 overlaps GT 0 and GT 1 equally; COCO takes the later one, which leaves GT 0 to det 1.
    ious = torch.tensor([[0.6, 0.6], [0.7, 0.0]])
    assert impl.match_detections(ious, torch.tensor([0.9, 0.8]), 0.5).tolist() == [1, 0]


def test_crowd_region_absorbs_many_detections_and_regular_gt_wins() -> None:
    # GT 0 is a crowd region, GT 1 a regular object. Det 0 prefers regular GT 1 even though the
    # crowd IoU is higher; dets 1 and 2 both land in the crowd (matched repeatedly, ignored).
    ious = torch.tensor([[0.9, 0.6], [0.8, 0.1], [0.7, 0.0]])
    crowd = torch.tensor([True, False])
    m = impl.match_detections(ious, torch.tensor([0.9, 0.8, 0.7]), 0.5, gt_crowd=crowd)
    assert m.tolist() == [1, 0, 0]


def test_coco_box_iou_crowd_uses_detection_area() -> None:
    d = torch.tensor([[0.0, 0, 2, 2], [1.0, 1, 5, 5]])
    g = torch.tensor([[0.0, 0, 4, 4]])
    # inter 4 and 9; regular: 4 / 16, 9 / (16 + 16 - 9); crowd: 4 / 4, 9 / 16.
    assert_close(
        impl.coco_box_iou(d, g), torch.tensor([[0.25], [9 / 23]], dtype=torch.float64), atol=1e-15
    )
    crowd = impl.coco_box_iou(d, g, torch.tensor([True]))
    assert_close(crowd, torch.tensor([[1.0], [9 / 16]], dtype=torch.float64), atol=1e-15)


# ---------------------------------------------------------------- precision / recall / AP


def test_precision_recall_against_brute_force() -> None:
    rng = np.random.default_rng(4)
    for _ in range(cases(300)):
        d = int(rng.integers(1, 12))
        scores, tp = np.round(rng.random(d), 1), rng.random(d) < 0.5
        num_gt = int(tp.sum() + rng.integers(0, 4)) or 1
        order = sorted(range(d), key=lambda i: -scores[i])  # Python's sort is stable
        rec = [sum(tp[order[: k + 1]]) / num_gt for k in range(d)]
        prec = [sum(tp[order[: k + 1]]) / (k + 1) for k in range(d)]
        r, p = impl.precision_recall(torch.tensor(scores), torch.tensor(tp), num_gt)
        assert_close(r, np.array(rec), atol=1e-15, rtol=0)
        assert_close(p, np.array(prec), atol=1e-15, rtol=0)


def test_diagnose_recall_divides_by_number_of_ground_truths() -> None:
    r, _ = impl.precision_recall(
        torch.tensor([0.9, 0.8, 0.7]), torch.tensor([True, True, False]), num_gt=4
    )
    assert abs(float(r[-1]) - 0.5) < 1e-12, (
        "recall = TP / number of GROUND-TRUTH objects (4 here, including the missed ones), not "
        f"TP / number of detections: expected 2/4 = 0.5, got {float(r[-1])}"
    )


def voc_ap(rec: np.ndarray, prec: np.ndarray, use_07_metric: bool) -> float:
    """Transcription of voc_ap from py-faster-rcnn lib/datasets/voc_eval.py.

    One change: the 11 levels are i / 10; voc_eval.py's np.arange(0., 1.1, 0.1) makes the 4th
    level 0.30000000000000004, so a recall of exactly 0.3 would not reach it.
    """
    if use_07_metric:
        ap = 0.0
        for t in [i / 10 for i in range(11)]:
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap += p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def coco_ap(rc: np.ndarray, pr: np.ndarray) -> float:
    """Transcription of COCOeval.accumulate's interpolation for one (T, K, A, M) cell."""
    pr = pr.tolist()
    for i in range(len(pr) - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    inds = np.searchsorted(rc, np.linspace(0.0, 1.0, 101), side="left")
    q = [pr[pi] if pi < len(pr) else 0.0 for pi in inds]
    return float(np.mean(q))


def random_curve(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    d = int(rng.integers(1, 15))
    tp = rng.random(d) < rng.random()
    num_gt = int(tp.sum() + rng.integers(0, 4)) or 1
    tp_cum = np.cumsum(tp)
    return tp_cum / num_gt, tp_cum / np.arange(1, d + 1)


@pytest.mark.parametrize(
    ("method", "ref"), [("all", "voc"), ("11point", "voc07"), ("101point", "coco")]
)
def test_average_precision_against_transcriptions(method: str, ref: str) -> None:
    rng = np.random.default_rng({"voc": 5, "voc07": 6, "coco": 7}[ref])
    for _ in range(cases(400)):
        rec, prec = random_curve(rng)
        expected = coco_ap(rec, prec) if ref == "coco" else voc_ap(rec, prec, ref == "voc07")
        actual = impl.average_precision(torch.tensor(rec), torch.tensor(prec), method)
        assert abs(actual - expected) < 1e-12, (method, rec, prec, actual, expected)


def test_diagnose_precision_envelope() -> None:
    # TP, FP, TP, TP with 3 GTs: precision 1, 1/2, 2/3, 3/4. Envelope: 1, 3/4, 3/4, 3/4.
    rec = torch.tensor([1 / 3, 1 / 3, 2 / 3, 1.0], dtype=torch.float64)
    prec = torch.tensor([1.0, 0.5, 2 / 3, 0.75], dtype=torch.float64)
    ap = impl.average_precision(rec, prec, "all")
    assert abs(ap - (1 + 0.75 + 0.75) / 3) < 1e-12, (
        "use the interpolated precision p_interp(r) = max precision at recall >= r (the monotone "
        f"envelope): expected (1 + 3/4 + 3/4) / 3 = 0.8333, got {ap:.4f} "
        "(0.8056 = the raw step sum without the envelope)"
    )


def test_sklearn_step_sum_has_no_envelope() -> None:
    """sklearn's AP = sum (R_n - R_{n-1}) P_n on the raw precision: it differs where P rises."""
    y, s = np.array([1, 0, 1, 1]), np.array([0.9, 0.8, 0.7, 0.6])  # TP, FP, TP, TP
    assert abs(average_precision_score(y, s) - (1 + 2 / 3 + 3 / 4) / 3) < 1e-12
    r, p = impl.precision_recall(torch.tensor(s), torch.tensor(y.astype(bool)), 3)
    assert abs(impl.average_precision(r, p, "all") - 2.5 / 3) < 1e-12
    # Random rankings where every GT is detected: VOC all-point >= sklearn, equal iff the raw
    # precision at the TPs never rises.
    rng = np.random.default_rng(8)
    for _ in range(cases(60)):
        d = int(rng.integers(2, 12))
        y = rng.random(d) < 0.5
        y[rng.integers(0, d)] = True
        s = rng.permutation(d)[::-1] / d + 0.01  # distinct scores
        r, p = impl.precision_recall(torch.tensor(s), torch.tensor(y), int(y.sum()))
        ours, theirs = impl.average_precision(r, p, "all"), average_precision_score(y, s)
        at_tp = p[torch.tensor(y[np.argsort(-s, kind="stable")])]
        rises = bool((at_tp[1:] > at_tp[:-1] + 1e-15).any())
        assert ours >= theirs - 1e-12 and (abs(ours - theirs) < 1e-12) == (not rises)


def test_average_precision_edge_cases() -> None:
    empty = torch.zeros(0, dtype=torch.float64)
    assert impl.average_precision(empty, empty) == 0.0
    one = torch.tensor([1.0], dtype=torch.float64)
    for method in ("all", "11point", "101point"):
        assert impl.average_precision(one, one, method) == 1.0  # one GT, found first
    half = torch.tensor([0.5], dtype=torch.float64)
    assert impl.average_precision(half, one, "all") == 0.5
    assert abs(impl.average_precision(half, one, "11point") - 6 / 11) < 1e-15  # 0, .1, ..., .5
    assert abs(impl.average_precision(half, one, "101point") - 51 / 101) < 1e-15


# ---------------------------------------------------------------- errors


def test_input_errors() -> None:
    r = torch.tensor([0.5, 1.0])
    with raises_naming(TypeError, "recall", "[0]"):
        impl.average_precision([0.5], r)
    with raises_naming(ValueError, "precision", "[2]"):
        impl.average_precision(r, torch.tensor([1.0]))
    with raises_naming(ValueError, "recall", "non-decreasing"):
        impl.average_precision(torch.tensor([1.0, 0.5]), r)
    with raises_naming(ValueError, "method", "11point"):
        impl.average_precision(r, r, "voc")
    with raises_naming(TypeError, "ious", "[D, G]"):
        impl.match_detections([[0.5]], torch.tensor([0.9]))
    with raises_naming(ValueError, "scores", "[1]"):
        impl.match_detections(torch.zeros(1, 2), torch.zeros(2))
    with raises_naming(ValueError, "num_gt", "positive"):
        impl.precision_recall(torch.tensor([0.9]), torch.tensor([True]), 0)
    with raises_naming(ValueError, "tp", "[1]"):
        impl.precision_recall(torch.tensor([0.9]), torch.tensor([True, False]), 1)
    with raises_naming(TypeError, "pred_boxes", "[N, 4]"):
        impl.coco_box_iou([[0, 0, 1, 1]], torch.zeros(0, 4))
    good_p = [{"boxes": torch.zeros(1, 4), "scores": torch.zeros(1), "labels": torch.zeros(1)}]
    good_t = [{"boxes": torch.zeros(1, 4), "labels": torch.zeros(1)}]
    with raises_naming(TypeError, "preds", "list"):
        impl.mean_average_precision(good_p[0], good_t)
    with raises_naming(ValueError, "preds[0]", "scores"):
        impl.mean_average_precision([{"boxes": torch.zeros(1, 4)}], good_t)
    with raises_naming(TypeError, "target[0]['boxes']", "[N, 4]"):
        impl.mean_average_precision(good_p, [{"boxes": torch.zeros(4), "labels": torch.zeros(1)}])
    with raises_naming(ValueError, "target[0]['labels']", "[1]"):
        impl.mean_average_precision(
            good_p, [{"boxes": torch.zeros(1, 4), "labels": torch.zeros(2)}]
        )
    with raises_naming(ValueError, "preds", "target", "one dict per image"):
        impl.mean_average_precision(good_p, good_t * 2)


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.detection.map import draw_pr_curve

    fig = draw_pr_curve(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 1
