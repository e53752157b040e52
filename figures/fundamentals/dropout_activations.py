"""Figures for the dropout / activations page, drawn at build time from the snippet."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.fundamentals.dropout_activations import gelu, sigmoid_grad, silu, tanh_grad

_TEXT = {
    "zh": {"f": "激活函数", "d": "导数（σ′ 最大只有 1/4）"},
    "en": {"f": "activations", "d": "derivatives (σ′ peaks at 1/4)"},
}


def draw_activations(lang: str) -> matplotlib.figure.Figure:
    """ReLU, GELU, SiLU, sigmoid, tanh and their derivatives (autograd for ReLU/GELU/SiLU)."""
    text = _TEXT[lang]
    x = torch.linspace(-4, 4, 401, dtype=torch.float64, requires_grad=True)
    fig = matplotlib.figure.Figure(figsize=(7, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for name, fn in (("ReLU", torch.relu), ("GELU", gelu), ("SiLU", silu)):
        y = fn(x)
        (g,) = torch.autograd.grad(y.sum(), x)
        ax1.plot(x.detach(), y.detach(), label=name)
        ax2.plot(x.detach(), g, label=name)
    xd = x.detach()
    ax1.plot(xd, torch.sigmoid(xd), label="sigmoid")
    ax1.plot(xd, torch.tanh(xd), label="tanh")
    ax2.plot(xd, sigmoid_grad(xd), label="sigmoid")
    ax2.plot(xd, tanh_grad(xd), label="tanh")
    ax1.set_title(text["f"], fontsize=10)
    ax2.set_title(text["d"], fontsize=10)
    ax1.legend(fontsize=7)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.set_xlabel("x")
    return fig
