"""Figure for the mAP page: a P-R curve, its precision envelope and the VOC07 11-point samples."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.detection.map import average_precision, precision_envelope, precision_recall

_TEXT = {
    "zh": {
        "raw": "原始 precision（逐个检测框）",
        "env": "包络 max(precision, recall ≥ r)",
        "pts": "VOC2007 的 11 个采样点",
        "title": "P-R 曲线：全点 AP = {a:.3f}，11 点 AP = {b:.3f}，COCO 101 点 AP = {c:.3f}",
    },
    "en": {
        "raw": "raw precision (one point per detection)",
        "env": "envelope max(precision at recall ≥ r)",
        "pts": "VOC2007's 11 sampled levels",
        "title": "P-R curve: all-point AP = {a:.3f}, 11-point = {b:.3f}, COCO 101-point = {c:.3f}",
    },
}

# 12 detections sorted by score, TP/FP after matching, 10 ground truths (2 never found).
_TP = [1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1]
_NUM_GT = 10


def draw_pr_curve(lang: str) -> matplotlib.figure.Figure:
    """Raw P-R points, the monotone envelope (shaded = all-point AP) and the 11-point samples."""
    text = _TEXT[lang]
    tp = torch.tensor(_TP, dtype=torch.bool)
    scores = torch.linspace(0.95, 0.4, len(_TP))
    recall, precision = precision_recall(scores, tp, _NUM_GT)
    envelope = precision_envelope(precision)
    # The envelope as a step function of recall: flat at envelope[i] on (recall[i-1], recall[i]].
    step_x = [0.0, *recall.tolist(), recall[-1].item()]
    step_y = [envelope[0].item(), *envelope.tolist(), 0.0]  # then 0: recall never reached
    fig = matplotlib.figure.Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(step_x, step_y, step="pre", alpha=0.15, color="#1f77b4")
    ax.step(step_x, step_y, where="pre", color="#1f77b4", lw=2, label=text["env"])
    ax.plot(recall, precision, "o--", color="#7f7f7f", ms=4, lw=1, label=text["raw"])
    levels = [i / 10 for i in range(11)]
    sampled = []
    for r in levels:
        above = envelope[recall >= r]
        sampled.append(float(above.max()) if above.numel() else 0.0)
    ax.plot(levels, sampled, "s", color="#d62728", ms=6, label=text["pts"])
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)
    ax.legend(loc="lower left", fontsize=8)
    aps = [average_precision(recall, precision, m) for m in ("all", "11point", "101point")]
    ax.set_title(text["title"].format(a=aps[0], b=aps[1], c=aps[2]), fontsize=9)
    return fig
