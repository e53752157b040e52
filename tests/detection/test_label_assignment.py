"""Tests for snippets/detection/label_assignment.py.

References: torchvision 0.29.1 ``torchvision.models.detection._utils`` (``BoxCoder``,
``Matcher``), ``scipy.optimize.linear_sum_assignment`` and a brute force over permutations, and
DETR's matching cost (facebookresearch/detr, ``models/matcher.py``) transcribed in float64 here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.optimize
import torch
from torchvision.models.detection import _utils as tv_utils
from torchvision.ops import box_iou as tv_box_iou

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.detection.label_assignment")

WEIGHTS = [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 7.0)]


def random_boxes(
    gen: torch.Generator, n: int, dtype=torch.float64, integer=False, min_size=0.5
) -> torch.Tensor:
    """``[n, 4]`` xyxy boxes with positive width and height."""
    if integer:  # small integer grid: many equal IoUs (ties)
        xy = torch.randint(0, 6, (n, 2), generator=gen)
        wh = torch.randint(1, 5, (n, 2), generator=gen)
        return torch.cat([xy, xy + wh], 1).to(dtype)
    xy = torch.rand(n, 2, generator=gen, dtype=dtype) * 100
    wh = torch.rand(n, 2, generator=gen, dtype=dtype) * 50 + min_size
    return torch.cat([xy, xy + wh], 1)


# ---------------------------------------------------------------- box encoding


def test_encode_matches_torchvision_boxcoder() -> None:
    """2,000 seeded box pairs in 200 calls (3 weight settings), float64 at 1e-10 and float32."""
    gen = torch.Generator().manual_seed(0)
    for k in range(cases(200)):
        weights = WEIGHTS[k % 3]
        dtype = torch.float64 if k % 4 else torch.float32
        n = 10
        gt, anchors = random_boxes(gen, n, dtype), random_boxes(gen, n, dtype)
        expected = tv_utils.BoxCoder(weights).encode_single(gt, anchors)
        actual = impl.BoxCoder(weights).encode_single(gt, anchors)
        tol = 1e-10 if dtype == torch.float64 else 1e-5
        assert_close(actual, expected, atol=tol, rtol=tol, inputs={"gt": gt, "anchors": anchors})
        assert_close(impl.encode_boxes(gt, anchors, weights), expected, atol=tol, rtol=tol)


def test_decode_matches_torchvision_including_the_clamp() -> None:
    """2,000 seeded rows in 200 calls; codes up to |t| ~ 60 so dw/dh hit the clamp."""
    gen = torch.Generator().manual_seed(1)
    for k in range(cases(200)):
        weights = WEIGHTS[k % 3]
        clip = math.log(1000.0 / 16) if k % 5 else 2.0
        dtype = torch.float64 if k % 4 else torch.float32
        n = 10
        anchors = random_boxes(gen, n, dtype)
        scale = [0.5, 3.0, 20.0][k % 3]
        codes = torch.randn(n, 4, generator=gen, dtype=dtype) * scale
        expected = tv_utils.BoxCoder(weights, clip).decode_single(codes, anchors)
        actual = impl.BoxCoder(weights, clip).decode_single(codes, anchors)
        tol = 1e-10 if dtype == torch.float64 else 1e-4
        assert_close(impl.decode_boxes(codes, anchors, weights, clip), expected, atol=tol, rtol=tol)
        assert_close(
            actual, expected, atol=tol, rtol=tol, inputs={"codes": codes, "anchors": anchors}
        )


def test_round_trip_decode_of_encode_is_identity() -> None:
    """decode(encode(gt, a), a) = gt on 2,000 seeded float64 box pairs (200 calls).

    Sizes in [5, 55]: every size ratio is below the clamp's 62.5, so nothing is clipped.
    """
    gen = torch.Generator().manual_seed(2)
    for k in range(cases(200)):
        weights = WEIGHTS[k % 3]
        gt, anchors = random_boxes(gen, 10, min_size=5.0), random_boxes(gen, 10, min_size=5.0)
        codes = impl.encode_boxes(gt, anchors, weights)
        back = impl.decode_boxes(codes, anchors, weights)
        assert_close(back, gt, atol=1e-10, rtol=1e-10, inputs={"gt": gt, "anchors": anchors})


def test_encode_uses_log_of_the_size_ratio() -> None:
    # gt 8 x 2 centred at (6, 2) on an anchor 4 x 4 centred at (4, 2): tx = 2/4, tw = log(8/4) = 0.693, th = log(2/4) = -0.693.
    codes = impl.encode_boxes(
        torch.tensor([[2.0, 1.0, 10.0, 3.0]]), torch.tensor([[2.0, 0.0, 6.0, 4.0]])
    )
    assert abs(float(codes[0, 2]) - math.log(2)) < 1e-6, (
        "tw must be log(w_gt / w_anchor) (here log 2 = 0.693), not the ratio w_gt / w_anchor: "
        "the log makes x2 and /2 symmetric and lets exp() in decode give any positive size"
    )
    assert abs(float(codes[0, 3]) + math.log(2)) < 1e-6, "th must be log(h_gt / h_anchor)"
    assert abs(float(codes[0, 0]) - 0.5) < 1e-6, "tx must be (cx_gt - cx_anchor) / w_anchor"


def test_encode_and_decode_apply_the_weights() -> None:
    # Same case with weights (10, 10, 5, 5): targets are (10 * 0.5, 10 * 0, 5 log 2, -5 log 2).
    gt, anchor = torch.tensor([[2.0, 1.0, 10.0, 3.0]]), torch.tensor([[2.0, 0.0, 6.0, 4.0]])
    codes = impl.encode_boxes(gt, anchor, (10.0, 10.0, 5.0, 5.0))
    expected = torch.tensor([[5.0, 0.0, 5 * math.log(2), -5 * math.log(2)]])
    assert torch.allclose(codes, expected, atol=1e-5), (
        "encode must multiply (tx, ty, tw, th) by the weights (wx, wy, ww, wh) = (10, 10, 5, 5)"
    )
    back = impl.decode_boxes(expected, anchor, (10.0, 10.0, 5.0, 5.0))
    assert torch.allclose(back, gt, atol=1e-5), "decode must divide the codes by the weights"


def test_decode_clamps_dw_dh_before_exp() -> None:
    # tw = th = 100: exp(100) = inf in float32. Clamped at log(1000/16) the box is 62.5x the anchor.
    out = impl.decode_boxes(
        torch.tensor([[0.0, 0.0, 100.0, 100.0]]), torch.tensor([[0.0, 0, 2, 2]])
    )
    assert bool(torch.isfinite(out).all()), (
        "decode must clamp dw and dh at bbox_xform_clip = log(1000/16) before exp(): "
        "exp(100) overflows to inf"
    )
    assert abs(float(out[0, 2] - out[0, 0]) - 125.0) < 1e-3, "width must be 62.5 * 2 = 125"
    # Only the upper side is clamped (as torchvision): tw = -100 shrinks the box to ~0.
    tiny = impl.decode_boxes(torch.tensor([[0.0, 0, -100.0, 0]]), torch.tensor([[0.0, 0, 2, 2]]))
    assert float(tiny[0, 2] - tiny[0, 0]) < 1e-30


# ---------------------------------------------------------------- IoU matching

CONFIGS = [(0.7, 0.3, True), (0.5, 0.4, True), (0.5, 0.4, False), (0.5, 0.5, False)]


def test_match_anchors_matches_torchvision_matcher() -> None:
    """800 seeded IoU matrices x 4 configs = 3,200 matchings; half from integer boxes (ties)."""
    gen = torch.Generator().manual_seed(3)
    for k in range(cases(800)):
        m = int(torch.randint(1, 5, (1,), generator=gen))
        n = int(torch.randint(1, 12, (1,), generator=gen))
        integer = bool(k % 2)
        gt, anchors = random_boxes(gen, m, integer=integer), random_boxes(gen, n, integer=integer)
        if not integer:  # random boxes rarely overlap: pull the anchors onto the gts
            anchors = (
                gt[torch.randint(0, m, (n,), generator=gen)]
                + torch.randn(n, 4, generator=gen, dtype=torch.float64) * 8
            )
            anchors[:, 2:] = torch.maximum(anchors[:, 2:], anchors[:, :2] + 0.5)
        iou = tv_box_iou(gt, anchors)
        for high, low, allow in CONFIGS:
            expected = tv_utils.Matcher(high, low, allow)(iou.clone())
            actual = impl.match_anchors(iou.clone(), high, low, allow)
            assert_equal(actual, expected, inputs={"iou": iou, "config": (high, low, allow)})


def test_matcher_without_low_quality_matches_leaves_a_gt_unmatched() -> None:
    # gt 1's best IoU is 0.6 < 0.7: only the low-quality rule gives it an anchor.
    iou = torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.6, 0.25]])
    assert impl.match_anchors(iou, 0.7, 0.3, False).tolist() == [0, -2, -1]
    got = impl.match_anchors(iou, 0.7, 0.3, True).tolist()
    assert got == [0, 1, -1], (
        f"with allow_low_quality_matches=True each gt's best anchor (gt 1 -> anchor 1 at IoU 0.6) "
        f"must be matched even below high_threshold; got {got}, expected [0, 1, -1]"
    )


def test_low_quality_matches_keep_every_tied_anchor() -> None:
    # gt 0 has IoU 0.6 with anchors 0 and 2 (a tie): torchvision matches both.
    iou = torch.tensor([[0.6, 0.1, 0.6, 0.35]])
    got = impl.match_anchors(iou, 0.7, 0.3, True).tolist()
    assert got == [0, -1, 0, -2], (
        f"every anchor tied for a gt's highest IoU must be matched (torch.where(iou == max)), "
        f"not only the first argmax; got {got}, expected [0, -1, 0, -2]"
    )


def test_low_quality_match_takes_the_anchors_own_best_gt() -> None:
    # Anchor 0 is gt 1's best (0.4) but its own best gt is gt 0 (0.45): it is matched to gt 0.
    iou = torch.tensor([[0.45, 0.8], [0.4, 0.1]])
    expected = tv_utils.Matcher(0.7, 0.3, True)(iou.clone())
    assert expected.tolist() == [0, 0]
    assert impl.match_anchors(iou, 0.7, 0.3, True).tolist() == [0, 0]


def test_thresholds_are_inclusive_at_high_and_exclusive_at_low() -> None:
    iou = torch.tensor([[0.5, 0.4, 0.39999]])
    assert impl.match_anchors(iou, 0.5, 0.4).tolist() == [0, -2, -1]


def test_empty_matrix_raises_like_torchvision_and_no_gt_image_is_background() -> None:
    with pytest.raises(ValueError):
        tv_utils.Matcher(0.5, 0.4, True)(torch.zeros(0, 5))
    with raises_naming(ValueError, "match_quality_matrix"):
        impl.match_anchors(torch.zeros(0, 5), 0.5, 0.4, True)
    # retinanet.py / rpn.py handle "no gt" before the Matcher: every anchor is negative.
    anchors = random_boxes(torch.Generator().manual_seed(4), 7)
    out = impl.assign_anchors(torch.zeros(0, 4, dtype=torch.float64), anchors)
    assert out.dtype == torch.int64 and out.tolist() == [-1] * 7


def test_assign_anchors_is_box_iou_then_matcher() -> None:
    gen = torch.Generator().manual_seed(5)
    for _ in range(cases(200)):
        gt, anchors = random_boxes(gen, 3, integer=True), random_boxes(gen, 10, integer=True)
        expected = tv_utils.Matcher(0.5, 0.4, True)(tv_box_iou(gt, anchors))
        assert_equal(impl.assign_anchors(gt, anchors), expected)


# ---------------------------------------------------------------- Hungarian matching


def check_assignment(cost: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> None:
    n, m = cost.shape
    assert len(rows) == len(cols) == min(n, m), "one pair per row or column: min(n, m) pairs"
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols), (
        "an assignment uses each row and each column at most once"
    )
    assert rows.tolist() == sorted(rows.tolist()), "row_ind must be sorted (as scipy)"


def test_linear_sum_assignment_matches_scipy_total_cost() -> None:
    """2,000 seeded cost matrices, n, m in [0, 8] (rectangular both ways); integer ones tie."""
    gen = torch.Generator().manual_seed(6)
    for k in range(cases(2000)):
        n, m = (int(v) for v in torch.randint(0, 9, (2,), generator=gen))
        if k % 2:
            cost = torch.randint(0, 4, (n, m), generator=gen).double()
        else:
            cost = torch.randn(n, m, generator=gen, dtype=torch.float64) * 10
        rows, cols = impl.linear_sum_assignment(cost)
        check_assignment(cost, rows, cols)
        r, c = scipy.optimize.linear_sum_assignment(cost.numpy())
        expected = float(cost.numpy()[r, c].sum())
        got = float(cost[rows, cols].sum())
        assert abs(got - expected) < 1e-9, (
            f"total cost {got} is not the minimum {expected} (scipy) for cost {cost.tolist()}"
        )


def test_linear_sum_assignment_matches_brute_force() -> None:
    """500 seeded square and rectangular matrices with n <= 6: every injective map tried."""
    gen = torch.Generator().manual_seed(7)
    for _ in range(cases(500)):
        n, m = (int(v) for v in torch.randint(1, 6, (2,), generator=gen))
        cost = torch.randint(-3, 6, (n, m), generator=gen).double()
        small, big = (n, m) if n <= m else (m, n)
        c = cost.tolist() if n <= m else cost.T.tolist()
        best = min(
            sum(c[i][j] for i, j in enumerate(perm))
            for perm in itertools.permutations(range(big), small)
        )
        rows, cols = impl.linear_sum_assignment(cost)
        check_assignment(cost, rows, cols)
        assert float(cost[rows, cols].sum()) == best


def test_hungarian_is_not_greedy() -> None:
    # Greedy takes the global minimum 0 at (1, 1), then 2 at (2, 2), then 4 at (0, 0): total 6;
    # the optimum is rows -> cols (1, 0, 2): 1 + 2 + 2 = 5.
    cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    rows, cols = impl.linear_sum_assignment(cost)
    total = float(cost[rows, cols].sum())
    assert total == 5.0, (
        f"assignment costs {total}, the optimum is 5.0: picking the cheapest remaining pair "
        "(greedy) is not optimal; use augmenting paths (Hungarian / Jonker-Volgenant)"
    )


def detr_cost_reference(logits, boxes, labels, tgt, wc, wb, wg) -> torch.Tensor:
    """DETR's C = wb * L1 - wg * GIoU - wc * prob[label], per pair in float64 Python."""

    def xyxy(b):
        cx, cy, w, h = b
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    out = torch.zeros(len(boxes), len(tgt), dtype=torch.float64)
    for q, (row, box) in enumerate(zip(logits.tolist(), boxes.tolist(), strict=True)):
        mx = max(row)
        z = sum(math.exp(v - mx) for v in row)
        for t, (label, tb) in enumerate(zip(labels.tolist(), tgt.tolist(), strict=True)):
            prob = math.exp(row[label] - mx) / z
            l1 = sum(abs(a - b) for a, b in zip(box, tb, strict=True))
            a, b = xyxy(box), xyxy(tb)
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            c_area = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
            giou = inter / union - (c_area - union) / c_area
            out[q, t] = wb * l1 - wg * giou - wc * prob
    return out


