"""Softmax, log-softmax, cross-entropy, KL divergence, BCE with logits, distillation.

Names, signatures and semantics mirror ``torch.nn.functional`` (torch 2.14):

* ``softmax(x, dim)`` / ``log_softmax(x, dim)`` subtract the maximum along ``dim`` first,
  so logits of ``+-1e4`` neither overflow nor underflow; ``softmax_naive`` shows why;
* ``cross_entropy`` takes logits ``[N, C]`` / ``[N, C, d1, ...]`` (or ``[C]``) and class
  indices ``[N]`` / ``[N, d1, ...]`` (or probabilities of the input's shape). The weighted
  ``"mean"`` divides by the sum of the weights of the non-ignored targets; with label
  smoothing the smoothing term weighs every class ``c`` by ``weight[c]`` and is divided by
  the same sum (``aten/src/ATen/native/LossNLL.cpp``, ``cross_entropy_loss_label_smoothing``);
* ``kl_div(input, target)``: ``input`` is log-probabilities; only ``"batchmean"`` gives
  the KL divergence per sample (``"mean"`` also divides by the number of classes);
* ``binary_cross_entropy_with_logits`` uses ``max(x, 0) - x*y + log(1 + exp(-|x|))``.

Bad input raises ``TypeError`` / ``ValueError`` naming the argument (torch raises
``IndexError`` / ``RuntimeError`` for some of these; see the page).
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor


def _check_tensor(x: object, name: str, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of shape {shape}, got {x.dtype}")


def _check_dim(x: Tensor, dim: object) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(
            f"dim must be in [-{x.ndim}, {x.ndim}) for x of shape {tuple(x.shape)}, got {dim}"
        )
    return dim


def _check_reduction(reduction: object, allowed: tuple[str, ...]) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if reduction == "mean" else loss


# --8<-- [start:softmax_naive]
def softmax_naive(x: Tensor, dim: int) -> Tensor:
    """The textbook formula exp(x) / sum(exp(x)): overflows for large logits.

    Args:
        x: logits of any shape.
        dim: the axis whose entries are normalised to sum to 1.

    Returns:
        Probabilities, same shape as ``x``.

    Examples:
        >>> softmax_naive(torch.tensor([1e4, 0.0]), dim=0)  # exp(1e4) = inf; inf / inf
        tensor([nan, 0.])
        >>> softmax_naive(torch.tensor([-1e4, -1e4]), dim=0)  # exp(-1e4) = 0; 0 / 0
        tensor([nan, nan])
    """
    _check_tensor(x, "x", "[..., C, ...]")
    dim = _check_dim(x, dim)
    e = torch.exp(x)
    return e / e.sum(dim, keepdim=True)


# --8<-- [end:softmax_naive]


# --8<-- [start:softmax]
def softmax(x: Tensor, dim: int) -> Tensor:
    """Stable softmax: softmax(x) = softmax(x - max(x)), and exp(x - max) <= 1.

    Args:
        x: logits of any shape.
        dim: the axis whose entries are normalised to sum to 1.

    Returns:
        Probabilities, same shape as ``x``.

    Examples:
        >>> softmax(torch.tensor([1e4, 0.0]), dim=0)  # exp(0) / (exp(0) + exp(-1e4))
        tensor([1., 0.])
        >>> softmax(torch.tensor([[0.0, math.log(3)]]), dim=1)  # 1 : 3
        tensor([[0.2500, 0.7500]])
    """
    _check_tensor(x, "x", "[..., C, ...]")
    dim = _check_dim(x, dim)
    if x.numel() == 0:
        return x.clone()
    # The shift is a constant for autograd: softmax does not depend on it.
    m = x.amax(dim, keepdim=True).detach()
    e = torch.exp(x - m)
    return e / e.sum(dim, keepdim=True)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """Stable log-softmax: x - m - log(sum(exp(x - m))), the log-sum-exp trick.

    Args:
        x: logits of any shape.
        dim: the axis to normalise over.

    Returns:
        Log-probabilities, same shape as ``x``.

    Examples:
        >>> log_softmax(torch.tensor([1e4, 0.0, -1e4]), dim=0)  # not -inf
        tensor([      0., -10000., -20000.])
        >>> round(float(log_softmax(torch.zeros(4), dim=0)[0]), 4)  # -log 4
        -1.3863
    """
    _check_tensor(x, "x", "[..., C, ...]")
    dim = _check_dim(x, dim)
    if x.numel() == 0:
        return x.clone()
    m = x.amax(dim, keepdim=True).detach()
    shifted = x - m  # <= 0, so exp(shifted) <= 1 and the sum lies in [1, C]
    return shifted - torch.log(torch.exp(shifted).sum(dim, keepdim=True))


# --8<-- [end:softmax]


def _check_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> bool:
    """Validate the arguments; return True for probability (soft) targets."""
    _check_tensor(input, "input", "[N, C] or [N, C, d1, ...]")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an int, got {type(ignore_index).__name__}")
    if not isinstance(target, Tensor):
        raise TypeError(
            f"target must be a torch.Tensor of shape [N] or [N, d1, ...], "
            f"got {type(target).__name__}"
        )
    if input.ndim == 0 or input.shape[min(1, input.ndim - 1)] == 0:
        raise ValueError(f"input must have shape [N, C] with C >= 1, got {tuple(input.shape)}")
    cdim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[cdim]
    soft = target.shape == input.shape
    if soft and not target.is_floating_point():
        raise TypeError(
            f"target with the input's shape holds class probabilities and must "
            f"be floating point, got {target.dtype}"
        )
    if soft and ignore_index >= 0:
        raise ValueError(f"ignore_index must be < 0 with probability targets, got {ignore_index}")
    if not soft:
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got {target.dtype}")
        expected = input.shape[:cdim] + input.shape[cdim + 1 :]
        if target.shape != expected:
            raise ValueError(
                f"target must have shape {tuple(expected)} (input's shape without "
                f"the class dim C) or {tuple(input.shape)}, "
                f"got {tuple(target.shape)}"
            )
        valid = target[target != ignore_index]
        if valid.numel() and bool(((valid < 0) | (valid >= n_classes)).any()):
            bad = int(valid[(valid < 0) | (valid >= n_classes)][0])
            raise ValueError(
                f"target must hold class indices in [0, {n_classes}) or "
                f"ignore_index={ignore_index}, got {bad}"
            )
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape != (n_classes,)):
        got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a tensor of shape [C] = ({n_classes},), got {got}")
    _check_reduction(reduction, ("none", "mean", "sum"))
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, int | float):
        raise TypeError(f"label_smoothing must be a float, got {type(label_smoothing).__name__}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    return soft


# --8<-- [start:cross_entropy]
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy from logits, as ``F.cross_entropy``.

    Args:
        input: logits ``[N, C]``, ``[N, C, d1, ...]`` or ``[C]``.
        target: class indices ``[N]`` / ``[N, d1, ...]`` / ``[]``, or probabilities
            of the same shape as ``input``.
        weight: ``[C]`` weight of each class, or None.
        ignore_index: targets equal to it add nothing (class-index targets only).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        label_smoothing: epsilon in [0, 1]: the target becomes
            ``(1 - eps) * one_hot + eps / C``.

    Returns:
        The loss: a scalar, or ``[N, d1, ...]`` with ``reduction="none"``.

    Examples:
        >>> x = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
        >>> round(float(cross_entropy(x, torch.tensor([0, 1]))), 4)  # log 2
        0.6931
        >>> w = torch.tensor([1.0, 3.0])  # (1 * log 2 + 3 * log 2) / (1 + 3)
        >>> round(float(cross_entropy(x, torch.tensor([0, 1]), weight=w)), 4)
        0.6931
        >>> float(cross_entropy(x, torch.tensor([-100, -100])))  # 0 / 0
        nan
    """
    soft = _check_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)
    cdim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[cdim]
    eps = float(label_smoothing)
    logp = log_softmax(input, cdim).movedim(cdim, -1)  # classes last: [N, d1, ..., C]
    w = torch.ones(n_classes, dtype=input.dtype) if weight is None else weight
    if soft:
        return _cross_entropy_soft(logp, target.movedim(cdim, -1), w, reduction, eps)

    keep = target != ignore_index  # [N, d1, ...]
    safe = torch.where(keep, target, 0)  # any valid index; masked out below
    w_t = torch.where(keep, w[safe], 0.0)  # weight of each target, 0 if ignored
    picked = logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # log p[target]
    nll = torch.where(keep, -w_t * picked, 0.0)
    # Smoothing term: -sum_c w[c] * log p[c], every class weighed by its OWN weight.
    smooth = torch.where(keep, -(w * logp).sum(-1), 0.0)
    if reduction == "none":
        if eps == 0.0:  # skip the term: 0 * inf would give nan for -inf logits
            return nll
        return (1 - eps) * nll + eps / n_classes * smooth
    if reduction == "sum":
        total, smooth_total = nll.sum(), smooth.sum()
    else:  # both terms divided by sum_n w[y_n] over non-ignored targets
        denom = w_t.sum()  # 0 when every target is ignored: 0 / 0 = nan, as torch
        total, smooth_total = nll.sum() / denom, smooth.sum() / denom
    if eps == 0.0:
        return total
    return (1 - eps) * total + eps / n_classes * smooth_total


