"""Tests for snippets/detection/iou.py: the IoU family against torchvision.ops, by hand, by property.

Reference: torchvision 0.29.1 ``torchvision/ops/boxes.py`` (``box_iou``, ``generalized_box_iou``,
``distance_box_iou``, ``complete_box_iou``) and ``torchvision/ops/giou_loss.py``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.ops as tv
from hypothesis import given, settings
from hypothesis import strategies as st

from figures.detection import iou as figs
from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.detection.iou")

PAIRWISE = ["box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"]
CHECKED = [*PAIRWISE, "box_iou_naive"]


# ---------------------------------------------------------------- random inputs


def random_boxes(n: int, gen: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``[n, 4]`` valid boxes that often touch, nest, coincide or have a zero side.

    Half of the calls snap corners to a coarse integer grid, where exact ties are common.
    """
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 20
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 10
    wh[torch.rand(n, 2, generator=gen) < 0.05] = 0.0  # some zero-width or zero-height boxes
    if torch.rand(1, generator=gen).item() < 0.5:
        xy, wh = xy.round(), wh.round()
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


N_RANDOM = cases(500)  # seeded draws per function and dtype; sizes N, M in [0, 7]


@pytest.mark.parametrize("name", PAIRWISE)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_torchvision_on_random_sets(name: str, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(1234)
    ours, ref = getattr(impl, name), getattr(tv, name)
    atol = 1e-5 if dtype == torch.float32 else 1e-12
    for _ in range(N_RANDOM):
        n, m = (int(k) for k in torch.randint(0, 8, (2,), generator=gen))
        b1, b2 = random_boxes(n, gen, dtype), random_boxes(m, gen, dtype)
        out = ours(b1, b2)
        assert out.dtype == dtype
        # equal_nan: pairs of zero-area boxes give nan in both (checked by hand below).
        assert_close(out, ref(b1, b2), atol=atol, inputs={"boxes1": b1, "boxes2": b2})


@pytest.mark.parametrize("name", PAIRWISE)
def test_matches_torchvision_on_a_large_set(name: str) -> None:
    gen = torch.Generator().manual_seed(7)
    b1, b2 = random_boxes(300, gen), random_boxes(250, gen)  # 75,000 pairs
    assert_close(getattr(impl, name)(b1, b2), getattr(tv, name)(b1, b2), atol=1e-5)


# Boxes on a 0..6 integer grid: exact arithmetic, and touching / nested / identical pairs abound.
grid_box = st.tuples(
    st.integers(0, 6), st.integers(0, 6), st.integers(0, 4), st.integers(0, 4)
).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))
positive_grid_box = st.tuples(
    st.integers(0, 6), st.integers(0, 6), st.integers(1, 4), st.integers(1, 4)
).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))
grid_boxes = st.lists(grid_box, min_size=0, max_size=6)
positive_grid_boxes = st.lists(positive_grid_box, min_size=1, max_size=6)


def as_tensor(boxes: list[tuple[int, int, int, int]], dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(boxes, dtype=dtype).reshape(-1, 4)


@settings(max_examples=cases(200))
@given(grid_boxes, grid_boxes, st.sampled_from([torch.float32, torch.float64, torch.int64]))
def test_matches_torchvision_on_grid_edge_cases(
    boxes1: list[tuple[int, int, int, int]],
    boxes2: list[tuple[int, int, int, int]],
    dtype: torch.dtype,
) -> None:
    b1, b2 = as_tensor(boxes1, dtype), as_tensor(boxes2, dtype)
    for name in PAIRWISE:
        expected = getattr(tv, name)(b1, b2)
        actual = getattr(impl, name)(b1, b2)
        assert actual.dtype == expected.dtype, name
        assert_close(actual, expected, inputs={"fn": name, "boxes1": b1, "boxes2": b2})


# ---------------------------------------------------------------- by hand


def test_iou_by_hand() -> None:
    # [0,0,2,2] vs [1,1,3,3]: intersection [1,1,2,2] = 1, union 4 + 4 - 1 = 7.
    # [0,0,2,2] vs [0,0,4,4]: contained, 4 / 16. [0,0,2,2] vs [2,0,4,2]: touching, 0.
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 4.0, 4.0], [2.0, 0.0, 4.0, 2.0]])
    assert_close(impl.box_iou(a, b), torch.tensor([[1 / 7, 0.25, 0.0]]))
    assert math.isclose(impl.iou_pair((1, 1, 4, 4), (2, 2, 5, 5)), 4 / 14)  # the seed's example


