"""Figures for the logistic-regression page, drawn at build time from the snippet's code."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from snippets.ml.logistic_regression import fit_newton, sigmoid

_TEXT = {
    "zh": {
        "boundary": "决策边界 p = 0.5（λ = {lam}）",
        "contour": "p = {p}",
        "cls0": "y = 0",
        "cls1": "y = 1",
        "loss": "y = 1 时的损失",
        "grad": "对 logit z 的梯度（绝对值）",
        "z": "logit z（z < 0：预测错了）",
        "ll": "log-loss：log(1 + e^(−z))",
        "mse": "MSE：(σ(z) − 1)²",
        "ll_g": "log-loss：|σ(z) − 1|",
        "mse_g": "MSE：|2(σ(z) − 1)σ(z)(1 − σ(z))|",
    },
    "en": {
        "boundary": "Decision boundary p = 0.5 (λ = {lam})",
        "contour": "p = {p}",
        "cls0": "y = 0",
        "cls1": "y = 1",
        "loss": "Loss when y = 1",
        "grad": "Gradient in the logit z (absolute value)",
        "z": "logit z (z < 0: the prediction is wrong)",
        "ll": "log-loss: log(1 + e^(−z))",
        "mse": "MSE: (σ(z) − 1)²",
        "ll_g": "log-loss: |σ(z) − 1|",
        "mse_g": "MSE: |2(σ(z) − 1)σ(z)(1 − σ(z))|",
    },
}


def draw_decision_boundary(lang: str) -> matplotlib.figure.Figure:
    """Two overlapping 2-D classes, the fitted p = 0.5 line and p = 0.1 / 0.9 contours."""
    text = _TEXT[lang]
    rng = np.random.default_rng(0)
    means = np.array([[-1.0, -0.5], [1.2, 1.0]])
    X = np.concatenate([rng.normal(size=(60, 2)) + means[0], rng.normal(size=(60, 2)) + means[1]])
    y = np.repeat([0, 1], 60)
    lam = 0.01
    w, b = fit_newton(X, y, lam)
    g = np.linspace(-4.5, 4.5, 40)  # the contours are straight lines: a coarse grid suffices
    gx, gy = np.meshgrid(g, g)
    P = sigmoid(np.stack([gx.ravel(), gy.ravel()], 1) @ w + b).reshape(gx.shape)
    fig = matplotlib.figure.Figure(figsize=(5.6, 4.8), layout="constrained")
    ax = fig.subplots()
    im = ax.contourf(gx, gy, P, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    cs = ax.contour(gx, gy, P, levels=[0.1, 0.5, 0.9], colors="black", linewidths=[0.7, 1.6, 0.7])
    # label each line where it crosses y = -3 (w0 x + w1 y + b = logit(p)), clear of the legend
    spots = [((np.log(q / (1 - q)) - b + 3 * w[1]) / w[0], -3.0) for q in (0.1, 0.5, 0.9)]
    ax.clabel(cs, fmt={0.1: "p = 0.1", 0.5: "p = 0.5", 0.9: "p = 0.9"}, fontsize=8, manual=spots)
    ax.scatter(*X[y == 0].T, s=14, c="#1f77b4", edgecolors="white", lw=0.4, label=text["cls0"])
    ax.scatter(*X[y == 1].T, s=14, c="#d62728", edgecolors="white", lw=0.4, label=text["cls1"])
    fig.colorbar(im, ax=ax, label="p = σ(wᵀx + b)")
    ax.set_title(text["boundary"].format(lam=lam), fontsize=10)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def draw_mse_vs_log_loss(lang: str) -> matplotlib.figure.Figure:
    """Loss and |gradient| in the logit for y = 1: MSE's gradient dies when badly wrong."""
    text = _TEXT[lang]
    z = np.linspace(-10, 6, 400)
    p = sigmoid(z)
    fig = matplotlib.figure.Figure(figsize=(8, 3.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(z, np.logaddexp(0, -z), label=text["ll"], color="#1f77b4")
    ax1.plot(z, (p - 1) ** 2, label=text["mse"], color="#d62728")
    ax1.set_title(text["loss"], fontsize=10)
    ax2.semilogy(z, np.abs(p - 1), label=text["ll_g"], color="#1f77b4")
    ax2.semilogy(z, np.abs(2 * (p - 1) * p * (1 - p)), label=text["mse_g"], color="#d62728")
    ax2.set_title(text["grad"], fontsize=10)
    for ax in (ax1, ax2):
        ax.set_xlabel(text["z"], fontsize=9)
        ax.axvline(0, color="gray", lw=0.6, ls=":")
        ax.legend(fontsize=8)
    return fig
