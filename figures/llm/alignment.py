"""Figures for the alignment page, drawn at build time from the snippet's own functions."""

from __future__ import annotations

import matplotlib.figure
import torch

from snippets.llm.alignment import dpo_loss, ppo_clip_loss

_TEXT = {
    "zh": {
        "dpo_title": "DPO 损失与隐式奖励差（margin）的关系",
        "dpo_x": "margin = (log π_c − log π_ref,c) − (log π_r − log π_ref,r)",
        "dpo_y": "损失 −log σ(β · margin)",
        "ppo_title": "PPO 裁剪目标（ε = 0.2）",
        "ppo_x": "概率比 r = π / π_old",
        "ppo_y": "目标 min(r·A, clip(r)·A)",
        "pos": "A = +1：r > 1.2 后不再增长",
        "neg": "A = −1：r < 0.8 后不再增长",
    },
    "en": {
        "dpo_title": "DPO loss against the implicit reward margin",
        "dpo_x": "margin = (log π_c − log π_ref,c) − (log π_r − log π_ref,r)",
        "dpo_y": "loss −log σ(β · margin)",
        "ppo_title": "PPO clipped objective (ε = 0.2)",
        "ppo_x": "probability ratio r = π / π_old",
        "ppo_y": "objective min(r·A, clip(r)·A)",
        "pos": "A = +1: flat once r > 1.2",
        "neg": "A = −1: flat once r < 0.8",
    },
}


def draw_dpo_loss(lang: str) -> matplotlib.figure.Figure:
    """`dpo_loss` as a function of the margin for several beta (reference log-probs 0)."""
    text = _TEXT[lang]
    margin = torch.linspace(-40, 40, 401, dtype=torch.float64)
    z = torch.zeros_like(margin)
    fig = matplotlib.figure.Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    for beta in (0.05, 0.1, 0.5):
        ax.plot(margin, dpo_loss(margin, z, z, z, beta=beta), label=f"β = {beta}")
    ax.axhline(torch.log(torch.tensor(2.0)).item(), color="grey", lw=0.6, ls="--")
    ax.set_xlabel(text["dpo_x"], fontsize=8)
    ax.set_ylabel(text["dpo_y"])
    ax.set_title(text["dpo_title"], fontsize=10)
    ax.legend()
    return fig


def draw_ppo_clip(lang: str) -> matplotlib.figure.Figure:
    """The PPO surrogate (minus `ppo_clip_loss`) against the ratio, for A = +1 and A = -1."""
    text = _TEXT[lang]
    ratio = torch.linspace(0.3, 1.8, 301, dtype=torch.float64)
    fig = matplotlib.figure.Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    for adv, key in ((1.0, "pos"), (-1.0, "neg")):
        a = torch.full_like(ratio, adv)
        ax.plot(ratio, -ppo_clip_loss(ratio.log(), torch.zeros_like(ratio), a), label=text[key])
    for x in (0.8, 1.2):
        ax.axvline(x, color="grey", lw=0.6, ls="--")
    ax.set_xlabel(text["ppo_x"])
    ax.set_ylabel(text["ppo_y"])
    ax.set_title(text["ppo_title"], fontsize=10)
    ax.legend(fontsize=8)
    return fig
