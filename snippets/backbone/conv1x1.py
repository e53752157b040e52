"""A 1x1 convolution is a Linear layer applied at every pixel: when that holds and when it does not.

``nn.Conv2d(C, D, 1)`` computes ``y[b, :, h, w] = W @ x[b, :, h, w] + bias`` with ``W`` of shape
``[D, C]`` (the conv weight ``[D, C, 1, 1]`` squeezed). ``nn.Linear(C, D)`` computes
``y = x @ W.T + bias`` on the **last** dimension of a ``(*, C)`` tensor. So the two agree once the
channel axis is moved last; a plain ``reshape`` does not move it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _tensor(value: object, name: str) -> Tensor:
    """A list or a NumPy array is a type error, named, not an AttributeError from inside."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _check(x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    _tensor(x, "x")
    _tensor(weight, "weight")
    if x.ndim != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(x.shape)}")
    if weight.ndim != 2 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight must have shape [D, C] with C = x.shape[1] = {x.shape[1]}, "
            f"got {tuple(weight.shape)}"
        )
    if bias is not None and tuple(_tensor(bias, "bias").shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape [D] = [{weight.shape[0]}], got {tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:  # F.conv2d and F.linear refuse mixed dtypes
            raise TypeError(f"{name} must have the dtype of x ({x.dtype}), got {t.dtype}")


# --8<-- [start:naive]
def conv1x1_naive(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """1x1 conv as a loop over pixels: the same ``W`` applied at every ``(h, w)``.

    Args:
        x: ``[B, C, H, W]``.
        weight: ``[D, C]`` (a ``nn.Conv2d(C, D, 1)`` weight ``[D, C, 1, 1]`` squeezed).
        bias: ``[D]`` or ``None``.

    Returns:
        ``[B, D, H, W]``.

    Examples:
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2)   # 2 channels, 2x2 pixels
        >>> w = torch.tensor([[1.0, 1.0], [1.0, -1.0]])  # out 0 = c0 + c1, out 1 = c0 - c1
        >>> conv1x1_naive(x, w)
        tensor([[[[ 4.,  6.],
                  [ 8., 10.]],
        <BLANKLINE>
                 [[-4., -4.],
                  [-4., -4.]]]])
    """
    _check(x, weight, bias)
    b, _, h, w = x.shape
    out = x.new_empty(b, weight.shape[0], h, w)
    for i in range(h):
        for j in range(w):
            pixel = x[:, :, i, j]  # [B, C]: the channel vector of one pixel
            out[:, :, i, j] = pixel @ weight.T + (bias if bias is not None else 0)
    return out


# --8<-- [end:naive]


# --8<-- [start:permute]
def conv1x1_via_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """1x1 conv through ``F.linear``: move channels last, apply, move them back.

    Args:
        x: ``[B, C, H, W]``.
        weight: ``[D, C]``.
        bias: ``[D]`` or ``None``.

    Returns:
        ``[B, D, H, W]``, equal to ``F.conv2d(x, weight[:, :, None, None], bias)``.

    Examples:
        >>> torch.manual_seed(0)
        <torch._C.Generator object at ...>
        >>> conv = torch.nn.Conv2d(16, 32, kernel_size=1)
        >>> linear = torch.nn.Linear(16, 32)
        >>> with torch.no_grad():  # share the weights: [32, 16, 1, 1] -> [32, 16]
        ...     _ = linear.weight.copy_(conv.weight.flatten(1))
        ...     _ = linear.bias.copy_(conv.bias)
        >>> x = torch.randn(2, 16, 5, 7)
        >>> y_linear = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # NHWC -> Linear -> NCHW
        >>> torch.allclose(conv(x), y_linear, atol=1e-6)
        True
        >>> y = conv1x1_via_linear(x, conv.weight.flatten(1), conv.bias)  # this function
        >>> torch.allclose(conv(x), y, atol=1e-6)
        True
    """
    _check(x, weight, bias)
    nhwc = x.permute(0, 2, 3, 1)  # [B, H, W, C]: channels last, where Linear acts
    out = F.linear(nhwc, weight, bias)  # [B, H, W, D]
    return out.permute(0, 3, 1, 2)  # -> [B, D, H, W]


# --8<-- [end:permute]


# --8<-- [start:matmul]
def conv1x1_via_matmul(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """1x1 convolution as one matmul on ``[C, H*W]``: no permute at all.

    ``x.flatten(2)`` (= ``x.reshape(B, C, H*W)``) keeps C where it is, so it is safe; only a
    reshape that moves C (``reshape(B, H*W, C)``) scrambles. ``W @ X`` then mixes channels
    for all ``H*W`` pixels at once (the same as ``einsum("dc,bchw->bdhw", W, x)``).

    Args:
        x: ``[B, C, H, W]``.
        weight: ``[D, C]``.
        bias: ``[D]`` or ``None``.

    Returns:
        ``[B, D, H, W]``, equal to ``F.conv2d(x, weight[:, :, None, None], bias)``.

    Examples:
        >>> x, w = torch.randn(2, 3, 4, 5), torch.randn(6, 3)
        >>> y = conv1x1_via_matmul(x, w)
        >>> y.shape, torch.allclose(y, torch.einsum("dc,bchw->bdhw", w, x), atol=1e-6)
        (torch.Size([2, 6, 4, 5]), True)
    """
    _check(x, weight, bias)
    b, _, h, w = x.shape
    out = weight @ x.flatten(2)  # [D, C] @ [B, C, H*W] -> [B, D, H*W], broadcast over B
    if bias is not None:
        out = out + bias[:, None]  # one bias per output channel, for every pixel
    return out.view(b, -1, h, w)


# --8<-- [end:matmul]


# --8<-- [start:tokens]
def to_tokens(x: Tensor) -> Tensor:
    """``[B, C, H, W] -> [B, H*W, C]``, each pixel's channel vector intact (timm).

    Args:
        x: ``[B, C, H, W]``.

    Returns:
        ``[B, H*W, C]``; token ``h * W + w`` is the channel vector ``x[b, :, h, w]``.

    Examples:
        >>> x = torch.arange(12).reshape(1, 3, 2, 2)  # channel c holds 4c, 4c+1, 4c+2, 4c+3
        >>> to_tokens(x)[0, 0]                        # pixel (0, 0): one value from each channel
        tensor([0, 4, 8])
    """
    if _tensor(x, "x").ndim != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(x.shape)}")
    return x.flatten(2).transpose(1, 2)  # [B, C, H*W] -> [B, H*W, C]


def to_tokens_wrong(x: Tensor) -> Tensor:
    """The plain ``reshape(B, H*W, C)``: the shape of :func:`to_tokens`, scrambled.

    ``reshape`` keeps memory order, which for NCHW is "all of channel 0, then all of channel 1,
    ...", so each "token" it makes is ``C`` consecutive values of mostly *one* channel.

    Args:
        x: ``[B, C, H, W]``.

    Returns:
        ``[B, H*W, C]`` whose rows are not pixels (unless ``C == 1`` or ``H * W == 1``).

    Examples:
        >>> x = torch.arange(12).reshape(1, 3, 2, 2)
        >>> to_tokens_wrong(x)[0, 0]  # values 0, 1, 2: three pixels of channel 0, not a pixel
        tensor([0, 1, 2])
    """
    if _tensor(x, "x").ndim != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(x.shape)}")
    b, c, h, w = x.shape
    return x.reshape(b, h * w, c)


# --8<-- [end:tokens]


# --8<-- [start:linear_any_dims]
def linear_last_dim(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """What ``nn.Linear`` computes on ``(*, C)``: ``x @ weight.T + bias``, last dim.

    Args:
        x: ``(*, C)``, any number of leading dimensions.
        weight: ``[D, C]``.
        bias: ``[D]`` or ``None``.

    Returns:
        ``(*, D)``, equal to ``F.linear(x, weight, bias)``.

    Examples:
        >>> w = torch.ones(4, 3)
        >>> linear_last_dim(torch.ones(2, 5, 7, 3), w).shape  # leading dims pass through
        torch.Size([2, 5, 7, 4])
    """
    _tensor(x, "x")
    _tensor(weight, "weight")
    if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x must have shape (*, C) and weight [D, C]; got x {tuple(x.shape)}, "
            f"weight {tuple(weight.shape)}"
        )
    if bias is not None and tuple(_tensor(bias, "bias").shape) != (weight.shape[0],):
        d = weight.shape[0]
        raise ValueError(f"bias must have shape [D] = [{d}], got {tuple(bias.shape)}")
    out = torch.matmul(x, weight.T)  # matmul broadcasts over every leading dimension
    return out + bias if bias is not None else out


# --8<-- [end:linear_any_dims]


# --8<-- [start:fold_bn]
def fold_bn(
    weight: Tensor,
    bias: Tensor | None,
    bn: nn.BatchNorm2d,
) -> tuple[Tensor, Tensor]:
    """Fold an eval-mode BatchNorm into the conv before it: one conv, same output.

    At inference BN is a fixed per-channel affine map ``gamma * (y - mean) / std + beta`` with
    ``std = sqrt(running_var + eps)``; applied to ``y = W x + b`` it gives a conv with weight
    ``W * gamma / std`` (row ``d`` scaled) and bias ``(b - mean) * gamma / std + beta``.

    Args:
        weight: conv weight ``[D, ...]`` (``[D, C]`` for a 1x1 conv here, any kernel works).
        bias: ``[D]`` or ``None`` (a conv followed by BN usually has ``bias=False``).
        bn: the ``nn.BatchNorm2d(D)`` after the conv; its running statistics are used.

    Returns:
        ``(weight', bias')`` of the folded conv.

    Examples:
        >>> conv, bn = nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4)
        >>> _ = bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
        >>> w, b = fold_bn(conv.weight.flatten(1), None, bn)
        >>> x = torch.randn(2, 3, 5, 5)
        >>> torch.allclose(bn.eval()(conv(x)), conv1x1_via_linear(x, w, b), atol=1e-5)
        True
    """
    if not isinstance(bn, nn.BatchNorm2d) or bn.running_var is None:
        raise TypeError(f"bn must be an nn.BatchNorm2d with running stats, got {bn!r}")
    d = _tensor(weight, "weight").shape[0]
    if bn.num_features != d:
        n = bn.num_features
        raise ValueError(f"bn.num_features must equal weight.shape[0] = {d}, got {n}")
    if bias is not None and tuple(_tensor(bias, "bias").shape) != (d,):
        raise ValueError(f"bias must have shape [D] = [{d}], got {tuple(bias.shape)}")
    gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_var)
    scale = (gamma / torch.sqrt(bn.running_var + bn.eps)).detach()  # [D]
    b = bias if bias is not None else torch.zeros_like(scale)
    new_weight = weight * scale.view(-1, *([1] * (weight.ndim - 1)))  # scale row d of W
    new_bias = (b - bn.running_mean) * scale + beta.detach()
    return new_weight.detach(), new_bias.detach()


# --8<-- [end:fold_bn]