def test_giou_of_disjoint_unit_boxes_is_minus_one_third() -> None:
    # [0,0,1,1] vs [2,0,3,1]: IoU 0, C = [0,0,3,1] with area 3, union 2 -> 0 - (3 - 2) / 3.
    a, b = torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([[2.0, 0.0, 3.0, 1.0]])
    assert_close(impl.generalized_box_iou(a, b), torch.tensor([[-1 / 3]]))
    # DIoU: centres (0.5, 0.5) and (2.5, 0.5), rho^2 = 4; diagonal of C: c^2 = 3^2 + 1^2 = 10.
    assert_close(impl.distance_box_iou(a, b), torch.tensor([[-0.4]]))
    # CIoU: same aspect ratio, v = 0, so CIoU = DIoU.
    assert_close(impl.complete_box_iou(a, b), torch.tensor([[-0.4]]))


def test_ciou_by_hand() -> None:
    # A = [0,0,2,1] (w/h = 2), B = [0,0,1,2] (w/h = 1/2). Intersection 1, union 3, IoU = 1/3.
    # Centres (1, 0.5), (0.5, 1): rho^2 = 0.5. C = [0,0,2,2]: c^2 = 8. DIoU = 1/3 - 1/16.
    a, b = torch.tensor([[0.0, 0.0, 2.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0, 2.0]])
    iou, diou = 1 / 3, 1 / 3 - 0.5 / 8
    v = 4 / math.pi**2 * (math.atan(2.0) - math.atan(0.5)) ** 2
    alpha = v / (1 - iou + v)
    assert_close(impl.distance_box_iou(a.double(), b.double()), torch.tensor([[diou]]), atol=1e-9)
    assert_close(
        impl.complete_box_iou(a.double(), b.double()), torch.tensor([[diou - alpha * v]]), atol=1e-9
    )


def test_giou_equals_iou_when_one_box_contains_the_other() -> None:
    # C is the outer box, which is also the union: the penalty (|C| - |U|) / |C| vanishes.
    outer, inner = torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.tensor([[1.0, 1.0, 2.0, 3.0]])
    assert_close(impl.generalized_box_iou(outer, inner), torch.tensor([[2 / 16]]))


def _pixel_iou(a: tuple[int, ...], b: tuple[int, ...], inclusive: bool) -> float:
    """Brute force: count the pixels each box covers on a grid (independent of the formula)."""
    end = (
        1 if inclusive else 0
    )  # inclusive indices cover x1..x2; continuous [x1, x2) covers x1..x2-1
    grid = torch.zeros(2, 12, 12, dtype=torch.bool)
    for k, (x1, y1, x2, y2) in enumerate((a, b)):
        grid[k, y1 : y2 + end, x1 : x2 + end] = True
    union = int((grid[0] | grid[1]).sum())
    return int((grid[0] & grid[1]).sum()) / union if union else float("nan")


@given(positive_grid_box, positive_grid_box)
def test_iou_counts_pixels_and_the_plus_one_convention_is_a_shift(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int]
) -> None:
    # Continuous xyxy on integer corners: the box covers pixels x1..x2-1 -> plain box_iou.
    ta, tb = as_tensor([a], torch.float64), as_tensor([b], torch.float64)
    assert math.isclose(impl.box_iou(ta, tb).item(), _pixel_iou(a, b, inclusive=False))
    # VOC devkit / py-faster-rcnn voc_eval.py: inclusive pixel indices, width x2 - x1 + 1.
    # That is the continuous IoU of the boxes with x2, y2 moved one pixel further.
    shift = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    assert math.isclose(impl.box_iou(ta + shift, tb + shift).item(), _pixel_iou(a, b, True))


