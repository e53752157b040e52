"""Segmentation losses (soft Dice, BCE + Dice) and metrics (per-class IoU / Dice, mIoU).

Conventions (checked by ``tests/segmentation/test_seg_metrics.py``):

* Soft Dice uses a smoothing term ``smooth`` added to numerator and denominator,
  ``1 - (2*sum(p*t) + smooth) / (sum(p) + sum(t) + smooth)``, as in SAM 2's released
  ``training/loss_fns.py`` (``smooth=1``). It keeps the loss defined (0) when both the
  prediction and the target are empty, and softens the gradient on tiny objects.
* Metrics come from one confusion matrix ``cm[true, pred]`` accumulated over all pixels of all
  images (torchvision ``references/segmentation/utils.py`` uses the same layout).
* A class absent from both prediction and target (``TP + FP + FN == 0``) has IoU and Dice
  ``nan`` and is left out of the mean (``nanmean``, as mmsegmentation does).
* Pixels whose target equals ``ignore_index`` count nowhere: not in the losses, not in the
  confusion matrix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_tensor(name: str, value: object, shape: str) -> None:
    # Lists and NumPy arrays would fail deep inside with an AttributeError; say what is wrong.
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )


def _check_binary_pair(logits: Tensor, targets: Tensor) -> None:
    _check_tensor("logits", logits, "[N, ...]")
    _check_tensor("targets", targets, "[N, ...] (the shape of logits)")
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits and targets must have the same shape [N, ...], got "
            f"{tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    if logits.ndim < 1 or logits.shape[0] == 0:
        raise ValueError(f"logits must have shape [N, ...] with N >= 1, got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a float tensor, got dtype {logits.dtype}")
    if not bool(((targets == 0) | (targets == 1)).all()):
        raise ValueError("targets must be binary (every value 0 or 1)")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


# --8<-- [start:dice_loss]
def dice_loss(
    logits: Tensor, targets: Tensor, smooth: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Binary soft Dice loss from logits, one value per sample before reduction.

    ``p = sigmoid(logits)``; for each sample
    ``1 - (2*sum(p*t) + smooth) / (sum(p) + sum(t) + smooth)``, summing over every non-batch
    dimension.

    Args:
        logits: ``[N, ...]`` raw scores.
        targets: same shape as ``logits``, values in ``{0, 1}``.
        smooth: added to numerator and denominator; ``> 0`` makes an empty target with an
            empty prediction a perfect score instead of ``0 / 0``.
        reduction: ``"none"`` (shape ``[N]``), ``"mean"`` or ``"sum"``.

    Returns:
        The loss, ``[N]`` or a scalar.

    The binary check on ``targets`` reads the data, so every call costs one host-device sync
    on a GPU. Soft or label-smoothed targets are rejected on purpose: for non-binary ``t``
    this product form and SAM 2's L1 form (``sum p + sum t - |p - t|_1`` as numerator) differ.

    Examples:
        >>> t = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
        >>> round(float(dice_loss(torch.tensor([[20.0, 20.0, -20.0, -20.0]]), t)), 4)  # perfect
        0.0
        >>> # p = 0.5 everywhere: (2*1 + 1) / (2 + 2 + 1) = 0.6, loss 0.4
        >>> round(float(dice_loss(torch.zeros(1, 4), t)), 4)
        0.4
    """
    _check_binary_pair(logits, targets)
    p = torch.sigmoid(logits).flatten(1)
    t = targets.to(p.dtype).flatten(1)
    numerator = 2 * (p * t).sum(1) + smooth
    denominator = p.sum(1) + t.sum(1) + smooth
    return _reduce(1 - numerator / denominator, reduction)


# --8<-- [end:dice_loss]


# --8<-- [start:bce_dice_loss]
def bce_dice_loss(
    logits: Tensor,
    targets: Tensor,
    bce_weight: float = 1.0,
    dice_weight: float = 1.0,
    smooth: float = 1.0,
) -> Tensor:
    """``bce_weight * BCE + dice_weight * Dice``, both averaged over the batch.

    BCE is a per-pixel loss (good gradients everywhere); Dice is a per-object overlap (insensitive
    to how much background there is). The sum is a common default for binary segmentation.

    Args:
        logits: ``[N, ...]`` raw scores.
        targets: same shape, values in ``{0, 1}``.
        bce_weight: weight of the mean binary cross-entropy.
        dice_weight: weight of the mean soft Dice loss.
        smooth: Dice smoothing term.

    Returns:
        Scalar loss.

    Examples:
        >>> t = torch.tensor([[1.0, 0.0]])
        >>> # BCE of logit 0 is log 2 = 0.6931; Dice (2*0.5+1)/(1+1+1) = 2/3 -> 0.3333
        >>> round(float(bce_dice_loss(torch.zeros(1, 2), t)), 4)
        1.0265
    """
    _check_binary_pair(logits, targets)
    bce = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
    return bce_weight * bce + dice_weight * dice_loss(logits, targets, smooth, "mean")


