"""Figures for the optimisers page, drawn at build time with the snippet's own optimisers."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import torch

from snippets.fundamentals.optimizers import SGD, Adam, adam_step, warmup_cosine_lr

_TEXT = {
    "zh": {
        "traj": "病态二次函数 f = (x² + 20y²)/2 上的 40 步",
        "sgd": "SGD（lr=0.09）",
        "mom": "SGD + momentum 0.9（lr=0.02）",
        "adam": "Adam（lr=0.3）",
        "m_title": "带噪声的梯度（均值 1）：mₜ 与 m̂ₜ",
        "raw": "mₜ（未修正）",
        "corr": "$\\hat m_t = m_t/(1-\\beta_1^t)$",
        "step_title": "常数梯度时每步更新量 / lr",
        "ours": "修正 m 与 v（adam_step）",
        "none": "都不修正",
        "only_v": "只修正 v",
        "step": "步数 t",
        "sched": "warmup + cosine（warmup 100 步，共 1000 步）",
        "hf": "start_factor=0, eta_min=0（Hugging Face）",
        "torch": "start_factor=0.1, eta_min=0.1·base（SequentialLR）",
        "lr": "lr / base_lr",
    },
    "en": {
        "traj": "40 steps on the ill-conditioned $f = (x^2 + 20y^2)/2$",
        "sgd": "SGD (lr=0.09)",
        "mom": "SGD + momentum 0.9 (lr=0.02)",
        "adam": "Adam (lr=0.3)",
        "m_title": "Noisy gradient (mean 1): $m_t$ vs $\\hat m_t$",
        "raw": "$m_t$ (uncorrected)",
        "corr": "$\\hat m_t = m_t/(1-\\beta_1^t)$",
        "step_title": "Update size / lr for a constant gradient",
        "ours": "m and v corrected (adam_step)",
        "none": "no correction",
        "only_v": "only v corrected",
        "step": "step t",
        "sched": "warmup + cosine (100 warmup steps, 1000 in total)",
        "hf": "start_factor=0, eta_min=0 (Hugging Face)",
        "torch": "start_factor=0.1, eta_min=0.1·base (SequentialLR)",
        "lr": "lr / base_lr",
    },
}

_CURVATURE = torch.tensor([1.0, 20.0], dtype=torch.float64)


def _trajectory(make_opt, steps: int = 40) -> np.ndarray:
    """Run an optimiser built by ``make_opt([w])`` on f(w) = sum(curvature * w^2) / 2."""
    w = torch.nn.Parameter(torch.tensor([-4.0, 1.0], dtype=torch.float64))
    opt = make_opt([w])
    points = [w.detach().clone()]
    for _ in range(steps):
        w.grad = _CURVATURE * w.detach()  # exact gradient of the quadratic
        opt.step()
        points.append(w.detach().clone())
    return torch.stack(points).numpy()


def draw_trajectories(lang: str) -> matplotlib.figure.Figure:
    """SGD, SGD with momentum and Adam (this page's classes) on an ill-conditioned quadratic."""
    text = _TEXT[lang]
    fig = matplotlib.figure.Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    xs, ys = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.6, 1.6, 200))
    ax.contour(xs, ys, 0.5 * (xs**2 + 20 * ys**2), levels=12, colors="#cccccc", linewidths=0.7)
    runs = [
        (text["sgd"], lambda p: SGD(p, lr=0.09), "#1f77b4"),
        (text["mom"], lambda p: SGD(p, lr=0.02, momentum=0.9), "#d62728"),
        (text["adam"], lambda p: Adam(p, lr=0.3), "#2ca02c"),
    ]
    for label, make, color in runs:
        path = _trajectory(make)
        ax.plot(path[:, 0], path[:, 1], "o-", ms=2.5, lw=1, color=color, label=label)
    ax.plot([0], [0], "k*", ms=9)
    ax.set_xlim(-4.5, 1.5)
    ax.set_ylim(-1.6, 1.6)
    ax.set_title(text["traj"], fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def draw_bias_correction(lang: str) -> matplotlib.figure.Figure:
    """Left: m_t and m_hat_t for a noisy gradient. Right: update size with / without correction."""
    text = _TEXT[lang]
    b1, b2, steps = 0.9, 0.999, 60
    gen = torch.Generator().manual_seed(0)
    grads = 1.0 + 0.5 * torch.randn(steps, generator=gen, dtype=torch.float64)
    p, state, raw, corrected = torch.zeros(1, dtype=torch.float64), {}, [], []
    for t, g in enumerate(grads, start=1):
        adam_step(p, g.reshape(1), state, betas=(b1, b2))
        raw.append(float(state["exp_avg"]))
        corrected.append(float(state["exp_avg"]) / (1 - b1**t))
    # Constant gradient: our step vs the formulas without correction.
    p, state, sizes = torch.zeros(1, dtype=torch.float64), {}, []
    for _ in range(steps):
        before = float(p)
        adam_step(p, torch.ones(1, dtype=torch.float64), state, lr=1e-3, betas=(b1, b2))
        sizes.append((before - float(p)) / 1e-3)
    t = np.arange(1, steps + 1)
    fig = matplotlib.figure.Figure(figsize=(8, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(t, grads.numpy(), ".", color="#999999", ms=3, label="$g_t$")
    left.plot(t, raw, color="#d62728", label=text["raw"])
    left.plot(t, corrected, color="#1f77b4", label=text["corr"])
    left.set_title(text["m_title"], fontsize=10)
    left.set_xlabel(text["step"])
    left.legend(fontsize=8)
    right.plot(t, sizes, color="#1f77b4", label=text["ours"])
    right.plot(t, (1 - b1**t) / np.sqrt(1 - b2**t), color="#d62728", label=text["none"])
    right.plot(t, 1 - b1**t, color="#ff7f0e", ls="--", label=text["only_v"])
    right.set_title(text["step_title"], fontsize=10)
    right.set_xlabel(text["step"])
    right.legend(fontsize=8)
    return fig


def draw_schedule(lang: str) -> matplotlib.figure.Figure:
    """The page's ``warmup_cosine_lr`` with Hugging Face's and a SequentialLR-style setting."""
    text = _TEXT[lang]
    steps = np.arange(0, 1001)
    fig = matplotlib.figure.Figure(figsize=(7, 2.8), layout="constrained")
    ax = fig.subplots()
    hf = [warmup_cosine_lr(int(s), 1.0, 100, 1000) for s in steps]
    tv = [warmup_cosine_lr(int(s), 1.0, 100, 1000, start_factor=0.1, eta_min=0.1) for s in steps]
    ax.plot(steps, hf, color="#1f77b4", label=text["hf"])
    ax.plot(steps, tv, color="#d62728", ls="--", label=text["torch"])
    ax.set_xlabel(text["step"])
    ax.set_ylabel(text["lr"])
    ax.set_title(text["sched"], fontsize=10)
    ax.legend(fontsize=8)
    return fig
