"""Figures for the VAE page, drawn at build time from the snippet's own functions."""

from __future__ import annotations

import math

import matplotlib.figure
import numpy as np
import torch

from snippets.generative.vae import gaussian_kl, reconstruction_nll

_TEXT = {
    "zh": {
        "kl": "单个隐变量维度的 KL(q‖N(0,1))（nats）",
        "mu": "均值 μ",
        "sigma": "标准差 σ（对数坐标）",
        "elbo": "一维线性高斯模型：x = 2z + 噪声，x = 1.5",
        "muq": "q(z|x) 的均值 μ",
        "logpx": "log p(x)（精确）",
        "post": "σ = 真实后验的 σ",
        "value": "nats",
    },
    "en": {
        "kl": "KL(q‖N(0,1)) of one latent dimension (nats)",
        "mu": "mean μ",
        "sigma": "standard deviation σ (log scale)",
        "elbo": "1-D linear-Gaussian model: x = 2z + noise, x = 1.5",
        "muq": "mean μ of q(z|x)",
        "logpx": "log p(x) (exact)",
        "post": "σ = true posterior's σ",
        "value": "nats",
    },
}


def _elbo_1d(mu: torch.Tensor, sigma: float, x: float, w: float) -> torch.Tensor:
    """Closed-form ELBO of q = N(mu, sigma^2) for x = w z + N(0, 1), z ~ N(0, 1)."""
    logvar = torch.full_like(mu, 2 * math.log(sigma))
    xs = torch.full_like(mu, x)
    nll = reconstruction_nll(w * mu, xs, "gaussian")  # at the mean of q ...
    trace = 0.5 * w**2 * sigma**2  # ... plus E_q[(w (z - mu))^2] / 2
    return -nll - trace - gaussian_kl(mu, logvar)


def draw_kl_and_elbo(lang: str) -> matplotlib.figure.Figure:
    """Left: the KL term over (mu, sigma). Right: ELBO <= log p(x), equal at the posterior."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(9, 3.8), layout="constrained")
    ax_kl, ax_elbo = fig.subplots(1, 2)

    mu = torch.linspace(-3, 3, 121, dtype=torch.float64)
    sigma = torch.logspace(-1.3, 0.6, 121, dtype=torch.float64)
    m, s = torch.meshgrid(mu, sigma, indexing="xy")
    kl = gaussian_kl(m.unsqueeze(-1), (2 * s.log()).unsqueeze(-1))  # d = 1
    levels = [0.1, 0.5, 1, 2, 3, 4, 5]
    cs = ax_kl.contour(m.numpy(), s.numpy(), kl.numpy(), levels=levels, cmap="viridis")
    ax_kl.clabel(cs, fontsize=7, fmt="%g")
    ax_kl.plot([0], [1], "k*", ms=9)  # the minimum: q = prior, KL = 0
    ax_kl.set_yscale("log")
    ax_kl.set_xlabel(text["mu"])
    ax_kl.set_ylabel(text["sigma"])
    ax_kl.set_title(text["kl"], fontsize=10)

    w, x = 2.0, 1.5
    log_px = -0.5 * math.log(2 * math.pi * (w**2 + 1)) - x**2 / (2 * (w**2 + 1))
    post_sigma = 1 / math.sqrt(w**2 + 1)
    grid = torch.linspace(-0.6, 1.8, 121, dtype=torch.float64).unsqueeze(-1)
    for sig, style in ((post_sigma, "-"), (1.0, "--"), (0.1, ":")):
        label = text["post"] if sig == post_sigma else f"σ = {sig:g}"
        ax_elbo.plot(
            grid.squeeze(-1).numpy(), _elbo_1d(grid, sig, x, w).numpy(), style, label=label
        )
    ax_elbo.axhline(log_px, color="k", lw=0.8, label=text["logpx"])
    ax_elbo.plot([w * x / (w**2 + 1)], [log_px], "k*", ms=9)
    ax_elbo.set_ylim(log_px - 3, log_px + 0.4)
    ax_elbo.set_xlabel(text["muq"])
    ax_elbo.set_ylabel(text["value"])
    ax_elbo.set_title(text["elbo"], fontsize=10)
    ax_elbo.legend(fontsize=7, loc="lower center")
    assert np.isfinite(log_px)
    return fig
