"""Focal loss (Lin et al., ICCV 2017): sigmoid form as in torchvision, and a softmax variant.

``FL(p_t) = -alpha_t * (1 - p_t) ** gamma * log(p_t)``, where ``p_t`` is the probability the model
gives to the true label. ``alpha`` weights the **positive** class (``alpha_t = alpha`` for target 1,
``1 - alpha`` for target 0), as in the paper and ``torchvision.ops.sigmoid_focal_loss``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _check_gamma(gamma: float) -> None:
    if isinstance(gamma, bool) or not isinstance(gamma, int | float):
        raise TypeError(f"gamma must be a float >= 0, got {type(gamma).__name__}")
    if math.isnan(gamma) or gamma < 0:
        raise ValueError(f"gamma must be a float >= 0, got {gamma}")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of 'none', 'mean', 'sum', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# --8<-- [start:modulating_factor]
def _modulating_factor(p_t: Tensor, gamma: float) -> Tensor:
    """``(1 - p_t) ** gamma`` with the base clamped at the smallest normal float.

    The value changes only where ``1 - p_t`` rounded to exactly 0 (the factor stays ~0), and
    the gradient there is 0 instead of ``nan`` when ``gamma < 1``.
    """
    tiny = torch.finfo(p_t.dtype).tiny  # 1.2e-38 in float32: tiny ** -1 is still finite
    return (1 - p_t).clamp(min=tiny) ** gamma


# --8<-- [end:modulating_factor]


# --8<-- [start:sigmoid_focal_loss]
def sigmoid_focal_loss(
    inputs: Tensor,
    targets: Tensor,
    alpha: float = 0.25,
    gamma: float = 2,
    reduction: str = "none",
) -> Tensor:
    """Binary focal loss on logits (mirrors ``torchvision.ops.sigmoid_focal_loss``).

    Args:
        inputs: logits of any shape ``[*]`` (one independent sigmoid per element).
        targets: same shape, values in ``[0, 1]`` (1 = positive; soft labels allowed).
        alpha: weight of the positive class in ``[0, 1]``; negatives get ``1 - alpha``.
            ``-1`` switches the weighting off.
        gamma: focusing parameter ``>= 0``; ``0`` gives (alpha-weighted) binary cross-entropy.
        reduction: ``"none"`` (shape ``[*]``), ``"mean"`` over all elements, or ``"sum"``.

    Returns:
        The loss, shaped by ``reduction``.

    Examples:
        >>> x, t = torch.tensor([2.0, 2.0]), torch.tensor([1.0, 0.0])
        >>> loss = sigmoid_focal_loss(x, t)  # p = sigmoid(2) = 0.8808
        >>> round(loss[0].item(), 5)  # positive, easy: 0.25 * 0.1192**2 * -log(0.8808)
        0.00045
        >>> round(loss[1].item(), 4)  # negative, hard: 0.75 * 0.8808**2 * -log(0.1192)
        1.2376
    """
    if not isinstance(inputs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError("inputs and targets must be torch.Tensor of the same shape")
    if inputs.shape != targets.shape:
        raise ValueError(
            f"targets must have the same shape as inputs {tuple(inputs.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    if not (0 <= alpha <= 1) and alpha != -1:
        raise ValueError(f"alpha must be in [0, 1] or -1 (no weighting), got {alpha}")
    _check_gamma(gamma)
    _check_reduction(reduction)
    p = torch.sigmoid(inputs)
    # BCE on logits uses log-sum-exp: finite for |x| = 100, where log(sigmoid(x)) gives -inf.
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)  # probability of the true label
    # Easy examples (p_t -> 1) are scaled towards 0. A saturated sigmoid gives
    # 1 - p_t == 0, where pow's backward is inf * 0 = nan for gamma < 1.
    loss = ce * _modulating_factor(p_t, gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)  # alpha for positives
        loss = alpha_t * loss
    return _reduce(loss, reduction)


# --8<-- [end:sigmoid_focal_loss]


# --8<-- [start:sigmoid_focal_loss_grad]
def sigmoid_focal_loss_grad(
    inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2
) -> Tensor:
    """Closed-form ``d FL / d x`` for hard labels (paper, Appendix B), element-wise.

    With ``y = +1 / -1``, ``x_t = y * x`` and ``p_t = sigmoid(x_t)``:
    ``dFL/dx = alpha_t * y * (1 - p_t) ** gamma * (gamma * p_t * log(p_t) + p_t - 1)``.

    Args:
        inputs: logits of any shape.
        targets: same shape, values 0 or 1.
        alpha: as in :func:`sigmoid_focal_loss` (``-1``: no weighting).
        gamma: focusing parameter ``>= 0``.

    Returns:
        The gradient of ``sigmoid_focal_loss(..., reduction="sum")`` w.r.t. ``inputs``.

    Examples:
        >>> x = torch.tensor([20.0])  # an easy positive, sigmoid(20) == 1.0 in float32
        >>> g = sigmoid_focal_loss_grad(x, torch.ones(1), alpha=-1, gamma=0.5)
        >>> f"{g.item():.2e}"  # finite and ~0, where autograd of the loss gives nan
        '-1.40e-13'
    """
    if not isinstance(inputs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError("inputs and targets must be torch.Tensor of the same shape")
    if inputs.shape != targets.shape:
        raise ValueError(
            f"targets must have the same shape as inputs {tuple(inputs.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    if bool(((targets != 0) & (targets != 1)).any()):
        raise ValueError("targets must be hard labels, 0 or 1 (for the closed form)")
    if not (0 <= alpha <= 1) and alpha != -1:
        raise ValueError(f"alpha must be in [0, 1] or -1 (no weighting), got {alpha}")
    _check_gamma(gamma)
    y = 2 * targets - 1
    x_t = y * inputs
    p_t = torch.sigmoid(x_t)
    q = torch.sigmoid(-x_t)  # 1 - p_t without the rounding to 0 at a saturated sigmoid
    # gamma * p_t * log(p_t) + p_t - 1 <= 0: it always pushes towards the label, and the
    # unbounded gamma * q ** (gamma - 1) of the factor is tamed by log(p_t) ~ -q.
    grad = y * q**gamma * (gamma * p_t * F.logsigmoid(x_t) - q)
    if alpha >= 0:
        grad = (alpha * targets + (1 - alpha) * (1 - targets)) * grad
    return grad


# --8<-- [end:sigmoid_focal_loss_grad]


# --8<-- [start:softmax_focal_loss]
def softmax_focal_loss(
    logits: Tensor,
    target: Tensor,
    alpha: Sequence[float] | Tensor | None = None,
    gamma: float = 2.0,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> Tensor:
    """Multi-class focal loss on a softmax, for today's PyTorch.

    Args:
        logits: ``[N, C]`` or ``[N, C, d1, ...]`` (e.g. ``[N, C, H, W]`` for segmentation).
        target: ``[N]`` or ``[N, d1, ...]`` integer class indices in ``[0, C)``, or
            ``ignore_index``.
        alpha: optional per-class weights, length ``C``, each ``>= 0``; ``None`` means 1.
        gamma: focusing parameter ``>= 0``; ``gamma=0, alpha=None`` is ``F.cross_entropy``.
        reduction: ``"none"`` (shape of ``target``, 0 where ignored), ``"mean"`` over the
            non-ignored elements, or ``"sum"``.
        ignore_index: target value that contributes no loss.

    Returns:
        The loss, shaped by ``reduction``.

    Examples:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> target = torch.tensor([0, 2])
        >>> ce = torch.nn.functional.cross_entropy(logits, target)
        >>> bool(torch.allclose(softmax_focal_loss(logits, target, gamma=0.0), ce))
        True
        >>> loss = softmax_focal_loss(logits, target, reduction="none")
        >>> [round(v, 4) for v in loss.tolist()]  # p_t = 0.787 and 1/3
        [0.0108, 0.4883]
    """
    if not isinstance(logits, Tensor) or not isinstance(target, Tensor):
        raise TypeError("logits [N, C, ...] and target [N, ...] must be torch.Tensor")
    if logits.ndim < 2 or not logits.is_floating_point():
        raise ValueError(
            f"logits must be a float tensor of shape [N, C, ...], got {tuple(logits.shape)}"
        )
    expected = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target must have shape {list(expected)} for logits "
            f"{list(logits.shape)} ([N, C, ...] -> [N, ...]), got {list(target.shape)}"
        )
    if target.is_floating_point() or target.dtype == torch.bool:
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    num_classes = logits.shape[1]
    valid = target != ignore_index
    if bool(((target[valid] < 0) | (target[valid] >= num_classes)).any()):
        raise ValueError(
            f"target values must be in [0, {num_classes}) or ignore_index={ignore_index}"
        )
    _check_gamma(gamma)
    _check_reduction(reduction)

    # gather needs a real class and an int64 index (cross_entropy accepts uint8 too).
    safe_target = torch.where(valid, target, torch.zeros_like(target)).long()
    log_p = F.log_softmax(logits, dim=1)  # stable, unlike softmax(...).log()
    log_pt = log_p.gather(1, safe_target.unsqueeze(1)).squeeze(1)  # [N, ...]
    pt = log_pt.exp()
    loss = -_modulating_factor(pt, gamma) * log_pt  # base kept > 0, as for the sigmoid
    if alpha is not None:
        weights = torch.as_tensor(alpha, dtype=logits.dtype, device=logits.device)
        if weights.shape != (num_classes,) or bool((weights < 0).any() | ~weights.isfinite().all()):
            raise ValueError(
                f"alpha must be None or {num_classes} finite weights >= 0 (one per class)"
            )
        loss = weights[safe_target] * loss  # alpha_t: the weight of each element's true class
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    if reduction == "mean":
        return loss.sum() / valid.sum()  # mean over non-ignored elements (0/0 = nan if none)
    return _reduce(loss, reduction)


# --8<-- [end:softmax_focal_loss]


# --8<-- [start:prior_bias]
def prior_bias(prior_probability: float = 0.01) -> float:
    """Classifier bias ``b`` with ``sigmoid(b) = prior_probability`` (RetinaNet initialisation).

    Args:
        prior_probability: foreground probability ``pi`` every anchor starts with, in ``(0, 1)``.

    Returns:
        ``b = -log((1 - pi) / pi)``.

    Examples:
        >>> round(prior_bias(0.01), 4)
        -4.5951
        >>> round(torch.sigmoid(torch.tensor(prior_bias(0.01))).item(), 6)
        0.01
    """
    if not 0 < prior_probability < 1:
        raise ValueError(f"prior_probability must be in (0, 1), got {prior_probability}")
    return -math.log((1 - prior_probability) / prior_probability)


# --8<-- [end:prior_bias]


def _check_retinanet_inputs(cls_logits: Tensor, labels: Tensor, matched_idxs: Tensor) -> None:
    """Raise ``TypeError``/``ValueError`` naming the argument that is not what RetinaNet gets."""
    for name, value in (
        ("cls_logits", cls_logits),
        ("labels", labels),
        ("matched_idxs", matched_idxs),
    ):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if cls_logits.ndim != 2 or not cls_logits.is_floating_point():
        raise ValueError(f"cls_logits must be a float tensor [A, K], got {tuple(cls_logits.shape)}")
    for name, value, size in (
        ("labels", labels, None),
        ("matched_idxs", matched_idxs, cls_logits.shape[0]),
    ):
        if value.is_floating_point() or value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold integers, got dtype {value.dtype}")
        if value.ndim != 1 or (size is not None and value.shape[0] != size):
            shape = "[M]" if size is None else f"[A] = [{size}] (one per anchor)"
            raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    k, m = cls_logits.shape[1], labels.shape[0]
    if bool(((labels < 0) | (labels >= k)).any()):
        raise ValueError(f"labels must be classes in [0, K) = [0, {k})")
    if bool(((matched_idxs < -2) | (matched_idxs >= m)).any()):
        raise ValueError(f"matched_idxs must be in [-2, M) = [-2, {m}): -2, -1 or a gt index")


# --8<-- [start:retinanet_cls_loss]
def retinanet_cls_loss(
    cls_logits: Tensor,
    labels: Tensor,
    matched_idxs: Tensor,
    alpha: float = 0.25,
    gamma: float = 2,
) -> Tensor:
    """RetinaNet's classification loss for one image (``RetinaNetClassificationHead``).

    Args:
        cls_logits: ``[A, K]`` logits, one sigmoid per anchor and class.
        labels: ``[M]`` int64 classes in ``[0, K)`` of the image's M gt boxes.
        matched_idxs: ``[A]`` int64 Matcher output: gt index, ``-1`` background, ``-2`` ignored.
        alpha: as in :func:`sigmoid_focal_loss`.
        gamma: as in :func:`sigmoid_focal_loss`.

    Returns:
        Scalar: focal-loss sum over non-ignored anchors ``/ max(1, number of foreground)``.

    Examples:
        >>> logits = torch.full((1000, 3), prior_bias(0.01))  # 1000 anchors, 3 classes
        >>> matched = torch.full((1000,), -1)  # background ...
        >>> matched[0] = 0  # ... one anchor matched to gt 0 (class 1)
        >>> # positive: 0.25 * 0.99**2 * log(100) = 1.1284; 2999 negatives: 0.75 * 0.01**2 * -log(0.99)
        >>> round(retinanet_cls_loss(logits, torch.tensor([1]), matched).item(), 3)  # each 7.5e-7
        1.131
        >>> matched[1:500] = -2  # ignored (IoU in [0.4, 0.5)): no loss at all
        >>> # 1502 negative terms remain
        >>> round(retinanet_cls_loss(logits, torch.tensor([1]), matched).item(), 4)
        1.1296
    """
    _check_retinanet_inputs(cls_logits, labels, matched_idxs)
    foreground = matched_idxs >= 0
    num_foreground = int(foreground.sum())
    gt_onehot = torch.zeros_like(cls_logits)  # background: an all-zero row
    gt_onehot[foreground, labels[matched_idxs[foreground]]] = 1.0
    # -2 (between the thresholds) is neither positive nor negative: drop it from the loss.
    valid = matched_idxs != -2
    loss = sigmoid_focal_loss(cls_logits[valid], gt_onehot[valid], alpha, gamma, reduction="sum")
    # Normalise by positives, not by all anchors: the ~100k easy negatives would make the
    # average tiny and its scale would depend on the anchor count.
    return loss / max(1, num_foreground)


# --8<-- [end:retinanet_cls_loss]