def _cross_entropy_soft(
    logp: Tensor, target: Tensor, w: Tensor, reduction: str, eps: float
) -> Tensor:
    """Probability targets: -sum_c w[c] t[c] log p[c]; "mean" divides by N * d1 * ..."""
    if eps > 0.0:
        target = target * (1 - eps) + eps / logp.shape[-1]
    loss = -(logp * target * w).sum(-1)
    if reduction == "mean":  # NOT by the weights: one count per position, as torch
        return loss.sum() / loss.numel()
    return _reduce(loss, reduction)


# --8<-- [end:cross_entropy]


# --8<-- [start:cross_entropy_grad]
def cross_entropy_grad(input: Tensor, target: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Gradient of the mean cross-entropy w.r.t. the logits: (p - y_smooth) / N.

    Args:
        input: logits ``[N, C]``.
        target: ``[N]`` class indices.
        label_smoothing: epsilon in [0, 1].

    Returns:
        ``[N, C]`` gradient of ``cross_entropy(input, target, label_smoothing=eps)``.

    Examples:
        >>> g = cross_entropy_grad(torch.zeros(1, 2), torch.tensor([0]))
        >>> g.tolist()  # p = (0.5, 0.5), y = (1, 0)
        [[-0.5, 0.5]]
    """
    _check_cross_entropy(input, target, None, -100, "mean", label_smoothing)
    if input.ndim != 2 or target.ndim != 1:
        raise ValueError(
            f"input must have shape [N, C] and target [N], "
            f"got {tuple(input.shape)} and {tuple(target.shape)}"
        )
    n, n_classes = input.shape
    y = torch.nn.functional.one_hot(target, n_classes).to(input.dtype)
    y_smooth = (1 - label_smoothing) * y + label_smoothing / n_classes
    return (softmax(input, dim=1) - y_smooth) / n


# --8<-- [end:cross_entropy_grad]


# --8<-- [start:kl_div]
def kl_div(
    input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """KL(target || exp(input)) pointwise, as ``F.kl_div``: ``input`` is LOG-probabilities.

    Args:
        input: log-probabilities ``log q``, e.g. ``[N, C]``.
        target: probabilities ``p`` (or ``log p`` if ``log_target``), same shape.
        reduction: ``"none"``, ``"batchmean"`` (the KL per sample), ``"sum"`` or
            ``"mean"`` (divides by the number of elements; torch warns).
        log_target: whether ``target`` is given as log-probabilities.

    Returns:
        The loss: a scalar, or the shape of ``input`` with ``reduction="none"``.

    Examples:
        >>> p = torch.tensor([[0.5, 0.5]])
        >>> q = torch.tensor([[0.25, 0.75]])
        >>> kl = kl_div(q.log(), p, reduction="batchmean")  # 0.5 ln 2 + 0.5 ln(2/3)
        >>> round(float(kl), 4)
        0.1438
    """
    _check_tensor(input, "input", "[N, ...] (log-probabilities)")
    _check_tensor(target, "target", "[N, ...] (the input's shape)")
    if target.shape != input.shape:
        raise ValueError(
            f"target must have the input's shape {tuple(input.shape)}, got {tuple(target.shape)}"
        )
    _check_reduction(reduction, ("none", "batchmean", "sum", "mean"))
    if log_target:
        out = torch.exp(target) * (target - input)
    else:  # xlogy(0, 0) = 0: classes with p = 0 contribute nothing
        out = torch.xlogy(target, target) - target * input
    if reduction == "mean":
        warnings.warn(
            "reduction='mean' divides by the number of elements, not the batch "
            "size; use 'batchmean' for the KL divergence",
            stacklevel=2,
        )
    if reduction == "batchmean":
        return out.sum() / input.shape[0] if input.ndim > 0 else out.sum()
    return _reduce(out, reduction)


# --8<-- [end:kl_div]


def _check_broadcast(x: Tensor | None, name: str, shape: torch.Size) -> None:
    if x is None:
        return
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or None, got {type(x).__name__}")
    try:
        ok = torch.broadcast_shapes(x.shape, shape) == shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name} must broadcast to the input's shape {tuple(shape)}, got {tuple(x.shape)}"
        )


# --8<-- [start:bce]
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula, as torch's.

    Args:
        input: logits of any shape.
        target: targets in [0, 1], same shape.
        weight: rescaling weight broadcast to the input's shape, or None.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        pos_weight: weight of the positive term, broadcast (e.g. ``[C]``), or None.

    Returns:
        The loss: a scalar, or the input's shape with ``reduction="none"``.

    Examples:
        >>> x = torch.tensor([1e4, -1e4, 0.0])
        >>> binary_cross_entropy_with_logits(x, torch.tensor([0.0, 1, 1]), reduction="none")
        tensor([1.0000e+04, 1.0000e+04, 6.9315e-01])
    """
    _check_tensor(input, "input", "[...] (logits)")
    _check_tensor(target, "target", "[...] (the input's shape)")
    if target.shape != input.shape:
        raise ValueError(
            f"target must have the input's shape {tuple(input.shape)}, got {tuple(target.shape)}"
        )
    _check_broadcast(weight, "weight", input.shape)
    _check_broadcast(pos_weight, "pos_weight", input.shape)
    _check_reduction(reduction, ("none", "mean", "sum"))
    # log(1 + exp(-|x|)): the argument of exp is <= 0, nothing overflows.
    log1p_term = torch.log1p(torch.exp(-input.abs()))
    if pos_weight is None:
        loss = input.clamp(min=0) - input * target + log1p_term
    else:  # -[pw * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x))]
        softplus_neg = (-input).clamp(min=0) + log1p_term  # -log sigmoid(x)
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --8<-- [end:bce]


# --8<-- [start:distillation_loss]
def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> Tensor:
    """Hinton et al. (2015) distillation: alpha * T^2 * KL_T + (1 - alpha) * CE.

    Args:
        student_logits: ``[N, C]`` logits of the student.
        teacher_logits: ``[N, C]`` logits of the teacher (treated as constants).
        target: ``[N]`` true class indices.
        temperature: T > 0; both softmaxes of the soft term use logits / T.
        alpha: weight of the soft term, in [0, 1].

    Returns:
        Scalar loss.

    Examples:
        >>> z = torch.tensor([[2.0, 0.0, -1.0]])
        >>> float(distillation_loss(z, z, torch.tensor([0]), alpha=1.0))  # KL(p || p)
        0.0
    """
    _check_tensor(student_logits, "student_logits", "[N, C]")
    _check_tensor(teacher_logits, "teacher_logits", "[N, C]")
    if student_logits.ndim != 2 or teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"student_logits and teacher_logits must both have shape [N, C], "
            f"got {tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise TypeError(f"temperature must be a float, got {type(temperature).__name__}")
    if not temperature > 0 or math.isinf(temperature):
        raise ValueError(f"temperature must be a finite float > 0, got {temperature}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a float in [0, 1], got {alpha!r}")
    t = float(temperature)
    p_teacher = softmax(teacher_logits.detach() / t, dim=1)
    log_q_student = log_softmax(student_logits / t, dim=1)
    # The soft term's gradient is (q - p) / T; T^2 brings it back to the scale of CE.
    soft = kl_div(log_q_student, p_teacher, reduction="batchmean") * t**2
    hard = cross_entropy(student_logits, target)
    return alpha * soft + (1 - alpha) * hard


# --8<-- [end:distillation_loss]
