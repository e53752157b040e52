"""Classification metrics in NumPy: ROC AUC three ways, ROC curve, precision / recall / F1, GAUC.

Conventions (same as scikit-learn 1.9.1, ``sklearn/metrics/_ranking.py`` and
``sklearn/metrics/_classification.py``):

* binary labels are a 1-D array-like of 0/1 (int, float or bool); the positive class is 1;
* scores are a 1-D array-like of finite real numbers, higher = more likely positive;
* a tied (positive, negative) pair counts 1/2 in AUC, i.e. average ranks, and on the ROC curve
  a group of tied scores is ONE threshold: a diagonal segment;
* ``roc_curve`` returns every distinct threshold (``drop_intermediate=False``), the first one is
  ``inf`` so the curve starts at (0, 0);
* AUC with only one class in ``y_true`` is undefined. scikit-learn 1.9.1 warns and returns
  ``nan``; we raise ``ValueError`` (a NaN averaged into a report is a silent wrong answer);
* precision / recall / F1 with a zero denominator are 0 (``zero_division=0``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

# ---------------------------------------------------------------- input checks


def _as_1d(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be a 1-D array-like of shape [n], got ragged input") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array-like of shape [n], got shape {arr.shape}")
    return arr


def _check_binary_labels(y_true: Any, name: str = "y_true") -> np.ndarray:
    y = _as_1d(y_true, name)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold 0/1 or bool labels, got dtype {y.dtype}")
    if y.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:5].tolist()
        raise ValueError(f"{name} must hold binary labels 0/1 (or bool), got values {bad}")
    return y.astype(np.int64)


def _check_scores(y_score: Any, n: int) -> np.ndarray:
    s = _as_1d(y_score, "y_score")
    if s.dtype.kind not in "biuf":
        raise TypeError(f"y_score must be a real-valued array-like of shape [n], got {s.dtype}")
    if s.shape[0] != n:
        raise ValueError(f"y_score must have shape [n] with n = len(y_true) = {n}, got {s.shape}")
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise ValueError("y_score must be finite: found NaN or inf")
    return s


def _check_auc_inputs(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _check_binary_labels(y_true)
    s = _check_scores(y_score, y.shape[0])
    if y.min() == y.max():
        raise ValueError(
            "y_true has only one class: ROC AUC needs at least one positive and one negative "
            "(scikit-learn warns and returns nan here)"
        )
    return y, s


# ---------------------------------------------------------------- AUC, three ways


# --8<-- [start:auc_pairwise]
def auc_pairwise(y_true: Any, y_score: Any) -> float:
    """AUC from its definition: P(s+ > s-) + 1/2 P(s+ = s-) over all pairs. O(n_pos * n_neg).

    Args:
        y_true: ``[n]`` binary labels (0/1 or bool).
        y_score: ``[n]`` real scores, higher means more likely positive.

    Returns:
        The ROC AUC, a float in ``[0, 1]``.

    Examples:
        >>> auc_pairwise([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # 3 of 4 pairs ordered
        0.75
        >>> auc_pairwise([0, 1], [0.5, 0.5])  # a tie counts one half
        0.5
    """
    y, s = _check_auc_inputs(y_true, y_score)
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]  # [n_pos, n_neg]: every (positive, negative) pair
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


# --8<-- [end:auc_pairwise]


# --8<-- [start:auc_rank]
def average_ranks(x: Any) -> np.ndarray:
    """Ranks 1..n of ``x``, tied values get the mean of their ranks (``rankdata`` "average").

    Args:
        x: ``[n]`` real values.

    Returns:
        ``[n]`` float64 ranks.

    Examples:
        >>> average_ranks([10, 30, 20, 20]).tolist()
        [1.0, 4.0, 2.5, 2.5]
    """
    x = np.asarray(x)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    # a new group of equal values starts where the sorted value changes
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]  # exclusive
    group_rank = (starts + 1 + ends) / 2.0  # mean of the ranks starts+1 .. ends
    ranks = np.empty(len(xs))
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def auc_rank(y_true: Any, y_score: Any) -> float:
    """AUC by the Mann-Whitney U statistic on average ranks. O(n log n).

    Args:
        y_true: ``[n]`` binary labels (0/1 or bool).
        y_score: ``[n]`` real scores, higher means more likely positive.

    Returns:
        ``(R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)``, a float in ``[0, 1]``.

    Examples:
        >>> auc_rank([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # R_pos = 2 + 4 = 6
        0.75
    """
    y, s = _check_auc_inputs(y_true, y_score)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    r_pos = average_ranks(s)[y == 1].sum()
    u = r_pos - n_pos * (n_pos + 1) / 2  # pairs won by positives, ties count 1/2
    return float(u / (n_pos * n_neg))


# --8<-- [end:auc_rank]


# ---------------------------------------------------------------- ROC curve and its area


# --8<-- [start:roc_curve]
def binary_clf_counts(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives when predicting positive for ``score >= t``, per distinct t.

    Args:
        y_true: ``[n]`` binary labels (0/1 or bool).
        y_score: ``[n]`` real scores.

    Returns:
        ``(fps, tps, thresholds)``, each ``[k]`` for the ``k`` distinct scores, highest first.

    Examples:
        >>> fps, tps, t = binary_clf_counts([0, 1, 1, 0], [0.1, 0.5, 0.5, 0.2])
        >>> fps.tolist(), tps.tolist(), t.tolist()
        ([0, 1, 2], [2, 2, 2], [0.5, 0.2, 0.1])
    """
    y = _check_binary_labels(y_true)
    s = _check_scores(y_score, y.shape[0])
    order = np.argsort(-s, kind="stable")  # highest score first
    s, y = s[order], y[order]
    # the last position of each group of equal scores: all tied samples cross t together
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    return fps, tps, s[last]


def roc_curve(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve at every distinct threshold (``sklearn`` ``drop_intermediate=False``).

    Args:
        y_true: ``[n]`` binary labels with both classes present.
        y_score: ``[n]`` real scores.

    Returns:
        ``(fpr, tpr, thresholds)``, each ``[k + 1]``; ``thresholds[0] = inf``, ``(0, 0)`` first.

    Examples:
        >>> fpr, tpr, t = roc_curve([0, 1, 1, 0], [0.1, 0.5, 0.5, 0.2])
        >>> fpr.tolist(), tpr.tolist(), t.tolist()
        ([0.0, 0.0, 0.5, 1.0], [0.0, 1.0, 1.0, 1.0], [inf, 0.5, 0.2, 0.1])
    """
    _check_auc_inputs(y_true, y_score)
    fps, tps, thresholds = binary_clf_counts(y_true, y_score)
    fps, tps = np.r_[0, fps], np.r_[0, tps]  # threshold inf: nothing predicted positive
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def roc_auc_score(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve by the trapezoid rule (equals ``sklearn`` for binary labels).

    Args:
        y_true: ``[n]`` binary labels (0/1 or bool) with both classes present.
        y_score: ``[n]`` real scores, higher means more likely positive.

    Returns:
        The ROC AUC, a float in ``[0, 1]``.

    Examples:
        >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
        >>> roc_auc_score([0, 1, 0, 1], [1, 1, 1, 1])  # one threshold: the diagonal
        0.5
    """
    fpr, tpr, _ = roc_curve(y_true, y_score)
    # a tied group moves right and up at once: its trapezoid is the diagonal's 1/2 credit
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


# --8<-- [end:roc_curve]


# --8<-- [start:average_precision]
def average_precision(y_true: Any, y_score: Any) -> float:
    """Average precision, sum over thresholds of (R_k - R_{k-1}) P_k (``sklearn``'s AP).

    Args:
        y_true: ``[n]`` binary labels with at least one positive.
        y_score: ``[n]`` real scores.

    Returns:
        AP, a float in ``[0, 1]`` (a step sum, not the trapezoid of the PR curve).

    Examples:
        >>> average_precision([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.5])  # (1/2)(1) + (1/2)(2/3)
        0.8333333333333333
    """
    fps, tps, _ = binary_clf_counts(y_true, y_score)
    if tps[-1] == 0:
        raise ValueError("y_true has no positive sample: average precision is undefined")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# --8<-- [end:average_precision]


# ---------------------------------------------------------------- precision, recall, F1


def _check_class_labels(y: Any, name: str) -> np.ndarray:
    arr = _as_1d(y, name)
    if arr.dtype.kind not in "biu":
        raise TypeError(f"{name} must hold integer or bool class labels, got dtype {arr.dtype}")
    return arr.astype(np.int64)


# --8<-- [start:precision_recall_f1]
def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den == 0 (``zero_division=0``), without a warning."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    average: Literal["binary", "macro", "micro", "weighted"] = "binary",
) -> tuple[float, float, float]:
    """Precision, recall and F1 (``precision_recall_fscore_support``, ``zero_division=0``).

    Args:
        y_true: ``[n]`` integer (or bool) true labels; 0/1 when ``average="binary"``.
        y_pred: ``[n]`` predicted labels, same encoding.
        average: ``"binary"`` (class 1 only), ``"macro"`` (mean over classes),
            ``"micro"`` (pooled counts) or ``"weighted"`` (mean weighted by support).

    Returns:
        ``(precision, recall, f1)`` as floats.

    Examples:
        >>> precision_recall_f1([1, 1, 0, 0], [1, 0, 1, 0])  # TP=1, FP=1, FN=1
        (0.5, 0.5, 0.5)
        >>> precision_recall_f1([0, 0], [0, 0])  # no positives at all: 0, not NaN
        (0.0, 0.0, 0.0)
    """
    y_t = _check_class_labels(y_true, "y_true")
    y_p = _check_class_labels(y_pred, "y_pred")
    if y_p.shape != y_t.shape:
        raise ValueError(f"y_pred must have shape [n] with n = len(y_true), got {y_p.shape}")
    if average == "binary":
        if not np.isin(np.r_[y_t, y_p], (0, 1)).all():
            raise ValueError("average='binary' needs 0/1 labels in y_true and y_pred")
        labels = np.array([1])  # only the positive class
    elif average in ("macro", "micro", "weighted"):
        labels = np.union1d(y_t, y_p)  # every class seen in either array, as sklearn
    else:
        raise ValueError(f"average must be binary, macro, micro or weighted, got {average!r}")
    # per-class counts, [n_classes]
    tp = np.array([np.sum((y_p == c) & (y_t == c)) for c in labels])
    n_pred = np.array([np.sum(y_p == c) for c in labels])  # TP + FP
    n_true = np.array([np.sum(y_t == c) for c in labels])  # TP + FN, the support
    if average == "micro":  # pool the counts first, then divide once
        tp, n_pred, n_true = (
            tp.sum(keepdims=True),
            n_pred.sum(keepdims=True),
            n_true.sum(keepdims=True),
        )
    precision = _safe_div(tp, n_pred)
    recall = _safe_div(tp, n_true)
    f1 = _safe_div(2 * tp, n_pred + n_true)  # = 2PR/(P+R), 0 when TP = 0
    if average == "weighted":
        w = n_true / n_true.sum() if n_true.sum() else np.zeros(len(labels))
        return float(precision @ w), float(recall @ w), float(f1 @ w)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


# --8<-- [end:precision_recall_f1]


# ---------------------------------------------------------------- GAUC


# --8<-- [start:gauc]
def gauc(
    user_ids: Any,
    y_true: Any,
    y_score: Any,
    weight: Literal["impressions", "clicks"] = "impressions",
) -> float:
    """Group AUC: per-user AUC averaged with weights ``#impressions`` (or ``#clicks``).

    Users whose samples are all clicks or all non-clicks have no AUC and are skipped.

    Args:
        user_ids: ``[n]`` group of each sample (any hashable labels NumPy can sort).
        y_true: ``[n]`` binary labels (click = 1).
        y_score: ``[n]`` real scores.
        weight: ``"impressions"`` (samples per user) or ``"clicks"`` (positives per user).

    Returns:
        ``sum_u w_u AUC_u / sum_u w_u`` over users with both classes.

    Examples:
        >>> gauc([7, 7, 8, 8, 8], [0, 1, 1, 0, 1], [0.2, 0.3, 0.1, 0.5, 0.9])
        0.7
    """
    users = _as_1d(user_ids, "user_ids")
    y = _check_binary_labels(y_true)
    s = _check_scores(y_score, y.shape[0])
    if users.shape != y.shape:
        raise ValueError(f"user_ids must have shape [n] with n = len(y_true), got {users.shape}")
    if weight not in ("impressions", "clicks"):
        raise ValueError(f"weight must be 'impressions' or 'clicks', got {weight!r}")
    total, weights = 0.0, 0.0
    for u in np.unique(users):
        yu, su = y[users == u], s[users == u]
        if yu.min() == yu.max():
            continue  # one class only: AUC undefined for this user
        w = len(yu) if weight == "impressions" else int(yu.sum())
        total += w * auc_rank(yu, su)
        weights += w
    if weights == 0:
        raise ValueError("no user has both a positive and a negative sample: GAUC is undefined")
    return total / weights


# --8<-- [end:gauc]
