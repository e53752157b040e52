"""Figures for the PCA page, drawn at build time from the snippet's own functions."""

from __future__ import annotations

import matplotlib.figure
import numpy as np

from snippets.ml.pca import choose_n_components, explained_variance_ratio, pca, transform

_TEXT = {
    "zh": {
        "axes": "二维数据与主轴（箭头长度 = 2 × 标准差）",
        "proj": "投影到 PC1 再重建：误差 = 被丢掉的方差",
        "pc": "PC{i}：方差 {v:.2f}",
        "curve": "10 维数据的方差解释率",
        "each": "单个主成分",
        "cum": "累计",
        "k": "主成分个数 k",
        "ratio": "方差解释率",
        "pick": "阈值 {t:.0%} → k = {k}",
        "pca": "PCA 的 PC1（方差最大）",
        "lda": "LDA 的方向（类别分得开）",
        "hist_pca": "投影到 PC1：\n两类重叠",
        "hist_lda": "投影到 LDA 方向：\n两类分开",
        "class": "类别 {c}",
    },
    "en": {
        "axes": "2-D data and its principal axes (arrow length = 2 std)",
        "proj": "Project onto PC1 and reconstruct: error = discarded variance",
        "pc": "PC{i}: variance {v:.2f}",
        "curve": "Explained-variance ratio of 10-D data",
        "each": "per component",
        "cum": "cumulative",
        "k": "number of components k",
        "ratio": "explained-variance ratio",
        "pick": "threshold {t:.0%} → k = {k}",
        "pca": "PCA's PC1 (largest variance)",
        "lda": "LDA's direction (separates the classes)",
        "hist_pca": "Projected onto PC1:\nclasses overlap",
        "hist_lda": "Onto the LDA direction:\nclasses apart",
        "class": "class {c}",
    },
}


def _cloud() -> np.ndarray:
    rng = np.random.default_rng(0)
    angle = np.deg2rad(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (rng.normal(size=(150, 2)) * [2.0, 0.6]) @ rot.T + [3.0, 1.0]


def draw_principal_axes(lang: str) -> matplotlib.figure.Figure:
    """Left: a 2-D cloud with both principal axes. Right: projection onto PC1 and back."""
    text = _TEXT[lang]
    X = _cloud()
    mean = X.mean(0)
    comps, var = pca(X, 2)
    fig = matplotlib.figure.Figure(figsize=(9, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True, sharey=True)
    left.scatter(X[:, 0], X[:, 1], s=8, alpha=0.5, color="#1f77b4", linewidths=0)
    for i, (c, v, color) in enumerate(zip(comps, var, ("#d62728", "#2ca02c"), strict=True)):
        tip = mean + 2 * np.sqrt(v) * c
        left.annotate("", xy=tip, xytext=mean, arrowprops={"arrowstyle": "->", "color": color})
        label = " " + text["pc"].format(i=i + 1, v=v)
        box = {"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1}
        left.text(*tip, label, color=color, fontsize=9, bbox=box)
    left.set_title(text["axes"], fontsize=10)
    # reconstruction from one component: each point drops perpendicularly onto PC1
    Z = transform(X, mean, comps[:1])
    X_hat = Z @ comps[:1] + mean
    for a, b in zip(X[::3], X_hat[::3], strict=True):
        right.plot([a[0], b[0]], [a[1], b[1]], color="grey", lw=0.6)
    right.scatter(X[:, 0], X[:, 1], s=8, alpha=0.4, color="#1f77b4", linewidths=0)
    right.scatter(X_hat[:, 0], X_hat[:, 1], s=8, color="#d62728", linewidths=0)
    right.set_title(text["proj"], fontsize=10)
    for ax in (left, right):
        ax.set_aspect("equal")
    return fig


def draw_explained_variance(lang: str) -> matplotlib.figure.Figure:
    """Per-component and cumulative explained-variance ratio, and the k a threshold picks."""
    text = _TEXT[lang]
    rng = np.random.default_rng(1)
    d = 10
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    X = rng.normal(size=(300, d)) * (0.6 ** np.arange(d)) @ q.T  # decaying spectrum
    _, var = pca(X, d)
    ratio = explained_variance_ratio(X, var)
    t = 0.95
    k = choose_n_components(X, t)
    ks = np.arange(1, d + 1)
    fig = matplotlib.figure.Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.bar(ks, ratio, color="#1f77b4", alpha=0.7, label=text["each"])
    ax.plot(ks, np.cumsum(ratio), "o-", color="#d62728", label=text["cum"])
    ax.axhline(t, color="grey", ls="--", lw=0.8)
    ax.axvline(k, color="grey", ls=":", lw=0.8)
    ax.text(k + 0.2, t - 0.12, text["pick"].format(t=t, k=k), fontsize=9)
    ax.set_xticks(ks)
    ax.set_xlabel(text["k"])
    ax.set_ylabel(text["ratio"])
    ax.set_ylim(0, 1.05)
    ax.set_title(text["curve"], fontsize=10)
    ax.legend(loc="center right", fontsize=9)
    return fig


def draw_pca_vs_lda(lang: str) -> matplotlib.figure.Figure:
    """Two classes that differ only along a low-variance direction: PC1 misses them."""
    text = _TEXT[lang]
    rng = np.random.default_rng(12)
    n = 200
    y = np.repeat([0, 1], n // 2)
    X = np.column_stack([rng.normal(size=n) * 5, rng.normal(size=n) * 0.3 + 1.5 * y])
    mean = X.mean(0)
    comps, _ = pca(X, 1)
    # Fisher's direction for two classes: S_w^{-1} (mu_1 - mu_0), S_w the pooled covariance
    mu0, mu1 = X[y == 0].mean(0), X[y == 1].mean(0)
    s_w = np.cov(X[y == 0], rowvar=False) + np.cov(X[y == 1], rowvar=False)
    w = np.linalg.solve(s_w, mu1 - mu0)
    w /= np.linalg.norm(w)
    fig = matplotlib.figure.Figure(figsize=(9, 3.8), layout="constrained")
    ax, hp, hl = fig.subplots(1, 3, width_ratios=[2, 1, 1])
    colors = ("#1f77b4", "#ff7f0e")
    for c in (0, 1):
        pts = X[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=8, color=colors[c], label=text["class"].format(c=c))
    ax.plot(*np.stack([mean - 12 * comps[0], mean + 12 * comps[0]]).T, color="#d62728")
    ax.plot(*np.stack([mean - 2 * w, mean + 2 * w]).T, color="#2ca02c")
    ax.text(mean[0] + 6, mean[1] + 0.3, text["pca"], color="#d62728", fontsize=8)
    ax.text(mean[0] + 0.3, mean[1] + 1.8, text["lda"], color="#2ca02c", fontsize=8)
    ax.legend(fontsize=8, loc="lower left")
    z_pca = transform(X, mean, comps)[:, 0]
    z_lda = (X - mean) @ w
    for h, z, key in ((hp, z_pca, "hist_pca"), (hl, z_lda, "hist_lda")):
        for c in (0, 1):
            h.hist(z[y == c], bins=20, alpha=0.6, color=colors[c])
        h.set_title(text[key], fontsize=9)
        h.set_yticks([])
    return fig
