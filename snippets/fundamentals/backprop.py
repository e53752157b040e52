"""Backpropagation by hand, gradient checking, and Xavier / Kaiming initialisation.

* ``mlp_forward(x, y, params)`` / ``mlp_backward(cache, y)``: a two-layer MLP
  ``x -> Linear -> ReLU -> Linear -> softmax cross-entropy`` (mean over the batch) in NumPy.
  Layout: ``x`` is ``[N, D]``, ``W1`` is ``[D, H]``, ``b1`` ``[H]``, ``W2`` ``[H, C]``,
  ``b2`` ``[C]``, so a layer is ``x @ W + b`` (torch's ``nn.Linear`` stores ``[out, in]``
  and computes ``x @ W.T + b``). The ReLU derivative at exactly 0 is taken as 0, as torch does.
* ``numerical_gradient(f, x, eps)``: central differences, the gradient check.
* ``calculate_gain``, ``xavier_uniform_``, ``kaiming_normal_`` mirror ``torch.nn.init``
  (names, defaults, the fan computation for ``[out, in, *kernel]`` weights).
* ``deep_grad_norms``: per-layer gradient norms of a deep MLP (vanishing gradients).

Bad input raises ``TypeError`` / ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

PARAM_KEYS = ("W1", "b1", "W2", "b2")


def _check_array(a: object, name: str, ndim: int, shape: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of shape {shape}, got {type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return a


def _check_inputs(x: object, y: object, params: object) -> None:
    x = _check_array(x, "x", 2, "[N, D]")
    if not isinstance(params, dict) or set(params) != set(PARAM_KEYS):
        raise TypeError(f"params must be a dict with keys {PARAM_KEYS}, got {params!r:.80}")
    n, d = x.shape
    w1 = _check_array(params["W1"], "params['W1']", 2, "[D, H]")
    h = w1.shape[1]
    w2 = _check_array(params["W2"], "params['W2']", 2, "[H, C]")
    c = w2.shape[1]
    if w1.shape[0] != d:
        raise ValueError(f"params['W1'] must have shape [D={d}, H], got {w1.shape}")
    if w2.shape[0] != h:
        raise ValueError(f"params['W2'] must have shape [H={h}, C], got {w2.shape}")
    _check_array(params["b1"], "params['b1']", 1, f"[H={h}]")
    _check_array(params["b2"], "params['b2']", 1, f"[C={c}]")
    if params["b1"].shape != (h,) or params["b2"].shape != (c,):
        raise ValueError(f"params['b1'] / params['b2'] must have shapes [{h}] / [{c}]")
    y = _check_array(y, "y", 1, f"[N={n}] of class indices")
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must be integer class indices of shape [N={n}], got {y.dtype} {y.shape}"
        )
    if n and (y.min() < 0 or y.max() >= c):
        raise ValueError(f"y must hold class indices in [0, C={c}), got {y.min()}..{y.max()}")


# --8<-- [start:mlp]
def mlp_forward(
    x: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss of x -> Linear -> ReLU -> Linear -> softmax CE (mean), and a cache.

    Args:
        x: inputs ``[N, D]``.
        y: class indices ``[N]`` in ``[0, C)``.
        params: ``W1 [D, H]``, ``b1 [H]``, ``W2 [H, C]``, ``b2 [C]``.

    Returns:
        ``(loss, cache)``; the cache keeps what the backward pass reuses.

    Examples:
        >>> p = {"W1": np.zeros((2, 3)), "b1": np.zeros(3),
        ...      "W2": np.zeros((3, 4)), "b2": np.zeros(4)}
        >>> loss, _ = mlp_forward(np.ones((5, 2)), np.zeros(5, int), p)
        >>> round(loss, 4) == round(math.log(4), 4)  # uniform over 4 classes
        True
    """
    _check_inputs(x, y, params)
    z1 = x @ params["W1"] + params["b1"]  # [N, H] pre-activation
    h = np.maximum(z1, 0.0)  # [N, H]
    logits = h @ params["W2"] + params["b2"]  # [N, C]
    shifted = logits - logits.max(axis=1, keepdims=True)  # stable softmax
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(len(y)), y].mean()
    cache = {"x": x, "z1": z1, "h": h, "p": np.exp(log_p), "W2": params["W2"]}
    return float(loss), cache