# --8<-- [end:bce_dice_loss]


def _check_labels(name: str, labels: Tensor, num_classes: int, ignore_index: int | None) -> None:
    if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.is_complex():
        raise TypeError(f"{name} must hold integer class labels, got dtype {labels.dtype}")
    valid = (
        labels != ignore_index
        if ignore_index is not None
        else torch.ones_like(labels, dtype=torch.bool)
    )
    bad = valid & ((labels < 0) | (labels >= num_classes))
    if bool(bad.any()):
        value = int(labels[bad][0])
        raise ValueError(
            f"{name} labels must be in [0, num_classes={num_classes})"
            + (f" or equal ignore_index={ignore_index}" if ignore_index is not None else "")
            + f", got {value}"
        )


# --8<-- [start:multiclass_dice_loss]
def multiclass_dice_loss(
    logits: Tensor,
    target: Tensor,
    smooth: float = 1.0,
    ignore_index: int | None = None,
    *,
    include_background: bool = True,
) -> Tensor:
    """Soft Dice for ``C`` classes: softmax, one-hot target, Dice per class, mean.

    Each class's sums run over the whole batch and all pixels (one Dice per class, not per image).

    Args:
        logits: ``[N, C, *]`` raw scores.
        target: ``[N, *]`` integer labels in ``[0, C)`` or ``ignore_index``.
        smooth: added to numerator and denominator of every class's Dice.
        ignore_index: target value whose pixels are dropped from every sum.
        include_background: keep class 0 in the mean (MONAI's option of the same name). Every
            class counts, also one absent from the batch: it scores ``smooth / (sum p + smooth)``.

    Returns:
        Scalar loss ``1 - mean_c Dice_c``.

    Examples:
        >>> logits = torch.tensor([[[9.0, -9.0], [-9.0, 9.0]]])  # [1, 2 classes, 2 pixels]
        >>> round(float(multiclass_dice_loss(logits, torch.tensor([[0, 1]]))), 3)
        0.0
    """
    _check_tensor("logits", logits, "[N, C, *]")
    _check_tensor("target", target, "[N, *]")
    if logits.ndim < 2 or target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(
            f"logits must be [N, C, *] and target [N, *], got "
            f"{tuple(logits.shape)} and {tuple(target.shape)}"
        )
    num_classes = logits.shape[1]
    if not include_background and num_classes < 2:
        got = f"C={num_classes}"
        raise ValueError(f"include_background=False needs C >= 2 classes, got {got}")
    _check_labels("target", target, num_classes, ignore_index)
    keep = (
        target != ignore_index
        if ignore_index is not None
        else torch.ones_like(target, dtype=torch.bool)
    )
    probs = logits.softmax(dim=1)
    # Ignored pixels get label 0 in the one-hot; the mask then zeroes them in both.
    one_hot = F.one_hot(torch.where(keep, target, 0).long(), num_classes).movedim(-1, 1)
    keep = keep.unsqueeze(1).to(probs.dtype)
    probs, one_hot = probs * keep, one_hot.to(probs.dtype) * keep
    dims = [0, *range(2, logits.ndim)]  # every dimension except the class one
    numerator = 2 * (probs * one_hot).sum(dims) + smooth
    denominator = probs.sum(dims) + one_hot.sum(dims) + smooth
    dice = numerator / denominator  # [C]
    return 1 - (dice if include_background else dice[1:]).mean()


# --8<-- [end:multiclass_dice_loss]


def _check_pred_target(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None
) -> None:
    _check_tensor("pred", pred, "[*] integer labels")
    _check_tensor("target", target, "[*] integer labels (the shape of pred)")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    _check_labels("target", target, num_classes, ignore_index)
    # Predictions are never ignore_index: an argmax always names a class.
    _check_labels("pred", pred, num_classes, None)


