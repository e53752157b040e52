"""Label assignment for detectors: box encoding, IoU matching (RPN/RetinaNet), Hungarian (DETR).

``encode_boxes`` / ``decode_boxes`` / ``BoxCoder`` mirror
``torchvision.models.detection._utils`` (0.29.1) ``encode_boxes`` / ``BoxCoder``, with the same
argument order: ``encode_single(reference_boxes, proposals)`` is ``(gt boxes, anchors)``.
``match_anchors`` mirrors ``Matcher.__call__`` (labels ``-1`` below the low threshold, ``-2``
between the thresholds). ``hungarian_cost`` is DETR's ``HungarianMatcher`` cost matrix and
``linear_sum_assignment`` returns an optimal assignment like ``scipy.optimize``'s function.

Boxes are ``(x1, y1, x2, y2)`` as in ``snippets.detection.iou``; DETR's boxes are
``(cx, cy, w, h)``, normalised to the image.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from snippets.detection.iou import box_iou, generalized_box_iou


def _check_2d(x: Tensor, name: str, cols: int | None = 4) -> None:
    """Raise ``TypeError``/``ValueError`` naming ``name`` unless ``x`` is a float ``[N, cols]``."""
    shape = f"[N, {cols}]" if cols else "[N, M]"
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 2 or (cols is not None and x.shape[1] != cols):
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")


def _check_weights(weights: tuple[float, float, float, float]) -> None:
    if len(weights) != 4 or any(not w > 0 for w in weights):
        raise ValueError(f"weights must be 4 positive numbers (wx, wy, ww, wh), got {weights}")


# --8<-- [start:encode_boxes]
def encode_boxes(
    reference_boxes: Tensor,
    proposals: Tensor,
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> Tensor:
    """Regression targets of gt boxes relative to anchors (torchvision ``encode_boxes``).

    Args:
        reference_boxes: ``[N, 4]`` ground-truth boxes, ``xyxy``.
        proposals: ``[N, 4]`` anchors / proposals they were matched to, ``xyxy``.
        weights: ``(wx, wy, ww, wh)``; RPN uses 1s, Faster R-CNN's box head (10, 10, 5, 5).

    Returns:
        ``[N, 4]`` targets ``(tx, ty, tw, th)``.

    Examples:
        >>> gt = torch.tensor([[2.0, 0.0, 6.0, 8.0]])  # centre (4, 4), size 4 x 8
        >>> anchor = torch.tensor([[0.0, 0.0, 4.0, 4.0]])  # centre (2, 2), size 4 x 4
        >>> encode_boxes(gt, anchor)  # (2/4, 2/4, log 1, log 2)
        tensor([[0.5000, 0.5000, 0.0000, 0.6931]])
    """
    _check_2d(reference_boxes, "reference_boxes")
    _check_2d(proposals, "proposals")
    if reference_boxes.shape != proposals.shape:
        raise ValueError("reference_boxes and proposals must both be [N, 4] with the same N")
    _check_weights(weights)
    wx, wy, ww, wh = weights
    aw = proposals[:, 2] - proposals[:, 0]  # anchor width, height, centre
    ah = proposals[:, 3] - proposals[:, 1]
    ax, ay = proposals[:, 0] + 0.5 * aw, proposals[:, 1] + 0.5 * ah
    gw = reference_boxes[:, 2] - reference_boxes[:, 0]
    gh = reference_boxes[:, 3] - reference_boxes[:, 1]
    gx, gy = reference_boxes[:, 0] + 0.5 * gw, reference_boxes[:, 1] + 0.5 * gh
    # Offsets in units of the anchor size: the same target for a small and a large object.
    tx, ty = wx * (gx - ax) / aw, wy * (gy - ay) / ah
    # Log of the size ratio: scale-free, symmetric (x2 and /2 give +-log 2), any sign.
    tw, th = ww * torch.log(gw / aw), wh * torch.log(gh / ah)
    return torch.stack((tx, ty, tw, th), dim=1)


# --8<-- [end:encode_boxes]


# --8<-- [start:decode_boxes]
def decode_boxes(
    rel_codes: Tensor,
    boxes: Tensor,
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    bbox_xform_clip: float = math.log(1000.0 / 16),
) -> Tensor:
    """Boxes from predicted offsets and anchors (torchvision ``BoxCoder.decode_single``).

    Args:
        rel_codes: ``[N, 4]`` predicted ``(tx, ty, tw, th)``.
        boxes: ``[N, 4]`` anchors / proposals, ``xyxy``.
        weights: the same ``(wx, wy, ww, wh)`` used to encode.
        bbox_xform_clip: upper clamp of ``tw / ww`` and ``th / wh`` before ``exp``.

    Returns:
        ``[N, 4]`` decoded boxes, ``xyxy``, in the dtype of ``rel_codes``.

    Examples:
        >>> codes = torch.tensor([[0.5, 0.5, 0.0, math.log(2.0)]])
        >>> decode_boxes(codes, torch.tensor([[0.0, 0.0, 4.0, 4.0]]))
        tensor([[2., 0., 6., 8.]])
        >>> big = decode_boxes(torch.tensor([[0.0, 0.0, 100.0, 0.0]]), torch.tensor([[0.0, 0, 1, 1]]))
        >>> round(big[0, 2].item() - big[0, 0].item(), 2)  # width exp(log(62.5)) * 1, not inf
        62.5
    """
    _check_2d(rel_codes, "rel_codes")
    _check_2d(boxes, "boxes")
    if rel_codes.shape != boxes.shape:
        raise ValueError("rel_codes and boxes must both be [N, 4] with the same N")
    _check_weights(weights)
    boxes = boxes.to(rel_codes.dtype)
    wx, wy, ww, wh = weights
    aw, ah = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    ax, ay = boxes[:, 0] + 0.5 * aw, boxes[:, 1] + 0.5 * ah
    dx, dy = rel_codes[:, 0] / wx, rel_codes[:, 1] / wy
    # Clamp before exp: an untrained head can output tw = 100 and exp(100) overflows float32.
    # log(1000 / 16): no box grows more than 62.5x its anchor.
    dw = (rel_codes[:, 2] / ww).clamp(max=bbox_xform_clip)
    dh = (rel_codes[:, 3] / wh).clamp(max=bbox_xform_clip)
    cx, cy = dx * aw + ax, dy * ah + ay
    w, h = torch.exp(dw) * aw, torch.exp(dh) * ah
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=1)


# --8<-- [end:decode_boxes]


class BoxCoder:
    """torchvision's ``BoxCoder`` interface on top of :func:`encode_boxes` / :func:`decode_boxes`.

    Args:
        weights: ``(wx, wy, ww, wh)``.
        bbox_xform_clip: clamp of the log-size offsets in :meth:`decode_single`.

    Examples:
        >>> coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        >>> gt, anchor = torch.tensor([[2.0, 0.0, 6.0, 8.0]]), torch.tensor([[0.0, 0, 4, 4]])
        >>> coder.encode_single(gt, anchor)  # 10 * 0.5, 10 * 0.5, 5 * 0, 5 * log 2
        tensor([[5.0000, 5.0000, 0.0000, 3.4657]])
    """

    def __init__(
        self,
        weights: tuple[float, float, float, float],
        bbox_xform_clip: float = math.log(1000.0 / 16),
    ) -> None:
        _check_weights(weights)
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def encode_single(self, reference_boxes: Tensor, proposals: Tensor) -> Tensor:
        """``[N, 4]`` targets of gt ``reference_boxes`` relative to ``proposals``."""
        return encode_boxes(reference_boxes, proposals, self.weights)

    def decode_single(self, rel_codes: Tensor, boxes: Tensor) -> Tensor:
        """``[N, 4]`` boxes from ``rel_codes`` relative to ``boxes``."""
        return decode_boxes(rel_codes, boxes, self.weights, self.bbox_xform_clip)


BELOW_LOW_THRESHOLD = -1  # negative (background) anchor
BETWEEN_THRESHOLDS = -2  # ignored: no classification loss, no regression loss


# --8<-- [start:match_anchors]
def match_anchors(
    match_quality_matrix: Tensor,
    high_threshold: float,
    low_threshold: float,
    allow_low_quality_matches: bool = False,
) -> Tensor:
    """Index of the gt matched to each anchor, or -1 / -2 (torchvision ``Matcher``).

    Args:
        match_quality_matrix: ``[M, N]`` IoU of M gt boxes (rows) and N anchors (columns).
        high_threshold: IoU ``>=`` this is a positive (RPN 0.7, RetinaNet 0.5).
        low_threshold: IoU ``<`` this is a negative (RPN 0.3, RetinaNet 0.4).
        allow_low_quality_matches: also match, for each gt, every anchor tied for its best IoU.

    Returns:
        ``[N]`` int64: gt index in ``[0, M)``, ``-1`` (negative) or ``-2`` (ignored).

    Examples:
        >>> iou = torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.6, 0.25]])  # 2 gts x 3 anchors
        >>> match_anchors(iou, 0.7, 0.3)
        tensor([ 0, -2, -1])
        >>> match_anchors(iou, 0.7, 0.3, allow_low_quality_matches=True)  # gt 1's best: 0.6
        tensor([ 0,  1, -1])
    """
    _check_2d(match_quality_matrix, "match_quality_matrix", cols=None)
    if not low_threshold <= high_threshold:
        raise ValueError("low_threshold must be <= high_threshold")
    if match_quality_matrix.numel() == 0:  # torchvision raises too: the caller handles it
        raise ValueError(
            "match_quality_matrix must be non-empty [M, N] (M gt boxes, N anchors), "
            f"got {tuple(match_quality_matrix.shape)}"
        )
    matched_vals, matches = match_quality_matrix.max(dim=0)  # best gt of each anchor
    all_matches = matches.clone()
    matches[matched_vals < low_threshold] = BELOW_LOW_THRESHOLD
    between = (matched_vals >= low_threshold) & (matched_vals < high_threshold)
    matches[between] = BETWEEN_THRESHOLDS
    if allow_low_quality_matches:
        # Every gt gets at least its best anchor(s), however low the IoU: else a gt whose
        # best IoU is 0.6 would have no positive anchor at all. Ties: ALL of them.
        best_per_gt = match_quality_matrix.max(dim=1).values  # [M]
        _, anchor_idx = torch.where(match_quality_matrix == best_per_gt[:, None])
        # The anchor takes its own best gt (all_matches), not necessarily this gt.
        matches[anchor_idx] = all_matches[anchor_idx]
    return matches


# --8<-- [end:match_anchors]


# --8<-- [start:assign_anchors]
def assign_anchors(
    gt_boxes: Tensor,
    anchors: Tensor,
    high_threshold: float = 0.5,
    low_threshold: float = 0.4,
    allow_low_quality_matches: bool = True,
) -> Tensor:
    """IoU matching of one image as RetinaNet's ``compute_loss`` calls it (defaults: RetinaNet).

    Args:
        gt_boxes: ``[M, 4]`` ground-truth boxes, ``xyxy``; ``M = 0`` for an image without objects.
        anchors: ``[N, 4]`` anchors, ``xyxy``.
        high_threshold: as in :func:`match_anchors`.
        low_threshold: as in :func:`match_anchors`.
        allow_low_quality_matches: as in :func:`match_anchors`.

    Returns:
        ``[N]`` int64 matched gt index, ``-1`` or ``-2``; all ``-1`` when ``M = 0``.

    Examples:
        >>> anchors = torch.tensor([[0.0, 0, 4, 4], [8.0, 8, 12, 12]])
        >>> assign_anchors(torch.zeros(0, 4), anchors)  # background image
        tensor([-1, -1])
    """
    _check_2d(gt_boxes, "gt_boxes")
    _check_2d(anchors, "anchors")
    if gt_boxes.shape[0] == 0:  # no objects: every anchor is background (retinanet.py)
        return torch.full((anchors.shape[0],), BELOW_LOW_THRESHOLD, dtype=torch.int64)
    iou = box_iou(gt_boxes, anchors)  # [M, N]: gt rows, anchor columns
    return match_anchors(iou, high_threshold, low_threshold, allow_low_quality_matches)


# --8<-- [end:assign_anchors]


# --8<-- [start:linear_sum_assignment]
def linear_sum_assignment(cost: Tensor) -> tuple[Tensor, Tensor]:
    """Minimum-cost assignment, shortest augmenting paths with potentials, O(n^2 m).

    Args:
        cost: ``[n, m]`` finite float costs; rectangular allowed.

    Returns:
        ``(row_ind, col_ind)``, int64, ``min(n, m)`` pairs, rows sorted (as scipy).

    Examples:
        >>> cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
        >>> rows, cols = linear_sum_assignment(cost)  # greedy (0 at [1,1]) would cost 4+0+2=6
        >>> cols.tolist(), float(cost[rows, cols].sum())
        ([1, 0, 2], 5.0)
    """
    _check_2d(cost, "cost", cols=None)
    if not bool(torch.isfinite(cost).all()):
        raise ValueError("cost must hold finite values (no nan or inf)")
    transposed = cost.shape[0] > cost.shape[1]
    a = (cost.T if transposed else cost).tolist()  # n <= m rows after this
    n, m = len(a), (len(a[0]) if a else 0)
    inf = math.inf
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)  # dual potentials: u[i] + v[j] <= cost[i][j]
    p = [0] * (m + 1)  # p[j]: row (1-based) assigned to column j; column 0 is a sentinel
    way = [0] * (m + 1)  # previous column on the shortest path
    for i in range(1, n + 1):  # add rows one at a time, keep the matching optimal
        p[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:  # Dijkstra on reduced costs cost - u - v (all >= 0)
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = a[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):  # shift potentials: tight edges stay tight
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:  # reached a free column: augmenting path found
                break
        while j0:  # flip the path: each column takes the row before it
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = sorted((p[j] - 1, j - 1) for j in range(1, m + 1) if p[j])
    if transposed:
        pairs = sorted((c, r) for r, c in pairs)
    rows = torch.tensor([r for r, _ in pairs], dtype=torch.int64)
    cols = torch.tensor([c for _, c in pairs], dtype=torch.int64)
    return rows, cols


# --8<-- [end:linear_sum_assignment]


def box_cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``[N, 4]`` ``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)`` (DETR ``util/box_ops.py``)."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


# --8<-- [start:hungarian_cost]
def hungarian_cost(
    pred_logits: Tensor,
    pred_boxes: Tensor,
    tgt_labels: Tensor,
    tgt_boxes: Tensor,
    cost_class: float = 1.0,
    cost_bbox: float = 5.0,
    cost_giou: float = 2.0,
) -> Tensor:
    """DETR's matching cost of every (query, target) pair (``HungarianMatcher``).

    Args:
        pred_logits: ``[Q, C + 1]`` class logits (last class: "no object").
        pred_boxes: ``[Q, 4]`` predicted boxes, ``cxcywh`` normalised.
        tgt_labels: ``[T]`` int64 target classes in ``[0, C)``.
        tgt_boxes: ``[T, 4]`` target boxes, ``cxcywh`` normalised.
        cost_class: weight of ``-prob[target class]`` (DETR: 1).
        cost_bbox: weight of the L1 distance of the ``cxcywh`` boxes (DETR: 5).
        cost_giou: weight of ``-GIoU`` (DETR: 2).

    Returns:
        ``[Q, T]`` cost; :func:`linear_sum_assignment` of it is the one-to-one match.

    Examples:
        >>> logits = torch.zeros(1, 3)  # uniform: prob 1/3
        >>> box = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
        >>> round(hungarian_cost(logits, box, torch.tensor([0]), box).item(), 4)  # -1/3 + 0 - 2
        -2.3333
    """
    _check_2d(pred_logits, "pred_logits", cols=None)
    _check_2d(pred_boxes, "pred_boxes")
    _check_2d(tgt_boxes, "tgt_boxes")
    if not isinstance(tgt_labels, Tensor) or tgt_labels.ndim != 1:
        raise TypeError("tgt_labels must be a 1-D int64 torch.Tensor of shape [T]")
    prob = pred_logits.softmax(-1)  # [Q, C + 1]
    # -prob instead of -log prob: same ranking, bounded, on the scale of the box costs.
    c_class = -prob[:, tgt_labels]  # [Q, T]
    c_bbox = torch.cdist(pred_boxes, tgt_boxes, p=1)  # L1 over (cx, cy, w, h)
    giou = generalized_box_iou(box_cxcywh_to_xyxy(pred_boxes), box_cxcywh_to_xyxy(tgt_boxes))
    return cost_bbox * c_bbox + cost_class * c_class + cost_giou * -giou


# --8<-- [end:hungarian_cost]
