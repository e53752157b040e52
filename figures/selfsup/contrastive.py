"""Figures for the contrastive-learning page, drawn at build time from the snippet's code."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from snippets.selfsup.contrastive import nt_xent_loss

_TEXT = {
    "zh": {
        "left": "NT-Xent 的 [2N, 2N] 相似度矩阵（N = 4）",
        "right": "NT-Xent 随温度 τ 的变化",
        "tau": "温度 τ",
        "loss": "loss",
        "pos": "正样本 (i, i+N)",
        "self": "自身（屏蔽）",
        "aligned": "正样本对相近",
        "random": "随机特征",
        "bound": "log(2N − 1)",
        "view": "样本下标",
    },
    "en": {
        "left": "NT-Xent's [2N, 2N] similarity matrix (N = 4)",
        "right": "NT-Xent vs temperature τ",
        "tau": "temperature τ",
        "loss": "loss",
        "pos": "positive (i, i+N)",
        "self": "self (masked)",
        "aligned": "views close together",
        "random": "random features",
        "bound": "log(2N − 1)",
        "view": "sample index",
    },
}


def draw_similarity_and_temperature(lang: str) -> Figure:
    """Left: masked similarity matrix with positives; right: loss vs tau (N = 16, D = 32)."""
    text = _TEXT[lang]
    g = torch.Generator().manual_seed(0)
    fig = Figure(figsize=(8.0, 3.4), layout="constrained")
    ax_m, ax_t = fig.subplots(1, 2)
    n = 4
    base = torch.randn(n, 8, generator=g)
    z1 = base + 0.3 * torch.randn(n, 8, generator=g)
    z2 = base + 0.3 * torch.randn(n, 8, generator=g)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("nan"))
    im = ax_m.imshow(sim.numpy(), cmap="coolwarm", vmin=-1, vmax=1)
    fig.colorbar(im, ax=ax_m, shrink=0.8)
    idx = torch.arange(2 * n)
    ax_m.scatter(
        idx.roll(n), idx, marker="o", facecolors="none", edgecolors="k", s=90, label=text["pos"]
    )
    ax_m.scatter(idx, idx, marker="x", color="gray", s=40, label=text["self"])
    ax_m.set_title(text["left"], fontsize=9)
    ax_m.set_xlabel(text["view"])
    ax_m.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    taus = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0]
    n_big = 16
    b = torch.randn(n_big, 32, generator=g)
    pairs = {
        "aligned": (
            b + 0.3 * torch.randn(n_big, 32, generator=g),
            b + 0.3 * torch.randn(n_big, 32, generator=g),
        ),
        "random": (torch.randn(n_big, 32, generator=g), torch.randn(n_big, 32, generator=g)),
    }
    for key, (a1, a2) in pairs.items():
        ax_t.plot(taus, [float(nt_xent_loss(a1, a2, t)) for t in taus], marker="o", label=text[key])
    ax_t.axhline(
        float(torch.log(torch.tensor(2.0 * n_big - 1))), color="gray", ls=":", label=text["bound"]
    )
    ax_t.set_xscale("log")
    ax_t.set_xlabel(text["tau"])
    ax_t.set_ylabel(text["loss"])
    ax_t.set_title(text["right"], fontsize=9)
    ax_t.legend(fontsize=7)
    return fig
