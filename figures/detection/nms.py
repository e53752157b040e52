"""Figures for the NMS page, drawn at build time from the snippet's own `nms`."""

from __future__ import annotations

import matplotlib.figure
import torch
from matplotlib.patches import Rectangle

from snippets.detection.nms import nms

_TEXT = {
    "zh": {
        "before": "NMS 之前：{n} 个候选框（线越粗分数越高）",
        "after": "NMS 之后（IoU 阈值 {t}）：保留 {k} 个",
    },
    "en": {
        "before": "Before NMS: {n} candidate boxes (thicker = higher score)",
        "after": "After NMS (IoU threshold {t}): {k} kept",
    },
}


def _scene() -> tuple[torch.Tensor, torch.Tensor]:
    """Three objects, each detected several times with jittered boxes, plus one stray box."""
    gen = torch.Generator().manual_seed(3)
    objects = torch.tensor([[10.0, 10, 45, 60], [40, 30, 80, 75], [60, 5, 95, 30]])
    boxes, scores = [], []
    for obj in objects:
        size = obj[2:] - obj[:2]
        jitter = torch.randn(6, 4, generator=gen) * torch.cat([size, size]) * 0.06
        boxes.append(obj + jitter)
        scores.append(torch.rand(6, generator=gen) * 0.5 + 0.45)
    boxes.append(torch.tensor([[5.0, 70, 25, 92]]))
    scores.append(torch.tensor([0.35]))
    return torch.cat(boxes), torch.cat(scores)


def _draw(ax, boxes: torch.Tensor, scores: torch.Tensor, colors: list[str], labels: bool) -> None:
    for (x1, y1, x2, y2), s, c in zip(boxes.tolist(), scores.tolist(), colors, strict=True):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=0.6 + 2.2 * s, ec=c))
        if labels:  # near-duplicates would print their scores on top of each other
            ax.text(x1 + 0.5, y1 + 0.5, f"{s:.2f}", fontsize=7, color=c, va="top")
    ax.set_xlim(0, 100)
    ax.set_ylim(100, 0)  # image coordinates: y grows downwards
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_before_after(lang: str) -> matplotlib.figure.Figure:
    """Candidate boxes of a synthetic scene, then the boxes kept by `nms` at threshold 0.5."""
    text = _TEXT[lang]
    boxes, scores = _scene()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"]
    colors = [palette[min(i // 6, 3)] for i in range(len(boxes))]
    keep = nms(boxes, scores, 0.5)
    fig = matplotlib.figure.Figure(figsize=(8, 4), layout="constrained")
    ax_before, ax_after = fig.subplots(1, 2)
    _draw(ax_before, boxes, scores, colors, labels=False)
    ax_before.set_title(text["before"].format(n=len(boxes)), fontsize=10)
    _draw(ax_after, boxes[keep], scores[keep], [colors[i] for i in keep.tolist()], labels=True)
    ax_after.set_title(text["after"].format(t=0.5, k=len(keep)), fontsize=10)
    return fig
