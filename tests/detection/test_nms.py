"""Tests for snippets/detection/nms.py: greedy NMS, per-class NMS, Soft-NMS.

Reference: torchvision.ops.nms / batched_nms (0.29.1) on seeded random scenes, plus brute-force
definitions written here in plain Python for the rules torchvision does not pin down (ties,
Soft-NMS).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.detection.iou import iou_pair
from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.detection.nms")


# ---------------------------------------------------------------- helpers


def random_scene(
    gen: torch.Generator, n: int, clustered: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes with non-negative coordinates and distinct scores.

    Clustered scenes jitter copies of a few "objects" so that suppression really happens.
    """
    if clustered and n > 0:
        k = max(1, n // 8)
        centres = torch.rand(k, 2, generator=gen) * 400 + 50
        sizes = torch.rand(k, 2, generator=gen) * 80 + 10
        pick = torch.randint(0, k, (n,), generator=gen)
        c = centres[pick] + torch.randn(n, 2, generator=gen) * sizes[pick] * 0.15
        wh = sizes[pick] * (1 + 0.2 * torch.randn(n, 2, generator=gen)).clamp(min=0.3)
        boxes = torch.cat([c - wh / 2, c + wh / 2], dim=1).clamp(min=0)
    else:
        xy = torch.rand(n, 2, generator=gen) * 400
        wh = torch.rand(n, 2, generator=gen) * 100
        boxes = torch.cat([xy, xy + wh], dim=1)
    scores = (torch.randperm(n, generator=gen).float() + torch.rand(n, generator=gen) * 0.5) / n
    return boxes, scores  # randperm + jitter < 1 apart: all scores distinct


def greedy_reference(boxes: list, scores: list, thr: float) -> list[int]:
    """Greedy NMS from its definition, in float64 Python; ties: lower index first."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep: list[int] = []
    for i in order:
        if all(not iou_pair(boxes[k], boxes[i]) > thr for k in keep):
            keep.append(i)
    return keep


def is_valid_greedy(
    boxes: torch.Tensor, scores: torch.Tensor, keep: torch.Tensor, thr: float
) -> bool:
    """True when `keep` is what greedy NMS returns for *some* order of tied scores.

    Walk the kept boxes in the returned order: each must not overlap (> thr) an earlier kept box,
    scores must not increase, and every dropped box must be covered (> thr) by a kept box whose
    score is at least its own.
    """
    iou = torchvision.ops.box_iou(boxes, boxes).double().tolist()  # lists: fast to index
    scores = scores.tolist()
    kept = keep.tolist()
    if any(scores[a] < scores[b] for a, b in itertools.pairwise(kept)):
        return False
    for pos, k in enumerate(kept):
        if any(iou[j][k] > thr for j in kept[:pos]):
            return False
    kept_set = set(kept)
    for i in range(len(boxes)):
        if i not in kept_set and not any(iou[k][i] > thr and scores[k] >= scores[i] for k in kept):
            return False
    return True


THRESHOLDS = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]


# ---------------------------------------------------------------- nms vs torchvision


def test_nms_matches_torchvision_on_random_scenes() -> None:
    """2,400 seeded scenes, N from 0 to 1,200, clustered or uniform, thresholds 0..1.

    Most scenes have N < 150; 5 have N = 300 and 5 have N = 1,200 (asserted below).
    """
    gen = torch.Generator().manual_seed(0)
    sizes = [0, 1, 2, 3, 5, 8, 13, 30, 60, 100, 300, 1200]
    count, big = 0, {300: 0, 1200: 0}
    for trial in range(cases(2400)):
        n = (
            sizes[trial % len(sizes)]
            if trial % 3
            else int(torch.randint(0, 150, (1,), generator=gen))
        )
        # The big scenes are slow-ish: keep those with trial % 480 in {10, 11} (sizes[10] = 300,
        # sizes[11] = 1200; 10 and 11 are not multiples of 3, so the sizes branch is taken).
        if n >= 300 and trial % 480 not in (10, 11):
            n = 40
        if n in big:
            big[n] += 1
        thr = (
            THRESHOLDS[trial % len(THRESHOLDS)]
            if trial % 2
            else float(torch.rand(1, generator=gen))
        )
        boxes, scores = random_scene(gen, n, clustered=bool(trial % 4))
        expected = torchvision.ops.nms(boxes, scores, thr)
        actual = impl.nms(boxes, scores, thr)
        assert actual.dtype == torch.int64
        assert_equal(actual, expected, inputs={"boxes": boxes, "scores": scores, "thr": thr})
        count += 1
    assert count == cases(2400)
    per_size = -(-cases(2400) // 480)  # 5 in the full run, 1 in quick mode
    assert big == {300: per_size, 1200: per_size}, big


def test_nms_naive_matches_torchvision_on_random_scenes() -> None:
    """300 seeded scenes with N < 80 (the naive loop is O(kept * N) Python steps)."""
    gen = torch.Generator().manual_seed(1)
    for trial in range(cases(300)):
        n = int(torch.randint(0, 80, (1,), generator=gen))
        thr = (
            THRESHOLDS[trial % len(THRESHOLDS)]
            if trial % 2
            else float(torch.rand(1, generator=gen))
        )
        boxes, scores = random_scene(gen, n, clustered=bool(trial % 3))
        expected = torchvision.ops.nms(boxes, scores, thr)
        actual = impl.nms_naive(boxes, scores, thr)
        assert actual.dtype == torch.int64
        assert_equal(actual, expected, inputs={"boxes": boxes, "scores": scores, "thr": thr})


def test_nms_float64_boxes_match_torchvision() -> None:
    gen = torch.Generator().manual_seed(2)
    for trial in range(cases(200)):
        boxes, scores = random_scene(gen, 50, clustered=True)
        boxes, scores = boxes.double(), scores.double()
        thr = THRESHOLDS[trial % len(THRESHOLDS)]
        assert_equal(impl.nms(boxes, scores, thr), torchvision.ops.nms(boxes, scores, thr))


def test_nms_larger_than_one_block() -> None:
    """Several blocks of the vectorised version, one heavily suppressed scene."""
    gen = torch.Generator().manual_seed(3)
    for n in (impl.BLOCK - 1, impl.BLOCK, impl.BLOCK + 1, 3 * impl.BLOCK + 7, 2500):
        boxes, scores = random_scene(gen, n, clustered=True)
        assert_equal(impl.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))


@given(
    data=st.lists(
        st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 6), st.integers(0, 6)),
        min_size=0,
        max_size=25,
    ),
    thr=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 1 / 3, 0.6]),
)
@settings(max_examples=cases(150))
def test_nms_small_integer_boxes_property(data: list, thr: float) -> None:
    """Integer boxes produce duplicates, zero-area boxes and IoUs exactly on the threshold."""
    boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in data], dtype=torch.float32)
    boxes = boxes.reshape(-1, 4)
    scores = torch.randperm(len(data), generator=torch.Generator().manual_seed(len(data))).float()
    expected = torchvision.ops.nms(boxes, scores, thr)
    inputs = {"boxes": boxes, "scores": scores, "thr": thr}
    assert_equal(impl.nms(boxes, scores, thr), expected, inputs=inputs)
    assert_equal(impl.nms_naive(boxes, scores, thr), expected, inputs=inputs)


# ---------------------------------------------------------------- conventions


def test_iou_equal_to_threshold_is_kept() -> None:
    # [0,0,2,2] vs [0,0,2,1]: intersection 2, union 4 + 2 - 2 = 4, IoU = 0.5 exactly in binary.
    boxes = torch.tensor([[0.0, 0, 2, 2], [0, 0, 2, 1]])
    scores = torch.tensor([0.9, 0.8])
    for fn in (impl.nms, impl.nms_naive, torchvision.ops.nms):
        assert_equal(fn(boxes, scores, 0.5), torch.tensor([0, 1]))  # 0.5 > 0.5 is False
        assert_equal(fn(boxes, scores, 0.4999), torch.tensor([0]))


def test_threshold_compared_in_float64_like_torchvision() -> None:
    # CPU-specific: the CUDA kernel's devIoU takes a `float` threshold, so there float32(1/3) >
    # float32(1/3) is false and the pair is kept. [0,0,2,1] vs [1,0,3,1]: IoU = 1/3. float32(1/3) = 0.33333334 is *above* the double 1/3,
    # so torchvision's C++ `(float)ovr > (double)thr` suppresses box 1 at iou_threshold=1/3.
    boxes = torch.tensor([[0.0, 0, 2, 1], [1, 0, 3, 1]])
    scores = torch.tensor([0.9, 0.8])
    assert float(torch.tensor(1 / 3, dtype=torch.float32)) > 1 / 3
    for fn in (impl.nms, impl.nms_naive, torchvision.ops.nms):
        assert_equal(fn(boxes, scores, 1 / 3), torch.tensor([0]))


def test_threshold_one_keeps_everything_and_zero_suppresses_any_overlap() -> None:
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [9, 9, 20, 20], [10, 0, 20, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    assert_equal(impl.nms(boxes, scores, 1.0), torch.tensor([0, 1, 2, 3]))  # IoU 1 is not > 1
    # threshold 0: box 1 (IoU 1) and box 2 (IoU 1/220 > 0) go; box 3 only touches box 0: IoU 0.
    assert_equal(impl.nms(boxes, scores, 0.0), torch.tensor([0, 3]))
    assert_equal(torchvision.ops.nms(boxes, scores, 0.0), torch.tensor([0, 3]))


def test_empty_and_single_inputs() -> None:
    empty_b, empty_s = torch.zeros(0, 4), torch.zeros(0)
    for fn in (impl.nms, impl.nms_naive):
        out = fn(empty_b, empty_s, 0.5)
        assert out.dtype == torch.int64 and out.shape == (0,)
        assert_equal(
            fn(torch.tensor([[1.0, 2, 3, 4]]), torch.tensor([0.3]), 0.5), torch.tensor([0])
        )
    for fn in (impl.batched_nms, impl.batched_nms_per_class):
        out = fn(empty_b, empty_s, torch.zeros(0, dtype=torch.int64), 0.5)
        assert out.dtype == torch.int64 and out.shape == (0,)
    keep, kept = impl.soft_nms(empty_b, empty_s)
    assert keep.dtype == torch.int64 and keep.shape == (0,) and kept.shape == (0,)


def test_zero_area_duplicates_never_suppress() -> None:
    # Two identical points: IoU = 0/0 = NaN, and NaN > thr is False, so both survive (torchvision too).
    boxes = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1]])
    scores = torch.tensor([0.9, 0.8])
    expected = torchvision.ops.nms(boxes, scores, 0.5)
    assert_equal(expected, torch.tensor([0, 1]))
    assert_equal(impl.nms(boxes, scores, 0.5), expected)
    assert_equal(impl.nms_naive(boxes, scores, 0.5), expected)


def test_nms_does_not_modify_inputs() -> None:
    boxes, scores = random_scene(torch.Generator().manual_seed(4), 100, clustered=True)
    b0, s0 = boxes.clone(), scores.clone()
    impl.nms(boxes, scores, 0.5)
    impl.nms_naive(boxes, scores, 0.5)
    impl.soft_nms(boxes, scores, method="gaussian")
    assert torch.equal(boxes, b0) and torch.equal(scores, s0)


# ---------------------------------------------------------------- ties


def test_ties_follow_documented_rule_and_torchvision_is_a_valid_greedy() -> None:
    """Scores drawn from 3 values: many ties. Ours: lower index wins (stable sort).

    torchvision's CPU kernel has sorted with ``stable=True`` since pytorch/vision#4767, so on the
    CPU its answer equals ours (and is a valid greedy result). The docstring still says the tie
    choice "is not guaranteed to be the same between CPU and GPU": only this CPU run is asserted.
    """
    gen = torch.Generator().manual_seed(5)
    for trial in range(cases(300)):
        n = int(torch.randint(1, 60, (1,), generator=gen))
        boxes, _ = random_scene(gen, n, clustered=True)
        scores = torch.randint(0, 3, (n,), generator=gen).float()
        thr = THRESHOLDS[trial % len(THRESHOLDS)]
        expected = greedy_reference(boxes.double().tolist(), scores.tolist(), thr)
        inputs = {"boxes": boxes, "scores": scores, "thr": thr}
        assert_equal(impl.nms(boxes, scores, thr), torch.tensor(expected), inputs=inputs)
        assert_equal(impl.nms_naive(boxes, scores, thr), torch.tensor(expected), inputs=inputs)
        theirs = torchvision.ops.nms(boxes, scores, thr)
        assert is_valid_greedy(boxes, scores, theirs, thr)
        assert_equal(theirs, torch.tensor(expected, dtype=torch.int64), inputs=inputs)


def test_is_valid_greedy_can_fail() -> None:
    """The tie checker must reject a wrong answer, or the tie test proves nothing."""
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert is_valid_greedy(boxes, scores, torch.tensor([0, 2]), 0.5)
    assert not is_valid_greedy(boxes, scores, torch.tensor([0, 1, 2]), 0.5)  # 1 overlaps 0
    assert not is_valid_greedy(boxes, scores, torch.tensor([0]), 0.5)  # 2 dropped for nothing
    assert not is_valid_greedy(boxes, scores, torch.tensor([2, 0]), 0.5)  # wrong order


# ---------------------------------------------------------------- batched NMS


def test_batched_nms_matches_torchvision_on_random_scenes() -> None:
    """1,500 scenes with N <= 1000, where torchvision also uses the coordinate trick.

    One scene in 100 draws N from [0, 1000), the others from [0, 150).
    """
    gen = torch.Generator().manual_seed(6)
    for trial in range(cases(1500)):
        n = int(torch.randint(0, 150 if trial % 100 else 1000, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=bool(trial % 3))
        idxs = torch.randint(0, int(torch.randint(1, 6, (1,), generator=gen)), (n,), generator=gen)
        thr = (
            THRESHOLDS[trial % len(THRESHOLDS)]
            if trial % 2
            else float(torch.rand(1, generator=gen))
        )
        expected = torchvision.ops.batched_nms(boxes, scores, idxs, thr)
        inputs = {"boxes": boxes, "scores": scores, "idxs": idxs, "thr": thr}
        assert_equal(impl.batched_nms(boxes, scores, idxs, thr), expected, inputs=inputs)


def test_batched_nms_per_class_matches_torchvision_large() -> None:
    """N > 1000 boxes (numel > 4000): torchvision switches to its per-class loop on CPU.

    4 scenes of 1,001 to 2,000 boxes, half of them shifted to negative coordinates, up to 90
    classes; ``batched_nms`` must take the same switch.
    """
    gen = torch.Generator().manual_seed(7)
    for trial in range(4):
        n = 1001 + int(torch.randint(0, 1000, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=True)
        if trial % 2:
            boxes = boxes - 300  # the offset trick would merge classes here
        idxs = torch.randint(0, [5, 90][trial % 2], (n,), generator=gen)
        thr = [0.3, 0.5, 0.7, 0.0][trial]
        expected = torchvision.ops.batched_nms(boxes, scores, idxs, thr)
        inputs = {"n": n, "thr": thr}
        assert_equal(impl.batched_nms_per_class(boxes, scores, idxs, thr), expected, inputs=inputs)
        assert_equal(impl.batched_nms(boxes, scores, idxs, thr), expected, inputs=inputs)


def test_batched_nms_reliability_reproducers() -> None:
    """R1-R3 of the reliability review: each once returned a wrong set of boxes."""
    # R1: float16 boxes, class 70: the offset 70 * 1001 = 70,070 overflows float16 (max 65,504)
    # to inf, IoUs become NaN and the duplicate of box 0 was never suppressed.
    b = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [990, 990, 1000, 1000]], dtype=torch.half)
    s = torch.tensor([0.9, 0.8, 0.7], dtype=torch.half)
    i = torch.tensor([70, 70, 0])
    assert_equal(torchvision.ops.batched_nms(b.float(), s.float(), i, 0.5), torch.tensor([0, 2]))
    assert_equal(impl.batched_nms(b, s, i, 0.5), torch.tensor([0, 2]))
    # R2: a pair whose float32 IoU equals the threshold, in class 99 of a 1,002-box input. The
    # offset 99 * 1001.5 rounds its coordinates and pushed the IoU over the threshold.
    pair = torch.tensor(
        [
            [43.1589469909668, 27.073060989379883, 59.1445426940918, 49.207420349121094],
            [40.32886505126953, 24.81875991821289, 60.16828918457031, 50.09055709838867],
        ]
    )
    thr = float(torchvision.ops.box_iou(pair[:1], pair[1:]))  # 0.7057170271873474
    b = torch.cat([pair, torch.tensor([[1000.0, 1000.0, 1000.5, 1000.5]]).repeat(1000, 1)])
    s = torch.cat([torch.tensor([0.9, 0.8]), torch.full((1000,), 0.1)])
    i = torch.cat([torch.tensor([99, 99]), torch.zeros(1000, dtype=torch.int64)])
    assert_equal(torchvision.ops.batched_nms(b, s, i, thr)[:3], torch.tensor([0, 1, 2]))
    assert_equal(impl.batched_nms(b, s, i, thr)[:3], torch.tensor([0, 1, 2]))
    # Up to 1,000 boxes both libraries use the trick, and both round the same way.
    expected = torchvision.ops.batched_nms(b[:1000], s[:1000], i[:1000], thr)
    assert_equal(impl.batched_nms(b[:1000], s[:1000], i[:1000], thr), expected)
    assert expected[:2].tolist() == [0, 2]  # the rounding of the trick, shared with torchvision
    # R3: negative coordinates, 1,002 boxes: the per-class path keeps both classes apart.
    b = torch.cat(
        [
            torch.tensor([[-10.0, -10, 0, 0], [-11, -11, -1, -1]]),
            torch.tensor([[-1000.0, -1000, -999, -999]]).repeat(1000, 1),
        ]
    )
    i = torch.cat([torch.tensor([0, 1]), torch.full((1000,), 2)])
    assert_equal(torchvision.ops.batched_nms(b, s, i, 0.5)[:3], torch.tensor([0, 1, 2]))
    assert_equal(impl.batched_nms(b, s, i, 0.5)[:3], torch.tensor([0, 1, 2]))


def test_batched_nms_equals_nms_per_class_definition() -> None:
    """Brute-force definition: run NMS on each class alone, merge, sort by score.

    Integer coordinates keep ``box + offset`` exact in float32, so the two agree bit for bit.
    """
    gen = torch.Generator().manual_seed(8)
    for trial in range(cases(150)):
        n = int(torch.randint(0, 80, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=True)
        boxes = boxes.round()
        idxs = torch.randint(0, 4, (n,), generator=gen)
        thr = THRESHOLDS[trial % len(THRESHOLDS)]
        expected = []
        for c in idxs.unique().tolist():
            members = torch.nonzero(idxs == c).flatten()
            expected += members[torchvision.ops.nms(boxes[members], scores[members], thr)].tolist()
        expected.sort(key=lambda i: -float(scores[i]))
        inputs = {"boxes": boxes, "idxs": idxs, "thr": thr}
        assert_equal(
            impl.batched_nms(boxes, scores, idxs, thr), torch.tensor(expected), inputs=inputs
        )
        assert_equal(
            impl.batched_nms_per_class(boxes, scores, idxs, thr),
            torch.tensor(expected),
            inputs=inputs,
        )


def test_offset_trick_breaks_with_negative_coordinates() -> None:
    # max coordinate = 0, so the offset is idx * (0 + 1): class 1's box [-11,-11,-1,-1] moves to
    # [-10,-10,0,0], exactly on top of class 0's box -> IoU 1 -> suppressed across classes.
    boxes = torch.tensor([[-10.0, -10, 0, 0], [-11, -11, -1, -1]])
    scores = torch.tensor([0.9, 0.8])
    idxs = torch.tensor([0, 1])
    assert_equal(impl.batched_nms(boxes, scores, idxs, 0.5), torch.tensor([0]))
    assert_equal(torchvision.ops.batched_nms(boxes, scores, idxs, 0.5), torch.tensor([0]))  # same
    assert_equal(impl.batched_nms_per_class(boxes, scores, idxs, 0.5), torch.tensor([0, 1]))
    # Shifting everything to non-negative coordinates first repairs the trick.
    shifted = boxes - boxes.min()
    assert_equal(impl.batched_nms(shifted, scores, idxs, 0.5), torch.tensor([0, 1]))


def test_batched_nms_never_suppresses_across_classes() -> None:
    boxes = torch.tensor([[0.0, 0, 10, 10]] * 4)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    idxs = torch.tensor([0, 1, 2, 1])
    for fn in (impl.batched_nms, impl.batched_nms_per_class):
        assert_equal(fn(boxes, scores, idxs, 0.5), torch.tensor([0, 1, 2]))  # 3 is a copy of 1


# ---------------------------------------------------------------- Soft-NMS


def soft_nms_reference(
    boxes: list, scores: list, thr: float, sigma: float, method: str, min_score: float
):
    """Soft-NMS from Bodla et al., Algorithm 1, in float64 Python (ties: lower index first)."""
    current = {i: s for i, s in enumerate(scores) if s >= min_score}
    keep, kept = [], []
    while current:
        best = max(current, key=lambda i: (current[i], -i))
        keep.append(best)
        kept.append(current.pop(best))
        for i in list(current):
            iou = iou_pair(boxes[best], boxes[i])
            if method == "linear":
                current[i] *= (1 - iou) if iou > thr else 1.0
            else:
                current[i] *= math.exp(-(iou**2) / sigma)
            if current[i] < min_score:
                del current[i]
    return keep, kept


@pytest.mark.parametrize("method", ["linear", "gaussian"])
def test_soft_nms_matches_reference(method: str) -> None:
    gen = torch.Generator().manual_seed(9)
    for trial in range(cases(80)):
        n = int(torch.randint(0, 40, (1,), generator=gen))
        boxes, scores = random_scene(gen, n, clustered=True)
        boxes, scores = boxes.double(), scores.double()
        thr = [0.0, 0.3, 0.5, 0.7][trial % 4]
        sigma = [0.1, 0.5, 1.0][trial % 3]
        min_score = [0.0, 0.001, 0.05, 0.2][trial % 4]
        keep_e, kept_e = soft_nms_reference(
            boxes.tolist(), scores.tolist(), thr, sigma, method, min_score
        )
        keep, kept = impl.soft_nms(boxes, scores, thr, sigma, method, min_score)
        inputs = {"boxes": boxes, "scores": scores, "thr": thr, "sigma": sigma}
        assert_equal(keep, torch.tensor(keep_e, dtype=torch.int64), inputs=inputs)
        assert_close(kept, torch.tensor(kept_e, dtype=torch.float64), inputs=inputs, atol=1e-12)


@given(seed=st.integers(0, 10_000), method=st.sampled_from(["linear", "gaussian"]))
@settings(max_examples=cases(50))
def test_soft_nms_properties(seed: int, method: str) -> None:
    gen = torch.Generator().manual_seed(seed)
    boxes, scores = random_scene(gen, 30, clustered=True)
    keep, kept = impl.soft_nms(boxes, scores, 0.3, 0.5, method, 0.0)
    assert len(keep) == 30  # score_threshold 0: nothing is dropped, only rescored
    assert bool((kept <= scores[keep]).all())  # scores never increase
    assert bool((kept[1:] <= kept[:-1]).all())  # selection order = decayed score order
    assert int(keep[0]) == int(scores.argmax()) and float(kept[0]) == float(scores.max())


def test_soft_nms_linear_below_threshold_changes_nothing() -> None:
    gen = torch.Generator().manual_seed(10)
    boxes, scores = random_scene(gen, 40, clustered=True)
    max_iou = float(torchvision.ops.box_iou(boxes, boxes).fill_diagonal_(0).max())
    keep, kept = impl.soft_nms(boxes, scores, iou_threshold=max_iou, method="linear")
    # No pair is above the threshold: same as sorting by score.
    assert_equal(keep, torch.argsort(scores, descending=True))
    assert_close(kept, scores.sort(descending=True).values, atol=0, rtol=0)


def test_soft_nms_leaves_disjoint_boxes_untouched() -> None:
    boxes = torch.tensor(
        [[0.0, 0, 1, 1], [2, 0, 3, 1], [0, 2, 1, 3], [1, 1, 2, 2]]
    )  # corners touch
    scores = torch.tensor([0.2, 0.9, 0.5, 0.7])
    for method in ("linear", "gaussian"):
        keep, kept = impl.soft_nms(boxes, scores, iou_threshold=0.0, method=method)
        assert_equal(keep, torch.tensor([1, 3, 2, 0]))
        assert_close(kept, torch.tensor([0.9, 0.7, 0.5, 0.2]), atol=0, rtol=0)


def test_soft_nms_gaussian_small_sigma_is_hard_nms_at_zero() -> None:
    """exp(-IoU^2 / sigma) -> 0 for every IoU > 0 as sigma -> 0: hard NMS with threshold 0.

    Integer boxes in [0, 30] have non-zero IoU >= 1/1800, so with sigma = 1e-12 the factor
    exp(-IoU^2/sigma) underflows to 0 and the score drops under score_threshold.
    """
    gen = torch.Generator().manual_seed(11)
    for _ in range(cases(50)):
        boxes, scores = random_scene(gen, 30, clustered=True)
        boxes = (boxes / 15).round().clamp(0, 30)
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)  # positive area
        keep, _ = impl.soft_nms(boxes.double(), scores.double(), sigma=1e-12, method="gaussian")
        assert_equal(keep, torchvision.ops.nms(boxes, scores, 0.0))


# ---------------------------------------------------------------- errors


def test_input_errors() -> None:
    good_b, good_s = torch.zeros(3, 4), torch.zeros(3)
    for fn in (impl.nms, impl.nms_naive):
        with raises_naming(TypeError, "boxes", "[N, 4]"):
            fn([[0, 0, 1, 1]], torch.zeros(1), 0.5)
        with raises_naming(TypeError, "scores", "[N]"):
            fn(torch.zeros(1, 4), [0.5], 0.5)
        with raises_naming(ValueError, "boxes", "[N, 4]", "(3, 5)"):
            fn(torch.zeros(3, 5), good_s, 0.5)
        with raises_naming(ValueError, "boxes", "[N, 4]"):
            fn(torch.zeros(4), good_s, 0.5)
        with raises_naming(ValueError, "scores", "[N]", "(3, 1)"):
            fn(good_b, torch.zeros(3, 1), 0.5)
        with raises_naming(ValueError, "scores", "[N]", "(2,)"):
            fn(good_b, torch.zeros(2), 0.5)
        with raises_naming(ValueError, "boxes", "x2 >= x1"):
            fn(torch.tensor([[2.0, 0, 1, 1]]), torch.zeros(1), 0.5)
        with raises_naming(ValueError, "iou_threshold", "-0.1"):
            fn(good_b, good_s, -0.1)
        with raises_naming(ValueError, "iou_threshold", "nan"):
            fn(good_b, good_s, float("nan"))
        with raises_naming(TypeError, "iou_threshold"):
            fn(good_b, good_s, "0.5")
    for fn in (impl.batched_nms, impl.batched_nms_per_class):
        with raises_naming(ValueError, "idxs", "[N]", "(2,)"):
            fn(good_b, good_s, torch.zeros(2, dtype=torch.int64), 0.5)
        with raises_naming(TypeError, "idxs", "integer"):
            fn(good_b, good_s, torch.zeros(3), 0.5)
        with raises_naming(TypeError, "idxs", "[N]"):
            fn(good_b, good_s, [0, 0, 0], 0.5)
        with raises_naming(ValueError, "iou_threshold"):
            fn(good_b, good_s, torch.zeros(3, dtype=torch.int64), -1.0)
    for fn in (impl.nms, impl.nms_naive, impl.soft_nms):
        with raises_naming(TypeError, "boxes", "real numbers", "bool"):
            fn(good_b.bool(), good_s, 0.5)
        with raises_naming(TypeError, "scores", "real numbers", "complex"):
            fn(good_b, good_s.to(torch.complex64), 0.5)
    with raises_naming(ValueError, "method", "gaussian"):
        impl.soft_nms(good_b, good_s, method="exp")
    with raises_naming(ValueError, "sigma", "> 0"):
        impl.soft_nms(good_b, good_s, sigma=0.0)
    with raises_naming(ValueError, "score_threshold"):
        impl.soft_nms(good_b, good_s, score_threshold=-1.0)


def test_negative_threshold_keeps_one_box_in_torchvision() -> None:
    """IoU >= 0 > -0.1 for every pair, disjoint ones too: the best box suppresses all others.

    Not "one box per connected group": three separate clusters still give one box. The snippet
    refuses the threshold instead (``test_input_errors``).
    """
    b = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [100, 100, 110, 110], [300, 300, 310, 310]])
    s = torch.tensor([0.9, 0.8, 0.7, 0.5])
    assert_equal(torchvision.ops.nms(b, s, -0.1), torch.tensor([0]))
    assert_equal(torchvision.ops.nms(b, s, 0.0), torch.tensor([0, 2, 3]))
    assert_equal(impl.nms(b, s, 0.0), torch.tensor([0, 2, 3]))


def test_threshold_accepts_numpy_scalars_and_0d_tensors() -> None:
    import numpy as np

    b = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
    s = torch.tensor([0.9, 0.8, 0.7])
    for thr in (np.float32(0.5), np.float64(0.5), torch.tensor(0.5), 1):
        assert_equal(impl.nms(b, s, thr), torchvision.ops.nms(b, s, float(thr)))
        assert_equal(impl.nms_naive(b, s, thr), torchvision.ops.nms(b, s, float(thr)))
    with raises_naming(TypeError, "iou_threshold"):
        impl.nms(b, s, torch.tensor([0.5]))


def test_threshold_above_one_is_accepted_and_keeps_everything() -> None:
    boxes = torch.tensor([[0.0, 0, 1, 1]] * 3)
    scores = torch.tensor([0.1, 0.3, 0.2])
    assert_equal(impl.nms(boxes, scores, 1.5), torchvision.ops.nms(boxes, scores, 1.5))
    assert_equal(impl.nms(boxes, scores, 1.5), torch.tensor([1, 2, 0]))


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.detection.nms import draw_before_after

    fig = draw_before_after(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2