def test_hungarian_cost_matches_detr_formula() -> None:
    """300 seeded cases with DETR's weights (1, 5, 2) and other weights."""
    gen = torch.Generator().manual_seed(8)
    for k in range(cases(300)):
        q, t, c = 6, int(torch.randint(1, 4, (1,), generator=gen)), 4
        logits = torch.randn(q, c + 1, generator=gen, dtype=torch.float64) * 2
        boxes = torch.cat(
            [torch.rand(q, 2, generator=gen), torch.rand(q, 2, generator=gen) * 0.5 + 0.05], 1
        ).double()
        tgt = torch.cat(
            [torch.rand(t, 2, generator=gen), torch.rand(t, 2, generator=gen) * 0.5 + 0.05], 1
        ).double()
        labels = torch.randint(0, c, (t,), generator=gen)
        weights = (1.0, 5.0, 2.0) if k % 2 else (2.0, 1.0, 3.0)
        expected = detr_cost_reference(logits, boxes, labels, tgt, *weights)
        actual = impl.hungarian_cost(logits, boxes, labels, tgt, *weights)
        assert_close(actual, expected, atol=1e-10, rtol=1e-10)


def test_hungarian_cost_default_weights_are_detrs() -> None:
    logits, box = torch.zeros(1, 3), torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    other = torch.tensor([[0.6, 0.5, 0.2, 0.2]])
    # prob 1/3; L1 = 0.1; boxes [0.4, 0.6] and [0.5, 0.7] in x: IoU = 1/3, C = union -> GIoU 1/3.
    expected = -1 / 3 + 5 * 0.1 - 2 * (1 / 3)
    assert abs(float(impl.hungarian_cost(logits, box, torch.tensor([0]), other)) - expected) < 1e-6


