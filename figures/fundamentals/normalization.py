"""Figures for the normalisation page, drawn at build time.

`draw_norm_axes`: which elements of an [N, C, H*W] activation share one mean and variance in
BatchNorm, LayerNorm, InstanceNorm and GroupNorm (the layout of Wu & He 2018, Fig. 2).
`draw_running_stats`: how BatchNorm's running statistics, updated by the snippet's `batch_norm`,
approach the data's true mean and variance for different momenta.
"""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import torch
from matplotlib.patches import Polygon

from snippets.fundamentals.normalization import batch_norm

_TEXT = {
    "zh": {
        "titles": ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm（G = 3）"],
        "hw": "H, W",
        "step": "训练步数（batch）",
        "mean": "running_mean（真值 3）",
        "var": "running_var（真值 4）",
        "m": "momentum = {m}",
        "cma": "momentum = None（累积平均）",
        "truth": "真值",
    },
    "en": {
        "titles": ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm (G = 3)"],
        "hw": "H, W",
        "step": "training step (batch)",
        "mean": "running_mean (true value 3)",
        "var": "running_var (true value 4)",
        "m": "momentum = {m}",
        "cma": "momentum = None (cumulative average)",
        "truth": "true value",
    },
}

N, C, HW = 4, 6, 4  # a small activation tensor: 4 samples, 6 channels, 4 positions


def _highlight(kind: str) -> np.ndarray:
    """Boolean [N, C, HW]: the elements that share ONE mean/variance (sample 0, channel 0)."""
    mask = np.zeros((N, C, HW), dtype=bool)
    if kind == "BatchNorm":  # one channel, every sample and position
        mask[:, 0, :] = True
    elif kind == "LayerNorm":  # one sample, every channel and position
        mask[0, :, :] = True
    elif kind == "InstanceNorm":  # one sample, one channel
        mask[0, 0, :] = True
    else:  # GroupNorm: one sample, one group of C / G = 2 channels
        mask[0, :2, :] = True
    return mask


_DEPTH = 0.45  # oblique projection: one step along C moves this far right and up


def _project(x: float, y: float, z: float) -> tuple[float, float]:
    """(N, C, HW) coordinates to the page: N to the right, HW up, C into the page."""
    return x + _DEPTH * y, z + _DEPTH * y


def _cell(ax, corners: list[tuple[float, float, float]], on: bool) -> None:
    color = "#1f77b4" if on else "#f2f2f2"
    ax.add_patch(
        Polygon([_project(*p) for p in corners], closed=True, fc=color, ec="#555555", lw=0.5)
    )


def draw_norm_axes(lang: str) -> matplotlib.figure.Figure:
    """Four cubes N x C x (H, W); the blue block is normalised by one mean and variance."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(10, 2.9), layout="constrained")
    kinds = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]
    for ax, kind, title in zip(fig.subplots(1, 4), kinds, text["titles"], strict=True):
        mask = _highlight(kind)
        for i in range(N):
            for k in range(HW):  # front face: channel 0
                _cell(
                    ax, [(i, 0, k), (i + 1, 0, k), (i + 1, 0, k + 1), (i, 0, k + 1)], mask[i, 0, k]
                )
            for j in range(C):  # top face: the last position
                top = [(i, j, HW), (i + 1, j, HW), (i + 1, j + 1, HW), (i, j + 1, HW)]
                _cell(ax, top, mask[i, j, HW - 1])
        for j in range(C):
            for k in range(HW):  # right face: the last sample
                side = [(N, j, k), (N, j + 1, k), (N, j + 1, k + 1), (N, j, k + 1)]
                _cell(ax, side, mask[N - 1, j, k])
        ax.text(*_project(N / 2, 0, -0.35), "N", ha="center", va="top", fontsize=10)
        ax.text(*_project(N + 0.3, C / 2, 0), "C", ha="left", va="top", fontsize=10)
        ax.text(*_project(-0.25, 0, HW / 2), text["hw"], ha="right", va="center", fontsize=10)
        ax.set_title(title, fontsize=10)
        ax.set_xlim(-1.4, N + _DEPTH * C + 0.9)
        ax.set_ylim(-1.1, HW + _DEPTH * C + 0.2)
        ax.set_aspect("equal")
        ax.axis("off")
    return fig


def draw_running_stats(lang: str) -> matplotlib.figure.Figure:
    """Running mean / variance from `batch_norm` on batches of 16 drawn from N(3, 2^2)."""
    text = _TEXT[lang]
    gen = torch.Generator().manual_seed(0)
    steps = 300
    batches = [torch.randn(16, 1, generator=gen, dtype=torch.float64) * 2 + 3 for _ in range(steps)]
    runs = {text["m"].format(m=0.1): 0.1, text["m"].format(m=0.01): 0.01, text["cma"]: None}
    fig = matplotlib.figure.Figure(figsize=(9, 3.2), layout="constrained")
    ax_mean, ax_var = fig.subplots(1, 2)
    for label, momentum in runs.items():
        rm = torch.zeros(1, dtype=torch.float64)  # torch's initial buffers: 0 and 1
        rv = torch.ones(1, dtype=torch.float64)
        means, variances = [], []
        for k, x in enumerate(batches, start=1):
            m = 1.0 / k if momentum is None else momentum  # what nn.BatchNorm does for None
            batch_norm(x, rm, rv, training=True, momentum=m)
            means.append(float(rm))
            variances.append(float(rv))
        ax_mean.plot(range(1, steps + 1), means, label=label, lw=1.2)
        ax_var.plot(range(1, steps + 1), variances, label=label, lw=1.2)
    for ax, truth, title in ((ax_mean, 3.0, text["mean"]), (ax_var, 4.0, text["var"])):
        ax.axhline(truth, color="black", lw=0.8, ls="--")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(text["step"], fontsize=9)
        ax.tick_params(labelsize=8)
    ax_mean.legend(fontsize=8, loc="lower right")
    return fig
