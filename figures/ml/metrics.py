"""Figures for the metrics page, drawn at build time from the snippet's own curve functions."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from snippets.ml.metrics import average_precision, binary_clf_counts, roc_auc_score, roc_curve

_TEXT = {
    "zh": {
        "roc": "ROC 曲线：两种正样本比例几乎重合",
        "pr": "PR 曲线：1% 正样本时精确率崩塌",
        "fpr": "假正率 FPR",
        "tpr": "真正率 TPR（召回率）",
        "recall": "召回率",
        "precision": "精确率",
        "label": "正样本 {p}：AUC = {auc:.3f}，AP = {ap:.3f}",
        "chance": "随机",
    },
    "en": {
        "roc": "ROC: the two positive rates nearly coincide",
        "pr": "PR: precision collapses at 1% positives",
        "fpr": "false positive rate",
        "tpr": "true positive rate (recall)",
        "recall": "recall",
        "precision": "precision",
        "label": "{p} positives: AUC = {auc:.3f}, AP = {ap:.3f}",
        "chance": "chance",
    },
}


def _scores(n_pos: int, n_neg: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Same score distributions for any class ratio: negatives N(0, 1), positives N(2, 1)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_pos, dtype=int), np.zeros(n_neg, dtype=int)]
    s = np.r_[rng.normal(2.0, 1.0, n_pos), rng.normal(0.0, 1.0, n_neg)]
    return y, s


def draw_roc_vs_pr(lang: str) -> matplotlib.figure.Figure:
    """ROC and PR curves of one scorer at 50% and at 1% positives."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(8, 3.8), layout="constrained")
    ax_roc, ax_pr = fig.subplots(1, 2)
    for (n_pos, n_neg), share, color in (
        ((5000, 5000), "50%", "#1f77b4"),
        ((100, 9900), "1%", "#d62728"),
    ):
        y, s = _scores(n_pos, n_neg, seed=n_pos)
        fpr, tpr, _ = roc_curve(y, s)
        fps, tps, _ = binary_clf_counts(y, s)
        label = text["label"].format(p=share, auc=roc_auc_score(y, s), ap=average_precision(y, s))
        ax_roc.plot(fpr, tpr, color=color, lw=1.5, label=label)
        ax_pr.plot(tps / tps[-1], tps / (tps + fps), color=color, lw=1.5, label=label)
        ax_pr.axhline(n_pos / (n_pos + n_neg), color=color, lw=0.8, ls=":")
    ax_roc.plot([0, 1], [0, 1], color="#7f7f7f", lw=0.8, ls="--", label=text["chance"])
    ax_roc.set(xlabel=text["fpr"], ylabel=text["tpr"], xlim=(0, 1), ylim=(0, 1.01))
    ax_pr.set(xlabel=text["recall"], ylabel=text["precision"], xlim=(0, 1), ylim=(0, 1.01))
    ax_roc.set_title(text["roc"], fontsize=10)
    ax_pr.set_title(text["pr"], fontsize=10)
    ax_roc.legend(fontsize=7, loc="lower right")
    ax_pr.legend(fontsize=7, loc="lower left")
    return fig
