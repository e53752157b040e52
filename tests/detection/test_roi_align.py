"""Tests for snippets/detection/roi_align.py: RoI Align, RoI Pool, bilinear interpolation.

References: torchvision.ops.roi_align / roi_pool (0.29.1, CPU kernels) and
torch.nn.functional.interpolate(mode="bilinear"), on seeded random cases in float64, plus
hand-computed values on f(y, x) = 4y + x, a linear map on which bilinear interpolation is exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.detection.roi_align")

F64 = torch.float64


# ---------------------------------------------------------------- helpers


def random_case(
    gen: torch.Generator, dtype: torch.dtype = F64, small: bool = False, big_map: bool = False
) -> dict:
    """A batch of small feature maps and random boxes: partly outside the map, tiny, zero-width.

    Box coordinates are in image pixels; ``spatial_scale`` maps them onto the feature map.
    """

    def rint(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    n, c = rint(1, 3), rint(1, 3)
    h, w = (rint(1, 5), rint(1, 5)) if small else (rint(1, 9), rint(1, 9))
    if big_map:
        h, w = rint(16, 32), rint(16, 32)
    scale = [1.0, 0.5, 0.25, 2.0, 1 / 3][rint(0, 4)]
    k = rint(0, 2) if small else rint(0, 6)
    size = torch.tensor([w, h], dtype=dtype) / scale
    xy = (torch.rand(k, 2, generator=gen, dtype=dtype) * 1.6 - 0.3) * size  # 30 % outside
    wh = torch.rand(k, 2, generator=gen, dtype=dtype) ** 2 * size  # many tiny boxes
    wh[torch.rand(k, generator=gen) < 0.2, 0] = 0.0  # zero width
    wh[torch.rand(k, generator=gen) < 0.1, 1] = 0.0  # zero height
    idx = torch.randint(0, n, (k, 1), generator=gen).to(dtype)
    return {
        "input": torch.randn(n, c, h, w, generator=gen, dtype=dtype),
        "boxes": torch.cat([idx, xy, xy + wh], 1),
        "output_size": (rint(1, 2), rint(1, 2)) if small else (rint(1, 4), rint(1, 4)),
        "spatial_scale": scale,
        "sampling_ratio": [-1, 0, 1, 2, 3][rint(0, 4)],
        "aligned": bool(rint(0, 1)),
    }


def pool_args(case: dict) -> dict:
    return {k: case[k] for k in ("input", "boxes", "output_size", "spatial_scale")}


def linear_map(h: int = 4, w: int = 4) -> torch.Tensor:
    """f(y, x) = 4y + x on an h x w grid: bilinear interpolation of it is exact inside the map."""
    y, x = torch.meshgrid(torch.arange(h, dtype=F64), torch.arange(w, dtype=F64), indexing="ij")
    return (4 * y + x)[None, None]


def box(*coords: float) -> torch.Tensor:
    return torch.tensor([[0.0, *coords]], dtype=F64)


def sum_hint(got: float, expected: float) -> str:
    """Name the summing mistake when `got` is a whole multiple of `expected`."""
    if expected and got != expected and abs(got / expected - round(got / expected)) < 1e-9:
        n = round(got / expected)
        if n >= 2:
            return f" ({n} x the expected value: samples summed instead of averaged?)"
    return ""


# ---------------------------------------------------------------- RoI Align vs torchvision


def test_roi_align_matches_torchvision_2000_cases() -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        case = random_case(gen)
        expected = torchvision.ops.roi_align(**case)
        assert_close(impl.roi_align(**case), expected, atol=1e-10, rtol=1e-10, inputs=case)


def test_roi_align_naive_matches_torchvision_150_small_cases() -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(150)):
        case = random_case(gen, small=True)
        expected = torchvision.ops.roi_align(**case)
        assert_close(impl.roi_align_naive(**case), expected, atol=1e-10, rtol=1e-10, inputs=case)


def test_roi_align_large_adaptive_grids() -> None:
    """Maps of 16-32 pixels: adaptive sampling uses up to ceil(32 / 1) = 32 points per axis."""
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(100)):
        case = random_case(gen, big_map=True)
        expected = torchvision.ops.roi_align(**case)
        assert_close(impl.roi_align(**case), expected, atol=1e-10, rtol=1e-10, inputs=case)


def test_roi_align_float32_200_cases() -> None:
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(200)):
        case = random_case(gen, dtype=torch.float32)
        expected = torchvision.ops.roi_align(**case)
        out = impl.roi_align(**case)
        assert out.dtype == torch.float32
        assert_close(out, expected, atol=1e-5, rtol=1e-5, inputs=case)


def test_roi_align_gradient_matches_torchvision_backward_200_cases() -> None:
    gen = torch.Generator().manual_seed(4)
    for _ in range(cases(200)):
        case = random_case(gen)
        x = case.pop("input").requires_grad_(True)
        out_ref = torchvision.ops.roi_align(x, **case)
        weight = torch.randn(out_ref.shape, generator=gen, dtype=F64)
        (g_ref,) = torch.autograd.grad((out_ref * weight).sum(), x)
        out = impl.roi_align(x, **case)
        (g,) = torch.autograd.grad((out * weight).sum(), x, allow_unused=True)
        g = torch.zeros_like(x) if g is None else g
        assert_close(g, g_ref, atol=1e-10, rtol=1e-10, inputs=case)


def test_roi_align_naive_gradient_matches_torchvision_30_cases() -> None:
    gen = torch.Generator().manual_seed(5)
    for _ in range(cases(30)):
        case = random_case(gen, small=True)
        x = case.pop("input").requires_grad_(True)
        out_ref = torchvision.ops.roi_align(x, **case)
        weight = torch.randn(out_ref.shape, generator=gen, dtype=F64)
        (g_ref,) = torch.autograd.grad((out_ref * weight).sum(), x)
        out = impl.roi_align_naive(x, **case)
        g = torch.zeros_like(x)  # no sample point at all: the output does not depend on x
        if out.requires_grad:
            (g,) = torch.autograd.grad((out * weight).sum(), x)
        assert_close(g, g_ref, atol=1e-10, rtol=1e-10, inputs=case)


def test_list_of_boxes_form_equals_torchvision() -> None:
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(3, 2, 7, 6, generator=gen, dtype=F64)
    per_image = [torch.rand(n, 2, generator=gen, dtype=F64) * 5 for n in (2, 0, 3)]
    boxes = [torch.cat([b, b + 1.5], 1) for b in per_image]
    for fn, ref, kw in (
        (impl.roi_align, torchvision.ops.roi_align, {"sampling_ratio": 2, "aligned": True}),
        (impl.roi_pool, torchvision.ops.roi_pool, {}),
    ):
        assert_close(fn(x, boxes, (3, 2), 1.0, **kw), ref(x, boxes, (3, 2), 1.0, **kw), atol=1e-10)


def test_no_boxes_gives_empty_output() -> None:
    x = torch.randn(2, 3, 5, 5, dtype=F64)
    empty = torch.zeros(0, 5, dtype=F64)
    for fn in (impl.roi_align, impl.roi_align_naive, impl.roi_pool, impl.roi_pool_naive):
        assert fn(x, empty, (2, 3)).shape == (0, 3, 2, 3)


# ---------------------------------------------------------------- RoI Pool vs torchvision


def test_roi_pool_matches_torchvision_2000_cases() -> None:
    gen = torch.Generator().manual_seed(10)
    for _ in range(cases(2000)):
        case = pool_args(random_case(gen))
        expected = torchvision.ops.roi_pool(**case)
        assert_close(impl.roi_pool(**case), expected, atol=0, rtol=0, inputs=case)


def test_roi_pool_half_integer_boxes_200_cases() -> None:
    """Coordinates on a 0.5 grid: rounding ties, which random floats never produce."""
    gen = torch.Generator().manual_seed(13)
    for _ in range(cases(200)):
        x = torch.randn(2, 2, 7, 6, generator=gen, dtype=F64)
        xy = torch.randint(-4, 14, (4, 2), generator=gen).to(F64) / 2
        wh = torch.randint(0, 10, (4, 2), generator=gen).to(F64) / 2
        idx = torch.randint(0, 2, (4, 1), generator=gen).to(F64)
        case = {"input": x, "boxes": torch.cat([idx, xy, xy + wh], 1), "output_size": (2, 3)}
        case["spatial_scale"] = [1.0, 0.5][int(torch.randint(0, 2, (1,), generator=gen))]
        expected = torchvision.ops.roi_pool(**case)
        assert_close(impl.roi_pool(**case), expected, atol=0, rtol=0, inputs=case)


def test_roi_pool_naive_matches_torchvision_150_cases() -> None:
    gen = torch.Generator().manual_seed(11)
    for _ in range(cases(150)):
        case = pool_args(random_case(gen))
        expected = torchvision.ops.roi_pool(**case)
        assert_close(impl.roi_pool_naive(**case), expected, atol=0, rtol=0, inputs=case)


def test_roi_pool_float32_and_gradient_200_cases() -> None:
    """Max pooling: the gradient goes to the arg-max of each bin (random values: no ties)."""
    gen = torch.Generator().manual_seed(12)
    for i in range(cases(200)):
        case = pool_args(random_case(gen, dtype=torch.float32 if i % 2 else F64))
        x = case.pop("input").requires_grad_(True)
        out_ref = torchvision.ops.roi_pool(x, **case)
        out = impl.roi_pool(x, **case)
        assert_close(out, out_ref, atol=0, rtol=0, inputs=case)
        if out.numel() and out.requires_grad:
            weight = torch.randn(out.shape, generator=gen, dtype=x.dtype)
            (g_ref,) = torch.autograd.grad((out_ref * weight).sum(), x)
            (g,) = torch.autograd.grad((out * weight).sum(), x)
            assert_close(g, g_ref, atol=1e-6, rtol=1e-6, inputs=case)


# ---------------------------------------------------------------- bilinear interpolation


@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_interpolate_matches_f_interpolate_400_cases(align_corners: bool) -> None:
    """Up- and downsampling, odd and even sizes, size 1 included (antialias=False)."""
    gen = torch.Generator().manual_seed(20 + align_corners)
    for _ in range(cases(400)):
        h, w, oh, ow = (int(v) for v in torch.randint(1, 12, (4,), generator=gen))
        x = torch.randn(2, 3, h, w, generator=gen, dtype=F64)
        expected = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=align_corners)
        got = impl.bilinear_interpolate(x, (oh, ow), align_corners=align_corners)
        assert_close(got, expected, atol=1e-10, rtol=1e-10, inputs={"shape": (h, w, oh, ow)})


def test_bilinear_interpolate_int_size_and_float32() -> None:
    x = torch.randn(1, 2, 5, 3)
    expected = F.interpolate(x, size=7, mode="bilinear", align_corners=False)
    assert_close(impl.bilinear_interpolate(x, 7), expected, atol=1e-5)


def test_sample_bilinear_hand_values() -> None:
    """On f = 4y + x (4 x 4): inside exact; y in [-1, 0) clamps to row 0; past H - 1 the last row."""
    f = linear_map()
    ys = torch.tensor([1.25, -0.5, -1.0, -1.01, 3.5, 4.0, 4.01], dtype=F64)
    xs = torch.tensor([2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], dtype=F64)
    expected = [7.5, 1.0, 1.0, 0.0, 13.0, 13.0, 0.0]
    got = impl.sample_bilinear(f, torch.tensor(0), ys, xs)
    assert got.shape == (7, 1)
    assert_close(got[:, 0], expected, atol=1e-12)


# ---------------------------------------------------------------- diagnoses


@pytest.mark.diagnosis
def test_roi_align_averages_the_samples() -> None:
    """A map of ones, a box well inside it: every bin must be 1 (3 x 3 samples each)."""
    ones = torch.ones(1, 1, 6, 6, dtype=F64)
    got = impl.roi_align(ones, box(0.5, 0.5, 3.5, 3.5), (2, 3), sampling_ratio=3)
    values = sorted({round(v, 9) for v in got.flatten().tolist()})
    assert values == [1.0], (
        f"each bin is the AVERAGE of its sample points (divide the sum by grid_h * grid_w = 9): "
        f"on a map of ones every output must be 1, got {values}"
    )


@pytest.mark.diagnosis
def test_spatial_scale_maps_image_to_feature_coordinates() -> None:
    """Box [0, 8] in image pixels with spatial_scale 0.5 is [0, 4] on the feature map."""
    f = linear_map(8, 8)
    # feature box [0, 4], 1 bin, 2 x 2 samples at 1 and 3: mean (2, 2): f = 10 (unscaled: 20)
    got = float(impl.roi_align(f, box(0, 0, 8, 8), 1, spatial_scale=0.5, sampling_ratio=2))
    assert abs(got - 10.0) < 1e-10, (
        f"roi_align: box coordinates are in IMAGE pixels; multiply them by spatial_scale before "
        f"sampling the feature map. Expected 10.0, got {got}"
        + (" (= the unscaled box)" if abs(got - 20.0) < 1e-9 else sum_hint(got, 10.0))
    )
    # RoI Pool: [0, 6] * 0.5 = [0, 3] -> rows/cols 0..3 -> max f(3, 3) = 15 (unscaled: 30)
    got = float(impl.roi_pool(f, box(0, 0, 6, 6), 1, spatial_scale=0.5))
    assert got == 15.0, (
        f"roi_pool: box coordinates are in IMAGE pixels; round(x * spatial_scale) gives the "
        f"feature-map cell. Expected 15.0, got {got}"
        + (" (= rows/cols 0..2: the +1 in the width is missing?)" if got == 10.0 else "")
    )


@pytest.mark.diagnosis
def test_align_corners_source_coordinates() -> None:
    """[0, 1] -> 4 and [0, 1, 2, 3] -> 2, both conventions, by hand."""
    up = torch.tensor([[[[0.0, 1.0]]]], dtype=F64)
    down = torch.tensor([[[[0.0, 1.0, 2.0, 3.0]]]], dtype=F64)
    for ac, exp_up, exp_down in (
        (False, [0.0, 0.25, 0.75, 1.0], [0.5, 2.5]),  # x_src = (x + .5) * in / out - .5
        (True, [0.0, 1 / 3, 2 / 3, 1.0], [0.0, 3.0]),  # x_src = x * (in - 1) / (out - 1)
    ):
        got_up = impl.bilinear_interpolate(up, (1, 4), align_corners=ac).flatten().tolist()
        got_down = impl.bilinear_interpolate(down, (1, 2), align_corners=ac).flatten().tolist()
        ok = np.allclose(got_up, exp_up) and np.allclose(got_down, exp_down)
        assert ok, (
            f"with align_corners={ac}, resizing [0, 1] to 4 and [0, 1, 2, 3] to 2 must give "
            f"{[round(v, 4) for v in exp_up]} and {exp_down}, got "
            f"{[round(v, 4) for v in got_up]} and {[round(v, 4) for v in got_down]}. "
            f"align_corners=False maps output pixel x to x_src = (x + 0.5) * in/out - 0.5 (pixel "
            f"centres, clamped at 0); align_corners=True maps it to x * (in - 1)/(out - 1) "
            f"(corner pixels coincide)"
        )


@pytest.mark.diagnosis
def test_aligned_true_shifts_by_half_a_pixel_after_scaling() -> None:
    """aligned=True samples at x * spatial_scale - 0.5."""
    f = linear_map()
    # box [0, 2] -> [-0.5, 1.5], 2 samples per axis at 0 and 1: mean 0.5, f = 2.5 (no shift: 5)
    got = float(impl.roi_align(f, box(0, 0, 2, 2), 1, aligned=True))
    assert abs(got - 2.5) < 1e-10, (
        f"aligned=True must subtract 0.5 from every box coordinate (pixel centres sit at "
        f"integer + 0.5): expected 2.5, got {got}"
        + (" = the value without the shift" if abs(got - 5.0) < 1e-9 else sum_hint(got, 2.5))
    )
    # with spatial_scale 0.5: [0, 4] -> [0, 2] -> [-0.5, 1.5] again; (x - 0.5) * 0.5 gives 3.75
    got = float(impl.roi_align(f, box(0, 0, 4, 4), 1, spatial_scale=0.5, aligned=True))
    assert abs(got - 2.5) < 1e-10, (
        f"aligned=True: the -0.5 is in FEATURE-map pixels, applied after scaling: "
        f"x * spatial_scale - 0.5, not (x - 0.5) * spatial_scale. Expected 2.5, got {got}"
        + (" (7.5 = spatial_scale ignored)" if abs(got - 7.5) < 1e-9 else "")
    )


@pytest.mark.diagnosis
def test_roi_align_does_not_round_box_coordinates() -> None:
    """Box [0.4, 2.4]: samples at 0.9 and 1.9, mean 1.4, f = 7.0; rounding to [0, 2] gives 5."""
    f = linear_map()
    got = float(impl.roi_align(f, box(0.4, 0.4, 2.4, 2.4), 1, sampling_ratio=2))
    assert abs(got - 7.0) < 1e-10, (
        f"RoI Align must not round (or floor) the box coordinates: that is RoI Pool's first "
        f"quantisation. Expected 7.0, got {got}"
        + (
            " = the value for the rounded box [0, 2]"
            if abs(got - 5.0) < 1e-9
            else sum_hint(got, 7.0)
        )
    )


@pytest.mark.diagnosis
def test_sampling_ratio_minus_one_is_adaptive() -> None:
    """f = x^2 at x = 0..7 on one row, box x in [0, 6], 1 bin: ceil(6 / 1) = 6 samples.

    At x = i + 0.5 bilinear interpolation gives (i^2 + (i + 1)^2) / 2: 0.5, 2.5, ..., 30.5,
    mean 73 / 6 = 12.1667; 2 samples (x = 1.5, 4.5) give (2.5 + 20.5) / 2 = 11.5.
    """
    f = (torch.arange(8, dtype=F64) ** 2).view(1, 1, 1, 8)
    expected = 73 / 6
    got = float(impl.roi_align(f, box(0, 0, 6, 1), 1, sampling_ratio=-1))
    assert abs(got - expected) < 1e-10, (
        f"sampling_ratio <= 0 is adaptive: ceil(roi_width / output_width) points per bin along "
        f"x (and likewise along y), here 6. Expected {expected:.4f}, got {got:.4f}"
        + sum_hint(got, expected)
        + (
            " (0: on this 1-row map every sample has y = 0.5 in [H - 1, H] and must use the last "
            "row, not be zeroed)"
            if got == 0.0
            else ""
        )
    )
    got = float(impl.roi_align(f, box(0, 0, 6, 1), 1, sampling_ratio=2))
    assert abs(got - 11.5) < 1e-10, (
        f"sampling_ratio = 2 means exactly 2 x 2 points per bin: expected 11.5, got {got}"
    )


@pytest.mark.diagnosis
def test_points_outside_the_map_follow_torchvision() -> None:
    """One sample at each box centre (sampling_ratio=1), f = 4y + x on 4 x 4."""
    f = linear_map()
    rows = [
        ((0, -1, 2, 0), 1.0, "y = -0.5 clamps to row 0"),
        ((0, -2, 2, -1), 0.0, "y = -1.5 is more than one pixel outside: 0"),
        ((0, 3, 2, 4), 13.0, "y = 3.5 (between H - 1 and H) uses the last row"),
        ((0, 4, 2, 5), 0.0, "y = 4.5 > H: 0"),
        ((-2, 0, -1, 2), 0.0, "x = -1.5: 0"),
    ]
    for coords, expected, why in rows:
        got = float(impl.roi_align(f, box(*coords), 1, sampling_ratio=1))
        assert abs(got - expected) < 1e-10, (
            f"sample points outside the map: torchvision zeroes a point only when y < -1, y > H, "
            f"x < -1 or x > W; otherwise it clamps negative coordinates to 0 and coordinates past "
            f"the last pixel to it ({why}). Box {coords}: expected {expected}, got {got}"
        )


@pytest.mark.diagnosis
def test_legacy_mode_forces_rois_to_one_pixel() -> None:
    """aligned=False: a zero-size box becomes 1 x 1, one sample at (1.5, 1.5), f = 7.5."""
    f = linear_map()
    got = float(impl.roi_align(f, box(1, 1, 1, 1), 1))
    assert abs(got - 7.5) < 1e-10, (
        f"aligned=False clamps roi_width and roi_height to at least 1 (torchvision's 'force "
        f"malformed ROIs to be 1x1'): expected 7.5, got {got}"
    )
    got = float(impl.roi_align(f, box(1, 1, 1, 1), 1, aligned=True))
    assert got == 0.0, (
        f"aligned=True does NOT clamp: a zero-size box has ceil(0) = 0 samples and gives 0, "
        f"got {got}"
    )


@pytest.mark.diagnosis
def test_roi_pool_rounds_half_away_from_zero() -> None:
    """f = -(4y + x): the max of a window is its top-left cell. C's round(0.5) = 1."""
    f = -linear_map()
    got = float(impl.roi_pool(f, box(0.5, 0.5, 2.5, 2.5), 1))
    assert got == -5.0, (
        f"roi_pool rounds box coordinates with C's round(): halves go away from zero, "
        f"round(0.5) = 1, round(2.5) = 3 (torch.round gives 0 and 2). Expected the window to "
        f"start at cell (1, 1): -5.0, got {got}"
    )


