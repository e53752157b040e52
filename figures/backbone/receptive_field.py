"""Figures for the receptive-field page: effective vs theoretical receptive field."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from snippets.backbone.receptive_field import Layer, input_gradient_map, receptive_field_region

TEXT = {
    "zh": {
        "map": "10 层 3x3 卷积（权重均为 1/9）\n中心输出像素对输入的梯度",
        "trf": "理论感受野（21x21）",
        "depth": "层数 n",
        "width": "宽度（像素）",
        "trf_line": "理论感受野 2n+1",
        "erf_line": "有效感受野 ±2σ（4σ）",
        "curve": "理论 RF 线性增长，有效 RF 约按 √n 增长",
    },
    "en": {
        "map": "10 stacked 3x3 convs (all weights 1/9)\ngradient of the centre output on the input",
        "trf": "theoretical RF (21x21)",
        "depth": "layers n",
        "width": "width (pixels)",
        "trf_line": "theoretical RF 2n+1",
        "erf_line": "effective RF ±2σ (4σ)",
        "curve": "theoretical RF grows like n, effective RF like √n",
    },
}


def _uniform_stack(n: int) -> nn.Module:
    net = nn.Sequential(*[nn.Conv2d(1, 1, 3, bias=False) for _ in range(n)])
    for m in net:
        nn.init.constant_(m.weight, 1 / 9)
    return net


def _marginal_std(g: np.ndarray) -> float:
    """Standard deviation (in pixels) of one axis of a gradient map seen as a distribution."""
    p = g.sum(axis=1)
    p = p / p.sum()
    pos = np.arange(p.size)
    mean = float((p * pos).sum())
    return math.sqrt(float((p * (pos - mean) ** 2).sum()))


def draw_erf_vs_trf(lang: str) -> Figure:
    """Left: ERF heat map with the TRF box. Right: TRF and ERF width against depth."""
    t = TEXT[lang]
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax_map, ax_curve = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})

    n, size = 10, 27
    g = input_gradient_map(_uniform_stack(n), (1, 1, size, size)).numpy()
    ax_map.imshow(g / g.max(), cmap="magma", interpolation="nearest")
    # Theoretical RF box from the formula; the output has size - 2n positions, centre index:
    layers = [Layer(3)] * n
    centre = (size - 2 * n) // 2
    start, end = receptive_field_region(layers, centre)
    ax_map.add_patch(
        Rectangle(
            (start - 0.5, start - 0.5),
            end - start + 1,
            end - start + 1,
            fill=False,
            edgecolor="cyan",
            linewidth=1.5,
            linestyle="--",
            label=t["trf"],
        )
    )
    ax_map.set_title(t["map"], fontsize=9)
    ax_map.legend(loc="lower center", fontsize=8, bbox_to_anchor=(0.5, -0.2))
    ax_map.set_xticks([])
    ax_map.set_yticks([])

    depths = list(range(1, 25))
    erf = [
        4
        * _marginal_std(
            input_gradient_map(_uniform_stack(int(k)), (1, 1, 2 * k + 1, 2 * k + 1)).numpy()
        )
        for k in depths
    ]
    ax_curve.plot(depths, [2 * k + 1 for k in depths], "o-", markersize=3, label=t["trf_line"])
    ax_curve.plot(depths, erf, "s-", markersize=3, label=t["erf_line"])
    ax_curve.set_xlabel(t["depth"])
    ax_curve.set_ylabel(t["width"])
    ax_curve.set_title(t["curve"], fontsize=9)
    ax_curve.grid(alpha=0.3)
    ax_curve.legend(fontsize=8)
    return fig
