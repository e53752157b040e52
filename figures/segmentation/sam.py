"""Figures for the SAM page, drawn from snippets/segmentation/sam.py."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from snippets.segmentation.sam import PositionEmbeddingRandom

TEXT = {
    "zh": {
        "channel": "第 {k} 个频率的 sin 通道",
        "sim": "与中心点的余弦相似度\nscale={s}",
        "suptitle": "随机傅里叶位置编码（128 个频率，256 维，与 SAM 相同），48×48 网格",
    },
    "en": {
        "channel": "sin channel of frequency {k}",
        "sim": "cosine similarity\nto the centre, scale={s}",
        "suptitle": "Random-Fourier positional encoding (128 frequencies, 256-d as in SAM), 48×48 grid",
    },
}


def fourier_codes(lang: str) -> Figure:
    """Two channels of the dense code, and how similar every grid point's code is to the centre's."""
    t = TEXT[lang]
    size = 48
    fig = Figure(figsize=(10, 3.1), layout="constrained")
    axes = fig.subplots(1, 4)
    pe = PositionEmbeddingRandom(128, generator=torch.Generator().manual_seed(0))
    dense = pe((size, size))  # [256, 48, 48]
    for ax, k in zip(axes[:2], (0, 1), strict=True):
        ax.imshow(dense[k].numpy(), cmap="RdBu", vmin=-1, vmax=1, interpolation="none")
        ax.set_title(t["channel"].format(k=k), fontsize=9)
    for ax, scale in zip(axes[2:], (1.0, 4.0), strict=True):
        pe_s = PositionEmbeddingRandom(128, scale, generator=torch.Generator().manual_seed(0))
        codes = pe_s((size, size)).flatten(1)  # [256, H*W]
        centre = pe_s.forward_with_coords(torch.tensor([[[size / 2, size / 2]]]), (size, size))[
            0, 0
        ]
        sim = torch.nn.functional.cosine_similarity(codes, centre[:, None], dim=0).view(size, size)
        image = ax.imshow(sim.numpy(), cmap="viridis", vmin=-0.2, vmax=1, interpolation="none")
        ax.plot([size / 2 - 0.5], [size / 2 - 0.5], "r+", ms=10)
        ax.set_title(t["sim"].format(s=scale), fontsize=9)
    fig.colorbar(image, ax=axes[2:], shrink=0.8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(t["suptitle"], fontsize=10)
    return fig
