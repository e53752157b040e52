"""Tests for snippets/backbone/conv_numpy_backward.py against F.fold, autograd, ConvTranspose2d,
F.max_pool2d / F.avg_pool2d and timm's TF-"SAME" padding (all float64, seeded)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from timm.layers.padding import get_same_padding, pad_same
from torch import nn

from tests.backbone.test_conv_numpy import random_config, torch_conv2d
from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.backbone.conv_numpy_backward")


@pytest.fixture(autouse=True, scope="module")
def single_thread_torch():
    """Hundreds of tiny reference calls: thread hand-offs would dominate on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def window_args(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("stride", "padding", "dilation")}


# ------------------------------------------------------------------------------- col2im


def test_col2im_matches_torch_fold():
    """300 seeded configurations (strides, paddings, dilations, non-square kernels) vs F.fold."""
    rng = np.random.default_rng(31)
    for _ in range(cases(300)):
        cfg = random_config(rng)
        n, c, h, w = cfg["input"].shape
        kh, kw = cfg["weight"].shape[2:]
        length = impl.im2col(cfg["input"], (kh, kw), **window_args(cfg)).shape[2]
        cols = rng.normal(size=(n, c * kh * kw, length))
        expected = F.fold(torch.from_numpy(cols), (h, w), (kh, kw), **window_args(cfg)).numpy()
        actual = impl.col2im(cols, (h, w), (kh, kw), **window_args(cfg))
        assert_close(actual, expected, inputs={"shape": (n, c, h, w), **window_args(cfg)},
                     atol=1e-12, rtol=1e-12)  # fmt: skip


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), C> = <x, col2im(C)>: col2im is im2col's transpose, which is why it is the
    backward pass of im2col (100 seeded cases)."""
    rng = np.random.default_rng(32)
    for _ in range(cases(100)):
        cfg = random_config(rng)
        x = cfg["input"]
        kernel = cfg["weight"].shape[2:]
        cols = impl.im2col(x, kernel, **window_args(cfg))
        other = rng.normal(size=cols.shape)
        back = impl.col2im(other, x.shape[2:], kernel, **window_args(cfg))
        assert np.isclose(np.sum(cols * other), np.sum(x * back), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------- conv2d backward


def test_conv2d_backward_matches_autograd():
    """300 seeded configurations with groups, strides, paddings, dilations and bias vs autograd."""
    rng = np.random.default_rng(33)
    for _ in range(cases(300)):
        cfg = random_config(rng)
        x, w = cfg["input"], cfg["weight"]
        args = {**window_args(cfg), "groups": cfg["groups"]}
        xt, wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
        bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
        y = F.conv2d(xt, wt, bt, **args)
        grad_y = rng.normal(size=tuple(y.shape))
        y.backward(torch.from_numpy(grad_y))
        dx, dw, db = impl.conv2d_backward(grad_y, x, w, **args)
        shown = {"input": x.shape, "weight": w.shape, **args}
        assert_close(dx, xt.grad, inputs=shown, atol=1e-10, rtol=1e-10)
        assert_close(dw, wt.grad, inputs=shown, atol=1e-10, rtol=1e-10)
        assert_close(db, bt.grad, inputs=shown, atol=1e-10, rtol=1e-10)


def test_input_gradient_is_a_transposed_convolution():
    """grad_input of conv2d = F.conv_transpose2d(grad_output, the same weight), with
    output_padding = the rows the forward floor dropped (200 seeded cases)."""
    rng = np.random.default_rng(34)
    for _ in range(cases(200)):
        cfg = random_config(rng)
        x, w = cfg["input"], cfg["weight"]
        args = {**window_args(cfg), "groups": cfg["groups"]}
        grad_y = rng.normal(size=torch_conv2d(x, w, None, **args).shape)
        dx, _, _ = impl.conv2d_backward(grad_y, x, w, **args)
        s, p, d = (np.broadcast_to(cfg[k], 2) for k in ("stride", "padding", "dilation"))
        k = w.shape[2:]
        dropped = tuple(
            int((x.shape[2 + a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) % s[a]) for a in (0, 1)
        )
        expected = F.conv_transpose2d(
            torch.from_numpy(grad_y), torch.from_numpy(w), output_padding=dropped, **args
        )
        assert_close(dx, expected, inputs={"input": x.shape, **args}, atol=1e-10, rtol=1e-10)


def test_conv_transpose_output_size_matches_torch():
    """300 seeded ConvTranspose2d layers (on the meta device: shapes only) against the formula."""
    rng = np.random.default_rng(35)
    checked = 0
    while checked < cases(300):
        size, k, s, p, d = (int(v) for v in rng.integers([1, 1, 1, 0, 1], [12, 6, 4, 4, 4]))
        op = int(rng.integers(0, max(s, d)))
        if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            continue  # PyTorch rejects these too (see test_size_errors)
        layer = nn.ConvTranspose2d(1, 1, k, s, p, op, dilation=d, device="meta")
        expected = layer(torch.empty(1, 1, size, size, device="meta")).shape[-1]
        assert impl.conv_transpose_output_size(size, k, s, p, op, d) == expected, (size, k, s, p)
        checked += 1


# -------------------------------------------------------------------------------- pooling


def random_pool(rng: np.random.Generator) -> dict:
    """Random pooling arguments PyTorch accepts: padding <= kernel // 2, window fits."""
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
    padding = (int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1)))
    h = max(1, kh - 2 * padding[0]) + int(rng.integers(0, 7))
    w = max(1, kw - 2 * padding[1]) + int(rng.integers(0, 7))
    return {
        "input": rng.normal(size=(int(rng.integers(1, 3)), int(rng.integers(1, 4)), h, w)),
        "kernel_size": (kh, kw),
        "stride": stride if rng.random() < 0.8 else None,  # None: stride = kernel_size
        "padding": padding,
        "ceil_mode": bool(rng.random() < 0.5),
    }