# ---------------------------------------------------------------- input checks


def test_errors_name_the_argument() -> None:
    b = torch.zeros(2, 4)
    with raises_naming(TypeError, "reference_boxes"):
        impl.encode_boxes([[0, 0, 1, 1]], b)
    with raises_naming(ValueError, "proposals"):
        impl.encode_boxes(b, torch.zeros(2, 3))
    with raises_naming(ValueError, "weights"):
        impl.encode_boxes(b, b, (1.0, 1.0, 0.0, 1.0))
    with raises_naming(TypeError, "rel_codes"):
        impl.decode_boxes(np.zeros((2, 4)), b)
    with raises_naming(ValueError, "rel_codes", "boxes"):
        impl.decode_boxes(torch.zeros(3, 4), b)
    with raises_naming(TypeError, "match_quality_matrix"):
        impl.match_anchors([[0.5]], 0.5, 0.4)
    with raises_naming(ValueError, "low_threshold"):
        impl.match_anchors(torch.ones(1, 1), 0.3, 0.7)
    with raises_naming(TypeError, "cost"):
        impl.linear_sum_assignment(np.zeros((2, 2)))
    with raises_naming(ValueError, "cost"):
        impl.linear_sum_assignment(torch.tensor([[0.0, math.inf]]))
    with raises_naming(ValueError, "cost"):
        impl.linear_sum_assignment(torch.zeros(3))
    with raises_naming(TypeError, "tgt_labels"):
        impl.hungarian_cost(torch.zeros(1, 3), torch.ones(1, 4), [0], torch.ones(1, 4))


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.detection.label_assignment import draw_assignment

    fig = draw_assignment(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