@pytest.mark.diagnosis
def test_roi_pool_counts_both_end_pixels() -> None:
    """Box [0, 2] covers cells 0, 1, 2 (width x2 - x1 + 1 = 3): max of f = 4y + x is f(2, 2)."""
    got = float(impl.roi_pool(linear_map(), box(0, 0, 2, 2), 1))
    assert got == 10.0, (
        f"roi_pool's RoI width is x2 - x1 + 1 (both end cells are included): expected 10.0, "
        f"got {got}" + (" = the max without the +1" if got == 5.0 else "")
    )


@pytest.mark.diagnosis
def test_roi_pool_bins_use_floor_and_ceil() -> None:
    """3 cells in 2 bins of 1.5: floor/ceil give [0, 2) and [1, 3), overlapping."""
    got = impl.roi_pool(linear_map(), box(0, 0, 2, 2), 2).flatten().tolist()
    assert got == [5.0, 6.0, 9.0, 10.0], (
        f"roi_pool's bin i covers cells floor(i * bin) to ceil((i + 1) * bin) - 1, bin = "
        f"roi_size / output_size (bins may overlap). Expected [5, 6, 9, 10], got {got}"
    )


@pytest.mark.diagnosis
def test_roi_pool_empty_bin_is_zero() -> None:
    f = linear_map() + 100.0
    got = float(impl.roi_pool(f, box(10, 10, 12, 12), 1))  # entirely right of / below the map
    assert got == 0.0, (
        f"a RoI Pool bin that covers no cell of the map (clipped to nothing) outputs 0, "
        f"not -inf or a clamped border value: got {got}"
    )