def test_pool_output_size_matches_torch():
    """500 seeded layers: floor and ceil_mode sizes equal F.max_pool2d's output shape."""
    rng = np.random.default_rng(36)
    for _ in range(cases(500)):
        cfg = random_pool(rng)
        stride = cfg["stride"] or cfg["kernel_size"]
        x = torch.from_numpy(cfg["input"])
        expected = F.max_pool2d(x, cfg["kernel_size"], stride, cfg["padding"],
                                ceil_mode=cfg["ceil_mode"]).shape[2:]  # fmt: skip
        actual = tuple(
            impl.pool_output_size(cfg["input"].shape[2 + a], cfg["kernel_size"][a], stride[a],
                                  cfg["padding"][a], cfg["ceil_mode"])
            for a in (0, 1)
        )  # fmt: skip
        assert actual == tuple(expected), {k: v for k, v in cfg.items() if k != "input"}


def test_ceil_mode_drops_a_window_that_starts_in_the_padding():
    """H=5, k=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4, but window 4 would start at 3*2 = 6 >= 5+1
    (padded coordinates), inside the right padding: PyTorch drops it."""
    assert impl.pool_output_size(5, 2, 2, 1, ceil_mode=True) == 3
    x = torch.zeros(1, 1, 5, 5)
    assert F.max_pool2d(x, 2, 2, 1, ceil_mode=True).shape[-1] == 3