def mlp_backward(cache: dict[str, np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of the mean loss, with the same keys and shapes as ``params``.

    Args:
        cache: from ``mlp_forward``: ``x [N, D]``, ``z1 [N, H]`` (pre-activation),
            ``h [N, H]`` (after ReLU), ``p [N, C]`` (softmax), ``W2 [H, C]``.
        y: the same class indices ``[N]``.

    Returns:
        ``{"W1": [D, H], "b1": [H], "W2": [H, C], "b2": [C]}``.

    Examples:
        >>> p = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.eye(2), "b2": np.zeros(2)}
        >>> _, cache = mlp_forward(np.zeros((1, 2)), np.array([0]), p)
        >>> mlp_backward(cache, np.array([0]))["b2"].tolist()  # p - onehot = (.5, .5) - (1, 0)
        [-0.5, 0.5]
    """
    n = cache["x"].shape[0]
    dlogits = cache["p"].copy()  # [N, C]
    dlogits[np.arange(n), y] -= 1.0  # p - one_hot(y)
    dlogits /= n  # the loss is a MEAN over the batch
    dW2 = cache["h"].T @ dlogits  # [H, N] @ [N, C] -> [H, C]
    db2 = dlogits.sum(axis=0)  # the bias is broadcast over N: sum its gradient
    dh = dlogits @ cache["W2"].T  # [N, C] @ [C, H] -> [N, H]
    dz1 = dh * (cache["z1"] > 0)  # ReLU'(z) = 1 if z > 0 else 0 (0 at z = 0, as torch)
    dW1 = cache["x"].T @ dz1  # [D, N] @ [N, H] -> [D, H]
    db1 = dz1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# --8<-- [end:mlp]


# --8<-- [start:numerical_gradient]
def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) per entry.

    Args:
        f: scalar function of ``x`` (it may read ``x`` in place).
        x: float64 array of any shape; perturbed in place, then restored.
        eps: step; error O(eps^2) from truncation, O(1e-16 / eps) from rounding.

    Returns:
        The numerical gradient, same shape as ``x``.

    Examples:
        >>> g = numerical_gradient(lambda v: float((v**2).sum()), np.array([1.0, -2.0]))
        >>> np.round(g, 6).tolist()  # d/dv sum(v^2) = 2v
        [2.0, -4.0]
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 numpy.ndarray, got {getattr(x, 'dtype', type(x))}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old  # restore, or every later entry sees a shifted x
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||): the gradient-check score, scale-free.

    Args:
        a: analytic gradient.
        b: numerical gradient, same shape.

    Returns:
        A float in [0, 1]; < 1e-7 is a pass in float64 (0 if both are 0).

    Examples:
        >>> relative_error(np.array([1.0]), np.array([1.0 + 1e-9])) < 1e-9
        True
    """
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


# --8<-- [end:numerical_gradient]


# --8<-- [start:init]
def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch.nn.init.calculate_gain returns (std multiplier per activation).

    Args:
        nonlinearity: ``"linear"``, ``"conv2d"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
            ``"leaky_relu"`` or ``"selu"``.
        param: negative slope for ``"leaky_relu"`` (default 0.01).

    Returns:
        The gain.

    Examples:
        >>> calculate_gain("relu") == math.sqrt(2)  # ReLU zeroes half the variance
        True
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"param (negative_slope) must be a number, got {slope!r}")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity {nonlinearity!r} is not supported")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Fans of a weight laid out as torch does: ``[out, in, *kernel]``.

    Args:
        tensor: weight with at least 2 dimensions.

    Returns:
        ``(fan_in, fan_out) = (in * prod(kernel), out * prod(kernel))``.

    Examples:
        >>> fan_in_and_fan_out(torch.empty(64, 3, 7, 7))  # conv: 3*49, 64*49
        (147, 3136)
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = math.prod(tensor.shape[2:])  # 1 for a Linear weight
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Glorot: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)), in place.

    Args:
        tensor: weight ``[out, in, *kernel]``.
        gain: multiplier (``calculate_gain`` of the activation).
        generator: optional ``torch.Generator``.

    Returns:
        ``tensor``, filled.

    Examples:
        >>> w = xavier_uniform_(torch.empty(300, 300))  # a = sqrt(6 / 600) = 0.1
        >>> bool(w.abs().max() <= 0.1)
        True
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    # Var[U(-a, a)] = a^2 / 3 = 2 / (fan_in + fan_out): Glorot's compromise.
    a = gain * math.sqrt(3.0) * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-a, a, generator=generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """He: N(0, std^2), std = gain / sqrt(fan), in place (defaults give gain sqrt(2)).

    Args:
        tensor: weight ``[out, in, *kernel]``.
        a: negative slope of the leaky ReLU (0: plain ReLU).
        mode: ``"fan_in"`` keeps forward variance, ``"fan_out"`` backward variance.
        nonlinearity: as in ``calculate_gain``.
        generator: optional ``torch.Generator``.

    Returns:
        ``tensor``, filled.

    Examples:
        >>> w = kaiming_normal_(torch.empty(500, 800), generator=torch.manual_seed(0))
        >>> round(float(w.std()) * math.sqrt(800) / math.sqrt(2), 1)  # std = sqrt(2/800)
        1.0
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:  # torch warns and returns the tensor unchanged
        return tensor
    fan = fan_in if mode == "fan_in" else fan_out
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)


# --8<-- [end:init]


# --8<-- [start:deep]
def deep_grad_norms(weights: list[np.ndarray], x: np.ndarray, activation: str) -> np.ndarray:
    """||dL/dW_l|| for every layer of h_l = act(h_{l-1} @ W_l), L = sum(h_last) / N.

    Args:
        weights: ``[W_1 [D, D], ..., W_L [D, D]]``.
        x: inputs ``[N, D]``.
        activation: ``"relu"`` or ``"sigmoid"``.

    Returns:
        Frobenius norms ``[L]``, first layer first.

    Examples:
        >>> ws = [np.eye(2), np.eye(2)]
        >>> deep_grad_norms(ws, np.ones((1, 2)), "relu").tolist()  # dW = ones(2, 2): norm 2
        [2.0, 2.0]
    """
    if activation not in ("relu", "sigmoid"):
        raise ValueError(f"activation must be 'relu' or 'sigmoid', got {activation!r}")
    hs, zs = [x], []
    for w in weights:  # forward, keeping every input and pre-activation
        zs.append(hs[-1] @ w)
        z = zs[-1]
        hs.append(np.maximum(z, 0) if activation == "relu" else 1 / (1 + np.exp(-z)))
    grad_h = np.ones_like(hs[-1]) / len(x)
    norms = []
    for w, z, h_in, h_out in zip(weights[::-1], zs[::-1], hs[-2::-1], hs[:0:-1], strict=True):
        # chain rule through the activation: relu' = [z > 0], sigmoid' = s (1 - s)
        dz = grad_h * ((z > 0) if activation == "relu" else h_out * (1 - h_out))
        norms.append(np.linalg.norm(h_in.T @ dz))
        grad_h = dz @ w.T
    return np.array(norms[::-1])


# --8<-- [end:deep]
