"""Hand-written backward passes of LayerNorm and BatchNorm (training mode).

Both layers compute ``x_hat = (x - mean) * rstd`` with ``rstd = 1 / sqrt(var + eps)`` over some
axes, then ``y = weight * x_hat + bias``. With ``g = dy * weight`` the input gradient is the same
compact formula for both; only the axes (the ``n`` values one mean and variance come from)
differ::

    dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat))

``dweight = sum(dy * x_hat)`` and ``dbias = sum(dy)`` over the axes the parameters are shared
across. The autograd.Function classes wrap these so ``torch.autograd.gradcheck`` can check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from snippets.fundamentals.normalization import (
    _check_eps,
    _check_normalized_shape,
    _check_param,
    _check_tensor,
    batch_norm,
    layer_norm,
)


# --8<-- [start:normalized_backward]
def normalized_backward(g: Tensor, x_hat: Tensor, rstd: Tensor, dims: Sequence[int]) -> Tensor:
    """``dx`` from ``g = dL/dx_hat``: the shared core of every normalisation backward.

    Args:
        g: ``dL/dx_hat``, i.e. ``grad_output * weight``; same shape as ``x_hat``.
        x_hat: the normalised input.
        rstd: ``1 / sqrt(var + eps)``, broadcastable against ``x_hat`` (keepdim over ``dims``).
        dims: the axes mean and variance were taken over.

    Returns:
        ``dL/dx``, same shape as ``x_hat``.

    Examples:
        >>> x_hat = torch.tensor([[-1.0, 1.0]])
        >>> normalized_backward(torch.ones(1, 2), x_hat, torch.ones(1, 1), (1,)).tolist()
        [[0.0, 0.0]]
    """
    dims = tuple(dims)
    g_mean = g.mean(dims, keepdim=True)  # through the mean: a shift changes nothing
    gx_mean = (g * x_hat).mean(dims, keepdim=True)  # through the variance: nor does a scale
    return rstd * (g - g_mean - x_hat * gx_mean)


# --8<-- [end:normalized_backward]


# --8<-- [start:layer_norm_backward]
def layer_norm_backward(
    grad_output: Tensor,
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of ``layer_norm(input, normalized_shape, weight, bias, eps)``.

    Args:
        grad_output: ``dL/dy``, same shape as ``input``.
        input: ``[*, *normalized_shape]``, the forward input.
        normalized_shape: the trailing dims normalised over.
        weight: ``normalized_shape`` scale used in the forward pass, or None.
        eps: the forward pass's eps.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``; the last two have shape ``normalized_shape``.

    Examples:
        >>> x = torch.tensor([[1.0, 3.0]])  # x_hat = [-1, 1]
        >>> dx, dw, db = layer_norm_backward(torch.tensor([[1.0, 0.0]]), x, (2,), eps=0.0)
        >>> dx.tolist(), dw.tolist(), db.tolist()  # two values: y = [-1, 1] whatever x is
        ([[0.0, 0.0]], [-1.0, 0.0], [1.0, 0.0])
    """
    _check_tensor(input, "input", "[*, *normalized_shape]")
    _check_tensor(grad_output, "grad_output", "input.shape")
    if grad_output.shape != input.shape:
        raise ValueError(
            f"grad_output must have shape {list(input.shape)}, got {list(grad_output.shape)}"
        )
    shape = _check_normalized_shape(input, normalized_shape)
    _check_param(weight, "weight", shape)
    _check_eps(eps)
    dims = tuple(range(-len(shape), 0))  # per sample, as in the forward pass
    mean = input.mean(dims, keepdim=True)
    rstd = torch.rsqrt(input.var(dims, correction=0, keepdim=True) + eps)
    x_hat = (input - mean) * rstd
    g = grad_output * weight if weight is not None else grad_output
    batch_dims = tuple(range(input.ndim - len(shape)))  # weight is shared across these
    # Careful: .sum(()) sums over ALL dims in torch; with no batch dims there is nothing to sum.
    grad_weight = (grad_output * x_hat).sum(batch_dims) if batch_dims else grad_output * x_hat
    grad_bias = grad_output.sum(batch_dims) if batch_dims else grad_output.clone()
    return normalized_backward(g, x_hat, rstd, dims), grad_weight, grad_bias


