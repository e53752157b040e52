"""Figures for the IoU page. Every number printed in a figure is computed by the snippet."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snippets.detection.iou import (
    box_iou,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
)

TEXT = {
    "zh": {
        "disjoint": "不相交",
        "overlap": "部分重叠",
        "contained": "包含",
        "pred": "A（预测框）",
        "target": "B（真实框）",
        "inter": "交集 A∩B",
        "enclose": "最小外接框 C",
        "centres": "中心点",
        "rho": "ρ：中心距离",
        "diag": "c：C 的对角线",
        "geometry": "DIoU / CIoU 用到的几何量",
        "shift": "A 的中心相对 B 的水平偏移 dx",
        "value": "数值",
        "sliding": "A（3×1）沿 x 轴滑过 B（2×2）",
        "flat": "IoU = 0：没有梯度",
        "ratio": "A 的宽高比 w/h（对数坐标；中心与面积固定，B 为 2×2）",
        "aspect": "同心、同面积，只改 A 的形状：只有 CIoU 多扣了 αv",
        "gap": "CIoU 的额外惩罚 αv",
    },
    "en": {
        "disjoint": "disjoint",
        "overlap": "overlapping",
        "contained": "contained",
        "pred": "A (prediction)",
        "target": "B (ground truth)",
        "inter": "intersection A∩B",
        "enclose": "smallest enclosing box C",
        "centres": "centres",
        "rho": "ρ: centre distance",
        "diag": "c: diagonal of C",
        "geometry": "the geometry behind DIoU / CIoU",
        "shift": "horizontal offset dx of A's centre from B's",
        "value": "value",
        "sliding": "A (3×1) slides along x across B (2×2)",
        "flat": "IoU = 0: no gradient",
        "ratio": "aspect ratio w/h of A (log scale; same centre and area, B is 2×2)",
        "aspect": "same centre, same area, only A's shape changes: only CIoU subtracts αv",
        "gap": "CIoU's extra penalty αv",
    },
}

BLUE, ORANGE, GREY, GREEN = "#1f77b4", "#ff7f0e", "#555555", "#2ca02c"


def _scores(a: list[float], b: list[float]) -> dict[str, float]:
    ta, tb = torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    return {
        "IoU": box_iou(ta, tb).item(),
        "GIoU": generalized_box_iou(ta, tb).item(),
        "DIoU": distance_box_iou(ta, tb).item(),
        "CIoU": complete_box_iou(ta, tb).item(),
    }


def _rect(ax: Axes, box: list[float], **kw: object) -> None:
    ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1], **kw))


def _draw_pair(ax: Axes, a: list[float], b: list[float], t: dict[str, str]) -> None:
    """A, B, their intersection (hatched) and the enclosing box C (dashed)."""
    c = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
    _rect(ax, c, fill=False, edgecolor=GREY, linestyle="--", linewidth=1.2, label=t["enclose"])
    _rect(ax, a, facecolor=BLUE, alpha=0.25, edgecolor=BLUE, linewidth=1.5, label=t["pred"])
    _rect(ax, b, facecolor=ORANGE, alpha=0.25, edgecolor=ORANGE, linewidth=1.5, label=t["target"])
    inter = [max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])]
    if inter[2] > inter[0] and inter[3] > inter[1]:
        _rect(ax, inter, fill=False, hatch="///", edgecolor=GREEN, linewidth=0, label=t["inter"])
    ax.set_xlim(c[0] - 0.5, c[2] + 0.5)
    ax.set_ylim(c[1] - 0.5, c[3] + 0.5)
    ax.set_aspect("equal")
    ax.invert_yaxis()  # image coordinates: y grows downwards
    ax.set_xticks([])
    ax.set_yticks([])


def draw_cases(lang: str) -> Figure:
    """Disjoint, overlapping and contained pairs, titled with their IoU and GIoU."""
    t = TEXT[lang]
    cases = [
        (t["disjoint"], [0.0, 0.0, 2.0, 2.0], [3.0, 1.0, 5.0, 3.0]),
        (t["overlap"], [0.0, 0.0, 3.0, 3.0], [1.5, 1.0, 4.5, 4.0]),
        (t["contained"], [0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 2.5]),
    ]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (name, a, b) in zip(axes, cases, strict=True):
        s = _scores(a, b)
        _draw_pair(ax, a, b, t)
        ax.set_title(f"{name}\nIoU = {s['IoU']:.3f}   GIoU = {s['GIoU']:.3f}", fontsize=10)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=9, frameon=False)
    return fig


def draw_geometry(lang: str) -> Figure:
    """One disjoint pair with C, the centre distance rho and the diagonal c, plus all four scores."""
    t = TEXT[lang]
    a, b = [0.0, 0.0, 3.0, 2.0], [4.0, 2.5, 6.0, 5.5]
    s = _scores(a, b)
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    _draw_pair(ax, a, b, t)
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    cb = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    ax.plot([ca[0], cb[0]], [ca[1], cb[1]], color="crimson", linewidth=2, label=t["rho"])
    ax.plot([a[0], b[2]], [a[1], b[3]], color=GREY, linewidth=1, linestyle=":", label=t["diag"])
    ax.plot(*zip(ca, cb, strict=True), "o", color="crimson", markersize=5, label=t["centres"])
    ax.text((ca[0] + cb[0]) / 2 + 0.1, (ca[1] + cb[1]) / 2 - 0.15, "ρ", color="crimson")
    ax.text(4.4, 4.0, "c", color=GREY)
    summary = "\n".join(f"{k} = {v:+.3f}" for k, v in s.items())
    ax.text(1.04, 0.02, summary, transform=ax.transAxes, va="bottom", family="monospace")
    ax.set_title(t["geometry"], fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return fig


def draw_sliding(lang: str) -> Figure:
    """IoU, GIoU, DIoU and CIoU as a 3x1 box slides across a 2x2 box: IoU is flat once apart."""
    t = TEXT[lang]
    dx = torch.linspace(-5.0, 5.0, 161, dtype=torch.float64)
    target = torch.tensor([[-1.0, -1.0, 1.0, 1.0]], dtype=torch.float64)
    preds = torch.stack([dx - 1.5, torch.zeros_like(dx), dx + 1.5, torch.ones_like(dx)], dim=1)
    curves = {
        "IoU": box_iou(preds, target)[:, 0],
        "GIoU": generalized_box_iou(preds, target)[:, 0],
        "DIoU": distance_box_iou(preds, target)[:, 0],
        "CIoU": complete_box_iou(preds, target)[:, 0],
    }
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    styles = {"IoU": "-", "GIoU": "--", "DIoU": "-.", "CIoU": ":"}
    for name, values in curves.items():
        ax.plot(dx.numpy(), values.numpy(), styles[name], linewidth=1.8, label=name)
    # IoU is zero exactly when the boxes stop overlapping: |dx| >= 1.5 + 1 = 2.5.
    for lo, hi in [(-5.0, -2.5), (2.5, 5.0)]:
        ax.axvspan(lo, hi, color=GREY, alpha=0.12, linewidth=0)
    for x in (-3.75, 3.75):
        ax.text(x, 0.85, t["flat"], ha="center", fontsize=8, color=GREY)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel(t["shift"])
    ax.set_ylabel(t["value"])
    ax.set_title(t["sliding"], fontsize=10)
    ax.set_xlim(-5, 5)
    ax.set_ylim(-1.05, 1.05)
    ax.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def draw_aspect(lang: str) -> Figure:
    """A box with B's centre and area but another aspect ratio: DIoU = IoU, CIoU lies below."""
    t = TEXT[lang]
    ratio = torch.logspace(-2.0, 2.0, 161, base=2.0, dtype=torch.float64)  # w / h of A
    w, h = 2 * ratio.sqrt(), 2 / ratio.sqrt()  # area 4, like the 2x2 target
    target = torch.tensor([[-1.0, -1.0, 1.0, 1.0]], dtype=torch.float64)
    preds = torch.stack([-w / 2, -h / 2, w / 2, h / 2], dim=1)
    curves = {
        "IoU": box_iou(preds, target)[:, 0],
        "GIoU": generalized_box_iou(preds, target)[:, 0],
        "DIoU": distance_box_iou(preds, target)[:, 0],
        "CIoU": complete_box_iou(preds, target)[:, 0],
    }
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    styles = {"IoU": "-", "GIoU": "--", "DIoU": "-.", "CIoU": ":"}
    for name, values in curves.items():
        top.plot(ratio.numpy(), values.numpy(), styles[name], linewidth=1.8, label=name)
    # DIoU - CIoU is exactly alpha * v here: the only term that sees the shape.
    gap = (curves["DIoU"] - curves["CIoU"]).numpy()
    bottom.plot(ratio.numpy(), gap, color=GREY, linewidth=1.8, label=t["gap"])
    bottom.fill_between(ratio.numpy(), 0, gap, color=GREY, alpha=0.15, linewidth=0)
    bottom.set_xscale("log", base=2)
    bottom.set_xlabel(t["ratio"])
    top.set_ylabel(t["value"])
    top.set_title(t["aspect"], fontsize=10)
    top.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    bottom.legend(loc="upper center", fontsize=8, frameon=False)
    return fig