def test_plus_one_convention_by_hand() -> None:
    # [1,1,4,4] and [2,2,5,5] as inclusive pixel indices: 4x4 = 16 pixels each, overlap 3x3 = 9,
    # IoU = 9 / (16 + 16 - 9) = 9/23 = 0.391; as continuous corners: 4 / 14 = 0.286.
    a, b = torch.tensor([[1.0, 1.0, 4.0, 4.0]]), torch.tensor([[2.0, 2.0, 5.0, 5.0]])
    shift = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert_close(impl.box_iou(a + shift, b + shift), torch.tensor([[9 / 23]]))
    assert_close(impl.box_iou(a, b), torch.tensor([[4 / 14]]))


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("name", CHECKED)
@pytest.mark.parametrize(("n", "m"), [(0, 3), (3, 0), (0, 0)])
def test_empty_sets_give_empty_matrices(name: str, n: int, m: int) -> None:
    gen = torch.Generator().manual_seed(0)
    out = getattr(impl, name)(random_boxes(n, gen), random_boxes(m, gen))
    assert tuple(out.shape) == (n, m)


@pytest.mark.parametrize("name", PAIRWISE)
def test_two_zero_area_boxes_give_nan_like_torchvision(name: str) -> None:
    # The union is empty, 0 / 0 = nan; torchvision adds no eps to it. Same point or not.
    points = torch.tensor([[1.0, 1.0, 1.0, 1.0], [3.0, 3.0, 3.0, 3.0]])
    out = getattr(impl, name)(points, points)
    assert bool(out.isnan().all()), out
    assert_close(out, getattr(tv, name)(points, points))


def test_zero_area_box_inside_a_positive_one() -> None:
    # The union is the positive box: IoU = 0 / 4 = 0. CIoU is nan: atan(0 / 0) for the point.
    box, point = torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    assert_equal(impl.box_iou(box, point), torch.tensor([[0.0]]))
    assert bool(impl.complete_box_iou(box, point).isnan().all())
    assert_close(impl.complete_box_iou(box, point), tv.complete_box_iou(box, point))


def test_iou_pair_returns_zero_for_an_empty_union() -> None:
    # Documented difference: the scalar interview answer guards the division, box_iou does not.
    # box_iou_naive, the baseline of box_iou, keeps box_iou's nan.
    assert impl.iou_pair((1, 1, 1, 1), (1, 1, 1, 1)) == 0.0
    pts = torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 5.0]])
    assert bool(impl.box_iou_naive(pts, pts).isnan().all())
    assert bool(impl.box_iou(pts, pts).isnan().all())
    assert_close(impl.box_iou_naive(pts, pts), impl.box_iou(pts, pts).double())


def test_nan_coordinates_give_nan_in_all_three() -> None:
    # A NaN coordinate must not turn into a silent 0.0 (union > 0 is False for NaN).
    bad, good = (0.0, 0.0, float("nan"), 1.0), (0.0, 0.0, 1.0, 1.0)
    assert math.isnan(impl.iou_pair(bad, good))
    tb, tg = torch.tensor([bad]), torch.tensor([good])
    assert bool(impl.box_iou_naive(tb, tg).isnan().all())
    assert bool(impl.box_iou(tb, tg).isnan().all())


