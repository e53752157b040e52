"""Figure for the focal-loss page: loss against p_t for several gamma (paper Figure 1)."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.detection.focal_loss import sigmoid_focal_loss

_TEXT = {
    "zh": {
        "x": "真实类别的概率 pₜ",
        "y": "损失",
        "easy": "易分样本\npₜ > 0.5",
        "title": "focal loss：−(1 − pₜ)^γ · log pₜ（不加 α）",
    },
    "en": {
        "x": "probability of the true class pₜ",
        "y": "loss",
        "easy": "well-classified\npₜ > 0.5",
        "title": "focal loss −(1 − pₜ)^γ · log pₜ (no α)",
    },
}


def draw_loss_curves(lang: str) -> matplotlib.figure.Figure:
    """Loss of a positive example as its probability p_t grows, for gamma in {0, .5, 1, 2, 5}."""
    text = _TEXT[lang]
    p_t = torch.linspace(0.01, 0.99, 60, dtype=torch.float64)
    logits = torch.log(p_t / (1 - p_t))  # sigmoid(logit) = p_t for a target of 1
    targets = torch.ones_like(p_t)
    fig = matplotlib.figure.Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for gamma in (0, 0.5, 1, 2, 5):
        loss = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=gamma)
        label = f"γ = {gamma}" + (" (CE)" if gamma == 0 else "")
        ax.plot(p_t.numpy(), loss.numpy(), label=label, lw=1.8)
    ax.axvspan(0.5, 1.0, color="0.92", zorder=0)
    ax.text(0.75, 3.0, text["easy"], ha="center", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 4.7)
    ax.set_xlabel(text["x"])
    ax.set_ylabel(text["y"])
    ax.set_title(text["title"], fontsize=10)
    ax.legend(frameon=False)
    return fig
