"""Figures for the k-means page, drawn at build time from the snippet's own Lloyd steps."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from snippets.ml.kmeans import assign_labels, inertia, update_centers

_TEXT = {
    "zh": {
        "title": "第 {t} 轮分配后：inertia = {j:.1f}",
        "start": "初始中心（故意选得很差）：inertia = {j:.1f}",
    },
    "en": {
        "title": "After round {t}: inertia = {j:.1f}",
        "start": "Initial centres (a poor choice): inertia = {j:.1f}",
    },
}

_COLORS = np.array(["#1f77b4", "#d62728", "#2ca02c"])


def _blobs() -> np.ndarray:
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [6.0, 1.0], [2.5, 5.5]])
    return np.concatenate([m + rng.normal(size=(40, 2)) for m in means])


def draw_lloyd_iterations(lang: str) -> matplotlib.figure.Figure:
    """Lloyd on three 2-D blobs: labels and centres at rounds 0, 1, 2 and 5, with trails."""
    text = _TEXT[lang]
    X = _blobs()
    centers = np.array([[-1.0, -1.0], [0.5, -0.5], [0.0, 0.5]])  # all in one corner
    history = [centers]
    for _ in range(5):
        history.append(update_centers(X, assign_labels(X, history[-1]), history[-1]))
    fig = matplotlib.figure.Figure(figsize=(8, 7.2), layout="constrained")
    for ax, t in zip(fig.subplots(2, 2).flat, (0, 1, 2, 5), strict=True):
        c = history[t]
        labels = assign_labels(X, c)
        ax.scatter(X[:, 0], X[:, 1], s=9, c=_COLORS[labels], alpha=0.6, linewidths=0)
        trail = np.stack(history[: t + 1])  # [t + 1, k, 2]
        for j in range(3):
            ax.plot(trail[:, j, 0], trail[:, j, 1], "-", color="black", lw=0.8)
        ax.scatter(c[:, 0], c[:, 1], s=120, marker="X", c=_COLORS, edgecolors="black")
        j_value = inertia(X, c, labels)
        key = "start" if t == 0 else "title"
        ax.set_title(text[key].format(t=t, j=j_value), fontsize=10)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