def test_rotated_boxes_need_torchvision_fmt_cxcywhr() -> None:
    # Backs the page's rotated-box answer (torchvision 0.29 box_iou(fmt="cxcywhr"), angles in
    # degrees). A 2x2 square and the same square turned 45 degrees about its centre meet in a
    # regular octagon of area 8(sqrt(2) - 1); the union is 8 - 8(sqrt(2) - 1), so IoU = 1/sqrt(2).
    square = torch.tensor([[0.0, 0.0, 2.0, 2.0, 0.0]])
    turned = torch.tensor([[0.0, 0.0, 2.0, 2.0, 45.0]])
    assert_close(tv.box_iou(square, turned, fmt="cxcywhr"), torch.tensor([[1 / math.sqrt(2)]]))
    # The axis-aligned enclosing boxes would say 4 / 8 = 0.5: [-1,-1,1,1] vs [-sqrt2,..,sqrt2].
    r = math.sqrt(2)
    aligned = impl.box_iou(torch.tensor([[-1.0, -1.0, 1.0, 1.0]]), torch.tensor([[-r, -r, r, r]]))
    assert_close(aligned, torch.tensor([[0.5]]))


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "dtype",
    [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.bfloat16],
)
@pytest.mark.parametrize("name", PAIRWISE)
def test_output_dtype_and_values_follow_torchvision(name: str, dtype: torch.dtype) -> None:
    b1 = torch.tensor([[0, 0, 20, 20], [10, 0, 30, 10], [0, 0, 120, 100]])
    b2 = torch.tensor([[5, 5, 25, 25], [0, 0, 100, 120]])
    x1, x2 = b1.to(dtype), b2.to(dtype)
    expected = getattr(tv, name)(x1, x2)
    actual = getattr(impl, name)(x1, x2)
    assert actual.dtype == expected.dtype == torch.float32
    assert_close(actual, expected, atol=1e-6)


def test_uint8_areas_do_not_overflow() -> None:
    # 120 * 100 = 12000 does not fit in 8 bits; the integer upcast keeps it exact.
    # [0,0,120,100] vs [0,0,100,120]: intersection 100*100, union 2*12000 - 10000.
    b1, b2 = torch.tensor([[0, 0, 120, 100]]), torch.tensor([[0, 0, 100, 120]])
    expected = torch.tensor([[10000 / 14000]])
    assert_close(impl.box_iou(b1.to(torch.uint8), b2.to(torch.uint8)), expected)


def test_mixed_float_dtypes_promote_like_torch() -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    for name in PAIRWISE:
        out = getattr(impl, name)(a, a.double())
        assert out.dtype == torch.float64 == getattr(tv, name)(a, a.double()).dtype


# ---------------------------------------------------------------- properties


@given(grid_boxes, grid_boxes)
def test_pairwise_functions_are_symmetric(
    boxes1: list[tuple[int, int, int, int]], boxes2: list[tuple[int, int, int, int]]
) -> None:
    b1, b2 = as_tensor(boxes1, torch.float64), as_tensor(boxes2, torch.float64)
    for name in PAIRWISE:
        fn = getattr(impl, name)
        assert_close(fn(b1, b2), fn(b2, b1).T, atol=1e-12, inputs={"fn": name})


@given(positive_grid_boxes, positive_grid_boxes)
def test_ranges_and_ordering(
    boxes1: list[tuple[int, int, int, int]], boxes2: list[tuple[int, int, int, int]]
) -> None:
    b1, b2 = as_tensor(boxes1, torch.float64), as_tensor(boxes2, torch.float64)
    iou = impl.box_iou(b1, b2)
    giou = impl.generalized_box_iou(b1, b2)
    diou = impl.distance_box_iou(b1, b2)
    ciou = impl.complete_box_iou(b1, b2)
    _check_ranges(iou, giou, diou, ciou)


def _check_ranges(
    iou: torch.Tensor, giou: torch.Tensor, diou: torch.Tensor, ciou: torch.Tensor
) -> None:
    tol = 1e-12
    assert bool(((iou >= 0) & (iou <= 1)).all())
    assert bool(((giou >= -1) & (giou <= iou + tol)).all())  # GIoU is a lower bound of IoU
    assert bool(((diou > -1) & (diou <= iou + tol)).all())  # rho < c for positive-area boxes
    # alpha, v >= 0 so CIoU <= DIoU. Disjoint: alpha * v = v^2 / (1 + v) <= 1/2 -> CIoU > -1.5.
    assert bool(((ciou > -1.5) & (ciou <= diou + tol)).all())
    # Overlapping: on each axis c > 2 * |centre gap|, so rho^2 / c^2 < 1/4 and CIoU > -1.25.
    overlap = iou > 0
    assert bool((diou[overlap] > -0.25).all())
    assert bool((ciou[overlap] > -1.25).all())


