"""Non-maximum suppression (NMS): greedy, vectorised, per class, and Soft-NMS.

Conventions (same as ``torchvision.ops.nms``):

* boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``; IoU comes from
  :func:`snippets.detection.iou.box_iou` (no ``+1`` in the area);
* a box is suppressed only when its IoU with a kept box is **strictly greater** than
  ``iou_threshold``: IoU exactly equal to the threshold survives;
* the result is an ``int64`` tensor of kept indices in decreasing score order;
* equal scores: we sort with ``stable=True``, so the lower index counts as the higher score.
  torchvision sorts without the stable flag and does not promise which of two tied boxes wins.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from snippets.detection.iou import _box_inter_union, _upcast, box_iou


def _check_threshold(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative float (IoU lies in [0, 1]), got {value}")


def _check_nms_inputs(boxes: Tensor, scores: Tensor, iou_threshold: float) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"boxes must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if not isinstance(scores, Tensor):
        raise TypeError(f"scores must be a torch.Tensor of shape [N], got {type(scores).__name__}")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [N, 4], got {tuple(boxes.shape)}")
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape [N], got {tuple(scores.shape)}")
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"scores must have shape [N] with N = len(boxes) = {boxes.shape[0]}, "
            f"got {tuple(scores.shape)}"
        )
    if bool((boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any()):
        raise ValueError("boxes must be [N, 4] in (x1, y1, x2, y2) format with x2 >= x1, y2 >= y1")
    _check_threshold(iou_threshold, "iou_threshold")


def _check_idxs(idxs: Tensor, n: int) -> None:
    if not isinstance(idxs, Tensor):
        raise TypeError(f"idxs must be a torch.Tensor of shape [N], got {type(idxs).__name__}")
    if idxs.ndim != 1 or idxs.shape[0] != n:
        raise ValueError(
            f"idxs must have shape [N] with N = len(boxes) = {n}, got {tuple(idxs.shape)}"
        )
    if idxs.is_floating_point() or idxs.is_complex() or idxs.dtype == torch.bool:
        raise TypeError(f"idxs must be an integer tensor of shape [N], got dtype {idxs.dtype}")


# --8<-- [start:nms_naive]
def nms_naive(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS, the loop an interviewer expects: keep the best box, drop its overlaps, repeat.

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        iou_threshold: boxes whose IoU with a kept box is ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first.

    Examples:
        >>> boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
        >>> scores = torch.tensor([0.9, 0.8, 0.7])
        >>> nms_naive(boxes, scores, 0.5)  # IoU(0, 1) = 81 / 119 = 0.68 > 0.5
        tensor([0, 2])
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    order = torch.argsort(scores, descending=True, stable=True)  # candidates, best first
    keep = []
    while order.numel() > 0:
        best, rest = order[0], order[1:]
        keep.append(best)
        ious = box_iou(boxes[best].unsqueeze(0), boxes[rest]).squeeze(0)  # [len(rest)]
        # Compare in float64, as torchvision's C++ `ovr > iou_threshold` does with a double
        # threshold. `~(iou > t)` rather than `iou <= t`: a NaN IoU (two zero-area boxes) never
        # suppresses.
        order = rest[~(ious.double() > iou_threshold)]
    return torch.stack(keep) if keep else torch.empty(0, dtype=torch.int64, device=boxes.device)


# --8<-- [end:nms_naive]


# Boxes handled per step by `nms`: large enough to amortise the Python overhead of each step,
# small enough that the [BLOCK, BLOCK] matrix is cheap. Memory is O(BLOCK * N), never O(N^2).
BLOCK = 128


# --8<-- [start:nms]
def _iou_unchecked(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """``box_iou`` without its input checks: ``nms`` checks once at the top, not in its loop."""
    inter, union = _box_inter_union(boxes1, boxes2)
    return inter / union


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS, vectorised block by block (mirrors ``torchvision.ops.nms``).

    The boxes are sorted once, then visited in blocks of ``BLOCK`` in score order:

    1. greedy NMS *inside* the block on a small ``[b, b]`` IoU matrix (the only sequential part);
    2. the block's kept boxes suppress every later box at once, with one ``[kept, rest]`` matrix.

    Boxes suppressed by earlier blocks never enter a later block, so IoUs are only computed for
    pairs the greedy algorithm actually looks at, as in torchvision's C++ loop.

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        iou_threshold: boxes whose IoU with a kept box is ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first.

    Examples:
        >>> boxes = torch.tensor([[0.0, 0, 2, 2], [0, 0, 2, 1], [0, 0, 3, 2]])
        >>> scores = torch.tensor([0.9, 0.8, 0.7])
        >>> nms(boxes, scores, 0.5)  # IoU(0, 1) = 2 / 4 = 0.5 is not > 0.5: kept
        tensor([0, 1])
        >>> nms(boxes, scores, 0.49)  # now box 1 goes too; IoU(0, 2) = 4 / 6 suppresses box 2
        tensor([0])
        >>> nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
        tensor([], dtype=torch.int64)
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = _upcast(boxes)[order]  # from here on, position = rank by score
    n = boxes.shape[0]
    # Bookkeeping in NumPy: reading one element of a NumPy array costs ~0.1 us, of a tensor ~1 us.
    suppressed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    for start in range(0, n, BLOCK):
        end = min(start + BLOCK, n)
        rows = start + np.flatnonzero(~suppressed[start:end])  # block boxes still alive
        if rows.size == 0:
            continue
        block = boxes[torch.from_numpy(rows)]
        # Compare in float64, as the C++ kernel does `(float) ovr > (double) iou_threshold`.
        inside = (_iou_unchecked(block, block).double() > iou_threshold).cpu().numpy()
        dead = np.zeros(rows.size, dtype=bool)
        kept: list[int] = []
        for i in range(rows.size):  # greedy inside the block
            if not dead[i]:
                kept.append(i)
                dead |= inside[i]  # marks i itself and earlier boxes too: harmless, decided
        kept_rows = rows[kept]
        keep += kept_rows.tolist()
        rest = end + np.flatnonzero(~suppressed[end:])  # later boxes still alive
        if rest.size:
            ious = _iou_unchecked(boxes[torch.from_numpy(kept_rows)], boxes[torch.from_numpy(rest)])
            hit = (ious.double() > iou_threshold).any(dim=0).cpu().numpy()
            suppressed[rest[hit]] = True
    return order[torch.tensor(keep, dtype=torch.int64, device=order.device)]


# --8<-- [end:nms]


# --8<-- [start:batched_nms]
def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each category, never across (the coordinate trick of torchvision).

    Shifting every box of class ``c`` by ``c * (max coordinate + 1)`` puts different classes in
    disjoint regions of the plane, so one plain NMS call never lets a box of one class suppress a
    box of another. This needs **non-negative coordinates**: with negative ones the shifted
    classes can still overlap (see :func:`batched_nms_per_class`).

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format, coordinates ``>= 0``.
        scores: ``[N]`` confidence of each box.
        idxs: ``[N]`` integer category of each box.
        iou_threshold: boxes whose IoU with a kept box of the same category is
            ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first.

    Examples:
        >>> boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]])
        >>> scores = torch.tensor([0.9, 0.8, 0.7])
        >>> batched_nms(boxes, scores, torch.tensor([0, 1, 0]), 0.5)  # 2 is a duplicate of 0
        tensor([0, 1])
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    _check_idxs(idxs, boxes.shape[0])
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    # Same arithmetic as torchvision: offsets = idxs * (max + 1), added to all four coordinates.
    offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    return nms(boxes + offsets[:, None], scores, iou_threshold)


# --8<-- [end:batched_nms]


# --8<-- [start:batched_nms_per_class]
def batched_nms_per_class(
    boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float
) -> Tensor:
    """Per-category NMS by an explicit loop over classes (torchvision's path for large inputs).

    Works for any coordinates, negative included, and never changes the boxes' values.

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        idxs: ``[N]`` integer category of each box.
        iou_threshold: boxes whose IoU with a kept box of the same category is
            ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first.

    Examples:
        >>> boxes = torch.tensor([[-10.0, -10, 0, 0], [-11, -11, -1, -1]])
        >>> scores = torch.tensor([0.9, 0.8])
        >>> idxs = torch.tensor([0, 1])
        >>> batched_nms_per_class(boxes, scores, idxs, 0.5)  # different classes: both stay
        tensor([0, 1])
        >>> batched_nms(boxes, scores, idxs, 0.5)  # offset 1 maps box 1 onto box 0: merged!
        tensor([0])
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    _check_idxs(idxs, boxes.shape[0])
    keep_mask = torch.zeros(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    for cls in torch.unique(idxs):
        members = torch.nonzero(idxs == cls).flatten()
        keep_mask[members[nms(boxes[members], scores[members], iou_threshold)]] = True
    kept = torch.nonzero(keep_mask).flatten()
    return kept[torch.argsort(scores[kept], descending=True, stable=True)]


# --8<-- [end:batched_nms_per_class]


# --8<-- [start:soft_nms]
def soft_nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float = 0.3,
    sigma: float = 0.5,
    method: Literal["linear", "gaussian"] = "linear",
    score_threshold: float = 0.001,
) -> tuple[Tensor, Tensor]:
    """Soft-NMS (Bodla et al., ICCV 2017): decay the scores of overlapping boxes, don't delete.

    Each round picks the box with the highest *current* score, then multiplies the score of every
    remaining box ``b`` by ``f(IoU(best, b))``:

    * ``"linear"``: ``1 - IoU`` when ``IoU > iou_threshold``, else ``1`` (unchanged);
    * ``"gaussian"``: ``exp(-IoU**2 / sigma)`` for every box (``iou_threshold`` is unused).

    Boxes whose score drops below ``score_threshold`` are discarded. Defaults follow the
    authors' code (``Nt=0.3, sigma=0.5, threshold=0.001``).

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        iou_threshold: overlap above which the linear rule decays a score.
        sigma: width of the Gaussian penalty, ``> 0``.
        method: ``"linear"`` or ``"gaussian"``.
        score_threshold: boxes whose decayed score is ``< score_threshold`` are dropped.

    Returns:
        ``(keep, kept_scores)``: ``[K]`` int64 indices in the order they were selected (their
        decayed scores are non-increasing) and the ``[K]`` decayed scores.

    Examples:
        >>> boxes = torch.tensor([[0.0, 0, 2, 2], [0, 0, 2, 1], [5, 5, 6, 6]])
        >>> keep, s = soft_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.3)
        >>> keep.tolist(), [round(v, 4) for v in s.tolist()]  # 0.8 * (1 - 0.5) = 0.4
        ([0, 2, 1], [0.9, 0.7, 0.4])
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    if method not in ("linear", "gaussian"):
        raise ValueError(f"method must be 'linear' or 'gaussian', got {method!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0:
        raise ValueError(f"sigma must be a float > 0, got {sigma!r}")
    _check_threshold(score_threshold, "score_threshold")
    current = scores.clone()  # never modify the caller's scores
    alive = torch.nonzero(current >= score_threshold).flatten()
    keep, kept_scores = [], []
    while alive.numel() > 0:
        pos = int(torch.argmax(current[alive]))  # first maximum: ties go to the lower index
        best = alive[pos]
        keep.append(best)
        kept_scores.append(current[best])
        alive = torch.cat([alive[:pos], alive[pos + 1 :]])
        ious = box_iou(boxes[best].unsqueeze(0), boxes[alive]).squeeze(0).nan_to_num(0.0)
        if method == "linear":
            decay = torch.where(ious.double() > iou_threshold, 1.0 - ious, torch.ones_like(ious))
        else:
            decay = torch.exp(-(ious**2) / sigma)
        current[alive] = current[alive] * decay.to(current.dtype)
        alive = alive[current[alive] >= score_threshold]
    if not keep:
        return torch.empty(0, dtype=torch.int64, device=boxes.device), scores[:0].clone()
    return torch.stack(keep), torch.stack(kept_scores)


# --8<-- [end:soft_nms]
