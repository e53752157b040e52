"""Non-maximum suppression (NMS): greedy, vectorised, per class, and Soft-NMS.

Conventions (same as ``torchvision.ops.nms``):

* boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``; IoU comes from
  :func:`snippets.detection.iou.box_iou` (no ``+1`` in the area);
* a box is suppressed only when its IoU with a kept box is **strictly greater** than
  ``iou_threshold``: IoU exactly equal to the threshold survives;
* the result is an ``int64`` tensor of kept indices in decreasing score order;
* equal scores: we sort with ``stable=True``, so the lower index counts as the higher score.
  torchvision's CPU and CUDA kernels have sorted the same way since pytorch/vision#4767; only its
  docstring's older caveat ("not guaranteed to be the same between CPU and GPU") remains.

The fast versions are CPU-oriented: ``nms`` reads a NumPy mask back once per block, which on a GPU
is a host synchronisation every ``BLOCK`` boxes.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from snippets.detection.iou import _box_inter_union, _upcast


def _check_threshold(value: float, name: str) -> float:
    """Return ``value`` as a Python float; NumPy scalars and 0-d real tensors are accepted."""
    if isinstance(value, Tensor) and value.ndim == 0 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative float (IoU lies in [0, 1]), got {value}")
    return value


def _check_nms_inputs(boxes: Tensor, scores: Tensor, iou_threshold: float) -> float:
    """Check the arguments; return ``iou_threshold`` as a Python float."""
    if not isinstance(boxes, Tensor):
        raise TypeError(f"boxes must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if not isinstance(scores, Tensor):
        raise TypeError(f"scores must be a torch.Tensor of shape [N], got {type(scores).__name__}")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [N, 4], got {tuple(boxes.shape)}")
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape [N], got {tuple(scores.shape)}")
    for name, t in (("boxes", boxes), ("scores", scores)):
        if t.dtype == torch.bool or t.is_complex():  # bool "boxes" would silently pass
            raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"scores must have shape [N] with N = len(boxes) = {boxes.shape[0]}, "
            f"got {tuple(scores.shape)}"
        )
    if bool((boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any()):
        raise ValueError("boxes must be [N, 4] in (x1, y1, x2, y2) format with x2 >= x1, y2 >= y1")
    return _check_threshold(iou_threshold, "iou_threshold")


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
    """Greedy NMS, the loop an interviewer expects: keep the best, drop its overlaps.

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
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    x1, y1, x2, y2 = _upcast(boxes).unbind(1)  # float16 -> float32, uint8 -> int32
    areas = (x2 - x1) * (y2 - y1)
    order = torch.argsort(scores, descending=True, stable=True)  # best first
    keep = []
    while order.numel() > 0:
        i, rest = order[0], order[1:]
        keep.append(i)
        # The graded part: IoU of box i with every remaining box, one vectorised row.
        w = torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])
        h = torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])
        inter = w.clamp(min=0) * h.clamp(min=0)
        ious = inter / (areas[i] + areas[rest] - inter)  # [len(rest)]
        # float64, as torchvision's CPU kernel does `(float) ovr > (double) t`.
        # `~(iou > t)`, not `iou <= t`: a NaN IoU (zero-area boxes) never suppresses.
        order = rest[~(ious.double() > iou_threshold)]
    if not keep:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    return torch.stack(keep)


# --8<-- [end:nms_naive]


# Boxes handled per step by `nms`: large enough to amortise the Python overhead of each step,
# small enough that the [BLOCK, BLOCK] matrix is cheap. Memory is O(BLOCK * N), never O(N^2).
BLOCK = 128


