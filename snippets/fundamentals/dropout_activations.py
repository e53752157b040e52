"""Inverted dropout and the common activations, mirroring ``torch.nn.functional``.

* ``dropout(input, p, training, generator)``: zero each element with probability ``p`` (the
  DROP probability, as torch) and scale survivors by ``1 / (1 - p)`` so ``E[out] = input``;
  identity when ``training=False``; all zeros at ``p = 1``;
* ``gelu(input, approximate)``: ``x * Phi(x)`` with erf, or the tanh form with 0.044715;
* ``silu``, ``sigmoid``/``tanh`` with their derivatives, ``leaky_relu``, ``elu``.

Bad input raises ``TypeError`` / ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _check_tensor(x: object, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of any shape, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")


def _check_p(p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float):
        raise TypeError(f"p must be a float in [0, 1], got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p has to be between 0 and 1, got {p}")
    return float(p)


# --8<-- [start:dropout_naive]
def dropout_naive(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Original (non-inverted) dropout: no rescale in training; ``* (1 - p)`` in eval.

    Args:
        input: tensor of any shape.
        p: probability of zeroing an element.
        training: drop (train) or scale by the keep probability (eval).

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> dropout_naive(torch.ones(3), p=0.25, training=False).tolist()
        [0.75, 0.75, 0.75]
    """
    _check_tensor(input)
    p = _check_p(p)
    if not training:  # Srivastava et al.: weights times the retain probability 1 - p
        return input * (1.0 - p)
    keep = torch.rand(input.shape, dtype=input.dtype) >= p
    return input * keep


# --8<-- [end:dropout_naive]


# --8<-- [start:dropout]
def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Inverted dropout, as ``F.dropout``: survivors scaled by 1 / (1 - p).

    Args:
        input: tensor of any shape.
        p: probability of zeroing an element (NOT the keep probability).
        training: if False, return the input unchanged.
        generator: optional ``torch.Generator`` for the mask.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> x = torch.ones(4)
        >>> torch.equal(dropout(x, p=0.5, training=False), x)
        True
        >>> dropout(x, p=1.0).tolist()
        [0.0, 0.0, 0.0, 0.0]
    """
    _check_tensor(input)
    p = _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:  # 1 / (1 - p) would be inf and 0 * inf = nan: torch returns zeros
        return input * 0.0
    u = torch.rand(input.shape, generator=generator, dtype=input.dtype)
    keep = (u >= p).to(input.dtype)  # P(keep) = 1 - p
    # Rescale at train time so eval is the identity: E[out] = (1-p) * x / (1-p) = x.
    return input * keep / (1.0 - p)


# --8<-- [end:dropout]


# --8<-- [start:gelu]
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU, as ``F.gelu``: x * Phi(x), or the tanh approximation.

    Args:
        input: tensor of any shape.
        approximate: ``"none"`` (erf) or ``"tanh"``.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> round(float(gelu(torch.tensor(1.0))), 4)  # 1 * Phi(1)
        0.8413
    """
    _check_tensor(input)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input**3)
        return 0.5 * input * (1.0 + torch.tanh(inner))
    return 0.5 * input * (1.0 + torch.erf(input / math.sqrt(2.0)))  # Phi via erf


# --8<-- [end:gelu]


# --8<-- [start:others]
def silu(input: Tensor) -> Tensor:
    """SiLU / Swish-1, as ``F.silu``: x * sigmoid(x).

    Args:
        input: tensor of any shape.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> float(silu(torch.tensor(0.0)))
        0.0
    """
    _check_tensor(input)
    return input * torch.sigmoid(input)


def sigmoid_grad(input: Tensor) -> Tensor:
    """Derivative of the sigmoid: s * (1 - s), at most 1/4 (at x = 0).

    Args:
        input: tensor of any shape.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> float(sigmoid_grad(torch.tensor(0.0)))
        0.25
    """
    _check_tensor(input)
    s = torch.sigmoid(input)
    return s * (1.0 - s)


def tanh_grad(input: Tensor) -> Tensor:
    """Derivative of tanh: 1 - tanh^2, at most 1 (at x = 0).

    Args:
        input: tensor of any shape.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> float(tanh_grad(torch.tensor(0.0)))
        1.0
    """
    _check_tensor(input)
    return 1.0 - torch.tanh(input) ** 2


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU, as ``F.leaky_relu``: x if x > 0 else slope * x.

    Args:
        input: tensor of any shape.
        negative_slope: slope for x < 0.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> leaky_relu(torch.tensor([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    _check_tensor(input)
    return torch.where(input > 0, input, negative_slope * input)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """ELU, as ``F.elu``: x if x > 0 else alpha * (exp(x) - 1).

    Args:
        input: tensor of any shape.
        alpha: saturation value for x -> -inf is -alpha.

    Returns:
        Tensor of the input's shape.

    Examples:
        >>> float(elu(torch.tensor(0.0)))
        0.0
    """
    _check_tensor(input)
    return torch.where(input > 0, input, alpha * torch.expm1(input))


# --8<-- [end:others]
