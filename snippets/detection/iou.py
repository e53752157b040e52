"""Intersection over Union (IoU) and its family (GIoU, DIoU, CIoU) for axis-aligned boxes.

Boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``. Convention (same as
torchvision.ops): coordinates are continuous, so a box's area is ``(x2 - x1) * (y2 - y1)`` with
no ``+1``.

The pairwise functions mirror ``torchvision.ops`` (0.29) in name, signature and result:
``box_area``, ``box_iou``, ``generalized_box_iou``, ``distance_box_iou``, ``complete_box_iou``
return an ``[N, M]`` matrix for ``[N, 4]`` and ``[M, 4]`` inputs. ``generalized_box_iou_loss``
mirrors ``torchvision.ops.generalized_box_iou_loss``: it is element-wise over ``N`` matched pairs.

Differences from torchvision, on purpose (teaching code):

* Inputs are checked: a non-tensor, a complex or bool tensor, a shape other than ``[N, 4]`` or a
  box with ``x2 < x1`` / ``y2 < y1`` raises ``TypeError`` / ``ValueError`` naming the argument.
  torchvision checks none of these (checking ``x2 < x1`` needs a device sync on GPU).
* Only ``[N, 4]`` ``xyxy`` boxes: torchvision 0.29 also accepts leading batch dimensions and, for
  ``box_iou``, a ``fmt`` argument (``xywh``, ``cxcywh`` and rotated formats).

Dtypes follow torchvision: float16/bfloat16 are computed in float32, small integer types in int32,
integer inputs give a float32 result, and float32 with float64 promotes to float64 as in torch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


# --8<-- [start:iou_pair]
def iou_pair(
    box1: tuple[float, float, float, float], box2: tuple[float, float, float, float]
) -> float:
    """IoU of two boxes given as plain ``(x1, y1, x2, y2)`` tuples: the interview answer.

    Args:
        box1: ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
        box2: same format.

    Returns:
        The IoU in ``[0, 1]``. ``0.0`` when the union is empty (both boxes have zero area), where
        ``box_iou`` and torchvision return ``nan``.

    Raises:
        ValueError: a box without 4 numbers, or with ``x2 < x1`` / ``y2 < y1`` (naming it).

    Examples:
        >>> round(iou_pair((1, 1, 4, 4), (2, 2, 5, 5)), 4)  # overlap 2x2=4, union 9+9-4=14
        0.2857
        >>> iou_pair((0, 0, 1, 1), (1, 0, 2, 1))  # touching edges share no area
        0.0
        >>> iou_pair((0, 0, 4, 4), (1, 1, 3, 3))  # contained: 4 / 16
        0.25
    """
    for name, box in (("box1", box1), ("box2", box2)):
        # An inverted box would give a negative area and a wrong IoU without any error.
        if len(box) != 4 or box[2] < box[0] or box[3] < box[1]:
            raise ValueError(f"{name} must be (x1, y1, x2, y2) with x2 >= x1, y2 >= y1")
    # The intersection is itself a box: the larger of the top-left corners ...
    ix1, iy1 = max(box1[0], box2[0]), max(box1[1], box2[1])
    # ... and the smaller of the bottom-right corners.
    ix2, iy2 = min(box1[2], box2[2]), min(box1[3], box2[3])
    # Disjoint boxes give a negative width or height: clamp it to zero, or two negative
    # sides would multiply into a positive "intersection".
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    area1 = (box1[2] - box1[0]) * (box1[3] - box1[1])
    area2 = (box2[2] - box2[0]) * (box2[3] - box2[1])
    union = area1 + area2 - inter  # the overlap was counted twice
    # 0.0 for an empty union (two zero-area boxes); a NaN coordinate still gives NaN.
    return inter / union if union != 0 else 0.0


# --8<-- [end:iou_pair]


def _check_boxes(boxes: Tensor, name: str) -> None:
    """Raise ``TypeError``/``ValueError`` naming ``name`` unless ``boxes`` is a valid ``[N, 4]``."""
    if not isinstance(boxes, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}"
        )
    if boxes.is_complex() or boxes.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {boxes.dtype}")
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape [N, 4], got {tuple(boxes.shape)}")
    if bool((boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any()):
        raise ValueError(
            f"{name} must be in (x1, y1, x2, y2) format with x2 >= x1 and y2 >= y1 (shape [N, 4])"
        )


def _upcast(boxes: Tensor) -> Tensor:
    """Widen dtypes whose products overflow or lose precision (as torchvision's ``_upcast``).

    ``uint8`` boxes ``[0, 0, 200, 200]`` have area 40000, which does not fit in 8 bits; float16
    keeps only 11 bits of mantissa. Areas are computed in int32/int64 or float32/float64 instead.
    """
    if boxes.is_floating_point():
        return boxes if boxes.dtype in (torch.float32, torch.float64) else boxes.float()
    return boxes if boxes.dtype in (torch.int32, torch.int64) else boxes.int()


# --8<-- [start:box_area]
def _box_area(boxes: Tensor) -> Tensor:
    """``[N]`` areas of already checked boxes."""
    boxes = _upcast(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_area(boxes: Tensor) -> Tensor:
    """Areas of boxes in ``(x1, y1, x2, y2)`` format (mirrors ``torchvision.ops.box_area``).

    Args:
        boxes: ``[N, 4]`` boxes.

    Returns:
        ``[N]`` areas ``(x2 - x1) * (y2 - y1)``, no ``+1``.

    Examples:
        >>> box_area(torch.tensor([[0.0, 0.0, 2.0, 3.0], [1.0, 1.0, 1.0, 5.0]]))
        tensor([6., 0.])
    """
    _check_boxes(boxes, "boxes")  # an inverted box would get a positive "area"
    return _box_area(boxes)


# --8<-- [end:box_area]


# --8<-- [start:box_iou_naive]
def box_iou_naive(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU with a Python double loop over ``iou_pair``: the baseline to vectorise.

    Args:
        boxes1: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[M, 4]`` boxes in the same format.

    Returns:
        ``[N, M]`` float64 tensor (Python floats are double precision). Pairs with an empty union
        give ``nan``, as in ``box_iou`` (``iou_pair`` alone returns ``0.0`` there).

    Examples:
        >>> a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [4.0, 4.0, 5.0, 5.0]])
        >>> box_iou_naive(a, b)  # 1 / (4 + 4 - 1) and 0
        tensor([[0.1429, 0.0000]], dtype=torch.float64)
    """
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    rows, cols = boxes1.tolist(), boxes2.tolist()
    out = torch.zeros(len(rows), len(cols), dtype=torch.float64)
    for i, a in enumerate(rows):  # N * M calls, each a handful of Python float operations
        for j, b in enumerate(cols):
            # Two zero-area boxes: iou_pair says 0.0, the baseline keeps box_iou's nan.
            area_a = (a[2] - a[0]) * (a[3] - a[1])
            area_b = (b[2] - b[0]) * (b[3] - b[1])
            empty = area_a == 0 and area_b == 0
            out[i, j] = math.nan if empty else iou_pair(tuple(a), tuple(b))
    return out


# --8<-- [end:box_iou_naive]


# --8<-- [start:box_inter_union]
def _box_inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise intersection and union areas, both ``[N, M]`` (inputs already upcast)."""
    area1, area2 = _box_area(boxes1), _box_area(boxes2)  # [N], [M]
    # [N, 1, 2] against [M, 2] broadcasts to [N, M, 2]: every pair at once, no Python loop.
    top_left = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (bottom_right - top_left).clamp(min=0)  # disjoint pairs -> zero width or height
    inter = wh[..., 0] * wh[..., 1]  # [N, M]
    union = area1[:, None] + area2[None, :] - inter  # [N, 1] + [1, M] -> [N, M]
    return inter, union


# --8<-- [end:box_inter_union]


# --8<-- [start:box_iou]
def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU between two sets of boxes, vectorised (mirrors ``torchvision.ops.box_iou``).

    Time and memory are O(N * M): the ``[N, M, 2]`` corner tensors are the largest intermediates.

    Args:
        boxes1: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[M, 4]`` boxes in the same format.

    Returns:
        ``[N, M]`` float tensor; entry ``[i, j]`` is the IoU of ``boxes1[i]`` and ``boxes2[j]``.
        A pair of zero-area boxes has an empty union and gives ``0 / 0 = nan``, as torchvision.

    Examples:
        >>> a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [4.0, 4.0, 5.0, 5.0]])
        >>> box_iou(a, b)  # 1 / (4 + 4 - 1) and 0
        tensor([[0.1429, 0.0000]])
        >>> box_iou(torch.zeros(0, 4), b).shape  # N = 0 -> an empty [0, M] matrix
        torch.Size([0, 2])
        >>> box_iou(torch.tensor([[0, 0, 2, 2]]), torch.tensor([[1, 1, 3, 3]]))  # ints -> float32
        tensor([[0.1429]])
    """
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    inter, union = _box_inter_union(_upcast(boxes1), _upcast(boxes2))
    return inter / union  # true division: integer areas give a float32 result


# --8<-- [end:box_iou]


def _enclosing_wh(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Width and height of the smallest box C enclosing each pair, ``[N, M, 2]``."""
    top_left = torch.min(boxes1[:, None, :2], boxes2[:, :2])
    bottom_right = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])
    return (bottom_right - top_left).clamp(min=0)


# --8<-- [start:generalized_box_iou]
def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise GIoU (mirrors ``torchvision.ops.generalized_box_iou``).

    ``GIoU = IoU - (|C| - |A u B|) / |C|`` with C the smallest box enclosing A and B.
    Range ``[-1, 1]``; ``GIoU <= IoU``, with equality when C is the union (e.g. one box inside
    the other).

    Args:
        boxes1: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[M, 4]`` boxes in the same format.

    Returns:
        ``[N, M]`` float tensor. ``nan`` where the union is empty (two zero-area boxes).

    Examples:
        >>> a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        >>> b = torch.tensor([[2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
        >>> generalized_box_iou(a, b)  # disjoint: 0 - (3 - 2) / 3; identical: 1
        tensor([[-0.3333,  1.0000]])
    """
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    inter, union = _box_inter_union(boxes1, boxes2)
    iou = inter / union
    c_wh = _enclosing_wh(boxes1, boxes2)
    area_c = c_wh[..., 0] * c_wh[..., 1]
    # The penalty is the share of C covered by neither box: it keeps shrinking as disjoint
    # boxes approach each other, where IoU stays flat at 0.
    return iou - (area_c - union) / area_c


# --8<-- [end:generalized_box_iou]


# --8<-- [start:distance_box_iou]
def _box_diou_iou(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Pairwise DIoU and IoU, both ``[N, M]`` (inputs already checked and upcast)."""
    inter, union = _box_inter_union(boxes1, boxes2)
    iou = inter / union
    c_wh = _enclosing_wh(boxes1, boxes2)
    diagonal_sq = c_wh[..., 0] ** 2 + c_wh[..., 1] ** 2 + eps  # c^2; eps: C may be a point
    centres1 = (boxes1[:, :2] + boxes1[:, 2:]) / 2  # [N, 2]
    centres2 = (boxes2[:, :2] + boxes2[:, 2:]) / 2  # [M, 2]
    centre_dist_sq = ((centres1[:, None, :] - centres2[None, :, :]) ** 2).sum(-1)  # rho^2
    return iou - centre_dist_sq / diagonal_sq, iou


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise DIoU (mirrors ``torchvision.ops.distance_box_iou``).

    ``DIoU = IoU - rho^2 / c^2``: rho is the distance between the box centres, c the diagonal of
    the enclosing box C. Range ``(-1, 1]``.

    Args:
        boxes1: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[M, 4]`` boxes in the same format.
        eps: added to ``c^2`` so that a point-sized C does not divide by zero.

    Returns:
        ``[N, M]`` float tensor. ``nan`` where the union is empty (two zero-area boxes).

    Examples:
        >>> a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        >>> b = torch.tensor([[2.0, 0.0, 3.0, 1.0]])
        >>> distance_box_iou(a, b)  # 0 - 2^2 / (3^2 + 1^2)
        tensor([[-0.4000]])
    """
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    diou, _ = _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps)
    return diou


# --8<-- [end:distance_box_iou]


# --8<-- [start:complete_box_iou]
def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise CIoU (mirrors ``torchvision.ops.complete_box_iou``).

    ``CIoU = DIoU - alpha * v`` with the aspect-ratio term
    ``v = 4 / pi^2 * (atan(w1 / h1) - atan(w2 / h2))^2`` in ``[0, 1]`` and the weight
    ``alpha = v / (1 - IoU + v)``, treated as a constant (no gradient) as in torchvision.

    Args:
        boxes1: ``[N, 4]`` boxes (usually predictions) in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[M, 4]`` boxes (usually targets) in the same format.
        eps: added to ``c^2`` and to the denominator of ``alpha``.

    Returns:
        ``[N, M]`` float tensor. ``nan`` for a point box (``w = h = 0`` gives ``atan(0 / 0)``).

    Examples:
        >>> a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 2.0]])
        >>> distance_box_iou(a, b)  # second pair: IoU 4/8, rho^2 = 1, c^2 = 4^2 + 2^2
        tensor([[1.0000, 0.4500]])
        >>> complete_box_iou(a, b)  # shapes 1:1 vs 2:1 differ: v > 0 pulls it below DIoU
        tensor([[1.0000, 0.4468]])
    """
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w1, h1 = boxes1[:, 2] - boxes1[:, 0], boxes1[:, 3] - boxes1[:, 1]  # [N]
    w2, h2 = boxes2[:, 2] - boxes2[:, 0], boxes2[:, 3] - boxes2[:, 1]  # [M]
    # atan maps the aspect ratio w/h in [0, inf] to [0, pi/2]; the 4/pi^2 scales v below 1.
    v = (4 / math.pi**2) * (torch.atan(w1 / h1)[:, None] - torch.atan(w2 / h2)[None, :]) ** 2
    with torch.no_grad():  # alpha only weighs v: no gradient flows through it
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


# --8<-- [end:complete_box_iou]


# --8<-- [start:generalized_box_iou_loss]
def _check_matched(boxes1: Tensor, boxes2: Tensor, reduction: str) -> tuple[Tensor, Tensor]:
    """Check matched ``[N, 4]`` pairs and ``reduction``; return both as floats."""
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    if boxes1.shape != boxes2.shape:
        raise ValueError(
            "boxes1 and boxes2 must both have shape [N, 4] with the same N (matched pairs), "
            f"got {tuple(boxes1.shape)} and {tuple(boxes2.shape)}"
        )
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    # A loss is computed on floats; integer targets are converted (torchvision does the same).
    b1 = boxes1 if boxes1.dtype in (torch.float32, torch.float64) else boxes1.float()
    b2 = boxes2 if boxes2.dtype in (torch.float32, torch.float64) else boxes2.float()
    return b1, b2


def _reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        # mean() of an empty tensor is nan; 0 * sum() is 0 and keeps the graph for backward().
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    return loss.sum() if reduction == "sum" else loss


def generalized_box_iou_loss(
    boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7
) -> Tensor:
    """GIoU loss ``1 - GIoU`` over matched pairs (mirrors ``torchvision.ops.generalized_box_iou_loss``).

    Element-wise: ``boxes1[i]`` is compared with ``boxes2[i]`` only, an ``O(N)`` computation,
    unlike the ``O(N * M)`` pairwise ``generalized_box_iou``.

    Args:
        boxes1: ``[N, 4]`` predicted boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[N, 4]`` target boxes, matched row by row with ``boxes1``.
        reduction: ``"none"`` (``[N]`` losses), ``"mean"`` or ``"sum"`` (a scalar).
        eps: added to the union and to ``|C|`` so that degenerate boxes do not divide by zero.

    Returns:
        ``[N]`` tensor for ``"none"``, else a scalar in ``[0, 2]`` per pair averaged or summed.
        ``"mean"`` of no pairs is ``0.0``, not ``nan``.

    Examples:
        >>> pred = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
        >>> target = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0]])
        >>> generalized_box_iou_loss(pred, target)  # 1 - 1 and 1 - (-1/3)
        tensor([0.0000, 1.3333])
        >>> generalized_box_iou_loss(torch.zeros(0, 4), torch.zeros(0, 4), reduction="mean")
        tensor(0.)
    """
    b1, b2 = _check_matched(boxes1, boxes2, reduction)
    inter_wh = (torch.min(b1[:, 2:], b2[:, 2:]) - torch.max(b1[:, :2], b2[:, :2])).clamp(min=0)
    inter = inter_wh[:, 0] * inter_wh[:, 1]  # [N]: row i against row i only
    union = _box_area(b1) + _box_area(b2) - inter
    c_wh = torch.max(b1[:, 2:], b2[:, 2:]) - torch.min(b1[:, :2], b2[:, :2])
    area_c = c_wh[:, 0] * c_wh[:, 1]
    giou = inter / (union + eps) - (area_c - union) / (area_c + eps)
    return _reduce_loss(1 - giou, reduction)


# --8<-- [end:generalized_box_iou_loss]


# --8<-- [start:complete_box_iou_loss]
def _matched_iou_and_distance(b1: Tensor, b2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """IoU and the DIoU penalty ``rho^2 / c^2`` of matched pairs, both ``[N]``."""
    inter_wh = (torch.min(b1[:, 2:], b2[:, 2:]) - torch.max(b1[:, :2], b2[:, :2])).clamp(min=0)
    inter = inter_wh[:, 0] * inter_wh[:, 1]
    iou = inter / (_box_area(b1) + _box_area(b2) - inter + eps)
    c_wh = torch.max(b1[:, 2:], b2[:, 2:]) - torch.min(b1[:, :2], b2[:, :2])
    c2 = c_wh[:, 0] ** 2 + c_wh[:, 1] ** 2 + eps  # squared diagonal of C
    centre_gap = (b1[:, :2] + b1[:, 2:]) / 2 - (b2[:, :2] + b2[:, 2:]) / 2
    return iou, (centre_gap**2).sum(dim=1) / c2


def distance_box_iou_loss(
    boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7
) -> Tensor:
    """DIoU loss ``1 - IoU + rho^2 / c^2`` over matched pairs (as torchvision's).

    Args:
        boxes1: ``[N, 4]`` predicted boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[N, 4]`` target boxes, matched row by row with ``boxes1``.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        eps: added to the union and to ``c^2``.

    Returns:
        ``[N]`` losses in ``[0, 2)`` for ``"none"``, else a scalar.
    """
    b1, b2 = _check_matched(boxes1, boxes2, reduction)
    iou, distance = _matched_iou_and_distance(b1, b2, eps)
    return _reduce_loss(1 - iou + distance, reduction)


def complete_box_iou_loss(
    boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7
) -> Tensor:
    """CIoU loss ``1 - CIoU`` over matched pairs: YOLO's box loss (as torchvision's).

    ``1 - IoU + rho^2 / c^2 + alpha * v``; ``alpha = v / (1 - IoU + v)`` is a constant for
    autograd, as in torchvision and ultralytics (the AAAI paper's formula, no IoU gate).

    Args:
        boxes1: ``[N, 4]`` predicted boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[N, 4]`` target boxes, matched row by row with ``boxes1``.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        eps: added to the union, to ``c^2`` and to the denominator of ``alpha``
            (torchvision 0.29 uses only its default ``1e-7`` for the first two).

    Returns:
        ``[N]`` losses in ``[0, 2.5)`` for ``"none"``, else a scalar. ``nan`` for a point box
        (``h = 0`` and ``w = 0``); ultralytics adds ``eps`` to ``h`` to avoid it.

    Examples:
        >>> pred = torch.tensor([[0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
        >>> target = torch.tensor([[0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
        >>> complete_box_iou_loss(pred, target)  # 1 - (1/3 - 1/16 - alpha * v), and 0
        tensor([0.7629, 0.0000])
    """
    b1, b2 = _check_matched(boxes1, boxes2, reduction)
    iou, distance = _matched_iou_and_distance(b1, b2, eps)
    w1, h1 = b1[:, 2] - b1[:, 0], b1[:, 3] - b1[:, 1]
    w2, h2 = b2[:, 2] - b2[:, 0], b2[:, 3] - b2[:, 1]
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    with torch.no_grad():  # a weight, not a path for the gradient
        alpha = v / (1 - iou + v + eps)
    return _reduce_loss(1 - iou + distance + alpha * v, reduction)


# --8<-- [end:complete_box_iou_loss]


# --8<-- [start:box_iou_chunked]
def box_iou_chunked(boxes1: Tensor, boxes2: Tensor, chunk_size: int = 4096) -> Tensor:
    """Pairwise IoU, ``chunk_size`` rows of ``boxes1`` at a time: memory O(chunk * M).

    Args:
        boxes1: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: ``[M, 4]`` boxes in the same format.
        chunk_size: rows of ``boxes1`` per block, an int ``>= 1``.

    Returns:
        The same ``[N, M]`` matrix as :func:`box_iou`.
    """
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    is_int = isinstance(chunk_size, int) and not isinstance(chunk_size, bool)
    if not is_int or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    b1, b2 = _upcast(boxes1), _upcast(boxes2)
    blocks = []
    for part in b1.split(chunk_size):  # one [chunk, M, 2] intermediate at a time
        inter, union = _box_inter_union(part, b2)
        blocks.append(inter / union)
    return torch.cat(blocks) if blocks else box_iou(boxes1, boxes2)


# --8<-- [end:box_iou_chunked]
