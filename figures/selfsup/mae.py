"""Figures for the MAE page, drawn at build time from snippets/selfsup/mae.py."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from snippets.selfsup.mae import patchify, random_masking, unpatchify

_TEXT = {
    "zh": {
        "titles": [
            "原图（8×8 个 patch）",
            "encoder 的输入：25% 可见",
            "重建目标（norm_pix_loss）",
            "计算 loss 的 patch（75%）",
        ],
    },
    "en": {
        "titles": [
            "image (8×8 patches)",
            "encoder input: 25% visible",
            "target (norm_pix_loss)",
            "patches the loss uses (75%)",
        ],
    },
}


def _synthetic_image(size: int = 64) -> torch.Tensor:
    """A [1, 3, size, size] image in [0, 1]: colour gradient, a disc and a square."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    img = np.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.8 - 0.5 * xx], axis=0)
    disc = (xx - 0.35) ** 2 + (yy - 0.4) ** 2 < 0.05
    img[:, disc] = np.array([0.95, 0.8, 0.1])[:, None]
    square = (np.abs(xx - 0.72) < 0.14) & (np.abs(yy - 0.7) < 0.14)
    img[:, square] = np.array([0.1, 0.2, 0.6])[:, None]
    return torch.from_numpy(img).float().unsqueeze(0)


def _show(ax, img: torch.Tensor, title: str) -> None:
    ax.imshow(img[0].permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_masking(lang: str) -> Figure:
    """Image, visible patches, per-patch normalised target, and the removed patches the loss uses."""
    p = 8
    imgs = _synthetic_image()
    patches = patchify(imgs, p)  # [1, 64, 192]
    _, mask, _ = random_masking(patches, 0.75, torch.Generator().manual_seed(0))
    gray = torch.full_like(patches, 0.85)
    visible = torch.where(mask[..., None] == 0, patches, gray)
    mean, var = patches.mean(-1, keepdim=True), patches.var(-1, keepdim=True)
    normed = (patches - mean) / (var + 1e-6) ** 0.5  # the norm_pix_loss target
    shown = (normed - normed.min()) / (normed.max() - normed.min())  # rescaled for display only
    loss_region = torch.where(mask[..., None] == 1, shown, gray)
    fig = Figure(figsize=(8.0, 2.4), layout="constrained")
    axes = fig.subplots(1, 4)
    titles = _TEXT[lang]["titles"]
    for ax, img, title in zip(
        axes,
        [imgs, unpatchify(visible, p), unpatchify(shown, p), unpatchify(loss_region, p)],
        titles,
        strict=True,
    ):
        _show(ax, img, title)
    return fig
