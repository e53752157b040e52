"""Figures for the LLM memory page, drawn at build time from the snippet's ZeRO formula."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from snippets.llm.memory import zero_memory_bytes

_TEXT = {
    "zh": {
        "title_a": "ZeRO 论文图 1 的例子：7.5B 参数，64 张 GPU",
        "title_b": "每张 GPU 的模型状态，8 张 GPU",
        "stages": ["基线 DP", "ZeRO-1\n(P_os)", "ZeRO-2\n(P_os+g)", "ZeRO-3\n(P_os+g+p)"],
        "fp16": "fp16 权重 + 梯度",
        "optim": "优化器状态（fp32：主权重、动量、方差）",
        "y": "每张 GPU 的显存（GB）",
        "x": "参数量（十亿）",
        "gpu": "80 GB 显存",
        "stage": "ZeRO-{s}",
        "base": "不用 ZeRO",
    },
    "en": {
        "title_a": "ZeRO paper, Figure 1 example: 7.5B parameters, 64 GPUs",
        "title_b": "Model states per GPU, 8 GPUs",
        "stages": ["baseline DP", "ZeRO-1\n(P_os)", "ZeRO-2\n(P_os+g)", "ZeRO-3\n(P_os+g+p)"],
        "fp16": "fp16 weights + gradients",
        "optim": "optimizer states (fp32 master, momentum, variance)",
        "y": "memory per GPU (GB)",
        "x": "parameters (billions)",
        "gpu": "80 GB of GPU memory",
        "stage": "ZeRO-{s}",
        "base": "no ZeRO",
    },
}


def draw_zero_stages(lang: str) -> matplotlib.figure.Figure:
    """Left: the per-stage breakdown of ZeRO's Figure 1; right: memory vs model size."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(9, 3.8), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)

    psi, n = 7_500_000_000, 64
    total = np.array([zero_memory_bytes(psi, n, s) for s in range(4)]) / 1e9
    fp16 = np.array([zero_memory_bytes(psi, n, s, k=0) for s in range(4)]) / 1e9  # K = 0
    x = np.arange(4)
    ax_a.bar(x, fp16, color="#4c72b0", label=text["fp16"])
    ax_a.bar(x, total - fp16, bottom=fp16, color="#dd8452", label=text["optim"])
    for i, t in enumerate(total):
        ax_a.text(i, t + 2, f"{t:.3g} GB", ha="center", fontsize=8)
    ax_a.set_xticks(x, text["stages"], fontsize=8)
    ax_a.set_ylabel(text["y"])
    ax_a.set_ylim(0, 135)
    ax_a.set_title(text["title_a"], fontsize=9)
    ax_a.legend(fontsize=7, loc="upper right")

    sizes = np.array([1, 3, 7, 13, 34, 70])
    for s, style in zip(range(4), ("o-", "s-", "^-", "v-"), strict=True):
        label = text["base"] if s == 0 else text["stage"].format(s=s)
        gb = [zero_memory_bytes(int(b * 1e9), 8, s) / 1e9 for b in sizes]
        ax_b.plot(sizes, gb, style, ms=4, label=label)
    ax_b.axhline(80, color="#7f7f7f", ls="--", lw=1)
    ax_b.text(1, 95, text["gpu"], fontsize=8, color="#555555")
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_xticks(sizes, [str(b) for b in sizes])
    ax_b.set_xlabel(text["x"])
    ax_b.set_ylabel(text["y"])
    ax_b.set_title(text["title_b"], fontsize=9)
    ax_b.grid(True, which="major", alpha=0.3)
    ax_b.legend(fontsize=8, loc="upper left")
    return fig
