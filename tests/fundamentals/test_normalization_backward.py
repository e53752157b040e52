"""Tests for snippets/fundamentals/normalization_backward.py: LayerNorm / BatchNorm backward.

Reference: torch.autograd through F.layer_norm / F.batch_norm (torch 2.14) on seeded random
cases, and torch.autograd.gradcheck (finite differences, float64) on the hand-written backward.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from tests.support import LANG, assert_close, cases, raises_naming, under_test

impl = under_test("snippets.fundamentals.normalization_backward")


def _randint(gen: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high + 1, (1,), generator=gen))


def _data(gen: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    scale = float(torch.rand(1, generator=gen)) * 5 + 0.1
    shift = float(torch.randn(1, generator=gen)) * 3
    return torch.randn(shape, generator=gen, dtype=dtype) * scale + shift


# ---------------------------------------------------------------- practice diagnostics
# First in the file: the practice grader prints the first failures in full.

_HINTS = {
    "sum_zero": {
        "en": "dx must sum to zero over the normalised dims: LayerNorm's output does not change "
        "when the same constant is added to every x, so neither does the loss. You are missing "
        "the '- mean(g)' term, g = grad_output * weight.",
        "zh": "dx 在归一化的维度上之和必须为 0：给所有 x 加同一个常数，LayerNorm 的输出不变，"
        "loss 也不变。你漏了 “- mean(g)” 这一项（g = grad_output * weight）。",
    },
    "orthogonal": {
        "en": "dx must be orthogonal to x_hat over the normalised dims: scaling x around its mean "
        "does not change the output. You are missing the '- x_hat * mean(g * x_hat)' term "
        "(the path through the variance).",
        "zh": "dx 在归一化的维度上必须与 x_hat 正交：把 x 绕均值缩放，输出不变。"
        "你漏了 “- x_hat * mean(g * x_hat)” 这一项（经过方差的那条路径）。",
    },
    "weight": {
        "en": "multiply grad_output by weight before the formula: g = grad_output * weight is "
        "dL/dx_hat. Your dx matches the formula with g = grad_output.",
        "zh": "先把 grad_output 乘上 weight：g = grad_output * weight 才是 dL/dx_hat。"
        "你的 dx 与直接用 g = grad_output 的结果一致。",
    },
    "dw_axes": {
        "en": "grad_weight and grad_bias must have shape normalized_shape: sum dy * x_hat (and dy) "
        "over the LEADING (batch) dims the parameters are shared across, not over the "
        "normalised dims.",
        "zh": "grad_weight 和 grad_bias 的形状必须是 normalized_shape：要在参数共享的前面几维"
        "（batch 维）上对 dy * x_hat（和 dy）求和，而不是在归一化的维度上求和。",
    },
}


def _hint(key: str) -> str:
    return _HINTS[key].get(LANG, _HINTS[key]["en"])


_GEN = torch.Generator().manual_seed(4)
X = _data(_GEN, (3, 5), torch.float64)
W = torch.rand(5, generator=_GEN, dtype=torch.float64) + 0.5
DY = torch.randn(3, 5, generator=_GEN, dtype=torch.float64)
X_HAT = F.layer_norm(X, (5,), eps=0.0)  # eps = 0: x_hat has mean 0 and variance 1 exactly


# The practice grader only runs tests whose source names the practised function: call
# impl.layer_norm_backward in each test body, not in a helper.


def test_dx_sums_to_zero_over_the_normalised_dims() -> None:
    dx, _, _ = impl.layer_norm_backward(DY, X, (5,), W, eps=0.0)
    assert float(dx.sum(-1).abs().max()) < 1e-9, _hint("sum_zero")


def test_dx_is_orthogonal_to_x_hat() -> None:
    dx, _, _ = impl.layer_norm_backward(DY, X, (5,), W, eps=0.0)
    assert float((dx * X_HAT).sum(-1).abs().max()) < 1e-9, _hint("orthogonal")


def test_dx_uses_the_weight() -> None:
    dx, _, _ = impl.layer_norm_backward(DY, X, (5,), W, eps=0.0)
    rstd = torch.rsqrt(X.var(-1, correction=0, keepdim=True))
    without = rstd * (DY - DY.mean(-1, keepdim=True) - X_HAT * (DY * X_HAT).mean(-1, keepdim=True))
    if torch.allclose(dx, without, atol=1e-9):
        raise AssertionError(_hint("weight"))
    x = X.detach().requires_grad_()
    F.layer_norm(x, (5,), W, eps=0.0).backward(DY)
    assert_close(dx, x.grad, inputs={"weight": W}, atol=1e-10)


def test_grad_weight_and_bias_are_summed_over_the_batch_dims() -> None:
    _, dw, db = impl.layer_norm_backward(DY, X, (5,), W, eps=0.0)
    ok = isinstance(dw, torch.Tensor) and isinstance(db, torch.Tensor)
    assert ok and dw.shape == (5,) and db.shape == (5,), _hint("dw_axes")
    assert_close(dw, (DY * X_HAT).sum(0), atol=1e-10)
    assert_close(db, DY.sum(0), atol=1e-10)


def _autograd(fn, x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor, dy: torch.Tensor):
    """(dx, dw, db) from torch's own backward of y = fn(x, w, b)."""
    leaves = [t.detach().requires_grad_() for t in (x, w, b) if t is not None]
    x_, rest = leaves[0], leaves[1:]
    w_ = rest.pop(0) if w is not None else None
    b_ = rest.pop(0)
    fn(x_, w_, b_).backward(dy)
    return x_.grad, (w_.grad if w_ is not None else None), b_.grad


