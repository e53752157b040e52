"""Figures for the ViT page: an image cut into patch tokens, and a resampled position embedding."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snippets.backbone.vit import patchify, resample_abs_pos_embed

TEXT = {
    "zh": {
        "image": "64×64 图像，patch 16 → 4×4 = 16 个 patch",
        "tokens": "token 序列：[class] + 16 个展平的 patch（光栅顺序），各加一行位置编码",
        "cls": "[class]",
        "old": "14×14 网格（224 / 16）",
        "new": "bicubic 插值到 24×24（384 / 16）",
        "sim": "与标记位置的余弦相似度（合成的 2D sin-cos 位置编码）",
    },
    "en": {
        "image": "64×64 image, patch 16 → 4×4 = 16 patches",
        "tokens": (
            "token sequence: [class] + 16 flattened patches (raster order), "
            "each plus a position-embedding row"
        ),
        "cls": "[class]",
        "old": "14×14 grid (224 / 16)",
        "new": "bicubic to 24×24 (384 / 16)",
        "sim": "cosine similarity to the marked position (synthetic 2D sin-cos embedding)",
    },
}


def _synthetic_image(size: int = 64) -> np.ndarray:
    """A small RGB scene: sky gradient, a sun, a hill. ``[size, size, 3]`` in [0, 1]."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    img = np.stack([0.55 + 0.3 * y, 0.75 + 0.1 * y, np.full_like(y, 0.95)], axis=-1)
    sun = (x - 0.72) ** 2 + (y - 0.25) ** 2 < 0.015
    img[sun] = (1.0, 0.8, 0.2)
    hill = y > 0.68 - 0.25 * np.sin(np.pi * x)
    img[hill] = (0.3, 0.6, 0.3)
    return img


def draw_patch_tokens(lang: str) -> Figure:
    """The image with its patch grid, and the tokens ``patchify`` produces, in order."""
    t, p = TEXT[lang], 16
    img = _synthetic_image()
    tokens = patchify(torch.from_numpy(img).permute(2, 0, 1)[None].float(), p)[0]  # [16, 768]

    fig = Figure(figsize=(9.0, 3.6))
    grid = fig.add_gridspec(2, 17, height_ratios=[3.2, 1.0], hspace=0.35, wspace=0.15)
    ax = fig.add_subplot(grid[0, 6:11])
    ax.imshow(img, interpolation="nearest")
    for k in range(1, 4):
        ax.axhline(k * p - 0.5, color="white", lw=1.5)
        ax.axvline(k * p - 0.5, color="white", lw=1.5)
    for i in range(4):
        for j in range(4):
            ax.text(j * p + 2, i * p + 5, str(i * 4 + j + 1), color="black", fontsize=7)
    ax.set_axis_off()
    ax.set_title(t["image"], fontsize=9)

    ax_cls = fig.add_subplot(grid[1, 0])
    ax_cls.add_patch(Rectangle((0, 0), 1, 1, color="#d62728"))
    ax_cls.text(0.5, 0.5, "CLS", ha="center", va="center", color="white", fontsize=7)
    ax_cls.set_xlim(0, 1)
    ax_cls.set_ylim(0, 1)
    ax_cls.set_axis_off()
    for n in range(16):
        ax_tok = fig.add_subplot(grid[1, n + 1])
        # Each token is a flattened (row, column, channel) patch: reshape it back to look at it.
        ax_tok.imshow(tokens[n].reshape(p, p, 3).numpy(), interpolation="nearest")
        ax_tok.set_axis_off()
        ax_tok.set_title(str(n + 1), fontsize=7)
    fig.text(0.5, 0.02, t["tokens"], ha="center", fontsize=8)
    return fig


def _sincos_2d(h: int, w: int, dim: int = 64) -> torch.Tensor:
    """Fixed 2D sin-cos embedding ``[h * w, dim]``: a smooth stand-in for a trained one."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    parts = []
    for pos in (ys.flatten(), xs.flatten()):
        angle = pos[:, None].double() * omega[None]
        parts += [angle.sin(), angle.cos()]
    return torch.cat(parts, dim=1).float()


def _similarity(grid: torch.Tensor, h: int, w: int, index: int) -> np.ndarray:
    unit = torch.nn.functional.normalize(grid, dim=-1)
    return (unit @ unit[index]).reshape(h, w).numpy()


def draw_pos_embed_resample(lang: str) -> Figure:
    """Similarity map of one position before and after ``resample_abs_pos_embed`` (14 -> 24)."""
    t = TEXT[lang]
    posemb = torch.cat([torch.zeros(1, 64), _sincos_2d(14, 14)])[None]  # [1, 1 + 196, 64]
    resized = resample_abs_pos_embed(posemb, (24, 24))  # [1, 1 + 576, 64]
    old_rc, new_rc = (
        (4, 9),
        (7, 16),
    )  # the same place in the image: (4.5/14, 9.5/14) ~ (7.5/24, 16/24)
    fig = Figure(figsize=(7.2, 3.6))
    axes = fig.subplots(1, 2)
    for ax, emb, size, (r, c), title in (
        (axes[0], posemb[0, 1:], 14, old_rc, t["old"]),
        (axes[1], resized[0, 1:], 24, new_rc, t["new"]),
    ):
        sim = _similarity(emb, size, size, r * size + c)
        ax.imshow(sim, cmap="viridis", vmin=0.6, vmax=1.0)  # same colour scale in both panels
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.text(0.5, 0.03, t["sim"], ha="center", fontsize=8)
    return fig