def test_ranges_on_random_float_boxes() -> None:
    gen = torch.Generator().manual_seed(21)
    b1, b2 = random_boxes(200, gen, torch.float64), random_boxes(200, gen, torch.float64)
    b1[:, 2:] += 0.01  # positive areas
    b2[:, 2:] += 0.01
    _check_ranges(
        impl.box_iou(b1, b2),
        impl.generalized_box_iou(b1, b2),
        impl.distance_box_iou(b1, b2),
        impl.complete_box_iou(b1, b2),
    )


@given(grid_boxes, grid_boxes)
def test_iou_is_one_iff_identical_positive_area_boxes(
    boxes1: list[tuple[int, int, int, int]], boxes2: list[tuple[int, int, int, int]]
) -> None:
    iou = impl.box_iou(as_tensor(boxes1, torch.float64), as_tensor(boxes2, torch.float64))
    for i, a in enumerate(boxes1):
        for j, b in enumerate(boxes2):
            positive = a[2] > a[0] and a[3] > a[1]
            assert (iou[i, j].item() == 1.0) == (a == b and positive), (a, b, iou[i, j])


@given(positive_grid_boxes, positive_grid_boxes)
def test_iou_pair_naive_and_vectorised_agree(
    boxes1: list[tuple[int, int, int, int]], boxes2: list[tuple[int, int, int, int]]
) -> None:
    b1, b2 = as_tensor(boxes1, torch.float64), as_tensor(boxes2, torch.float64)
    fast = impl.box_iou(b1, b2)
    assert_close(impl.box_iou_naive(b1, b2), fast, atol=1e-12)
    for i, a in enumerate(boxes1):
        for j, b in enumerate(boxes2):
            assert math.isclose(impl.iou_pair(a, b), fast[i, j].item(), abs_tol=1e-12)


def test_naive_matches_vectorised_on_random_floats() -> None:
    gen = torch.Generator().manual_seed(3)
    b1, b2 = random_boxes(40, gen, torch.float64), random_boxes(30, gen, torch.float64)
    b1[:, 2:] += 0.5  # positive areas: the empty-union convention differs (tested above)
    assert_close(impl.box_iou_naive(b1, b2), impl.box_iou(b1, b2), atol=1e-12)


# ---------------------------------------------------------------- gradients


def test_iou_has_no_gradient_for_disjoint_boxes_but_giou_and_diou_do() -> None:
    target = torch.tensor([[2.0, 0.0, 3.0, 1.0]])
    for name, zero_grad in [
        ("box_iou", True),
        ("generalized_box_iou", False),
        ("distance_box_iou", False),
    ]:
        pred = torch.tensor([[0.0, 0.0, 1.0, 1.0]], requires_grad=True)
        getattr(impl, name)(pred, target).sum().backward()
        assert pred.grad is not None
        assert bool((pred.grad == 0).all()) == zero_grad, (name, pred.grad)


@pytest.mark.parametrize("name", ["generalized_box_iou", "distance_box_iou", "complete_box_iou"])
def test_gradients_match_torchvision(name: str) -> None:
    # CIoU: alpha is a constant for autograd in both (torch.no_grad); a different choice would
    # change the gradient, not the value.
    gen = torch.Generator().manual_seed(11)
    b1, b2 = random_boxes(12, gen, torch.float64), random_boxes(9, gen, torch.float64)
    b1[:, 2:] += 0.5
    b2[:, 2:] += 0.5
    grads = []
    for fn in (getattr(impl, name), getattr(tv, name)):
        x = b1.clone().requires_grad_(True)
        fn(x, b2).sum().backward()
        grads.append(x.grad)
    assert_close(grads[0], grads[1], atol=1e-10)


# ---------------------------------------------------------------- the GIoU loss


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_giou_loss_matches_torchvision(reduction: str) -> None:
    gen = torch.Generator().manual_seed(5)
    for _ in range(cases(300)):
        n = int(torch.randint(0, 10, (1,), generator=gen))
        b1, b2 = random_boxes(n, gen), random_boxes(n, gen)
        assert_close(
            impl.generalized_box_iou_loss(b1, b2, reduction=reduction),
            tv.generalized_box_iou_loss(b1, b2, reduction=reduction),
            atol=1e-5,
            inputs={"boxes1": b1, "boxes2": b2},
        )


def test_giou_loss_is_one_minus_the_diagonal_of_pairwise_giou() -> None:
    # Element-wise on matched pairs = the diagonal of the N x N pairwise matrix (up to eps).
    gen = torch.Generator().manual_seed(9)
    b1, b2 = random_boxes(50, gen, torch.float64), random_boxes(50, gen, torch.float64)
    b1[:, 2:] += 0.5
    loss = impl.generalized_box_iou_loss(b1, b2)
    assert_close(loss, 1 - impl.generalized_box_iou(b1, b2).diagonal(), atol=1e-6)


def test_giou_loss_gradient_and_empty_mean() -> None:
    gen = torch.Generator().manual_seed(2)
    b1, b2 = random_boxes(20, gen, torch.float64), random_boxes(20, gen, torch.float64)
    grads = []
    for fn in (impl.generalized_box_iou_loss, tv.generalized_box_iou_loss):
        x = b1.clone().requires_grad_(True)
        fn(x, b2, reduction="mean").backward()
        grads.append(x.grad)
    assert_close(grads[0], grads[1], atol=1e-10)
    empty = torch.zeros(0, 4, requires_grad=True)
    out = impl.generalized_box_iou_loss(empty, torch.zeros(0, 4), reduction="mean")
    assert out.item() == 0.0  # not nan
    out.backward()  # still part of the graph


def test_distance_and_complete_losses_are_one_minus_the_diagonal() -> None:
    # The page says torchvision's DIoU/CIoU losses are 1 - DIoU/CIoU on matched pairs.
    gen = torch.Generator().manual_seed(4)
    b1, b2 = random_boxes(50, gen, torch.float64), random_boxes(50, gen, torch.float64)
    b1[:, 2:] += 0.5
    assert_close(
        tv.distance_box_iou_loss(b1, b2), 1 - impl.distance_box_iou(b1, b2).diagonal(), atol=1e-6
    )
    assert_close(
        tv.complete_box_iou_loss(b1, b2), 1 - impl.complete_box_iou(b1, b2).diagonal(), atol=1e-6
    )


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", CHECKED)
def test_errors_name_the_argument(name: str) -> None:
    fn = getattr(impl, name)
    good = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with raises_naming(TypeError, "boxes1", "[N, 4]"):
        fn([[0.0, 0.0, 1.0, 1.0]], good)
    with raises_naming(TypeError, "boxes2", "dtype"):
        fn(good, good.bool())
    with raises_naming(TypeError, "boxes1", "dtype"):
        fn(good.to(torch.complex64), good)
    for bad_shape in [(3, 5), (4,), (2, 3, 4)]:
        with raises_naming(ValueError, "boxes1", "[N, 4]"):
            fn(torch.zeros(bad_shape), good)
        with raises_naming(ValueError, "boxes2", "[N, 4]"):
            fn(good, torch.zeros(bad_shape))
    with raises_naming(ValueError, "boxes1", "x2 >= x1"):
        fn(torch.tensor([[2.0, 0.0, 1.0, 1.0]]), good)
    with raises_naming(ValueError, "boxes2", "y2 >= y1"):
        fn(good, torch.tensor([[0.0, 2.0, 1.0, 1.0]]))


