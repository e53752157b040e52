"""NMS variants asked after greedy NMS: NumPy, Fast, Cluster, DIoU, Matrix NMS and WBF.

Same conventions as :mod:`snippets.detection.nms`: boxes ``(x1, y1, x2, y2)``, suppression when a
value is **strictly greater** than the threshold, ties broken by the lower index (stable sort),
kept indices returned in decreasing score order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from snippets.detection.iou import _upcast
from snippets.detection.nms import _check_nms_inputs, _check_threshold, _iou_unchecked


def _check_numpy_inputs(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> float:
    for name, a, nd in (("boxes", boxes, "[N, 4]"), ("scores", scores, "[N]")):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray of shape {nd}, got {type(a).__name__}")
    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != (boxes.shape[0],):
        raise ValueError(f"boxes must be [N, 4] and scores [N], got {boxes.shape}, {scores.shape}")
    return _check_threshold(iou_threshold, "iou_threshold")


def _check_wbf_inputs(boxes_list: list, scores_list: list, iou_threshold: float) -> float:
    for name, lst in (("boxes_list", boxes_list), ("scores_list", scores_list)):
        if not isinstance(lst, list | tuple) or not all(isinstance(t, Tensor) for t in lst):
            raise TypeError(f"{name} must be a list of torch.Tensor, got {type(lst).__name__}")
    if len(boxes_list) != len(scores_list) or not boxes_list:
        raise ValueError("boxes_list and scores_list must be non-empty lists of equal length")
    for b, s in zip(boxes_list, scores_list, strict=True):
        _check_nms_inputs(b, s, 0.0)
    return _check_threshold(iou_threshold, "iou_threshold")


def _sorted_iou(boxes: Tensor, scores: Tensor) -> tuple[Tensor, Tensor]:
    """Score order and the ``[N, N]`` IoU matrix in that order, upper triangle only."""
    order = torch.argsort(scores, descending=True, stable=True)
    b = _upcast(boxes)[order]
    # [i, j] with i < j: box i ranks above box j. NaN (two zero-area boxes) counts as 0.
    return order, _iou_unchecked(b, b).nan_to_num(0.0).triu(diagonal=1)


# --8<-- [start:nms_numpy]
def nms_numpy(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
) -> np.ndarray:
    """The classic NumPy NMS (py-faster-rcnn style), with its ``order[inds + 1]``.

    Args:
        boxes: ``[N, 4]`` array in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` array of confidences.
        iou_threshold: boxes whose IoU with a kept box is ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 array of kept indices, highest score first.

    Examples:
        >>> b = np.array([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
        >>> nms_numpy(b, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
        [0, 2]
    """
    iou_threshold = _check_numpy_inputs(boxes, scores, iou_threshold)
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)  # py-faster-rcnn adds +1 to w and h (pixels)
    order = np.argsort(-scores, kind="stable")  # classic: scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1, yy1 = np.maximum(x1[i], x1[order[1:]]), np.maximum(y1[i], y1[order[1:]])
        xx2, yy2 = np.minimum(x2[i], x2[order[1:]]), np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1) * np.maximum(0.0, yy2 - yy1)
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        # float64, as torchvision's CPU kernel (NumPy 2 would compare in float32).
        inds = np.flatnonzero(~(ovr.astype(np.float64) > iou_threshold))
        order = order[inds + 1]  # +1: ovr[k] belongs to order[k + 1], order[0] is box i
    return np.array(keep, dtype=np.int64)


# --8<-- [end:nms_numpy]


# --8<-- [start:fast_nms]
def fast_nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Fast NMS (YOLACT): one IoU matrix; a box dies if ANY higher box overlaps it.

    Greedy NMS only lets *kept* boxes suppress; here a box that is itself suppressed still
    suppresses, so Fast NMS keeps a subset of what greedy NMS keeps.

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        iou_threshold: box ``j`` is dropped when some higher box has IoU ``> iou_threshold``.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first.

    Examples:
        >>> b = torch.tensor([[0.0, 0, 10, 10], [0, 5, 10, 15], [0, 10, 10, 20]])
        >>> fast_nms(b, torch.tensor([0.9, 0.8, 0.7]), 0.3)  # greedy NMS keeps [0, 2]
        tensor([0])
    """
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order, iou = _sorted_iou(boxes, scores)
    max_iou = iou.max(dim=0).values  # column j: largest IoU with any higher-ranked box
    return order[~(max_iou.double() > iou_threshold)]


# --8<-- [end:fast_nms]


# --8<-- [start:cluster_nms]
def cluster_nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Cluster-NMS (Zheng et al., TCYB 2021): Fast NMS repeated, kept boxes vote.

    Iteration 1 is Fast NMS. Each next pass lets only the boxes kept so far suppress; the rank-k
    box is final after k passes, so at most N passes give exactly greedy NMS (usually a few).

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        iou_threshold: boxes whose IoU with a kept box is ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first (same as greedy NMS).

    Examples:
        >>> b = torch.tensor([[0.0, 0, 10, 10], [0, 5, 10, 15], [0, 10, 10, 20]])
        >>> cluster_nms(b, torch.tensor([0.9, 0.8, 0.7]), 0.3)
        tensor([0, 2])
    """
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    order, iou = _sorted_iou(boxes, scores)
    overlaps = iou.double() > iou_threshold  # [i, j]: i (higher) would suppress j
    keep = torch.ones(order.numel(), dtype=torch.bool, device=boxes.device)
    for _ in range(order.numel()):
        new_keep = ~(overlaps & keep[:, None]).any(dim=0)  # only kept rows may suppress
        if torch.equal(new_keep, keep):
            break  # a fixed point: the greedy result
        keep = new_keep
    return order[keep]


# --8<-- [end:cluster_nms]


# --8<-- [start:diou_nms]
def diou_nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """DIoU-NMS (Zheng et al., AAAI 2020): greedy NMS on ``IoU - rho^2 / c^2``.

    Two boxes with the same IoU but far-apart centres (two people side by side) are penalised
    by ``rho^2 / c^2`` (centre distance over enclosing diagonal, both squared) and kept.

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        iou_threshold: boxes whose DIoU with a kept box is ``> iou_threshold`` are discarded.

    Returns:
        ``[K]`` int64 indices of the kept boxes, highest score first.

    Examples:
        >>> b = torch.tensor([[0.0, 0, 4, 4], [2, 0, 6, 4]])  # IoU 1/3, rho^2/c^2 = 4/52
        >>> s = torch.tensor([0.9, 0.8])
        >>> diou_nms(b, s, 0.3), diou_nms(b, s, 0.25)
        (tensor([0, 1]), tensor([0]))
    """
    iou_threshold = _check_nms_inputs(boxes, scores, iou_threshold)
    x1, y1, x2, y2 = _upcast(boxes).unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    order = torch.argsort(scores, descending=True, stable=True)
    keep = []
    while order.numel() > 0:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])
        h = torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])
        inter = w.clamp(min=0) * h.clamp(min=0)
        iou = inter / (areas[i] + areas[rest] - inter)
        # The change from nms_naive: subtract the centre-distance penalty.
        rho2 = (cx[i] - cx[rest]) ** 2 + (cy[i] - cy[rest]) ** 2
        cw = torch.maximum(x2[i], x2[rest]) - torch.minimum(x1[i], x1[rest])
        ch = torch.maximum(y2[i], y2[rest]) - torch.minimum(y1[i], y1[rest])
        diou = iou - rho2 / (cw**2 + ch**2)
        order = rest[~(diou.double() > iou_threshold)]  # NaN never suppresses
    if not keep:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    return torch.stack(keep)


# --8<-- [end:diou_nms]


# --8<-- [start:matrix_nms]
def matrix_nms(
    boxes: Tensor,
    scores: Tensor,
    method: Literal["gaussian", "linear"] = "gaussian",
    sigma: float = 0.5,
) -> Tensor:
    """Matrix NMS (SOLOv2): decay every score at once, a parallel Soft-NMS.

    Box j's decay is ``min_i f(iou_ij) / f(iou_max_i)`` over higher boxes i, where
    ``iou_max_i`` is how much box i was itself overlapped by a higher box (the compensation
    that replaces the sequential "was i suppressed?"). ``f(x) = exp(-x^2 / sigma)`` (Gaussian)
    or ``1 - x`` (linear; an IoU of exactly 1 divides by zero, as in the paper).

    Args:
        boxes: ``[N, 4]`` boxes in ``(x1, y1, x2, y2)`` format.
        scores: ``[N]`` confidence of each box.
        method: ``"gaussian"`` or ``"linear"``.
        sigma: width of the Gaussian, ``> 0``.

    Returns:
        ``[N]`` decayed scores in the input order (threshold them, then sort, to get detections).

    Examples:
        >>> b = torch.tensor([[0.0, 0, 2, 2], [0, 0, 2, 1], [5, 5, 6, 6]])
        >>> matrix_nms(b, torch.tensor([0.9, 0.8, 0.7]), "linear")  # 0.8 * (1 - 0.5)
        tensor([0.9000, 0.4000, 0.7000])
    """
    _check_nms_inputs(boxes, scores, 0.0)
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method must be 'gaussian' or 'linear', got {method!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0:
        raise ValueError(f"sigma must be a float > 0, got {sigma!r}")
    if boxes.shape[0] == 0:
        return scores.clone()
    order, iou = _sorted_iou(boxes, scores)
    iou_max = iou.max(dim=0).values[:, None]  # [N, 1]: row i's own largest overlap
    if method == "gaussian":
        decay = torch.exp(-(iou**2 - iou_max**2) / sigma)
    else:
        decay = (1 - iou) / (1 - iou_max)
    # Rows i >= j hold IoU 0, a factor >= 1; row 0 (iou_max = 0) gives <= 1.
    out = torch.empty_like(scores)
    out[order] = scores[order] * decay.min(dim=0).values.to(scores.dtype)
    return out


# --8<-- [end:matrix_nms]


# --8<-- [start:weighted_boxes_fusion]
def weighted_boxes_fusion(
    boxes_list: list[Tensor], scores_list: list[Tensor], iou_threshold: float = 0.55
) -> tuple[Tensor, Tensor]:
    """Weighted boxes fusion (Solovyev et al. 2021): average overlaps, drop none.

    Boxes of all T models are visited by decreasing score. A box joins the cluster whose
    *current fused box* it overlaps most, if that IoU is ``> iou_threshold``; otherwise it
    starts a cluster. A fused box is the score-weighted mean of its members; its score is the
    mean member score times ``min(T, members) / T`` (a box only one model saw is down-weighted).

    Args:
        boxes_list: T tensors ``[N_t, 4]``, one per model (or per test-time augmentation).
        scores_list: T tensors ``[N_t]``.
        iou_threshold: IoU with a fused box above which a box joins its cluster.

    Returns:
        ``(boxes [K, 4], scores [K])``, float64, by decreasing fused score. In the example,
        x1 = (0.9 * 0 + 0.6 * 1) / 1.5 = 0.4 and the score is (0.9 + 0.6) / 2 * 2 / 2.

    Examples:
        >>> a = [torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([[1.0, 1, 11, 11]])]
        >>> fused, s = weighted_boxes_fusion(a, [torch.tensor([0.9]), torch.tensor([0.6])])
        >>> [round(v, 6) for v in fused[0].tolist()], round(float(s[0]), 6)
        ([0.4, 0.4, 10.4, 10.4], 0.75)
    """
    iou_threshold = _check_wbf_inputs(boxes_list, scores_list, iou_threshold)
    n_models = len(boxes_list)
    boxes = torch.cat([b.double() for b in boxes_list])
    scores = torch.cat([s.double() for s in scores_list])
    clusters: list[list[int]] = []
    fused: list[Tensor] = []
    for i in torch.argsort(scores, descending=True, stable=True).tolist():
        if fused:
            ious = _iou_unchecked(boxes[i, None], torch.stack(fused))[0].nan_to_num(0.0)
            best = int(ious.argmax())
            if ious[best] > iou_threshold:
                clusters[best].append(i)
                w = scores[clusters[best]]  # score-weighted mean of all members
                fused[best] = (w[:, None] * boxes[clusters[best]]).sum(0) / w.sum()
                continue
        clusters.append([i])
        fused.append(boxes[i])
    if not clusters:
        return boxes.reshape(0, 4), scores[:0]
    out_scores = torch.stack(
        [scores[c].mean() * min(n_models, len(c)) / n_models for c in clusters]
    )
    rank = torch.argsort(out_scores, descending=True, stable=True)
    return torch.stack(fused)[rank], out_scores[rank]


# --8<-- [end:weighted_boxes_fusion]
