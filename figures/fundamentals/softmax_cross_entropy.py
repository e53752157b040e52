"""Figures for the softmax / cross-entropy page, drawn at build time from the snippet."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import torch

from snippets.fundamentals.softmax_cross_entropy import log_softmax, softmax, softmax_naive

_TEXT = {
    "zh": {
        "temp_title": "softmax(z / T)：温度越高，分布越平",
        "class": "类别",
        "prob": "概率",
        "naive_title": "float32 下 log_softmax 的第二个分量，logits = s·(1, 0.5, 0)",
        "scale": "logit 尺度 s",
        "value": "log p₂",
        "stable": "稳定版（减最大值）",
        "naive": "朴素版 log(exp(x)/Σexp(x))",
        "overflow": "exp(s) 在 s ≈ 88.7 溢出：nan",
    },
    "en": {
        "temp_title": "softmax(z / T): the higher T, the flatter the distribution",
        "class": "class",
        "prob": "probability",
        "naive_title": "float32 log_softmax, second entry, logits = s·(1, 0.5, 0)",
        "scale": "logit scale s",
        "value": "log p₂",
        "stable": "stable (max subtracted)",
        "naive": "naive log(exp(x)/Σexp(x))",
        "overflow": "exp(s) overflows at s ≈ 88.7: nan",
    },
}

LOGITS = torch.tensor([4.0, 2.5, 2.0, 0.5, -1.0])  # one sample, five classes


def draw_temperature(lang: str) -> matplotlib.figure.Figure:
    """Bars of softmax(z / T) for T = 0.5, 1, 2, 5 (the snippet's `softmax`)."""
    text = _TEXT[lang]
    temps = (0.5, 1.0, 2.0, 5.0)
    fig = matplotlib.figure.Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    classes = np.arange(len(LOGITS))
    width = 0.2
    for i, t in enumerate(temps):
        p = softmax(LOGITS / t, dim=0).numpy()
        ax.bar(classes + (i - 1.5) * width, p, width, label=f"T = {t:g}")
    ax.set_xticks(classes, [f"{v:g}" for v in LOGITS.tolist()])
    ax.set_xlabel(f"{text['class']} (logit z)")
    ax.set_ylabel(text["prob"])
    ax.set_title(text["temp_title"], fontsize=10)
    ax.legend(fontsize=8)
    return fig


def draw_naive_vs_stable(lang: str) -> matplotlib.figure.Figure:
    """log p_2 for logits s * (1, 0.5, 0) in float32: the naive formula breaks near s = 88."""
    text = _TEXT[lang]
    scales = torch.logspace(0, 4, 200)  # 1 ... 1e4
    logits = scales[:, None] * torch.tensor([1.0, 0.5, 0.0])  # float32, [200, 3]
    stable = log_softmax(logits, dim=1)[:, 1].numpy()
    naive = torch.log(softmax_naive(logits, dim=1))[:, 1].numpy()
    fig = matplotlib.figure.Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(scales.numpy(), -stable, lw=2.5, label=text["stable"])
    ax.plot(scales.numpy(), -naive, "--", lw=1.5, label=text["naive"])
    ax.axvline(88.72, color="#d62728", lw=0.8)
    ax.text(95, 3, text["overflow"], color="#d62728", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(text["scale"])
    ax.set_ylabel("−" + text["value"])
    ax.set_title(text["naive_title"], fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return fig