def test_max_pool2d_forward_and_backward_match_torch():
    """200 seeded configurations (ceil_mode, padding, stride=None) vs F.max_pool2d + autograd."""
    rng = np.random.default_rng(37)
    for _ in range(cases(200)):
        cfg = random_pool(rng)
        xt = torch.from_numpy(cfg["input"]).requires_grad_()
        y = F.max_pool2d(xt, cfg["kernel_size"], cfg["stride"], cfg["padding"],
                         ceil_mode=cfg["ceil_mode"])  # fmt: skip
        grad_y = rng.normal(size=tuple(y.shape))
        y.backward(torch.from_numpy(grad_y))
        shown = {k: v for k, v in cfg.items() if k != "input"} | {"shape": cfg["input"].shape}
        assert_close(impl.max_pool2d(**cfg), y.detach(), inputs=shown, atol=0, rtol=0)
        grad_x = impl.max_pool2d_backward(grad_y, **cfg)
        assert_close(grad_x, xt.grad, inputs=shown, atol=1e-12, rtol=1e-12)


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum():
    """All-equal windows (30 seeded cases): PyTorch's CPU kernel and ours pick the first cell."""
    rng = np.random.default_rng(38)
    for _ in range(cases(30)):
        cfg = random_pool(rng)
        cfg["input"] = np.round(cfg["input"])  # many ties
        xt = torch.from_numpy(cfg["input"]).requires_grad_()
        y = F.max_pool2d(xt, cfg["kernel_size"], cfg["stride"], cfg["padding"],
                         ceil_mode=cfg["ceil_mode"])  # fmt: skip
        y.backward(torch.ones_like(y))
        assert_equal(impl.max_pool2d_backward(np.ones(tuple(y.shape)), **cfg), xt.grad.numpy())


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_forward_and_backward_match_torch(count_include_pad):
    """200 seeded configurations per setting (ceil_mode, padding) vs F.avg_pool2d + autograd."""
    rng = np.random.default_rng(39 + count_include_pad)
    for _ in range(cases(200)):
        cfg = random_pool(rng) | {"count_include_pad": count_include_pad}
        xt = torch.from_numpy(cfg["input"]).requires_grad_()
        y = F.avg_pool2d(xt, cfg["kernel_size"], cfg["stride"], cfg["padding"],
                         cfg["ceil_mode"], count_include_pad)  # fmt: skip
        grad_y = rng.normal(size=tuple(y.shape))
        y.backward(torch.from_numpy(grad_y))
        shown = {k: v for k, v in cfg.items() if k != "input"} | {"shape": cfg["input"].shape}
        assert_close(impl.avg_pool2d(**cfg), y.detach(), inputs=shown, atol=1e-12, rtol=1e-12)
        grad_x = impl.avg_pool2d_backward(grad_y, **cfg)
        assert_close(grad_x, xt.grad, inputs=shown, atol=1e-12, rtol=1e-12)


# ------------------------------------------------------------------------ TF "SAME" padding