CASES = 1500


@pytest.mark.parametrize(
    ("dtype", "atol", "n_cases"), [(torch.float64, 1e-10, CASES), (torch.float32, 1e-3, 300)]
)
def test_layer_norm_backward_matches_autograd(
    dtype: torch.dtype, atol: float, n_cases: int
) -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(n_cases)):
        ndim = _randint(gen, 1, 4)
        shape = tuple(_randint(gen, 1, 5) for _ in range(ndim))
        normalized = shape[ndim - _randint(gen, 1, ndim) :]
        x, dy = _data(gen, shape, dtype), torch.randn(shape, generator=gen, dtype=dtype)
        w = torch.randn(normalized, generator=gen, dtype=dtype) if _randint(gen, 0, 1) else None
        b = torch.randn(normalized, generator=gen, dtype=dtype)
        eps = [1e-5, 1e-3, 0.5][_randint(gen, 0, 2)]

        def forward(x, w, b, normalized=normalized, eps=eps):
            return F.layer_norm(x, normalized, w, b, eps)

        dx_e, dw_e, db_e = _autograd(forward, x, w, b, dy)
        dx, dw, db = impl.layer_norm_backward(dy, x, normalized, w, eps)
        inputs = {"input.shape": shape, "normalized_shape": normalized, "eps": eps}
        assert_close(dx, dx_e, inputs=inputs, atol=atol, rtol=atol)
        assert_close(db, db_e, inputs=inputs, atol=atol, rtol=atol)
        if w is not None:
            assert_close(dw, dw_e, inputs=inputs, atol=atol, rtol=atol)


@pytest.mark.parametrize(
    ("dtype", "atol", "n_cases"), [(torch.float64, 1e-10, CASES), (torch.float32, 1e-3, 300)]
)
def test_batch_norm_backward_matches_autograd(
    dtype: torch.dtype, atol: float, n_cases: int
) -> None:
    """Training mode: the gradient also flows through the batch mean and variance."""
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(n_cases)):
        shape = tuple(_randint(gen, 1, 5) for _ in range(_randint(gen, 2, 4)))
        if shape[0] * torch.Size(shape[2:]).numel() == 1:
            shape = (2, *shape[1:])  # one value per channel is rejected in training mode
        c = shape[1]
        x, dy = _data(gen, shape, dtype), torch.randn(shape, generator=gen, dtype=dtype)
        w = torch.randn(c, generator=gen, dtype=dtype) if _randint(gen, 0, 1) else None
        b = torch.randn(c, generator=gen, dtype=dtype)
        eps = [1e-5, 1e-3, 0.5][_randint(gen, 0, 2)]

        def forward(x, w, b, eps=eps):
            return F.batch_norm(x, None, None, w, b, training=True, eps=eps)

        dx_e, dw_e, db_e = _autograd(forward, x, w, b, dy)
        dx, dw, db = impl.batch_norm_backward(dy, x, w, eps)
        inputs = {"input.shape": shape, "eps": eps}
        assert_close(dx, dx_e, inputs=inputs, atol=atol, rtol=atol)
        assert_close(db, db_e, inputs=inputs, atol=atol, rtol=atol)
        if w is not None:
            assert_close(dw, dw_e, inputs=inputs, atol=atol, rtol=atol)