# --8<-- [end:layer_norm_backward]


# --8<-- [start:batch_norm_backward]
def batch_norm_backward(
    grad_output: Tensor,
    input: Tensor,
    weight: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of ``batch_norm(input, ..., training=True)`` (batch statistics).

    Args:
        grad_output: ``dL/dy``, same shape as ``input``.
        input: ``[N, C, *]``, the forward input.
        weight: ``[C]`` scale used in the forward pass, or None.
        eps: the forward pass's eps.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``; the last two have shape ``[C]``.

    Examples:
        >>> x = torch.tensor([[1.0], [3.0]])  # N=2, C=1: x_hat = [-1, 1]
        >>> dx, dw, db = batch_norm_backward(torch.tensor([[2.0], [2.0]]), x, eps=0.0)
        >>> dx.flatten().tolist(), dw.tolist(), db.tolist()
        ([0.0, 0.0], [0.0], [4.0])
    """
    _check_tensor(input, "input", "[N, C, *]")
    _check_tensor(grad_output, "grad_output", "input.shape")
    if input.ndim < 2:
        raise ValueError(f"input must have shape [N, C, *], got {list(input.shape)}")
    if grad_output.shape != input.shape:
        raise ValueError(
            f"grad_output must have shape {list(input.shape)}, got {list(grad_output.shape)}"
        )
    c = input.shape[1]
    _check_param(weight, "weight", (c,))
    _check_eps(eps)
    dims = (0, *range(2, input.ndim))  # over the batch (and space), per channel
    shape = [1, c] + [1] * (input.ndim - 2)
    mean = input.mean(dims, keepdim=True)
    rstd = torch.rsqrt(input.var(dims, correction=0, keepdim=True) + eps)
    x_hat = (input - mean) * rstd
    g = grad_output * weight.reshape(shape) if weight is not None else grad_output
    grad_weight = (grad_output * x_hat).sum(dims)
    grad_bias = grad_output.sum(dims)
    return normalized_backward(g, x_hat, rstd, dims), grad_weight, grad_bias


# --8<-- [end:batch_norm_backward]


# --8<-- [start:functions]
class LayerNormFunction(torch.autograd.Function):
    """``layer_norm`` whose backward is :func:`layer_norm_backward` (for gradcheck)."""

    @staticmethod
    def forward(
        ctx: Any,
        input: Tensor,
        normalized_shape: Sequence[int],
        weight: Tensor | None,
        bias: Tensor | None,
        eps: float,
    ) -> Tensor:
        ctx.save_for_backward(input, weight)
        ctx.normalized_shape, ctx.eps, ctx.has_bias = normalized_shape, eps, bias is not None
        return layer_norm(input, normalized_shape, weight, bias, eps)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        input, weight = ctx.saved_tensors
        dx, dw, db = layer_norm_backward(grad_output, input, ctx.normalized_shape, weight, ctx.eps)
        # One gradient per forward argument; None for the non-tensor ones.
        return dx, None, dw if weight is not None else None, db if ctx.has_bias else None, None


class BatchNormFunction(torch.autograd.Function):
    """Training-mode ``batch_norm`` whose backward is :func:`batch_norm_backward`."""

    @staticmethod
    def forward(
        ctx: Any, input: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
    ) -> Tensor:
        ctx.save_for_backward(input, weight)
        ctx.eps, ctx.has_bias = eps, bias is not None
        return batch_norm(input, None, None, weight, bias, training=True, eps=eps)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        input, weight = ctx.saved_tensors
        dx, dw, db = batch_norm_backward(grad_output, input, weight, ctx.eps)
        return dx, dw if weight is not None else None, db if ctx.has_bias else None, None


# --8<-- [end:functions]