# ---------------------------------------------------------------- bad inputs


def test_input_errors() -> None:
    x = torch.randn(2, 1, 4, 4, dtype=F64)
    b = box(0, 0, 2, 2)
    for fn in (impl.roi_align, impl.roi_pool, impl.roi_align_naive, impl.roi_pool_naive):
        with raises_naming(TypeError, "input", "[N, C, H, W]"):
            fn(x.numpy(), b, 2)
        with raises_naming(ValueError, "input", "[N, C, H, W]"):
            fn(x[0], b, 2)
        with raises_naming(TypeError, "boxes", "[K, 5]"):
            fn(x, b.tolist(), 2)
        with raises_naming(ValueError, "boxes", "[K, 5]"):
            fn(x, b[:, 1:], 2)
        with raises_naming(ValueError, "boxes", "[L, 4]"):
            fn(x, [b], 2)
        with raises_naming(TypeError, "boxes", "dtype"):
            fn(x, b.float(), 2)
        with raises_naming(ValueError, "boxes", "batch"):
            fn(x, torch.tensor([[2.0, 0, 0, 1, 1]], dtype=F64), 2)
        with raises_naming(ValueError, "boxes", "batch"):
            fn(x, torch.tensor([[0.5, 0, 0, 1, 1]], dtype=F64), 2)
        with raises_naming(ValueError, "boxes", "finite"):
            fn(x, box(0, 0, float("nan"), 1), 2)
        with raises_naming(ValueError, "output_size"):
            fn(x, b, 0)
        with raises_naming(TypeError, "output_size"):
            fn(x, b, 2.0)
        with raises_naming(ValueError, "spatial_scale"):
            fn(x, b, 2, -1.0)
        with raises_naming(TypeError, "spatial_scale"):
            fn(x, b, 2, True)
    for fn in (impl.roi_align, impl.roi_align_naive):
        with raises_naming(TypeError, "sampling_ratio"):
            fn(x, b, 2, 1.0, 2.0)
        with raises_naming(TypeError, "aligned"):
            fn(x, b, 2, 1.0, -1, 1)
    with raises_naming(ValueError, "size"):
        impl.bilinear_interpolate(x, (0, 3))
    with raises_naming(TypeError, "align_corners"):
        impl.bilinear_interpolate(x, 3, align_corners="yes")
    with raises_naming(TypeError, "input", "[N, C, H, W]"):
        impl.bilinear_interpolate([[1.0]], 3)


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.detection.roi_align import draw_pool_vs_align

    fig = draw_pool_vs_align(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 3