# --8<-- [start:confusion_matrix_naive]
def confusion_matrix_naive(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """``cm[i, j]`` = number of pixels of true class ``i`` and predicted class ``j``.

    The interview version: one Python loop over pixels.

    Args:
        pred: integer label map, any shape.
        target: same shape as ``pred``.
        num_classes: number of classes ``C``.
        ignore_index: target value whose pixels are skipped.

    Returns:
        ``[C, C]`` int64 matrix, rows = target, columns = prediction.

    Examples:
        >>> confusion_matrix_naive(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2)
        tensor([[1, 1],
                [0, 1]])
    """
    _check_pred_target(pred, target, num_classes, ignore_index)
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for p, t in zip(pred.flatten().tolist(), target.flatten().tolist(), strict=True):
        if t == ignore_index:
            continue
        cm[t, p] += 1
    return cm


# --8<-- [end:confusion_matrix_naive]


# --8<-- [start:confusion_matrix]
def confusion_matrix(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """Vectorised :func:`confusion_matrix_naive`: count the codes ``C*t + p``.

    Args:
        pred: integer label map, any shape.
        target: same shape as ``pred``.
        num_classes: number of classes ``C``.
        ignore_index: target value whose pixels are skipped.

    Returns:
        ``[C, C]`` int64 matrix, rows = target, columns = prediction.

    Examples:
        >>> confusion_matrix(torch.tensor([0, 1, 1, 0]), torch.tensor([0, 0, 1, 255]), 2, 255)
        tensor([[1, 1],
                [0, 1]])
    """
    _check_pred_target(pred, target, num_classes, ignore_index)
    keep = (
        target != ignore_index
        if ignore_index is not None
        else torch.ones_like(target, dtype=torch.bool)
    )
    # One bin per (true, pred) pair.
    codes = num_classes * target[keep].long() + pred[keep].long()
    counts = torch.bincount(codes, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


# --8<-- [end:confusion_matrix]


# --8<-- [start:scores]
def iou_per_class(cm: Tensor) -> Tensor:
    """Per-class IoU ``TP / (TP + FP + FN)`` of ``cm [C, C]``; ``nan`` if absent.

    Args:
        cm: ``[C, C]`` counts, rows = target, columns = prediction.

    Returns:
        ``[C]`` float64.

    Examples:
        >>> iou_per_class(torch.tensor([[1, 1], [0, 1]]))  # 1/(1+0+1), 1/(1+1+0)
        tensor([0.5000, 0.5000], dtype=torch.float64)
        >>> iou_per_class(torch.tensor([[4, 0], [0, 0]]))  # class 1 never appears: nan
        tensor([1., nan], dtype=torch.float64)
    """
    _check_tensor("cm", cm, "[C, C]")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must have shape [C, C], got {tuple(cm.shape)}")
    cm = cm.double()
    tp = cm.diag()
    union = cm.sum(0) + cm.sum(1) - tp  # TP + FP + FN
    return tp / union  # 0 / 0 = nan for a class absent from both maps


def dice_per_class(cm: Tensor) -> Tensor:
    """Per-class Dice ``2TP / (2TP + FP + FN)``; ``nan`` if absent from both maps.

    Args:
        cm: ``[C, C]`` counts, rows = target, columns = prediction.

    Returns:
        ``[C]`` float64; equals ``2*IoU / (1 + IoU)`` class by class.

    Examples:
        >>> dice_per_class(torch.tensor([[1, 1], [0, 1]]))  # 2/(2+0+1)
        tensor([0.6667, 0.6667], dtype=torch.float64)
    """
    _check_tensor("cm", cm, "[C, C]")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must have shape [C, C], got {tuple(cm.shape)}")
    cm = cm.double()
    tp = cm.diag()
    return 2 * tp / (cm.sum(0) + cm.sum(1))


def mean_iou(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> tuple[Tensor, float]:
    """Per-class IoU and their mean over the classes that occur (``nanmean``).

    Args:
        pred: integer label map (e.g. ``logits.argmax(1)``), any shape.
        target: same shape, labels in ``[0, C)`` or ``ignore_index``.
        num_classes: number of classes ``C``.
        ignore_index: target value whose pixels are skipped.

    Returns:
        ``([C] per-class IoU with nan for absent classes, mIoU)``; mIoU is ``nan`` if no class
        occurs at all.

    Examples:
        >>> per_class, miou = mean_iou(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 3)
        >>> per_class  # class 2 appears nowhere
        tensor([0.5000, 0.5000,    nan], dtype=torch.float64)
        >>> miou
        0.5
    """
    per_class = iou_per_class(confusion_matrix(pred, target, num_classes, ignore_index))
    return per_class, float(per_class.nanmean())


# --8<-- [end:scores]