def test_box_area_matches_torchvision_and_checks_its_input() -> None:
    gen = torch.Generator().manual_seed(8)
    boxes = random_boxes(200, gen)
    assert_equal(impl.box_area(boxes), tv.box_area(boxes))
    assert_equal(impl.box_area(boxes.to(torch.uint8)), tv.box_area(boxes.to(torch.uint8).int()))
    with raises_naming(TypeError, "boxes", "[N, 4]", "list"):
        impl.box_area([[0.0, 0.0, 1.0, 1.0]])
    with raises_naming(TypeError, "boxes", "[N, 4]", "ndarray"):
        impl.box_area(boxes.numpy())
    with raises_naming(ValueError, "boxes", "[N, 4]"):
        impl.box_area(torch.zeros(2, 5))
    with raises_naming(ValueError, "boxes", "x2 >= x1"):
        impl.box_area(torch.tensor([[2.0, 2.0, 0.0, 0.0]]))  # would be a "+4" area


def test_iou_pair_rejects_inverted_and_short_boxes() -> None:
    with raises_naming(ValueError, "box1", "x2 >= x1"):
        impl.iou_pair((2, 0, 1, 1), (0, 0, 1, 1))  # was a silent 0.0
    with raises_naming(ValueError, "box2", "y2 >= y1"):
        impl.iou_pair((0, 0, 1, 1), (0, 2, 1, 1))
    with raises_naming(ValueError, "box2", "(x1, y1, x2, y2)"):
        impl.iou_pair((0, 0, 1, 1), (0, 0, 1))


@given(positive_grid_boxes)
def test_ciou_equals_diou_when_aspect_ratios_match(boxes: list[tuple[int, int, int, int]]) -> None:
    # v = 0 when w/h agree: every box against copies of itself scaled and shifted.
    b1 = as_tensor(boxes, torch.float64)
    b2 = torch.cat([b1[:, :2] * 3 + 1, b1[:, :2] * 3 + 1 + (b1[:, 2:] - b1[:, :2]) * 2], dim=1)
    ciou, diou = impl.complete_box_iou(b1, b2), impl.distance_box_iou(b1, b2)
    assert_close(ciou.diagonal(), diou.diagonal(), atol=1e-12)


MATCHED_LOSSES = ["distance_box_iou_loss", "complete_box_iou_loss"]


