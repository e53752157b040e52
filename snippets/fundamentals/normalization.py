"""Normalisation layers by hand: BatchNorm, LayerNorm, GroupNorm, RMSNorm, conv-BN fusion.

Names, signatures and semantics follow ``torch.nn.functional`` (torch 2.14):

* every layer computes ``x_hat = (x - mean) / sqrt(var + eps)`` with the **biased** variance
  (divide by ``n``), then ``y = weight * x_hat + bias``; only the axes the statistics are taken
  over differ;
* ``batch_norm`` in training mode normalises with the batch statistics and updates the running
  statistics **in place**: ``running = (1 - momentum) * running + momentum * batch_stat``, with
  the **unbiased** (``n - 1``) variance for ``running_var``;
* ``rms_norm`` with ``eps=None`` uses ``torch.finfo`` of the computation dtype (float32 for
  float16/bfloat16/float32 input, float64 for float64 input).

Where torch is silent we are strict: a negative ``eps`` raises ``ValueError`` (torch returns NaN
from ``layer_norm``), a list where a tensor is expected raises ``TypeError``.
The hand-written backward passes are in :mod:`snippets.fundamentals.normalization_backward`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _check_tensor(value: object, name: str, shape: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")


def _check_eps(eps: object, positive: bool = False) -> None:
    if isinstance(eps, bool) or not isinstance(eps, int | float):
        raise TypeError(f"eps must be a float, got {type(eps).__name__}")
    if math.isnan(eps) or eps < 0 or (positive and eps == 0):
        need = "> 0 in training mode" if positive else ">= 0"
        raise ValueError(f"eps must be {need}, got {eps}")


def _check_param(value: object, name: str, shape: tuple[int, ...]) -> None:
    """``weight`` / ``bias`` / running statistics: None or a tensor of exactly ``shape``."""
    if value is None:
        return
    _check_tensor(value, name, str(list(shape)))
    if tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {list(shape)}, got {list(value.shape)}")


def _check_normalized_shape(
    input: Tensor, normalized_shape: int | Sequence[int]
) -> tuple[int, ...]:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    if not isinstance(shape, Sequence) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in shape
    ):
        raise TypeError(f"normalized_shape must be an int or a sequence of ints, got {shape!r}")
    shape = tuple(shape)
    if len(shape) == 0 or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise ValueError(
            f"normalized_shape={list(shape)} must equal the last dims of input: expected input "
            f"of shape [*, {', '.join(map(str, shape))}], got {list(input.shape)}"
        )
    return shape


def _check_more_than_one_value(size: Sequence[int]) -> None:
    # Same rule as torch's `_verify_batch_size`: N * (spatial sizes) must not be 1.
    if math.prod([size[0], *size[2:]]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {list(size)}"
        )


# --8<-- [start:batch_norm]
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over every axis except the channel axis 1 (``F.batch_norm``).

    Args:
        input: ``[N, C]``, ``[N, C, L]`` or ``[N, C, H, W]``.
        running_mean: ``[C]`` or None; updated in place when ``training``.
        running_var: ``[C]`` or None; updated in place with the unbiased variance.
        weight: ``[C]`` scale gamma, or None for 1.
        bias: ``[C]`` shift beta, or None for 0.
        training: use batch statistics (and update the running ones) or running ones.
        momentum: weight of the NEW batch: ``running = (1 - m) * running + m * batch``.
        eps: added to the variance inside the square root.

    Returns:
        Tensor of the same shape as ``input``.

    Examples:
        >>> x = torch.tensor([[1.0], [3.0]])  # N=2, C=1: mean 2, biased var 1
        >>> rm, rv = torch.zeros(1), torch.ones(1)
        >>> y = batch_norm(x, rm, rv, training=True)  # (x - 2) / sqrt(1 + 1e-5)
        >>> [round(v, 4) for v in y.flatten().tolist()]
        [-1.0, 1.0]
        >>> round(float(rm), 6), round(float(rv), 6)  # 0.9*0 + 0.1*2, 0.9*1 + 0.1*2
        (0.2, 1.1)
    """
    _check_tensor(input, "input", "[N, C, *]")
    if input.ndim < 2:
        raise ValueError(f"input must have shape [N, C, *], got {list(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_param(t, name, (c,))
    _check_param(weight, "weight", (c,))
    _check_param(bias, "bias", (c,))
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be None or both be tensors")
    if momentum is None or isinstance(momentum, bool) or not isinstance(momentum, int | float):
        raise TypeError(
            f"momentum must be a float, got {momentum!r}: F.batch_norm has no cumulative "
            "average; nn.BatchNorm(momentum=None) passes momentum = 1 / num_batches_tracked"
        )
    _check_eps(eps, positive=training)

    dims = [0, *range(2, input.ndim)]  # every axis except the channels
    shape = [1, c] + [1] * (input.ndim - 2)  # broadcast a [C] vector against input
    if training:
        _check_more_than_one_value(input.shape)
        mean = input.mean(dims)
        var = input.var(dims, correction=0)  # biased (1/n): what we normalise with
        if running_mean is not None:
            n = input.numel() // c
            with torch.no_grad():  # buffers, not part of the graph; in place as in torch
                running_mean.mul_(1 - momentum).add_(momentum * mean)
                running_var.mul_(1 - momentum).add_(momentum * var * n / (n - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_mean and running_var must be tensors when training=False")
        mean, var = running_mean, running_var
    x_hat = (input - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + eps)
    if weight is not None:
        x_hat = x_hat * weight.reshape(shape)
    if bias is not None:
        x_hat = x_hat + bias.reshape(shape)
    return x_hat


# --8<-- [end:batch_norm]


# --8<-- [start:layer_norm]
def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation over the trailing ``normalized_shape`` dims (``F.layer_norm``).

    Args:
        input: ``[*, *normalized_shape]``.
        normalized_shape: the last dims to normalise over, e.g. ``(E,)`` or ``(C, H, W)``.
        weight: ``normalized_shape`` elementwise scale, or None.
        bias: ``normalized_shape`` elementwise shift, or None.
        eps: added to the variance inside the square root.

    Returns:
        Tensor of the same shape as ``input``.

    Examples:
        >>> layer_norm(torch.tensor([[1.0, 3.0], [0.0, 10.0]]), (2,), eps=0.0).tolist()
        [[-1.0, 1.0], [-1.0, 1.0]]
    """
    _check_tensor(input, "input", "[*, *normalized_shape]")
    shape = _check_normalized_shape(input, normalized_shape)
    _check_param(weight, "weight", shape)
    _check_param(bias, "bias", shape)
    _check_eps(eps)
    dims = tuple(range(-len(shape), 0))  # statistics per sample, never across the batch
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, correction=0, keepdim=True)
    out = (input - mean) * torch.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# --8<-- [end:layer_norm]


# --8<-- [start:group_norm]
def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation: statistics per sample and per group of channels (``F.group_norm``).

    Args:
        input: ``[N, C, *]``.
        num_groups: number of groups G; must divide C. G=1 is LayerNorm over (C, *),
            G=C is InstanceNorm.
        weight: ``[C]`` per-channel scale, or None.
        bias: ``[C]`` per-channel shift, or None.
        eps: added to the variance inside the square root.

    Returns:
        Tensor of the same shape as ``input``.

    Examples:
        >>> x = torch.tensor([[1.0, 3.0, 0.0, 10.0]])  # N=1, C=4, two groups of 2
        >>> group_norm(x, 2, eps=0.0).tolist()
        [[-1.0, 1.0, -1.0, 1.0]]
    """
    _check_tensor(input, "input", "[N, C, *]")
    if input.ndim < 2:
        raise ValueError(f"input must have shape [N, C, *], got {list(input.shape)}")
    n, c = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int):
        raise TypeError(f"num_groups must be an int, got {type(num_groups).__name__}")
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"num_groups must be > 0 and divide C = {c}, got {num_groups}")
    _check_param(weight, "weight", (c,))
    _check_param(bias, "bias", (c,))
    _check_eps(eps)
    _check_more_than_one_value([n * c // num_groups, num_groups, *input.shape[2:]])
    grouped = input.reshape(n, num_groups, -1)  # [N, G, (C/G) * spatial]
    mean = grouped.mean(-1, keepdim=True)
    var = grouped.var(-1, correction=0, keepdim=True)
    out = ((grouped - mean) * torch.rsqrt(var + eps)).reshape(input.shape)
    shape = [1, c] + [1] * (input.ndim - 2)  # the affine part is per channel, not per group
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# --8<-- [end:group_norm]


# --8<-- [start:rms_norm]
def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """RMSNorm (Zhang & Sennrich 2019): ``x / sqrt(mean(x^2) + eps) * weight`` (``F.rms_norm``).

    Args:
        input: ``[*, *normalized_shape]``.
        normalized_shape: the last dims to normalise over.
        weight: ``normalized_shape`` elementwise scale, or None. There is no bias.
        eps: added inside the square root; None means ``torch.finfo(dtype).eps`` of the
            computation dtype (float32 for half inputs).

    Returns:
        Tensor of the same shape and dtype as ``input``.

    Examples:
        >>> rms_norm(torch.tensor([[3.0, 4.0]]), (2,), eps=0.0)  # rms = sqrt(12.5)
        tensor([[0.8485, 1.1314]])
    """
    _check_tensor(input, "input", "[*, *normalized_shape]")
    shape = _check_normalized_shape(input, normalized_shape)
    _check_param(weight, "weight", shape)
    low_precision = input.dtype in (torch.float16, torch.bfloat16)
    x = input.float() if low_precision else input  # torch computes half inputs in float32
    if eps is None:
        eps = torch.finfo(x.dtype).eps
    _check_eps(eps)
    dims = tuple(range(-len(shape), 0))
    out = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)  # no mean subtracted
    if weight is not None:
        out = out * weight
    return out.to(input.dtype)


# --8<-- [end:rms_norm]


# --8<-- [start:fuse_conv_bn_eval]
def fuse_conv_bn_eval(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new Conv2d equal to ``bn(conv(x))`` in eval mode (``nn.utils.fusion``).

    Args:
        conv: a Conv2d in eval mode, with or without bias.
        bn: a BatchNorm2d in eval mode with ``num_features == conv.out_channels``.

    Returns:
        A deep copy of ``conv`` with the BN folded into its weight and bias.

    Examples:
        >>> conv, bn = nn.Conv2d(1, 1, 1, bias=False).eval(), nn.BatchNorm2d(1).eval()
        >>> with torch.no_grad():
        ...     _ = conv.weight.fill_(2.0), bn.running_mean.fill_(1.0), bn.running_var.fill_(4.0)
        >>> bn.eps = 0.0  # so y = (2x - 1) / 2
        >>> fused = fuse_conv_bn_eval(conv, bn)
        >>> fused.weight.flatten().tolist(), fused.bias.tolist()
        ([1.0], [-0.5])
    """
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"conv must be a torch.nn.Conv2d, got {type(conv).__name__}")
    if not isinstance(bn, nn.BatchNorm2d):
        raise TypeError(f"bn must be a torch.nn.BatchNorm2d, got {type(bn).__name__}")
    if conv.training or bn.training:
        raise ValueError(
            "conv and bn must be in eval mode (call .eval()): fusion uses running stats"
        )
    if bn.running_mean is None or bn.running_var is None or bn.num_features != conv.out_channels:
        raise ValueError(
            f"bn must track running stats and have num_features = conv.out_channels = "
            f"{conv.out_channels}, got {bn.num_features}"
        )
    # y = gamma * (conv(x) + b - mu) / sqrt(var + eps) + beta: scale each OUTPUT channel.
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    shift = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    fused = copy.deepcopy(conv)
    with torch.no_grad():
        w = conv.weight * scale.reshape(-1, 1, 1, 1)  # [C_out, C_in/groups, kH, kW]
        b = (conv_bias - bn.running_mean) * scale + shift
    fused.weight = nn.Parameter(w.to(conv.weight.dtype), conv.weight.requires_grad)
    fused.bias = nn.Parameter(b.to(conv.weight.dtype), conv_bias.requires_grad)
    return fused


# --8<-- [end:fuse_conv_bn_eval]
