"""Figures for the U-Net page, drawn from snippets/segmentation/unet.py."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snippets.segmentation.unet import output_size, trace_sizes

TEXT = {
    "zh": {
        "title_a": "每一级特征图边长（depth=4）",
        "valid": "valid（无 padding），输入 572",
        "same": "same（padding=1），输入 576",
        "stage": "阶段",
        "side": "特征图边长（像素）",
        "title_b": "Overlap-tile：预测黄色区域需要蓝色输入块",
        "image": "图像边界",
        "out": "输出块 388×388",
        "inp": "输入块 572×572（越界部分镜像补齐）",
    },
    "en": {
        "title_a": "Feature-map side at every stage (depth=4)",
        "valid": "valid (no padding), input 572",
        "same": "same (padding=1), input 576",
        "stage": "stage",
        "side": "feature-map side (pixels)",
        "title_b": "Overlap-tile: the yellow output needs the blue input",
        "image": "image border",
        "out": "output tile 388×388",
        "inp": "input tile 572×572 (outside: mirrored)",
    },
}


def _toy_cells(size: int, seed: int = 0) -> np.ndarray:
    """A grey image of blurry discs standing in for cells (size x size)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.zeros((size, size))
    for _ in range(18):
        cy, cx = rng.uniform(0, size, 2)
        r = rng.uniform(size / 20, size / 9)
        img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    return img


def feature_map_sizes(lang: str) -> Figure:
    """Left: side length per stage, valid vs same. Right: the overlap-tile input/output tiles."""
    t = TEXT[lang]
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2, width_ratios=[1.25, 1])

    valid, same = trace_sizes(572, 4, "valid"), trace_sizes(576, 4, "same")
    stages = [name for name, _ in valid]
    x = np.arange(len(stages))
    ax_a.plot(x, [s for _, s in valid], "o-", color="tab:blue", label=t["valid"])
    ax_a.plot(x, [s for _, s in same], "s--", color="tab:orange", label=t["same"])
    for xi, (name, s) in zip(x, valid, strict=True):
        if name in ("input", "enc1", "bottleneck", "output"):  # the sizes the paper quotes
            ax_a.annotate(
                str(s), (xi, s), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8
            )
    ax_a.set_xticks(x, stages, rotation=60, fontsize=8)
    ax_a.set_xlabel(t["stage"])
    ax_a.set_ylabel(t["side"])
    ax_a.set_title(t["title_a"], fontsize=10)
    ax_a.legend(fontsize=8)
    ax_a.grid(alpha=0.3)

    # Right panel: a 776-pixel image (two output tiles wide), drawn at 1/8 resolution.
    out = output_size(572)  # 388
    border = (572 - out) // 2  # 92 pixels of context on each side
    scale, side = 8, 2 * out
    img = _toy_cells(side // scale)
    padded = np.pad(img, border // scale, mode="reflect")  # mirror the missing context
    lo, hi = -border, side + border
    ax_b.imshow(padded, cmap="gray", extent=(lo, hi, hi, lo), interpolation="none")
    ax_b.add_patch(
        Rectangle((0, 0), side, side, fill=False, ls="--", lw=1.2, ec="white", label=t["image"])
    )
    ax_b.add_patch(
        Rectangle((-border, -border), 572, 572, fill=False, lw=2, ec="tab:blue", label=t["inp"])
    )
    ax_b.add_patch(
        Rectangle((0, 0), out, out, fc="gold", alpha=0.35, ec="gold", lw=2, label=t["out"])
    )
    ax_b.set_xlim(lo, hi)
    ax_b.set_ylim(hi, lo)
    ax_b.set_title(t["title_b"], fontsize=10)
    ax_b.legend(fontsize=7, loc="lower right")
    ax_b.set_xticks([-border, 0, out, side])
    ax_b.set_yticks([-border, 0, out, side])
    ax_b.tick_params(labelsize=7)
    return fig
