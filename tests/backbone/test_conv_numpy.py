"""Tests for snippets/backbone/conv_numpy.py against torch.nn.functional.conv2d / unfold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.backbone.conv_numpy")


@pytest.fixture(autouse=True, scope="module")
def single_thread_torch():
    """Thousands of tiny reference convolutions: thread hand-offs would dominate (and on a busy
    2-core machine they did, ~100x slower), so the reference runs single-threaded here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def torch_conv2d(x, w, b, stride, padding, dilation, groups):
    """The reference: PyTorch's conv2d in float64 on the same NumPy arrays."""
    return F.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    ).numpy()


def random_config(rng: np.random.Generator, max_size: int = 9) -> dict:
    """A random valid conv2d configuration: odd/even sizes, non-square kernels, groups, pairs."""
    groups = int(rng.integers(1, 4))
    c_in = groups * int(rng.integers(1, 4))
    c_out = groups * int(rng.integers(1, 4))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
    padding = tuple(int(v) for v in rng.integers(0, 3, size=2))
    dilation = tuple(int(v) for v in rng.integers(1, 4, size=2))
    # Smallest input that still fits one dilated window, plus a random margin.
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + int(rng.integers(0, max_size))
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + int(rng.integers(0, max_size))
    # Int or pair, as a reader would pass them.
    as_arg = lambda pair: pair[0] if pair[0] == pair[1] and rng.random() < 0.5 else pair  # noqa: E731
    return {
        "input": rng.normal(size=(int(rng.integers(1, 4)), c_in, h, w)),
        "weight": rng.normal(size=(c_out, c_in // groups, kh, kw)),
        "bias": rng.normal(size=c_out) if rng.random() < 0.5 else None,
        "stride": as_arg(stride),
        "padding": as_arg(padding),
        "dilation": as_arg(dilation),
        "groups": groups,
    }


def check_against_torch(fn, cfg: dict) -> None:
    expected = torch_conv2d(
        cfg["input"], cfg["weight"], cfg["bias"], cfg["stride"], cfg["padding"], cfg["dilation"],
        cfg["groups"],
    )  # fmt: skip
    actual = fn(**cfg)
    shown = {k: (v.shape if isinstance(v, np.ndarray) else v) for k, v in cfg.items()}
    assert_close(actual, expected, inputs=shown, atol=1e-10, rtol=1e-10)


# ------------------------------------------------------------------ randomized comparisons


def test_conv2d_matches_torch_seeded_loop():
    """3000 seeded random configurations of the fast version against F.conv2d (float64)."""
    rng = np.random.default_rng(2024)
    for _ in range(cases(3000)):
        check_against_torch(impl.conv2d, random_config(rng))


def test_conv2d_naive_matches_torch_seeded_loop():
    """300 seeded random configurations of the loop version (slow in Python: keep them small)."""
    rng = np.random.default_rng(7)
    for _ in range(cases(300)):
        check_against_torch(impl.conv2d_naive, random_config(rng, max_size=5))


def test_conv2d_shift_add_matches_torch_seeded_loop():
    """1000 seeded random configurations of the k^2-tap version against F.conv2d (float64)."""
    rng = np.random.default_rng(2025)
    for _ in range(cases(1000)):
        check_against_torch(impl.conv2d_shift_add, random_config(rng))


@st.composite
def conv_configs(draw, max_size: int = 8) -> dict:
    seed = draw(st.integers(0, 2**32 - 1))
    groups = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, max_size))
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, max_size))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    rng = np.random.default_rng(seed)
    return {
        "input": rng.normal(size=(batch, c_in, h, w)),
        "weight": rng.normal(size=(c_out, c_in // groups, kh, kw)),
        "bias": rng.normal(size=c_out) if draw(st.booleans()) else None,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
    }


@settings(max_examples=cases(400))
@given(cfg=conv_configs())
def test_conv2d_matches_torch_hypothesis(cfg):
    check_against_torch(impl.conv2d, cfg)


@settings(max_examples=cases(200))
@given(cfg=conv_configs(max_size=4))
def test_conv2d_naive_matches_torch_hypothesis(cfg):
    check_against_torch(impl.conv2d_naive, cfg)


def test_smallest_inputs_and_depthwise():
    """Edge cases: 1x1 input with 1x1 kernel, kernel exactly the padded size, depthwise, N=0."""
    rng = np.random.default_rng(0)
    cases = [
        dict(input=rng.normal(size=(1, 1, 1, 1)), weight=rng.normal(size=(1, 1, 1, 1))),
        dict(input=rng.normal(size=(2, 3, 2, 3)), weight=rng.normal(size=(4, 3, 4, 5)), padding=1),
        dict(input=rng.normal(size=(2, 6, 5, 5)), weight=rng.normal(size=(6, 1, 3, 3)), groups=6),
        dict(input=rng.normal(size=(1, 2, 5, 5)), weight=rng.normal(size=(2, 2, 3, 3)), stride=9),
        dict(input=rng.normal(size=(0, 2, 5, 5)), weight=rng.normal(size=(3, 2, 3, 3))),
    ]
    for case in cases:
        full = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, **case}
        check_against_torch(impl.conv2d, full)
        check_against_torch(impl.conv2d_naive, full)
        check_against_torch(impl.conv2d_shift_add, full)


def test_im2col_matches_torch_unfold():
    """im2col has F.unfold's layout: [N, C*kH*kW, L], channel-major then kernel row, column."""
    rng = np.random.default_rng(3)
    for _ in range(cases(500)):
        cfg = random_config(rng)
        kh, kw = cfg["weight"].shape[2:]
        args = {k: cfg[k] for k in ("stride", "padding", "dilation")}
        expected = F.unfold(torch.from_numpy(cfg["input"]), (kh, kw), **args).numpy()
        actual = impl.im2col(cfg["input"], (kh, kw), **args)
        assert_close(actual, expected, inputs={"shape": cfg["input"].shape, **args}, atol=0, rtol=0)


def test_im2col_memory_blowup():
    """Stride 1, 'same' padding: the unfolded matrix holds kH*kW times as many numbers."""
    x = np.zeros((2, 8, 16, 16))
    cols = impl.im2col(x, 3, padding=1)
    assert_equal(np.array(cols.shape), np.array([2, 8 * 3 * 3, 16 * 16]))
    assert cols.size == 9 * x.size


def test_output_size_formula_matches_torch():
    rng = np.random.default_rng(11)
    for _ in range(cases(300)):
        cfg = random_config(rng)
        expected = torch_conv2d(*cfg.values()).shape[2:]
        st_, pd, dl = (np.broadcast_to(cfg[k], 2) for k in ("stride", "padding", "dilation"))
        actual = tuple(
            impl.conv_output_size(cfg["input"].shape[2 + a], cfg["weight"].shape[2 + a],
                                  int(st_[a]), int(pd[a]), int(dl[a]))
            for a in (0, 1)
        )  # fmt: skip
        assert actual == tuple(expected), (cfg["input"].shape, cfg["weight"].shape, actual)


# ------------------------------------------------------- cross-correlation vs convolution


def brute_force_true_convolution(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Definition: (I * K)[y, x] = sum_{m, n} I[m, n] K[y - m, x - n], full mode, then crop.

    Full output has size H + kH - 1; the 'valid' part (kernel entirely inside) starts at
    kH - 1. Written from the definition, independent of any flip trick.
    """
    h, w = image.shape
    kh, kw = kernel.shape
    full = np.zeros((h + kh - 1, w + kw - 1))
    for y in range(h + kh - 1):
        for x in range(w + kw - 1):
            for m in range(h):
                for n in range(w):
                    if 0 <= y - m < kh and 0 <= x - n < kw:
                        full[y, x] += image[m, n] * kernel[y - m, x - n]
    return full[kh - 1 : h, kw - 1 : w]


def test_worked_example_cross_correlation_is_minus_four():
    """The page's worked example. Hand computation, top-left window [[1,2],[4,5]]:

    cross-correlation: 1*1 + 2*0 + 4*0 + 5*(-1) = -4; every window has the same difference
    (a - d = -4, because d = a + 4 in this image), so the output is -4 everywhere.
    """
    image = np.arange(1, 10, dtype=float).reshape(1, 1, 3, 3)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)
    expected = np.full((2, 2), -4.0)
    assert_equal(impl.conv2d(image, kernel)[0, 0], expected)
    assert_equal(impl.conv2d_naive(image, kernel)[0, 0], expected)
    # PyTorch agrees: its conv2d is cross-correlation too.
    assert_equal(torch_conv2d(image, kernel, None, 1, 0, 1, 1)[0, 0], expected)


def test_worked_example_true_convolution_is_plus_four():
    """Flipped kernel [[-1,0],[0,1]]: -1*1 + 1*5 = +4 (hand computation), and brute force."""
    image = np.arange(1, 10, dtype=float).reshape(3, 3)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    assert_equal(brute_force_true_convolution(image, kernel), np.full((2, 2), 4.0))
    assert_equal(impl.convolve2d_true(image, kernel), np.full((2, 2), 4.0))


def test_convolve2d_true_matches_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(cases(200)):
        h, w = (int(v) for v in rng.integers(1, 8, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
        assert_close(
            impl.convolve2d_true(image, kernel),
            brute_force_true_convolution(image, kernel),
            inputs={"image": image, "kernel": kernel},
            atol=1e-12,
            rtol=1e-12,
        )


def test_symmetric_kernel_makes_both_the_same():
    """A kernel equal to its own 180-degree rotation gives the same result either way."""
    rng = np.random.default_rng(8)
    image, half = rng.normal(size=(6, 7)), rng.normal(size=(3, 3))
    kernel = half + half[::-1, ::-1]
    cross = impl.conv2d(image[None, None], kernel[None, None])[0, 0]
    assert_close(impl.convolve2d_true(image, kernel), cross, atol=1e-12, rtol=1e-12)


def test_integer_inputs_stay_exact():
    """Integer arrays give exact integer results (no float rounding), in 64 bits."""
    image = np.arange(1, 10).reshape(1, 1, 3, 3)
    kernel = np.array([[1, 0], [0, -1]]).reshape(1, 1, 2, 2)
    assert impl.conv2d(image, kernel).dtype == np.int64
    assert_equal(impl.conv2d(image, kernel), impl.conv2d_naive(image, kernel))


@pytest.mark.parametrize("fn_name", ["conv2d", "conv2d_naive", "conv2d_shift_add"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16])
def test_small_integer_dtypes_do_not_overflow(fn_name, dtype):
    """uint8 200 * ones(3x3) is 1800, not 1800 mod 256 = 8: integers accumulate in 64 bits.
    40 seeded images per dtype with values at the dtype's extremes, compared with the float64
    result (exact here: every sum is far below 2**53)."""
    fn, info = getattr(impl, fn_name), np.iinfo(dtype)
    assert_equal(fn(np.full((1, 1, 4, 4), 200, np.uint8), np.ones((1, 1, 3, 3), np.uint8)),
                 np.full((1, 1, 2, 2), 1800, np.uint64))  # fmt: skip
    rng = np.random.default_rng(14)
    for _ in range(cases(40)):
        x = rng.integers(info.min, info.max, size=(2, 3, 6, 5), endpoint=True).astype(dtype)
        w = rng.integers(info.min, info.max, size=(4, 3, 3, 2), endpoint=True).astype(dtype)
        expected = torch_conv2d(x.astype(np.float64), w.astype(np.float64), None, 1, 1, 1, 1)
        actual = fn(x, w, padding=1)
        assert actual.dtype.kind == np.dtype(dtype).kind and actual.dtype.itemsize == 8
        assert_equal(actual.astype(np.float64), expected)


def test_numpy_convolve_flips_and_correlate_does_not():
    """NumPy's own 1-D pair: np.convolve flips the second argument, np.correlate does not."""
    rng = np.random.default_rng(9)
    for _ in range(cases(50)):
        a, v = rng.normal(size=int(rng.integers(3, 12))), rng.normal(size=3)
        assert_close(np.convolve(a, v, "valid"), np.correlate(a, v[::-1], "valid"), atol=1e-12)


def test_backward_is_convolution_with_flipped_kernel():
    """Backprop through a stride-1 conv, with our forward conv2d only (checked against autograd):

    dL/dx = conv2d(grad_out zero-padded by k-1, weight with in/out swapped and flipped) -- a
    "full" true convolution; dL/dW = cross-correlation of the input with grad_out.
    """
    rng = np.random.default_rng(12)
    for _ in range(30):
        n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
        kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
        h, w = kh + int(rng.integers(0, 5)), kw + int(rng.integers(0, 5))
        x, wt = rng.normal(size=(n, c_in, h, w)), rng.normal(size=(c_out, c_in, kh, kw))
        gy = rng.normal(size=(n, c_out, h - kh + 1, w - kw + 1))
        xt = torch.from_numpy(x).requires_grad_()
        wtt = torch.from_numpy(wt).requires_grad_()
        F.conv2d(xt, wtt).backward(torch.from_numpy(gy))
        flipped = np.ascontiguousarray(wt.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        dx = impl.conv2d(gy, flipped, padding=(kh - 1, kw - 1))
        dw = impl.conv2d(x.transpose(1, 0, 2, 3), gy.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        assert_close(dx, xt.grad, atol=1e-10, rtol=1e-10)
        assert_close(dw, wtt.grad, atol=1e-10, rtol=1e-10)


def test_backward_with_stride_inserts_zeros():
    """Stride s: dL/dx is the same flipped-kernel convolution of grad_out after inserting s-1
    zeros between its elements (plus the rows/columns the forward pass dropped by flooring)."""
    rng = np.random.default_rng(13)
    for _ in range(30):
        c_in, c_out = (int(v) for v in rng.integers(1, 4, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        h, w = kh + int(rng.integers(0, 7)), kw + int(rng.integers(0, 7))
        x, wt = rng.normal(size=(2, c_in, h, w)), rng.normal(size=(c_out, c_in, kh, kw))
        h_out, w_out = (h - kh) // sh + 1, (w - kw) // sw + 1
        gy = rng.normal(size=(2, c_out, h_out, w_out))
        xt = torch.from_numpy(x).requires_grad_()
        F.conv2d(xt, torch.from_numpy(wt), stride=(sh, sw)).backward(torch.from_numpy(gy))
        spread = np.zeros((2, c_out, (h_out - 1) * sh + 1, (w_out - 1) * sw + 1))
        spread[:, :, ::sh, ::sw] = gy  # s-1 zeros between neighbours
        rh, rw = (h - kh) % sh, (w - kw) % sw  # input rows/cols no window reached
        spread = np.pad(spread, ((0, 0), (0, 0), (kh - 1, kh - 1 + rh), (kw - 1, kw - 1 + rw)))
        flipped = np.ascontiguousarray(wt.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        assert_close(impl.conv2d(spread, flipped), xt.grad, atol=1e-10, rtol=1e-10)


# ------------------------------------------------------------------------------ errors

X = np.zeros((2, 4, 6, 6))
W = np.zeros((8, 4, 3, 3))


@pytest.mark.parametrize("fn_name", ["conv2d", "conv2d_naive", "conv2d_shift_add"])
def test_errors(fn_name):
    fn = getattr(impl, fn_name)
    with raises_naming(ValueError, "input", "[N, C_in, H, W]"):
        fn(np.zeros((4, 6, 6)), W)
    with raises_naming(ValueError, "weight", "[C_out, C_in/groups, kH, kW]"):
        fn(X, np.zeros((8, 4, 3)))
    with raises_naming(ValueError, "weight", "C_in=4"):  # channel mismatch
        fn(X, np.zeros((8, 3, 3, 3)))
    with raises_naming(ValueError, "groups=3", "C_in=4"):
        fn(X, np.zeros((6, 1, 3, 3)), groups=3)
    with raises_naming(ValueError, "groups=2", "output channels"):
        fn(X, np.zeros((7, 2, 3, 3)), groups=2)
    with raises_naming(ValueError, "groups", "positive"):
        fn(X, W, groups=0)
    with raises_naming(ValueError, "weight", "padded input"):  # 7 > 6 + 2*0
        fn(X, np.zeros((8, 4, 7, 3)))
    with raises_naming(ValueError, "weight", "padded input"):  # dilated span 2*(3-1)+1 = 5 > 4
        fn(np.zeros((1, 4, 4, 4)), W, dilation=2)
    with raises_naming(ValueError, "stride", "positive"):
        fn(X, W, stride=0)
    with raises_naming(ValueError, "stride", "positive"):
        fn(X, W, stride=(1, -1))
    with raises_naming(ValueError, "dilation", "positive"):
        fn(X, W, dilation=0)
    with raises_naming(ValueError, "padding", "non-negative"):
        fn(X, W, padding=-1)
    with raises_naming(TypeError, "padding", "pair"):
        fn(X, W, padding=(1, 1, 1))
    with raises_naming(TypeError, "stride", "int"):
        fn(X, W, stride=1.5)
    with raises_naming(ValueError, "bias", "[C_out] = [8]"):
        fn(X, W, np.zeros(7))
    with raises_naming(ValueError, "bias", "[C_out] = [8]"):
        fn(X, W, np.zeros((8, 1)))
    with raises_naming(TypeError, "input", "numpy.ndarray"):
        fn(torch.zeros(2, 4, 6, 6), W)
    with raises_naming(TypeError, "weight", "dtype"):
        fn(X, W.astype(bool))


def test_conv_output_size_errors():
    """No ZeroDivisionError, no negative sizes, no silent list arithmetic."""
    with raises_naming(ValueError, "stride", ">= 1"):
        impl.conv_output_size(5, 3, stride=0, padding=0, dilation=1)
    with raises_naming(ValueError, "stride", ">= 1"):
        impl.conv_output_size(5, 3, stride=-1, padding=0, dilation=1)
    with raises_naming(ValueError, "kernel spans 5", "no window fits"):
        impl.conv_output_size(2, 5, stride=1, padding=0, dilation=1)  # was -2
    with raises_naming(ValueError, "kernel spans 7", "dilation 3"):
        impl.conv_output_size(5, 3, stride=1, padding=0, dilation=3)
    with raises_naming(ValueError, "size", ">= 0"):
        impl.conv_output_size(-3, 1, stride=1, padding=0, dilation=1)
    with raises_naming(ValueError, "padding", ">= 0"):
        impl.conv_output_size(5, 3, stride=1, padding=-1, dilation=1)
    with raises_naming(TypeError, "kernel", "int", "list"):
        impl.conv_output_size(5, [3, 3], stride=1, padding=0, dilation=1)
    with raises_naming(TypeError, "padding", "int", "float"):
        impl.conv_output_size(5, 3, stride=1, padding=1.0, dilation=1)
    with raises_naming(TypeError, "stride", "int", "bool"):
        impl.conv_output_size(5, 3, stride=True, padding=0, dilation=1)


def test_helper_errors():
    with raises_naming(ValueError, "kernel_size", "padded input"):
        impl.im2col(X, 7)
    with raises_naming(ValueError, "kernel_size", "positive"):
        impl.im2col(X, 0)
    with raises_naming(ValueError, "input", "[N, C_in, H, W]"):
        impl.im2col(np.zeros((6, 6)), 3)
    with raises_naming(ValueError, "image", "[H, W]"):
        impl.convolve2d_true(np.zeros((1, 3, 3)), np.zeros((2, 2)))
    with raises_naming(ValueError, "kernel", "[kH, kW]"):
        impl.convolve2d_true(np.zeros((3, 3)), np.zeros(2))
    with raises_naming(ValueError, "kernel", "must fit"):
        impl.convolve2d_true(np.zeros((3, 3)), np.zeros((4, 1)))


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang):
    import matplotlib.figure

    from figures.backbone import conv_numpy as figs

    for draw in (figs.draw_sliding_window, figs.draw_im2col, figs.draw_checkerboard):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig.axes