def test_tf_same_padding_matches_timm():
    """400 seeded (size, kernel, stride, dilation): timm's get_same_padding total and pad_same's
    split (the odd zero after), and the output has ceil(size / stride) positions."""
    rng = np.random.default_rng(40)
    for _ in range(cases(400)):
        size, k, s, d = (int(v) for v in rng.integers([1, 1, 1, 1], [40, 8, 5, 4]))
        before, after = impl.tf_same_padding(size, k, s, d)
        total = get_same_padding(size, k, s, d)
        assert (before, after) == (total // 2, total - total // 2), (size, k, s, d)
        assert (size + before + after - d * (k - 1) - 1) // s + 1 == -(-size // s)


def test_tf_same_conv_matches_timm_pad_same():
    """Our conv2d on the TF-SAME-padded input equals F.conv2d after timm's pad_same (50 cases)."""
    from snippets.backbone.conv_numpy import conv2d

    rng = np.random.default_rng(41)
    for _ in range(cases(50)):
        h, w, k, s = (int(v) for v in rng.integers([1, 1, 1, 1], [12, 12, 6, 4]))
        x, wt = rng.normal(size=(1, 2, h, w)), rng.normal(size=(3, 2, k, k))
        expected = F.conv2d(pad_same(torch.from_numpy(x), [k, k], [s, s]), torch.from_numpy(wt),
                            stride=s)  # fmt: skip
        pads = [impl.tf_same_padding(n, k, s) for n in (h, w)]
        padded = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
        assert_close(conv2d(padded, wt, stride=s), expected, atol=1e-12, rtol=1e-12)


# -------------------------------------------------------------------- checkerboard overlap


def test_checkerboard_overlap_counts():
    """Odena et al. 2016: a transposed conv with k=3, s=2 covers pixels unevenly (1, 2, 4
    windows: a checkerboard); k=4, s=2 (k divisible by s) covers the interior evenly."""
    uneven = impl.col2im(np.ones((1, 9, 16)), (9, 9), 3, stride=2)[0, 0]
    assert set(np.unique(uneven[1:-1, 1:-1])) == {1.0, 2.0, 4.0}
    even = impl.col2im(np.ones((1, 16, 16)), (10, 10), 4, stride=2)[0, 0]
    assert set(np.unique(even[2:-2, 2:-2])) == {4.0}


# ------------------------------------------------------------------------------- errors


def test_errors():
    x = np.zeros((1, 2, 5, 5))
    with raises_naming(TypeError, "cols", "numpy.ndarray"):
        impl.col2im([[[0.0]]], (5, 5), 3)
    with raises_naming(ValueError, "cols", "[N, C*kH*kW, L]"):
        impl.col2im(np.zeros((1, 18)), (5, 5), 3)
    with raises_naming(ValueError, "cols", "L = H_out*W_out = 9"):
        impl.col2im(np.zeros((1, 18, 8)), (5, 5), 3)
    with raises_naming(ValueError, "cols", "kH*kW = 9"):
        impl.col2im(np.zeros((1, 10, 9)), (5, 5), 3)
    with raises_naming(TypeError, "output_size", "int"):
        impl.col2im(np.zeros((1, 9, 9)), (5.0, 5), 3)
    with raises_naming(ValueError, "grad_output", "[1, 3, 3, 3]"):
        impl.conv2d_backward(np.zeros((1, 3, 4, 4)), x, np.zeros((3, 2, 3, 3)))
    with raises_naming(TypeError, "grad_output", "numpy.ndarray"):
        impl.conv2d_backward(torch.zeros(1, 3, 3, 3), x, np.zeros((3, 2, 3, 3)))
    with raises_naming(ValueError, "weight", "C_in=2"):
        impl.conv2d_backward(np.zeros((1, 3, 3, 3)), x, np.zeros((3, 1, 3, 3)))
    with raises_naming(ValueError, "padding", "kernel // 2 = 1"):
        impl.max_pool2d(x, 3, padding=2)
    with raises_naming(TypeError, "input", "floats"):
        impl.avg_pool2d(x.astype(np.int64), 2)
    with raises_naming(TypeError, "input", "numpy.ndarray"):
        impl.max_pool2d(torch.zeros(1, 2, 5, 5), 2)
    with raises_naming(ValueError, "grad_output", "[1, 2, 2, 2]"):
        impl.max_pool2d_backward(np.zeros((1, 2, 3, 3)), x, 2)
    with raises_naming(ValueError, "grad_output", "[1, 2, 2, 2]"):
        impl.avg_pool2d_backward(np.zeros((1, 2, 2, 3)), x, 2)
    with raises_naming(TypeError, "ceil_mode", "bool"):
        impl.max_pool2d(x, 2, ceil_mode="yes")
    with raises_naming(ValueError, "stride", ">= 1"):
        impl.max_pool2d(x, 2, stride=0)


def test_size_errors():
    with raises_naming(ValueError, "output_padding", "max(stride, dilation) = 2"):
        impl.conv_transpose_output_size(5, 3, stride=2, output_padding=2)
    with raises_naming(ValueError, "padding", "too large"):
        impl.conv_transpose_output_size(1, 1, padding=1)
    with raises_naming(TypeError, "stride", "int"):
        impl.conv_transpose_output_size(5, 3, stride=[2, 2])
    with raises_naming(ValueError, "stride", ">= 1"):
        impl.tf_same_padding(5, 3, stride=0)
    with raises_naming(TypeError, "kernel", "int"):
        impl.tf_same_padding(5, (3, 3), 1)
    # PyTorch refuses the same layers.
    with pytest.raises(RuntimeError):
        nn.ConvTranspose2d(1, 1, 3, 2, output_padding=2)(torch.zeros(1, 1, 5, 5))
    with pytest.raises(RuntimeError):
        nn.ConvTranspose2d(1, 1, 1, padding=1)(torch.zeros(1, 1, 1, 1))