# --8<-- [start:nms]
def _iou_unchecked(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """``box_iou`` without its checks: ``nms`` checks once, not in its loop."""
    inter, union = _box_inter_union(boxes1, boxes2)
    return inter / union


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS, vectorised block by block (mirrors ``torchvision.ops.nms``).

    The boxes are sorted once, then visited in blocks of ``BLOCK`` in score order:

    1. greedy NMS *inside* the block on a small ``[b, b]`` IoU matrix (the only sequential part);
    2. the block's kept boxes suppress every later box at once, with one ``[kept, rest]`` matrix.

    Boxes suppressed by earlier blocks never enter a later block, so most of the pairs that
    greedy NMS never looks at are skipped (the in-block ``[b, b]`` matrix still has a few).
    CPU-oriented: each block reads a small mask back with ``.cpu()``, a sync on a GPU.

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
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = _upcast(boxes)[order]  # from here on, position = rank by score
    n = boxes.shape[0]
    # Bookkeeping in NumPy: one NumPy element read ~0.1 us, one tensor element ~1 us.
    suppressed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    for start in range(0, n, BLOCK):
        end = min(start + BLOCK, n)
        rows = start + np.flatnonzero(~suppressed[start:end])  # block boxes still alive
        if rows.size == 0:
            continue
        block = boxes[torch.from_numpy(rows)]
        # float64, as the CPU kernel does `(float) ovr > (double) iou_threshold`.
        inside = (_iou_unchecked(block, block).double() > iou_threshold).cpu().numpy()
        dead = np.zeros(rows.size, dtype=bool)
        kept: list[int] = []
        for i in range(rows.size):  # greedy inside the block
            if not dead[i]:
                kept.append(i)
                dead |= inside[i]  # also marks earlier boxes: harmless, decided
        kept_rows = rows[kept]
        keep += kept_rows.tolist()
        rest = end + np.flatnonzero(~suppressed[end:])  # later boxes still alive
        if rest.size:
            kept_boxes = boxes[torch.from_numpy(kept_rows)]
            ious = _iou_unchecked(kept_boxes, boxes[torch.from_numpy(rest)])
            hit = (ious.double() > iou_threshold).any(dim=0).cpu().numpy()
            suppressed[rest[hit]] = True
    return order[torch.tensor(keep, dtype=torch.int64, device=order.device)]


# --8<-- [end:nms]


# --8<-- [start:batched_nms]
def batched_nms(
    boxes: Tensor,
    scores: Tensor,
    idxs: Tensor,
    iou_threshold: float,
) -> Tensor:
    """NMS within each category, never across (torchvision's offset trick).

    Shifting every box of class ``c`` by ``c * (max coordinate + 1)`` puts different classes in
    disjoint regions of the plane, so one plain NMS call never lets a box of one class suppress a
    box of another. This needs **non-negative coordinates**: with negative ones the shifted
    classes can still overlap (see :func:`batched_nms_per_class`). As in torchvision 0.29, inputs
    with ``boxes.numel() > 4000`` on the CPU (``> 100_000`` elsewhere) take the exact per-class
    loop instead; float16/bfloat16 boxes are shifted in float32 (a float16 offset overflows).

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
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    _check_idxs(idxs, boxes.shape[0])
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        # torchvision's switch: above this size a loop over classes is exact and faster
        return batched_nms_per_class(boxes, scores, idxs, iou_threshold)
    boxes = _upcast(boxes)  # float16: 70 * 1001 > 65504 would overflow to inf
    # offsets = idxs * (max + 1), added to all four coordinates. A large float32
    # offset rounds the coordinates (IoU moves by ~1e-4), as in torchvision.
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


# --8<-- [end:batched_nms]


# --8<-- [start:batched_nms_per_class]
def batched_nms_per_class(
    boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float
) -> Tensor:
    """Per-category NMS by a loop over classes (torchvision's path for large inputs).

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
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
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
    """Soft-NMS (Bodla et al., ICCV 2017): decay overlapping scores, don't delete.

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
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    if method not in ("linear", "gaussian"):
        raise ValueError(f"method must be 'linear' or 'gaussian', got {method!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0:
        raise ValueError(f"sigma must be a float > 0, got {sigma!r}")
    score_threshold = _check_threshold(score_threshold, "score_threshold")
    boxes = _upcast(boxes)
    current = scores.clone()  # never modify the caller's scores
    alive = torch.nonzero(current >= score_threshold).flatten()
    keep, kept_scores = [], []
    while alive.numel() > 0:
        pos = int(torch.argmax(current[alive]))  # first maximum: lower index wins ties
        best = alive[pos]
        keep.append(best)
        kept_scores.append(current[best])
        alive = torch.cat([alive[:pos], alive[pos + 1 :]])
        ious = _iou_unchecked(boxes[best, None], boxes[alive])[0].nan_to_num(0.0)
        if method == "linear":
            above = ious.double() > iou_threshold
            decay = torch.where(above, 1.0 - ious, torch.ones_like(ious))
        else:
            decay = torch.exp(-(ious**2) / sigma)
        current[alive] = current[alive] * decay.to(current.dtype)
        alive = alive[current[alive] >= score_threshold]
    if not keep:
        empty = torch.empty(0, dtype=torch.int64, device=boxes.device)
        return empty, scores[:0].clone()
    return torch.stack(keep), torch.stack(kept_scores)


# --8<-- [end:soft_nms]