class _AttemptLayerNorm(torch.autograd.Function):
    """Like the snippet's LayerNormFunction, but through `impl` (the reader's attempt)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, shape: tuple, w: torch.Tensor, eps: float):
        ctx.save_for_backward(x, w)
        ctx.shape, ctx.eps = shape, eps
        return F.layer_norm(x, shape, w, None, eps)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor):
        x, w = ctx.saved_tensors
        dx, dw, _ = impl.layer_norm_backward(dy, x, ctx.shape, w, ctx.eps)
        return dx, None, dw, None


GRADCHECK_SHAPES = [((3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), (5,)), ((2, 2, 3), (3,))]


@pytest.mark.parametrize(("shape", "normalized"), GRADCHECK_SHAPES)
def test_layer_norm_backward_passes_gradcheck(shape: tuple, normalized: tuple) -> None:
    gen = torch.Generator().manual_seed(2)
    x = _data(gen, shape, torch.float64).requires_grad_()
    w = torch.randn(normalized, generator=gen, dtype=torch.float64).requires_grad_()
    b = torch.randn(normalized, generator=gen, dtype=torch.float64).requires_grad_()
    # _AttemptLayerNorm's backward is impl.layer_norm_backward (the reader's, in practice mode).
    assert gradcheck(_AttemptLayerNorm.apply, (x, normalized, w, 1e-5), eps=1e-6, atol=1e-5)
    fn = impl.LayerNormFunction.apply
    assert gradcheck(fn, (x, normalized, w, b, 1e-5), eps=1e-6, atol=1e-5)
    assert gradcheck(fn, (x, normalized, None, None, 1e-3), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4), (2, 2, 3, 3), (1, 2, 5)])
def test_batch_norm_backward_passes_gradcheck(shape: tuple) -> None:
    gen = torch.Generator().manual_seed(3)
    c = shape[1]
    x = _data(gen, shape, torch.float64).requires_grad_()
    w = torch.randn(c, generator=gen, dtype=torch.float64).requires_grad_()
    b = torch.randn(c, generator=gen, dtype=torch.float64).requires_grad_()
    fn = impl.BatchNormFunction.apply
    assert gradcheck(fn, (x, w, b, 1e-5), eps=1e-6, atol=1e-5)
    assert gradcheck(fn, (x, None, b, 1e-3), eps=1e-6, atol=1e-5)


def test_normalized_backward_by_hand() -> None:
    """n = 3, x_hat = [-s, 0, s] with s = sqrt(3/2), g = [1, 0, 0], rstd = 1.

    mean(g) = 1/3, mean(g * x_hat) = -s/3, so dx = g - 1/3 - x_hat * (-s/3)
    = [1 - 1/3 - s^2/3, -1/3, -1/3 + s^2/3] = [1/6, -1/3, 1/6].
    """
    s = 1.5**0.5
    x_hat = torch.tensor([[-s, 0.0, s]], dtype=torch.float64)
    g = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    dx = impl.normalized_backward(g, x_hat, torch.ones(1, 1, dtype=torch.float64), (1,))
    assert_close(dx, torch.tensor([[1 / 6, -1 / 3, 1 / 6]], dtype=torch.float64), atol=1e-12)


# ---------------------------------------------------------------- bad input


def test_input_errors() -> None:
    x, dy = torch.randn(4, 3), torch.randn(4, 3)
    with raises_naming(TypeError, "grad_output", "torch.Tensor"):
        impl.layer_norm_backward(dy.tolist(), x, (3,))
    with raises_naming(TypeError, "input", "torch.Tensor"):
        impl.layer_norm_backward(dy, x.tolist(), (3,))
    with raises_naming(ValueError, "grad_output", "[4, 3]", "[4, 2]"):
        impl.layer_norm_backward(torch.randn(4, 2), x, (3,))
    with raises_naming(ValueError, "normalized_shape", "[*, 4]"):
        impl.layer_norm_backward(dy, x, (4,))
    with raises_naming(ValueError, "weight", "[3]"):
        impl.layer_norm_backward(dy, x, (3,), torch.ones(4))
    with raises_naming(ValueError, "eps"):
        impl.layer_norm_backward(dy, x, (3,), eps=-1.0)
    with raises_naming(TypeError, "grad_output", "torch.Tensor"):
        impl.batch_norm_backward(None, x)
    with raises_naming(ValueError, "input", "[N, C, *]"):
        impl.batch_norm_backward(torch.randn(3), torch.randn(3))
    with raises_naming(ValueError, "grad_output", "[4, 3]"):
        impl.batch_norm_backward(torch.randn(3, 4), x)
    with raises_naming(ValueError, "weight", "[3]"):
        impl.batch_norm_backward(dy, x, torch.ones(2))