@pytest.mark.parametrize("name", MATCHED_LOSSES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matched_losses_match_torchvision(name: str, dtype: torch.dtype) -> None:
    """Values for the three reductions and gradients, on cases(30) seeded sets of 0-200 pairs."""
    gen = torch.Generator().manual_seed(17)
    ours, ref = getattr(impl, name), getattr(tv, name)
    atol = 1e-5 if dtype == torch.float32 else 1e-10
    for k in range(cases(30)):
        n = 0 if k == 0 else int(torch.randint(1, 201, (1,), generator=gen))
        b1, b2 = random_boxes(n, gen, dtype), random_boxes(n, gen, dtype)
        b1[:, 2:] += 0.25  # a point box gives nan in both (atan(0 / 0)); checked below
        for reduction in ("none", "mean", "sum"):
            assert_close(
                ours(b1, b2, reduction=reduction),
                ref(b1, b2, reduction=reduction),
                atol=atol,
                inputs={"boxes1": b1, "boxes2": b2, "reduction": reduction},
            )
        grads = []
        for fn in (ours, ref):
            x = b1.clone().requires_grad_(True)
            fn(x, b2, reduction="sum").backward()
            grads.append(x.grad)
        assert_close(grads[0], grads[1], atol=atol * 10, inputs={"boxes1": b1, "boxes2": b2})


def test_ciou_loss_is_one_minus_the_diagonal_and_nan_for_a_point_box() -> None:
    gen = torch.Generator().manual_seed(19)
    b1, b2 = random_boxes(60, gen, torch.float64), random_boxes(60, gen, torch.float64)
    b1[:, 2:] += 0.5
    b2[:, 2:] += 0.5
    loss = impl.complete_box_iou_loss(b1, b2)
    assert_close(loss, 1 - impl.complete_box_iou(b1, b2).diagonal(), atol=1e-6)
    assert bool(((loss >= 0) & (loss < 2.5)).all())
    point = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    box = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    assert bool(impl.complete_box_iou_loss(point, box).isnan().all())
    assert bool(tv.complete_box_iou_loss(point, box).isnan().all())
    # torchvision 0.29 passes eps only to alpha; ours uses it in the union and c^2 too.
    a, b = torch.tensor([[0.0, 0.0, 2.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0, 2.0]])
    assert not torch.allclose(
        impl.complete_box_iou_loss(a, b, eps=1.0), tv.complete_box_iou_loss(a, b, eps=1.0)
    )


@pytest.mark.parametrize("chunk_size", [1, 3, 64, 4096])
def test_box_iou_chunked_equals_box_iou(chunk_size: int) -> None:
    gen = torch.Generator().manual_seed(23)
    for n in (0, 1, 7, 130):
        b1, b2 = random_boxes(n, gen), random_boxes(50, gen)
        assert_close(impl.box_iou_chunked(b1, b2, chunk_size), impl.box_iou(b1, b2), atol=0, rtol=0)
    with raises_naming(ValueError, "chunk_size"):
        impl.box_iou_chunked(b1, b2, 0)
    with raises_naming(TypeError, "boxes2"):
        impl.box_iou_chunked(b1, [[0, 0, 1, 1]])


@pytest.mark.parametrize("name", MATCHED_LOSSES)
def test_matched_loss_errors(name: str) -> None:
    fn, good = getattr(impl, name), torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with raises_naming(ValueError, "boxes1", "boxes2", "[N, 4]"):
        fn(good, good.repeat(2, 1))
    with raises_naming(ValueError, "reduction", "'mean'"):
        fn(good, good, reduction="avg")
    with raises_naming(TypeError, "boxes1"):
        fn([[0.0, 0.0, 1.0, 1.0]], good)


def test_giou_loss_errors() -> None:
    good = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with raises_naming(ValueError, "boxes1", "boxes2", "[N, 4]"):
        impl.generalized_box_iou_loss(good, good.repeat(2, 1))
    with raises_naming(ValueError, "reduction", "'mean'"):
        impl.generalized_box_iou_loss(good, good, reduction="avg")
    with raises_naming(ValueError, "boxes2", "x2 >= x1"):
        impl.generalized_box_iou_loss(good, torch.tensor([[2.0, 0.0, 1.0, 1.0]]))
    with raises_naming(TypeError, "boxes1"):
        impl.generalized_box_iou_loss((0, 0, 1, 1), good)


# ---------------------------------------------------------------- figures


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # no CJK font on CI is fine
@pytest.mark.parametrize(
    "draw", [figs.draw_cases, figs.draw_geometry, figs.draw_sliding, figs.draw_aspect]
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures_render(draw: object, lang: str) -> None:
    import matplotlib.figure

    fig = draw(lang)  # type: ignore[operator]
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.axes


def test_aspect_figure_separates_ciou_from_diou() -> None:
    # The sliding figure keeps the shapes fixed, so v is constant; this one varies only the shape.
    fig = figs.draw_aspect("en")
    lines = {line.get_label(): line.get_ydata() for line in fig.axes[0].lines}
    assert_close(lines["DIoU"], lines["IoU"], atol=1e-12)  # same centre: rho = 0
    gap = lines["DIoU"] - lines["CIoU"]
    assert gap.min() >= 0 and gap.max() > 0.015 and abs(gap[len(gap) // 2]) < 1e-12
    assert_close(fig.axes[1].lines[0].get_ydata(), gap, atol=1e-12)  # the lower panel: alpha * v
