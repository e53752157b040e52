"""Figures for the diffusion page, drawn at build time from the snippet's own functions."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import torch

from snippets.generative.diffusion import add_noise, make_beta_schedule

_TEXT = {
    "zh": {
        "ab_title": "ᾱ_t（信号保留的比例），T = 1000",
        "beta_title": "β_t（每一步新加的噪声方差）",
        "step": "时间步 t",
        "linear": "linear（Ho et al.）",
        "cosine": "cosine（Nichol & Dhariwal）",
        "noising": "一维数据（两个高斯的混合）在 q(x_t | x_0) 下被逐步加噪（linear schedule）",
        "t": "t = {t}，ᾱ = {ab:.3f}",
    },
    "en": {
        "ab_title": "ᾱ_t (fraction of signal kept), T = 1000",
        "beta_title": "β_t (variance of the noise added at each step)",
        "step": "timestep t",
        "linear": "linear (Ho et al.)",
        "cosine": "cosine (Nichol & Dhariwal)",
        "noising": "1-D data (a mixture of two Gaussians) noised by q(x_t | x_0) (linear schedule)",
        "t": "t = {t}, ᾱ = {ab:.3f}",
    },
}


def draw_alpha_bar(lang: str) -> matplotlib.figure.Figure:
    """alpha_bar_t and beta_t of the linear and cosine schedules from `make_beta_schedule`."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(8, 3.2), layout="constrained")
    ax_ab, ax_beta = fig.subplots(1, 2)
    for name, color in (("linear", "#1f77b4"), ("cosine", "#d62728")):
        betas = make_beta_schedule(1000, name, dtype=torch.float64)  # type: ignore[arg-type]
        ab = torch.cumprod(1 - betas, 0)
        ax_ab.plot(ab.numpy(), color=color, label=text[name])
        ax_beta.plot(betas.numpy(), color=color, label=text[name])
    ax_ab.set_title(text["ab_title"], fontsize=10)
    ax_beta.set_title(text["beta_title"], fontsize=10)
    ax_beta.set_yscale("log")
    for ax in (ax_ab, ax_beta):
        ax.set_xlabel(text["step"])
        ax.grid(alpha=0.3)
    ax_ab.legend(fontsize=8)
    return fig


def draw_noising(lang: str) -> matplotlib.figure.Figure:
    """Histograms of x_t = add_noise(x_0, eps, t) for a bimodal 1-D x_0 at five timesteps."""
    text = _TEXT[lang]
    gen = torch.Generator().manual_seed(0)
    n = 20000
    side = torch.where(torch.rand(n, generator=gen) < 0.5, -0.6, 0.6)
    x0 = (side + 0.1 * torch.randn(n, generator=gen)).double()
    ab = torch.cumprod(1 - make_beta_schedule(1000, dtype=torch.float64), 0)
    steps = [0, 50, 150, 300, 999]
    fig = matplotlib.figure.Figure(figsize=(9, 2.6), layout="constrained")
    axes = fig.subplots(1, len(steps), sharey=True)
    bins = np.linspace(-3.5, 3.5, 71)
    grid = np.linspace(-3.5, 3.5, 200)
    for ax, t in zip(axes, steps, strict=True):
        eps = torch.randn(n, generator=gen, dtype=torch.float64)
        xt = add_noise(x0, eps, torch.full((n,), t), ab)
        ax.hist(xt.numpy(), bins=bins, density=True, color="#1f77b4", alpha=0.8)
        ax.plot(grid, np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi), color="#7f7f7f", lw=1)
        ax.set_title(text["t"].format(t=t, ab=float(ab[t])), fontsize=9)
        ax.set_yticks([])
    fig.suptitle(text["noising"], fontsize=10)
    return fig
