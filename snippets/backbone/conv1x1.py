"""A 1x1 convolution is a Linear layer applied at every pixel: when that holds and when it does not.

``nn.Conv2d(C, D, 1)`` computes ``y[b, :, h, w] = W @ x[b, :, h, w] + bias`` with ``W`` of shape
``[D, C]`` (the conv weight ``[D, C, 1, 1]`` squeezed). ``nn.Linear(C, D)`` computes
``y = x @ W.T + bias`` on the **last** dimension of a ``(*, C)`` tensor. So the two agree once the
channel axis is moved last; a plain ``reshape`` does not move it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _check(x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(getattr(x, 'shape', ()))}")
    if not isinstance(weight, Tensor) or weight.ndim != 2 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight must have shape [D, C] with C = x.shape[1] = {x.shape[1]}, "
            f"got {tuple(getattr(weight, 'shape', ()))}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape [D] = [{weight.shape[0]}], got {tuple(bias.shape)}")


# --8<-- [start:naive]
def conv1x1_naive(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """1x1 convolution as a loop over pixels: the same matrix ``W`` applied at every ``(h, w)``.

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
    """1x1 convolution through ``F.linear``: move channels last, apply, move them back.

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
    """
    _check(x, weight, bias)
    nhwc = x.permute(0, 2, 3, 1)  # [B, H, W, C]: channels last, where Linear acts
    return F.linear(nhwc, weight, bias).permute(0, 3, 1, 2)  # [B, H, W, D] -> [B, D, H, W]


# --8<-- [end:permute]


# --8<-- [start:tokens]
def to_tokens(x: Tensor) -> Tensor:
    """``[B, C, H, W] -> [B, H*W, C]`` keeping each pixel's channel vector intact (ViT/timm style).

    Args:
        x: ``[B, C, H, W]``.

    Returns:
        ``[B, H*W, C]``; token ``h * W + w`` is the channel vector ``x[b, :, h, w]``.

    Examples:
        >>> x = torch.arange(12).reshape(1, 3, 2, 2)  # channel c holds 4c, 4c+1, 4c+2, 4c+3
        >>> to_tokens(x)[0, 0]                        # pixel (0, 0): one value from each channel
        tensor([0, 4, 8])
    """
    if x.ndim != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(x.shape)}")
    return x.flatten(2).transpose(1, 2)  # [B, C, H*W] -> [B, H*W, C]


def to_tokens_wrong(x: Tensor) -> Tensor:
    """The plain ``reshape(B, H*W, C)``: same shape as :func:`to_tokens`, scrambled contents.

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
    if x.ndim != 4:
        raise ValueError(f"x must have shape [B, C, H, W], got {tuple(x.shape)}")
    b, c, h, w = x.shape
    return x.reshape(b, h * w, c)


# --8<-- [end:tokens]


# --8<-- [start:linear_any_dims]
def linear_last_dim(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """What ``nn.Linear`` computes on a ``(*, C)`` tensor: ``x @ weight.T + bias`` on the last dim.

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
    if weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x must have shape (*, C) and weight [D, C]; got x {tuple(x.shape)}, "
            f"weight {tuple(weight.shape)}"
        )
    out = torch.matmul(x, weight.T)  # matmul broadcasts over every leading dimension
    return out + bias if bias is not None else out


# --8<-- [end:linear_any_dims]
