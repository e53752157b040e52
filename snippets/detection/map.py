"""Average precision (AP) and COCO mean average precision (mAP) for object detection.

Pieces, each one interview question:

* ``match_detections``: greedy matching of one image's detections of one class to its ground
  truth (highest score first, each GT used once), with COCO's ignore rules for crowd boxes and
  boxes outside an area range;
* ``precision_recall``: the cumulative precision/recall points in score order;
* ``precision_envelope`` and ``average_precision``: AP as the area under the envelope, with
  VOC2010+ all-point, VOC2007 11-point or COCO 101-point interpolation;
* ``mean_average_precision``: COCO's ``map``, ``map_50``, ``map_75``, ``map_small/medium/large``
  from torchmetrics-style inputs. It reproduces ``pycocotools`` (2.0.11) ``COCOeval`` for bbox:
  IoU without ``+1``, IoU ``>=`` threshold matches, stable sorting of tied scores, ties in IoU go
  to the later ground truth, ``maxDets`` applied per image *and class*.

Boxes are ``(x1, y1, x2, y2)`` tensors; IoU comes from :mod:`snippets.detection.iou`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from snippets.detection.iou import _box_inter_union, _check_boxes, box_area, box_iou

# The exact float64 values pycocotools uses (cocoeval.py, Params.setDetParams). np.linspace
# does not give i / 100 for every i, and a recall of 0.07 must be compared with the same double.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10).tolist()  # 0.50:0.05:0.95
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101).tolist()
# [lo, hi] in pixels^2; a GT with area < lo or > hi is ignored (so area 32^2 is small AND medium).
COCO_AREA_RANGES = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
# VOC2007: r = 0, 0.1, ..., 1 as the doubles nearest i / 10 (np.arange(0, 1.1, 0.1) gives
# 0.30000000000000004, which a recall of exactly 3/10 does not reach).
_RECALL_LEVELS = {
    "11point": torch.tensor([i / 10 for i in range(11)], dtype=torch.float64),
    "101point": torch.tensor(COCO_RECALL_THRESHOLDS, dtype=torch.float64),
}


def _check_1d(x: Tensor, name: str, n: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [{n}], got {type(x).__name__}")
    if x.ndim != 1 or x.shape[0] != n:
        raise ValueError(f"{name} must have shape [{n}], got {tuple(x.shape)}")


# --8<-- [start:coco_box_iou]
def coco_box_iou(pred_boxes: Tensor, gt_boxes: Tensor, gt_crowd: Tensor | None = None) -> Tensor:
    """IoU as COCO computes it: a crowd GT column uses intersection / detection area.

    Args:
        pred_boxes: ``[D, 4]`` detections, ``(x1, y1, x2, y2)``.
        gt_boxes: ``[G, 4]`` ground-truth boxes.
        gt_crowd: ``[G]`` bool, ``True`` for crowd (``iscrowd=1``) regions; ``None``: none.

    Returns:
        ``[D, G]`` float64; ``0`` where the union (or the detection area) is empty.

    Examples:
        >>> d = torch.tensor([[0.0, 0, 2, 2]])
        >>> g = torch.tensor([[0.0, 0, 4, 4], [0.0, 0, 4, 4]])
        >>> coco_box_iou(d, g, torch.tensor([False, True]))  # 4/16; crowd: 4/4
        tensor([[0.2500, 1.0000]], dtype=torch.float64)
    """
    _check_boxes(pred_boxes, "pred_boxes")
    _check_boxes(gt_boxes, "gt_boxes")
    pred_boxes, gt_boxes = pred_boxes.double(), gt_boxes.double()  # pycocotools: C doubles
    ious = box_iou(pred_boxes, gt_boxes)
    if gt_crowd is not None:
        _check_1d(gt_crowd, "gt_crowd", gt_boxes.shape[0])
        inter, _ = _box_inter_union(pred_boxes, gt_boxes)
        # A crowd region covers many objects: count how much of the DETECTION lies inside it.
        crowd_iou = inter / box_area(pred_boxes)[:, None]
        ious = torch.where(gt_crowd.bool()[None, :], crowd_iou, ious)
    return ious.nan_to_num(0.0)  # 0/0: pycocotools' C code returns 0 there


# --8<-- [end:coco_box_iou]


# --8<-- [start:match_detections]
def _greedy_match(
    iou_rows: list[list[float]],
    order: list[int],
    iou_threshold: float,
    ignore: list[bool],
    crowd: list[bool],
) -> list[int]:
    """The matching loop of ``match_detections`` on plain lists (``order``: best score first)."""
    num_gt = len(ignore)
    # Regular GTs first: a detection takes an ignored GT only if no regular GT is left for it.
    gt_order = [g for g in range(num_gt) if not ignore[g]] + [g for g in range(num_gt) if ignore[g]]
    taken = [False] * num_gt
    matched = [-1] * len(iou_rows)
    threshold = min(iou_threshold, 1 - 1e-10)  # as pycocotools: IoU 1.0 still matches at 1.0
    for d in order:
        best, best_iou = -1, threshold
        for g in gt_order:
            if taken[g] and not crowd[g]:
                continue  # each regular GT matches one detection; the next one is a FP
            if best >= 0 and not ignore[best] and ignore[g]:
                break  # already matched a regular GT: never trade it for an ignored one
            if iou_rows[d][g] < best_iou:  # so IoU == threshold matches; ties go to later g
                continue
            best, best_iou = g, iou_rows[d][g]
        if best >= 0:
            matched[d] = best
            taken[best] = True
    return matched


def match_detections(
    ious: Tensor,
    scores: Tensor,
    iou_threshold: float = 0.5,
    gt_ignore: Tensor | None = None,
    gt_crowd: Tensor | None = None,
) -> Tensor:
    """Greedy matching for one image and one class, highest score first (COCO rules).

    Args:
        ious: ``[D, G]`` IoU of each detection with each ground truth.
        scores: ``[D]`` detection scores.
        iou_threshold: a pair matches when IoU ``>=`` it.
        gt_ignore: ``[G]`` bool, GTs whose matches count neither TP nor FP.
        gt_crowd: ``[G]`` bool, crowd GTs: ignored and matchable any number of times.

    Returns:
        ``[D]`` int64, for each detection (input order) the matched GT index or ``-1``.

    Examples:
        >>> ious = torch.tensor([[0.6, 0.0], [0.7, 0.0], [0.0, 0.4]])
        >>> match_detections(ious, torch.tensor([0.9, 0.8, 0.7]))  # GT 0 taken by det 0
        tensor([ 0, -1, -1])
    """
    if not isinstance(ious, Tensor) or ious.ndim != 2:
        raise TypeError(f"ious must be a torch.Tensor of shape [D, G], got {type(ious).__name__}")
    num_dt, num_gt = ious.shape
    _check_1d(scores, "scores", num_dt)
    crowd = [False] * num_gt if gt_crowd is None else gt_crowd.bool().tolist()
    ignore = [False] * num_gt if gt_ignore is None else gt_ignore.bool().tolist()
    ignore = [i or c for i, c in zip(ignore, crowd, strict=True)]  # crowd is always ignored
    order = torch.argsort(scores, descending=True, stable=True).tolist()
    # Python floats and lists: reading one element is ~10x cheaper than from a tensor.
    matched = _greedy_match(ious.double().tolist(), order, iou_threshold, ignore, crowd)
    return torch.tensor(matched, dtype=torch.int64)


# --8<-- [end:match_detections]


# --8<-- [start:precision_recall]
def precision_recall(scores: Tensor, tp: Tensor, num_gt: int) -> tuple[Tensor, Tensor]:
    """Cumulative recall and precision after each detection, highest score first.

    Args:
        scores: ``[D]`` scores of the detections that count (ignored ones removed).
        tp: ``[D]`` bool, ``True`` for a true positive.
        num_gt: number of (non-ignored) ground-truth objects, ``> 0``.

    Returns:
        ``(recall, precision)``, both ``[D]`` float64, in decreasing score order.

    Examples:
        >>> r, p = precision_recall(torch.tensor([0.9, 0.8, 0.7]),
        ...                         torch.tensor([True, False, True]), num_gt=4)
        >>> r.tolist(), [round(v, 4) for v in p.tolist()]
        ([0.25, 0.25, 0.5], [1.0, 0.5, 0.6667])
    """
    _check_1d(scores, "scores", len(scores) if isinstance(scores, Tensor) else 0)
    _check_1d(tp, "tp", scores.shape[0])
    if isinstance(num_gt, bool) or not isinstance(num_gt, int) or num_gt <= 0:
        raise ValueError(f"num_gt must be a positive int (number of GT boxes), got {num_gt!r}")
    order = torch.argsort(scores, descending=True, stable=True)  # same order as mergesort
    tp_cum = tp[order].double().cumsum(0)
    fp_cum = (~tp[order].bool()).double().cumsum(0)
    recall = tp_cum / num_gt  # over ALL ground truths, not over the detections
    precision = tp_cum / (tp_cum + fp_cum)  # over the detections so far
    return recall, precision


# --8<-- [end:precision_recall]


# --8<-- [start:average_precision]
def precision_envelope(precision: Tensor) -> Tensor:
    """Interpolated precision: ``p_interp[i] = max(precision[i:])``, the monotone envelope.

    Args:
        precision: ``[K]`` precision in decreasing score order (increasing recall).

    Returns:
        ``[K]`` non-increasing tensor.

    Examples:
        >>> precision_envelope(torch.tensor([1.0, 0.5, 0.6667, 0.75]))
        tensor([1.0000, 0.7500, 0.7500, 0.7500])
    """
    return precision.flip(0).cummax(0).values.flip(0)


def average_precision(recall: Tensor, precision: Tensor, method: str = "all") -> float:
    """AP: area under the precision envelope (VOC all-point, VOC07 11-point, COCO 101-point).

    Args:
        recall: ``[K]`` non-decreasing recall of the P-R points.
        precision: ``[K]`` precision at the same points.
        method: ``"all"`` (VOC2010+), ``"11point"`` (VOC2007) or ``"101point"`` (COCO).

    Returns:
        AP in ``[0, 1]``; ``0.0`` for no points.

    Examples:
        >>> r = torch.tensor([1 / 3, 1 / 3, 2 / 3, 1.0])  # TP, FP, TP, TP; 3 GTs
        >>> p = torch.tensor([1.0, 0.5, 2 / 3, 0.75])
        >>> round(average_precision(r, p), 4)  # (1 + 0.75 + 0.75) / 3
        0.8333
        >>> round(average_precision(r, p, "11point"), 4)  # (4 * 1 + 7 * 0.75) / 11
        0.8409
    """
    _check_1d(recall, "recall", len(recall) if isinstance(recall, Tensor) else 0)
    _check_1d(precision, "precision", recall.shape[0])
    if method not in ("all", "11point", "101point"):
        raise ValueError(f"method must be 'all', '11point' or '101point', got {method!r}")
    recall, precision = recall.double(), precision.double()
    if recall.numel() == 0:
        return 0.0
    if bool((recall[1:] < recall[:-1]).any()):
        raise ValueError("recall must be non-decreasing (points in decreasing score order)")
    envelope = precision_envelope(precision)
    if method == "all":
        # Sum of rectangles: each recall step times the envelope where it is reached.
        steps = torch.diff(recall, prepend=recall.new_zeros(1))
        return float((steps * envelope).sum())
    levels = _RECALL_LEVELS[method]  # 11 or 101 recall levels r
    # First point with recall >= r; envelope there = max precision at recall >= r.
    idx = torch.searchsorted(recall, levels, side="left")
    sampled = torch.where(idx < len(recall), envelope[idx.clamp(max=len(recall) - 1)], 0.0)
    return float(sampled.mean())  # recall level never reached: precision 0


# --8<-- [end:average_precision]


def _check_image_dicts(items: list, name: str, keys: tuple[str, ...]) -> None:
    if not isinstance(items, list | tuple):
        raise TypeError(
            f"{name} must be a list of dicts (one per image), got {type(items).__name__}"
        )
    for i, item in enumerate(items):
        if not isinstance(item, dict) or any(k not in item for k in keys):
            raise ValueError(f"{name}[{i}] must be a dict with keys {keys}")
        boxes = item["boxes"]
        if not isinstance(boxes, Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4:
            raise TypeError(f"{name}[{i}]['boxes'] must be a torch.Tensor of shape [N, 4]")
        for k in keys[1:] + tuple(k for k in ("iscrowd", "area") if k in item):
            _check_1d(item[k], f"{name}[{i}]['{k}']", boxes.shape[0])


# --8<-- [start:mean_average_precision]
def mean_average_precision(preds: list, target: list, max_dets: int = 100) -> dict[str, float]:
    """COCO mAP from torchmetrics-style inputs; equals pycocotools' ``COCOeval`` (bbox).

    Args:
        preds: per image, a dict with ``boxes`` ``[N, 4]`` xyxy, ``scores`` ``[N]``, ``labels``
            ``[N]``.
        target: per image, a dict with ``boxes`` ``[M, 4]``, ``labels`` ``[M]``, optional
            ``iscrowd`` ``[M]`` and ``area`` ``[M]`` (default: box area).
        max_dets: detections kept per image and class, highest scores first.

    Returns:
        ``map`` (IoU 0.50:0.95), ``map_50``, ``map_75``, ``map_small/medium/large``; ``-1.0``
        when no class has a ground truth for that entry.

    Examples:
        >>> pred = [dict(boxes=torch.tensor([[0.0, 0, 10, 10]]), scores=torch.tensor([0.9]),
        ...              labels=torch.tensor([0]))]
        >>> gt = [dict(boxes=torch.tensor([[0.0, 0, 10, 8]]), labels=torch.tensor([0]))]
        >>> r = mean_average_precision(pred, gt)  # IoU 0.8: TP for thresholds 0.50..0.80
        >>> r["map"], r["map_50"], r["map_75"], r["map_small"], r["map_large"]
        (0.7, 1.0, 1.0, 0.7, -1.0)
    """
    _check_image_dicts(preds, "preds", ("boxes", "scores", "labels"))
    _check_image_dicts(target, "target", ("boxes", "labels"))
    if len(preds) != len(target):
        raise ValueError(
            f"preds and target must have one dict per image, got {len(preds)} and {len(target)}"
        )
    classes = sorted(set(torch.cat([t["labels"] for t in target]).tolist())) if target else []
    ap = {}  # (area name, class) -> [AP at each IoU threshold]
    for c in classes:
        images = []  # per image, for class c: plain lists, reused by 4 areas x 10 thresholds
        for p, t in zip(preds, target, strict=True):
            dt, gt = p["labels"] == c, t["labels"] == c
            scores = p["scores"][dt].double()
            top = torch.argsort(scores, descending=True, stable=True)[:max_dets]
            boxes, scores = p["boxes"][dt][top], scores[top]  # maxDets: per image AND class
            crowd = t.get("iscrowd", torch.zeros(len(t["labels"])))[gt].bool()
            gt_area = t["area"][gt] if "area" in t else box_area(t["boxes"][gt])
            ious = coco_box_iou(boxes, t["boxes"][gt], crowd).tolist()
            dt_area = box_area(boxes.double()).tolist()
            images.append((ious, scores.tolist(), dt_area, crowd.tolist(), gt_area.tolist()))
        for name, (lo, hi) in COCO_AREA_RANGES.items():
            per_threshold = []
            for thr in COCO_IOU_THRESHOLDS:
                kept_scores, kept_tp, num_gt = [], [], 0
                for ious, scores, dt_area, crowd, gt_area in images:
                    ignore = [cr or not lo <= a <= hi for cr, a in zip(crowd, gt_area, strict=True)]
                    num_gt += ignore.count(False)
                    # `scores` is already sorted, best first (stable): order = 0, 1, 2, ...
                    m = _greedy_match(ious, list(range(len(scores))), thr, ignore, crowd)
                    for d, g in enumerate(m):
                        if g >= 0 and ignore[g]:
                            continue  # matched a crowd / out-of-range GT: neither TP nor FP
                        if g < 0 and not lo <= dt_area[d] <= hi:
                            continue  # unmatched and outside the area range: ignored too
                        kept_scores.append(scores[d])
                        kept_tp.append(g >= 0)
                if num_gt == 0:
                    break  # no GT of class c in this range: the class is left out (-1)
                rec, prec = precision_recall(
                    torch.tensor(kept_scores, dtype=torch.float64), torch.tensor(kept_tp), num_gt
                )
                per_threshold.append(average_precision(rec, prec, "101point"))
            if per_threshold:
                ap[name, c] = per_threshold

    def mean(name: str, t: slice) -> float:  # over classes and the chosen IoU thresholds
        values = [v for (a, _), aps in ap.items() if a == name for v in aps[t]]
        return float(np.mean(values)) if values else -1.0

    result = {"map": mean("all", slice(None)), "map_50": mean("all", slice(0, 1))}
    result["map_75"] = mean("all", slice(5, 6))  # COCO_IOU_THRESHOLDS[5] == 0.75
    for name in ("small", "medium", "large"):
        result[f"map_{name}"] = mean(name, slice(None))
    return result


# --8<-- [end:mean_average_precision]
