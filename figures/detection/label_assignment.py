"""Figure for the label-assignment page: anchors coloured by `assign_anchors` (snippet code)."""

from __future__ import annotations

import matplotlib.figure
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from snippets.detection.label_assignment import assign_anchors

_TEXT = {
    "zh": {
        "title": "{name}：IoU ≥ {hi} 为正，< {lo} 为负",
        "pos": "正样本（{n}）",
        "ign": "忽略，-2（{n}）",
        "neg": "负样本中心，-1（{n}）",
        "gt": "真值框",
    },
    "en": {
        "title": "{name}: IoU ≥ {hi} positive, < {lo} negative",
        "pos": "positive ({n})",
        "ign": "ignored, -2 ({n})",
        "neg": "negative centres, -1 ({n})",
        "gt": "ground truth",
    },
}


def _anchors(size: int = 128, stride: int = 8) -> torch.Tensor:
    """Square anchors of sides 16, 24, 32 and 1:2 / 2:1 ones of area 24^2, every `stride` px."""
    shapes = [(16, 16), (24, 24), (32, 32), (17, 34), (34, 17)]
    centres = torch.arange(stride / 2, size, stride, dtype=torch.float64)
    cy, cx = torch.meshgrid(centres, centres, indexing="ij")
    cx, cy = cx.reshape(-1, 1), cy.reshape(-1, 1)
    out = [torch.cat([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1) for w, h in shapes]
    return torch.cat(out)


def draw_assignment(lang: str) -> matplotlib.figure.Figure:
    """Anchors of a 128x128 image with two objects, matched with RetinaNet's and RPN's rules."""
    text = _TEXT[lang]
    gt = torch.tensor([[20.0, 30.0, 50.0, 58.0], [70.0, 60.0, 110.0, 115.0]], dtype=torch.float64)
    anchors = _anchors()
    fig = matplotlib.figure.Figure(figsize=(8, 4.3), layout="constrained")
    axes = fig.subplots(1, 2)
    rules = [("RetinaNet", 0.5, 0.4), ("RPN", 0.7, 0.3)]
    for ax, (name, hi, lo) in zip(axes, rules, strict=True):
        matched = assign_anchors(gt, anchors, hi, lo, allow_low_quality_matches=True)
        pos, ign, neg = matched >= 0, matched == -2, matched == -1
        centres = (anchors[:, :2] + anchors[:, 2:]) / 2
        ax.scatter(*centres[neg].T.tolist(), s=2, color="#bbbbbb")
        for (x1, y1, x2, y2), is_pos in zip(
            anchors[pos | ign].tolist(), pos[pos | ign].tolist(), strict=True
        ):
            style = {"ec": "#2ca02c", "lw": 1.2} if is_pos else {"ec": "#ff7f0e", "ls": "--"}
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, **style))
        for x1, y1, x2, y2 in gt.tolist():
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="k", lw=2.2))
        handles = [
            Line2D([], [], color="#2ca02c", label=text["pos"].format(n=int(pos.sum()))),
            Line2D([], [], color="#ff7f0e", ls="--", label=text["ign"].format(n=int(ign.sum()))),
            Line2D(
                [],
                [],
                color="#bbbbbb",
                marker="o",
                ls="",
                label=text["neg"].format(n=int(neg.sum())),
            ),
            Line2D([], [], color="k", lw=2.2, label=text["gt"]),
        ]
        ax.legend(handles=handles, fontsize=7, loc="lower left", framealpha=0.9)
        ax.set_title(text["title"].format(name=name, hi=hi, lo=lo), fontsize=9)
        ax.set_xlim(0, 128)
        ax.set_ylim(128, 0)  # image coordinates: y grows downwards
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
