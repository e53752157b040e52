"""Figure for the backprop page: gradient norm per layer of a 30-layer MLP (the snippet's code)."""

from __future__ import annotations

import math

import matplotlib.figure
import numpy as np

from snippets.fundamentals.backprop import deep_grad_norms

_TEXT = {
    "zh": {
        "title": "30 层 MLP（宽 64）各层权重梯度的范数，固定种子",
        "layer": "层（1 = 最靠近输入）",
        "norm": "‖∂L/∂W_l‖（对数坐标）",
        "sigmoid": "sigmoid，Var[w] = 1/n",
        "relu_small": "ReLU，Var[w] = 1/n（不考虑 ReLU 减半）",
        "relu_he": "ReLU，He：Var[w] = 2/n",
    },
    "en": {
        "title": "Weight-gradient norm per layer, 30-layer MLP (width 64), fixed seed",
        "layer": "layer (1 = next to the input)",
        "norm": "‖∂L/∂W_l‖ (log scale)",
        "sigmoid": "sigmoid, Var[w] = 1/n",
        "relu_small": "ReLU, Var[w] = 1/n (ignores ReLU's halving)",
        "relu_he": "ReLU, He: Var[w] = 2/n",
    },
}

DEPTH, WIDTH = 30, 64


def _weights(var_times_n: float) -> list[np.ndarray]:
    rng = np.random.default_rng(14)  # the same seed as the test
    std = math.sqrt(var_times_n / WIDTH)
    return [rng.standard_normal((WIDTH, WIDTH)) * std for _ in range(DEPTH)]


def draw_grad_norms(lang: str) -> matplotlib.figure.Figure:
    """Per-layer ||dL/dW|| for sigmoid (1/n), ReLU (1/n) and ReLU (He, 2/n)."""
    text = _TEXT[lang]
    x = np.random.default_rng(15).standard_normal((128, WIDTH))
    fig = matplotlib.figure.Figure(figsize=(7, 3.4), layout="constrained")
    ax = fig.subplots()
    layers = np.arange(1, DEPTH + 1)
    for key, act, v, style in (
        ("sigmoid", "sigmoid", 1.0, "o-"),
        ("relu_small", "relu", 1.0, "s-"),
        ("relu_he", "relu", 2.0, "^-"),
    ):
        ax.semilogy(layers, deep_grad_norms(_weights(v), x, act), style, ms=3, label=text[key])
    ax.set_ylim(1e-26, 1e4)  # room for the legend below the sigmoid curve
    ax.set_xlabel(text["layer"])
    ax.set_ylabel(text["norm"])
    ax.set_title(text["title"], fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig
