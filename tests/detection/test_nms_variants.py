"""Tests for snippets/detection/nms_variants.py.

References: torchvision.ops.nms (0.29.1) for the exact variants (NumPy NMS, Cluster-NMS), and
brute-force definitions written here in plain float64 Python for the others: Fast NMS (YOLACT),
DIoU-NMS (Zheng et al. 2020), Matrix NMS (the SOLOv2 paper's pseudo-code, on binary masks) and
weighted boxes fusion (Solovyev et al. 2021).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision

from snippets.detection.iou import iou_pair
from tests.detection.test_nms import THRESHOLDS, random_scene
from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.detection.nms_variants")
TIGHT = {"atol": 1e-12, "rtol": 1e-12}  # float64 on both sides


def _rank(scores: list) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))  # ties: lower index first


# ---------------------------------------------------------------- NumPy NMS, Cluster-NMS


def test_nms_numpy_matches_torchvision() -> None:
    """300 seeded float32 scenes (N < 100) and the 1/3 threshold case, as torchvision's CPU."""
    gen = torch.Generator().manual_seed(20)
    for trial in range(cases(300)):
        n = int(torch.randint(0, 100, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=bool(trial % 3))
        thr = THRESHOLDS[trial % len(THRESHOLDS)]
        got = impl.nms_numpy(boxes.numpy(), scores.numpy(), thr)
        assert got.dtype == np.int64
        assert_equal(torch.from_numpy(got), torchvision.ops.nms(boxes, scores, thr))
    boxes = torch.tensor([[0.0, 0, 2, 1], [1, 0, 3, 1]])  # IoU 1/3: float32 0.33333334 > 1/3
    scores = torch.tensor([0.9, 0.8])
    assert impl.nms_numpy(boxes.numpy(), scores.numpy(), 1 / 3).tolist() == [0]


def test_cluster_nms_equals_greedy_nms() -> None:
    """300 seeded scenes, ties included: Cluster-NMS is exact greedy NMS."""
    gen = torch.Generator().manual_seed(21)
    for trial in range(cases(300)):
        n = int(torch.randint(0, 120, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=True)
        if trial % 4 == 0:
            scores = torch.randint(0, 3, (n,), generator=gen).float()  # many ties
        thr = THRESHOLDS[trial % len(THRESHOLDS)]
        inputs = {"boxes": boxes, "scores": scores, "thr": thr}
        expected = torchvision.ops.nms(boxes, scores, thr)
        assert_equal(impl.cluster_nms(boxes, scores, thr), expected, inputs=inputs)


# ---------------------------------------------------------------- Fast NMS


def test_fast_nms_matches_definition_and_brute_force() -> None:
    """Definition: keep j iff max_{i ranked above j} IoU(i, j) <= t (suppressed i included).

    Checked two ways on 200 float64 scenes: the matrix form with torchvision's box_iou, and a
    Python double loop over iou_pair. Fast NMS also keeps a subset of greedy NMS.
    """
    gen = torch.Generator().manual_seed(22)
    differs = 0
    for trial in range(cases(200)):
        n = int(torch.randint(0, 60, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=True)
        boxes, scores = boxes.double(), scores.double()
        thr = [0.3, 0.5, 0.7][trial % 3]
        got = impl.fast_nms(boxes, scores, thr)
        # brute force
        b, order = boxes.tolist(), _rank(scores.tolist())
        brute = [
            j
            for pos, j in enumerate(order)
            if not any(iou_pair(b[i], b[j]) > thr for i in order[:pos])
        ]
        inputs = {"boxes": boxes, "scores": scores, "thr": thr}
        assert_equal(got, torch.tensor(brute, dtype=torch.int64), inputs=inputs)
        # matrix definition
        o = torch.tensor(order, dtype=torch.int64)
        iou = torchvision.ops.box_iou(boxes[o], boxes[o]).triu(diagonal=1)
        matrix = o[iou.max(dim=0).values <= thr] if n else o
        assert_equal(got, matrix, inputs=inputs)
        greedy = torchvision.ops.nms(boxes, scores, thr).tolist()
        assert set(got.tolist()) <= set(greedy)
        differs += len(got) < len(greedy)
    assert differs > 0 or cases(200) < 200  # the scenes do exercise the difference


def test_fast_nms_removes_more_than_greedy_on_a_chain() -> None:
    # 0 suppresses 1 (IoU 1/3 > 0.3); 1, although suppressed, still suppresses 2 in Fast NMS.
    b = torch.tensor([[0.0, 0, 10, 10], [0, 5, 10, 15], [0, 10, 10, 20]])
    s = torch.tensor([0.9, 0.8, 0.7])
    assert_equal(impl.fast_nms(b, s, 0.3), torch.tensor([0]))
    assert_equal(torchvision.ops.nms(b, s, 0.3), torch.tensor([0, 2]))
    assert_equal(impl.cluster_nms(b, s, 0.3), torch.tensor([0, 2]))


# ---------------------------------------------------------------- DIoU-NMS


def diou_pair(a: list, b: list) -> float:
    """DIoU of two boxes from its definition: IoU - rho^2 / c^2."""
    rho2 = ((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) ** 2 + (
        (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2
    ) ** 2
    c2 = (max(a[2], b[2]) - min(a[0], b[0])) ** 2 + (max(a[3], b[3]) - min(a[1], b[1])) ** 2
    return iou_pair(a, b) - rho2 / c2


def test_diou_nms_matches_brute_force() -> None:
    """200 float64 scenes: greedy NMS with DIoU (> t) instead of IoU, in plain Python."""
    gen = torch.Generator().manual_seed(23)
    kept_more = 0
    for trial in range(cases(200)):
        n = int(torch.randint(0, 60, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=True)
        boxes, scores = boxes.double(), scores.double()
        thr = [0.0, 0.3, 0.5, 0.7][trial % 4]
        b, keep = boxes.tolist(), []
        for j in _rank(scores.tolist()):
            if all(not diou_pair(b[k], b[j]) > thr for k in keep):
                keep.append(j)
        got = impl.diou_nms(boxes, scores, thr)
        inputs = {"boxes": boxes, "scores": scores, "thr": thr}
        assert_equal(got, torch.tensor(keep, dtype=torch.int64), inputs=inputs)
        kept_more += len(got) > len(torchvision.ops.nms(boxes, scores, thr))
    assert kept_more > 0 or cases(200) < 200  # the penalty really keeps extra boxes


def test_diou_nms_example() -> None:
    # IoU 1/3, centres 2 apart, enclosing box 6 x 4: DIoU = 1/3 - 4/52 = 0.2564.
    b = torch.tensor([[0.0, 0, 4, 4], [2, 0, 6, 4]])
    s = torch.tensor([0.9, 0.8])
    assert math.isclose(diou_pair(b[0].tolist(), b[1].tolist()), 1 / 3 - 4 / 52)
    assert_equal(impl.diou_nms(b, s, 0.3), torch.tensor([0, 1]))  # plain NMS at 0.3: [0]
    assert_equal(torchvision.ops.nms(b, s, 0.3), torch.tensor([0]))
    assert_equal(impl.diou_nms(b, s, 0.25), torch.tensor([0]))


# ---------------------------------------------------------------- Matrix NMS


def solov2_matrix_nms(scores, masks, method="gauss", sigma=0.5):
    """The Matrix NMS pseudo-code of the SOLOv2 paper (Wang et al., NeurIPS 2020), transcribed.

    ``scores`` must be in descending order and ``masks`` binary ``[N, H, W]``.
    """
    n = len(scores)
    masks = masks.reshape(n, -1)
    intersection = masks @ masks.T
    areas = masks.sum(dim=1).expand(n, n)
    union = areas + areas.T - intersection
    ious = (intersection / union).triu(diagonal=1)
    ious_cmax = ious.max(0).values
    ious_cmax = ious_cmax.expand(n, n).T
    if method == "gauss":
        decay = torch.exp(-(ious**2 - ious_cmax**2) / sigma)
    else:
        decay = (1 - ious) / (1 - ious_cmax)
    decay = decay.min(dim=0).values
    return scores * decay


@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_matrix_nms_matches_solov2_pseudocode(method: str) -> None:
    """60 scenes of distinct integer boxes on a 32 x 32 grid, rasterised to binary masks.

    Mask IoU equals box IoU exactly for integer boxes, so the paper's mask pseudo-code is an
    independent reference for the box version.
    """
    gen = torch.Generator().manual_seed(24)
    for trial in range(cases(60)):
        n = int(torch.randint(1, 30, (1,), generator=gen))
        xy = torch.randint(0, 24, (n, 2), generator=gen)
        wh = torch.randint(1, 9, (n, 2), generator=gen)
        boxes = torch.unique(torch.cat([xy, xy + wh], dim=1), dim=0).double()  # no IoU of 1
        n = len(boxes)
        scores = torch.rand(n, generator=gen, dtype=torch.float64)
        masks = torch.zeros(n, 32, 32, dtype=torch.float64)
        for k, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
            masks[k, y1:y2, x1:x2] = 1
        sigma = [0.5, 2.0][trial % 2]
        order = torch.argsort(scores, descending=True)
        ref_sorted = solov2_matrix_nms(
            scores[order], masks[order], "gauss" if method == "gaussian" else "linear", sigma
        )
        expected = torch.empty_like(scores)
        expected[order] = ref_sorted
        got = impl.matrix_nms(boxes, scores, method, sigma)
        assert_close(got, expected, atol=1e-12, rtol=1e-12, inputs={"boxes": boxes})
        assert bool((got <= scores + 1e-15).all())  # a decay never raises a score


def test_matrix_nms_example() -> None:
    b = torch.tensor([[0.0, 0, 2, 2], [0, 0, 2, 1], [5, 5, 6, 6]])  # IoU(0, 1) = 0.5
    s = torch.tensor([0.9, 0.8, 0.7])
    assert_close(impl.matrix_nms(b, s, "linear"), torch.tensor([0.9, 0.4, 0.7]))
    gauss = impl.matrix_nms(b, s, "gaussian", 0.5)
    assert_close(gauss, torch.tensor([0.9, 0.8 * math.exp(-0.25 / 0.5), 0.7]))


# ---------------------------------------------------------------- weighted boxes fusion


def wbf_reference(boxes_list: list, scores_list: list, thr: float):
    """WBF from the paper's steps, in plain Python lists (one label, model weights 1)."""
    t = len(boxes_list)
    items = [
        (s, b)
        for bl, sl in zip(boxes_list, scores_list, strict=True)
        for b, s in zip(bl, sl, strict=True)
    ]
    items = [items[i] for i in _rank([s for s, _ in items])]
    clusters, fused = [], []
    for s, b in items:
        ious = [iou_pair(f, b) for f in fused]
        best = max(range(len(ious)), key=lambda k: (ious[k], -k)) if ious else -1
        if best >= 0 and ious[best] > thr:
            clusters[best].append((s, b))
            total = sum(m[0] for m in clusters[best])
            fused[best] = [sum(m[0] * m[1][c] for m in clusters[best]) / total for c in range(4)]
        else:
            clusters.append([(s, b)])
            fused.append(list(b))
    out = [
        (sum(m[0] for m in c) / len(c) * min(t, len(c)) / t, f)
        for c, f in zip(clusters, fused, strict=True)
    ]
    rank = _rank([o[0] for o in out])
    return [out[r][1] for r in rank], [out[r][0] for r in rank]


def test_weighted_boxes_fusion_hand_example() -> None:
    """Two models agree on one object (IoU 81/119 = 0.68 > 0.55); model B also sees a stray box.

    Fused box: (0.9 * [0, 0, 10, 10] + 0.6 * [1, 1, 11, 11]) / 1.5 = [0.4, 0.4, 10.4, 10.4];
    score (0.9 + 0.6) / 2 * min(2, 2) / 2 = 0.75. Stray box: 0.3 * min(2, 1) / 2 = 0.15.
    """
    boxes_list = [
        torch.tensor([[0.0, 0, 10, 10]]),
        torch.tensor([[1.0, 1, 11, 11], [50, 50, 60, 60]]),
    ]
    scores_list = [torch.tensor([0.9]), torch.tensor([0.6, 0.3])]
    fused, scores = impl.weighted_boxes_fusion(boxes_list, scores_list, 0.55)
    assert_close(
        fused, torch.tensor([[0.4, 0.4, 10.4, 10.4], [50, 50, 60, 60]], dtype=torch.float64)
    )
    assert_close(scores, torch.tensor([0.75, 0.15], dtype=torch.float64))
    # Above the pair's IoU nothing merges: three boxes, each seen by one model of two.
    fused, scores = impl.weighted_boxes_fusion(boxes_list, scores_list, 0.7)
    assert_close(scores, torch.tensor([0.45, 0.3, 0.15], dtype=torch.float64))


def test_weighted_boxes_fusion_matches_definition() -> None:
    """80 seeded ensembles of 1 to 4 models (jittered copies of one scene), float64."""
    gen = torch.Generator().manual_seed(25)
    for trial in range(cases(80)):
        base, _ = random_scene(gen, int(torch.randint(1, 25, (1,), generator=gen)), True)
        boxes_list, scores_list = [], []
        for _ in range(int(torch.randint(1, 5, (1,), generator=gen))):
            jitter = torch.randn(base.shape, generator=gen) * 3
            b = (base + jitter).double()
            b[:, 2:] = torch.maximum(b[:, 2:], b[:, :2] + 1)
            boxes_list.append(b)
            scores_list.append(torch.rand(len(b), generator=gen, dtype=torch.float64))
        thr = [0.4, 0.55, 0.7][trial % 3]
        ref_boxes, ref_scores = wbf_reference(
            [b.tolist() for b in boxes_list], [s.tolist() for s in scores_list], thr
        )
        fused, scores = impl.weighted_boxes_fusion(boxes_list, scores_list, thr)
        inputs = {"trial": trial, "thr": thr}
        assert_close(scores, torch.tensor(ref_scores, dtype=torch.float64), inputs=inputs, **TIGHT)
        assert_close(
            fused,
            torch.tensor(ref_boxes, dtype=torch.float64).reshape(-1, 4),
            inputs=inputs,
            **TIGHT,
        )


# ---------------------------------------------------------------- errors


def test_variants_input_errors() -> None:
    good_b, good_s = torch.zeros(3, 4), torch.zeros(3)
    for fn in (impl.fast_nms, impl.cluster_nms, impl.diou_nms):
        with raises_naming(TypeError, "boxes", "[N, 4]"):
            fn(good_b.tolist(), good_s, 0.5)
        with raises_naming(TypeError, "boxes", "[N, 4]"):
            fn(good_b.numpy(), good_s, 0.5)
        with raises_naming(ValueError, "iou_threshold", "-0.1"):
            fn(good_b, good_s, -0.1)
        with raises_naming(ValueError, "scores", "[N]"):
            fn(good_b, torch.zeros(2), 0.5)
    with raises_naming(TypeError, "boxes", "numpy.ndarray"):
        impl.nms_numpy(good_b, good_s.numpy(), 0.5)
    with raises_naming(ValueError, "boxes", "[N, 4]"):
        impl.nms_numpy(np.zeros((3, 5)), np.zeros(3), 0.5)
    with raises_naming(ValueError, "method", "gaussian"):
        impl.matrix_nms(good_b, good_s, "exp")
    with raises_naming(ValueError, "sigma", "> 0"):
        impl.matrix_nms(good_b, good_s, sigma=0.0)
    with raises_naming(TypeError, "boxes_list", "list"):
        impl.weighted_boxes_fusion(good_b, [good_s])
    with raises_naming(ValueError, "boxes_list", "equal length"):
        impl.weighted_boxes_fusion([good_b], [good_s, good_s])


def test_empty_inputs() -> None:
    e_b, e_s = torch.zeros(0, 4), torch.zeros(0)
    for fn in (impl.fast_nms, impl.cluster_nms, impl.diou_nms):
        out = fn(e_b, e_s, 0.5)
        assert out.dtype == torch.int64 and out.shape == (0,)
    assert impl.nms_numpy(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)
    assert impl.matrix_nms(e_b, e_s).shape == (0,)
    fused, scores = impl.weighted_boxes_fusion([e_b], [e_s])
    assert fused.shape == (0, 4) and scores.shape == (0,)
