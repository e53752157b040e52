"""MAE: masked autoencoders (He et al., CVPR 2022), the parts an interviewer asks you to write.

Conventions follow ``facebookresearch/mae`` ``models_mae.py`` and ``util/pos_embed.py``:

* ``patchify``: ``[N, C, H, W]`` -> ``[N, L, p*p*C]``, patches in row-major order, and inside a
  patch the pixels row by row with the channels last (``einsum('nchpwq->nhwpqc')``);
* ``random_masking``: per-sample random subset, ``mask`` is 0 for kept and 1 for removed patches,
  in the original patch order; ``ids_restore`` undoes the shuffle;
* fixed 2D sine-cosine position embeddings (not learned);
* the loss is the per-patch MSE averaged over the removed patches only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

# The same pre-norm Transformer block as ViT (its state_dict loads into timm's Block).
from snippets.backbone.vit import Block


def _check_imgs(imgs: Tensor, p: int) -> None:
    if not isinstance(imgs, Tensor):
        raise TypeError(
            f"imgs must be a torch.Tensor of shape [N, C, H, W], got {type(imgs).__name__}"
        )
    if imgs.ndim != 4:
        raise ValueError(f"imgs must have shape [N, C, H, W], got {tuple(imgs.shape)}")
    if p <= 0:
        raise ValueError(f"p (patch size) must be > 0, got {p}")
    h, w = imgs.shape[2:]
    if h != w or h % p:
        raise ValueError(
            f"imgs must be square with H = W divisible by p={p}, got H={h}, W={w} (shape [N, C, H, W])"
        )


# --8<-- [start:patchify_naive]
def patchify_naive(imgs: Tensor, p: int) -> Tensor:
    """Cut images into ``p x p`` patches with explicit loops (the layout, spelled out).

    Args:
        imgs: ``[N, C, H, W]`` with ``H = W`` divisible by ``p``.
        p: patch size.

    Returns:
        ``[N, L, p*p*C]`` with ``L = (H/p)**2``; row ``i*(W/p) + j`` is the patch at grid row ``i``,
        column ``j``; inside it, pixel ``(u, v)`` channel ``c`` sits at ``(u*p + v)*C + c``.

    Examples:
        >>> x = torch.arange(2 * 4 * 4.0).reshape(1, 2, 4, 4)  # C=2: channel 1 = channel 0 + 16
        >>> patchify_naive(x, 2)[0, 0]  # top-left patch: pixels 0, 1, 4, 5, channels interleaved
        tensor([ 0., 16.,  1., 17.,  4., 20.,  5., 21.])
    """
    _check_imgs(imgs, p)
    n, c, h, w = imgs.shape
    gh, gw = h // p, w // p
    out = imgs.new_empty(n, gh * gw, p * p * c)
    for b in range(n):
        for i in range(gh):
            for j in range(gw):
                patch = imgs[b, :, i * p : (i + 1) * p, j * p : (j + 1) * p]  # [C, p, p]
                out[b, i * gw + j] = patch.permute(1, 2, 0).reshape(-1)  # channels last
    return out


# --8<-- [end:patchify_naive]


# --8<-- [start:patchify]
def patchify(imgs: Tensor, p: int) -> Tensor:
    """``[N, C, H, W]`` -> ``[N, L, p*p*C]``, same layout as MAE's ``patchify``.

    Args:
        imgs: ``[N, C, H, W]`` with ``H = W`` divisible by ``p`` (MAE asserts square input).
        p: patch size.

    Returns:
        ``[N, (H/p)*(W/p), p*p*C]``.

    Examples:
        >>> patchify(torch.zeros(2, 3, 224, 224), 16).shape  # 14 x 14 patches of 16*16*3 values
        torch.Size([2, 196, 768])
    """
    _check_imgs(imgs, p)
    n, c, h, w = imgs.shape
    x = imgs.reshape(
        n, c, h // p, p, w // p, p
    )  # split H into (grid row, row in patch), same for W
    x = torch.einsum("nchpwq->nhwpqc", x)  # grid dims first, then pixel row, column, channel
    return x.reshape(n, (h // p) * (w // p), p * p * c)


# --8<-- [end:patchify]


# --8<-- [start:unpatchify]
def unpatchify(x: Tensor, p: int) -> Tensor:
    """Inverse of :func:`patchify`: ``[N, L, p*p*C]`` -> ``[N, C, H, W]`` with ``L`` a square.

    Args:
        x: ``[N, L, p*p*C]`` patches in MAE's layout.
        p: patch size.

    Returns:
        ``[N, C, sqrt(L)*p, sqrt(L)*p]``.

    Examples:
        >>> imgs = torch.randn(2, 3, 32, 32)
        >>> torch.equal(unpatchify(patchify(imgs, 8), 8), imgs)
        True
    """
    if x.ndim != 3:
        raise ValueError(f"x must have shape [N, L, p*p*C], got {tuple(x.shape)}")
    if p <= 0 or x.shape[2] % (p * p):
        raise ValueError(f"x's last dim must be p*p*C with p={p}, got shape {tuple(x.shape)}")
    n, length, d = x.shape
    g = math.isqrt(length)
    if g * g != length:
        raise ValueError(
            f"x must hold a square grid of patches, got L={length} (shape [N, L, p*p*C])"
        )
    c = d // (p * p)
    x = x.reshape(n, g, g, p, p, c)
    x = torch.einsum("nhwpqc->nchpwq", x)
    return x.reshape(n, c, g * p, g * p)


# --8<-- [end:unpatchify]


# --8<-- [start:random_masking]
def random_masking(
    x: Tensor, mask_ratio: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Keep a random subset of tokens per sample, as ``MaskedAutoencoderViT.random_masking``.

    Args:
        x: ``[N, L, D]`` patch tokens (position embeddings already added).
        mask_ratio: fraction removed, in ``[0, 1)``; MAE uses 0.75.
        generator: optional ``torch.Generator`` for reproducible masks; it must live on
            ``x.device`` (``torch.rand`` refuses a CPU generator for CUDA noise).

    Returns:
        ``(x_kept, mask, ids_restore)``: ``x_kept`` is ``[N, int(L*(1-mask_ratio)), D]`` (kept
        tokens, in shuffled order); ``mask`` is ``[N, L]`` float, 0 = kept, 1 = removed, in the
        original order; ``ids_restore`` is ``[N, L]`` int64 with
        ``cat([x_kept, removed]).gather(1, ids_restore)`` back in the original order.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> kept, mask, ids_restore = random_masking(torch.randn(2, 196, 8), 0.75, g)
        >>> kept.shape, mask.sum(dim=1).tolist()  # 49 kept, 147 removed per image
        (torch.Size([2, 49, 8]), [147.0, 147.0])
    """
    if not isinstance(x, Tensor) or x.ndim != 3:
        raise ValueError(f"x must be a tensor of shape [N, L, D], got {getattr(x, 'shape', x)}")
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    n, length, d = x.shape
    len_keep = int(length * (1 - mask_ratio))  # int() truncates, as in MAE: 196 * 0.25 -> 49
    noise = torch.rand(n, length, generator=generator, device=x.device)
    ids_shuffle = torch.argsort(noise, dim=1)  # ascending: the smallest noise values are kept
    ids_restore = torch.argsort(ids_shuffle, dim=1)  # inverse permutation
    ids_keep = ids_shuffle[:, :len_keep]
    x_kept = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, d))
    mask = torch.ones(n, length, device=x.device)
    mask[:, :len_keep] = 0  # in shuffled order: first len_keep are kept ...
    mask = torch.gather(mask, 1, ids_restore)  # ... then unshuffle to the patch order
    return x_kept, mask, ids_restore


# --8<-- [end:random_masking]


# --8<-- [start:sincos]
def get_1d_sincos_pos_embed_from_grid(embed_dim: int, pos: np.ndarray) -> np.ndarray:
    """Transformer sin-cos embedding of positions: ``[sin(pos*w_k) ..., cos(pos*w_k) ...]``.

    Args:
        embed_dim: output size, even.
        pos: positions, any shape (flattened to ``M`` values).

    Returns:
        ``[M, embed_dim]`` with ``w_k = 1 / 10000**(2k / embed_dim)``, ``k < embed_dim / 2``.

    Examples:
        >>> get_1d_sincos_pos_embed_from_grid(4, np.array([0.0])).tolist()  # sin 0, sin 0, cos 0, cos 0
        [[0.0, 0.0, 1.0, 1.0]]
    """
    if embed_dim % 2:
        raise ValueError(f"embed_dim must be even, got {embed_dim}")
    omega = 1.0 / 10000 ** (np.arange(embed_dim // 2, dtype=np.float64) / (embed_dim / 2))
    out = np.outer(np.asarray(pos, dtype=np.float64).reshape(-1), omega)  # [M, D/2]
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def get_2d_sincos_pos_embed(embed_dim: int, grid_size: int, cls_token: bool = False) -> np.ndarray:
    """Fixed 2D sin-cos position embedding of a ``grid_size x grid_size`` patch grid (MAE).

    The first half of the channels encodes the column (x) index, the second half the row (y)
    index, each with :func:`get_1d_sincos_pos_embed_from_grid`. Nothing here is learned.

    Args:
        embed_dim: embedding size, divisible by 4.
        grid_size: patches per side (14 for 224 / 16).
        cls_token: prepend an all-zero row for the ``[CLS]`` token.

    Returns:
        ``[grid_size**2 (+1), embed_dim]`` float64; row ``i*grid_size + j`` is row ``i``, column ``j``.

    Examples:
        >>> pe = get_2d_sincos_pos_embed(8, 14, cls_token=True)
        >>> pe.shape, bool(np.all(pe[0] == 0))
        ((197, 8), True)
        >>> np.round(pe[1 + 1], 4).tolist()  # row 0, column 1: x = 1, y = 0
        [0.8415, 0.01, 0.5403, 1.0, 0.0, 0.0, 1.0, 1.0]
    """
    for name, v in (("embed_dim", embed_dim), ("grid_size", grid_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    if embed_dim <= 0 or embed_dim % 4:
        raise ValueError(f"embed_dim must be > 0 and divisible by 4, got {embed_dim}")
    if grid_size <= 0:
        raise ValueError(f"grid_size must be > 0, got {grid_size}")
    rows, cols = np.meshgrid(np.arange(grid_size), np.arange(grid_size), indexing="ij")
    emb_x = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, cols)  # [G*G, D/2], x = column
    emb_y = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, rows)  # [G*G, D/2], y = row
    pos_embed = np.concatenate([emb_x, emb_y], axis=1)
    if cls_token:
        pos_embed = np.concatenate([np.zeros((1, embed_dim)), pos_embed], axis=0)
    return pos_embed


# --8<-- [end:sincos]


# --8<-- [start:forward_loss]
def forward_loss(
    imgs: Tensor, pred: Tensor, mask: Tensor, p: int, norm_pix_loss: bool = False
) -> Tensor:
    """MAE's reconstruction loss: per-patch MSE, averaged over the removed patches only.

    Args:
        imgs: ``[N, C, H, W]`` original images.
        pred: ``[N, L, p*p*C]`` decoder output for every patch.
        mask: ``[N, L]``, 1 = removed (the loss counts it), 0 = visible (ignored).
        p: patch size.
        norm_pix_loss: normalise every target patch by its own mean and variance (the recipe
            turns it on for better representations).

    Returns:
        Scalar ``sum(mse_per_patch * mask) / sum(mask)``; 0 if nothing is removed.

    Examples:
        >>> imgs = torch.zeros(1, 3, 4, 4)
        >>> pred = torch.zeros(1, 4, 12)
        >>> pred[0, 0] = 1.0  # wrong everywhere in patch 0 ...
        >>> float(forward_loss(imgs, pred, torch.tensor([[0.0, 1.0, 1.0, 1.0]]), 2))  # ... but visible
        0.0
        >>> float(forward_loss(imgs, pred, torch.tensor([[1.0, 1.0, 0.0, 0.0]]), 2))  # (1 + 0) / 2
        0.5
    """
    for name, t in (("pred", pred), ("mask", mask)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    target = patchify(imgs, p)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred must have shape [N, L, p*p*C] = {tuple(target.shape)}, got {tuple(pred.shape)}"
        )
    if mask.shape != target.shape[:2]:
        raise ValueError(
            f"mask must have shape [N, L] = {tuple(target.shape[:2])}, got {tuple(mask.shape)}"
        )
    if norm_pix_loss:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)  # unbiased, as in MAE
        target = (target - mean) / (var + 1.0e-6) ** 0.5
    loss = ((pred - target) ** 2).mean(dim=-1)  # [N, L], mean over the pixels of each patch
    # clamp: with nothing removed (mask_ratio=0) the loss is 0, where MAE's 0 / 0 gives nan
    return (loss * mask).sum() / mask.sum().clamp_min(1)


# --8<-- [end:forward_loss]


def _check_model_input(imgs: Tensor, c: int, size: int) -> None:
    """TinyMAE's input must match the patch grid its position tables were built for."""
    if not isinstance(imgs, Tensor):
        raise TypeError(f"imgs must be a torch.Tensor, got {type(imgs).__name__}")
    if imgs.ndim != 4 or tuple(imgs.shape[1:]) != (c, size, size):
        raise ValueError(
            f"imgs must have shape [N, {c}, {size}, {size}] (in_chans, img_size), "
            f"got {tuple(imgs.shape)}"
        )


# --8<-- [start:tiny_mae]
class TinyMAE(nn.Module):
    """A small ``MaskedAutoencoderViT``: same data flow, few and narrow blocks.

    Args:
        img_size: input side (square).
        patch_size: p.
        in_chans: C.
        embed_dim: encoder width.
        depth: encoder blocks.
        num_heads: encoder heads.
        decoder_embed_dim: decoder width (512 in MAE).
        decoder_depth: decoder blocks (8 in MAE).
        decoder_num_heads: decoder heads (16 in MAE).
        mlp_ratio: MLP hidden width / width.
        norm_pix_loss: per-patch normalised targets.

    Examples:
        >>> model = TinyMAE()
        >>> loss, pred, mask = model(torch.randn(2, 3, 32, 32), generator=torch.Generator().manual_seed(0))
        >>> pred.shape, int(mask.sum()), loss.ndim  # 64 patches, 48 removed per image
        (torch.Size([2, 64, 48]), 96, 0)
    """

    def __init__(
        self,
        img_size: int = 32,
        patch_size: int = 4,
        in_chans: int = 3,
        embed_dim: int = 64,
        depth: int = 2,
        num_heads: int = 4,
        decoder_embed_dim: int = 32,
        decoder_depth: int = 1,
        decoder_num_heads: int = 4,
        mlp_ratio: float = 4.0,
        norm_pix_loss: bool = False,
    ) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(
                f"img_size must be divisible by patch_size, got {img_size}, {patch_size}"
            )
        self.patch_size, self.norm_pix_loss = patch_size, norm_pix_loss
        self.in_chans, self.img_size = in_chans, img_size
        grid = img_size // patch_size
        # --- encoder: sees only the visible patches
        self.patch_embed = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        pos = torch.from_numpy(get_2d_sincos_pos_embed(embed_dim, grid, cls_token=True)).float()
        self.register_buffer("pos_embed", pos.unsqueeze(0))  # fixed, not a parameter
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        # --- decoder: all patches, visible ones encoded + a shared mask token for the rest
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        dpos = torch.from_numpy(get_2d_sincos_pos_embed(decoder_embed_dim, grid, cls_token=True))
        self.register_buffer("decoder_pos_embed", dpos.float().unsqueeze(0))
        self.decoder_blocks = nn.ModuleList(
            Block(decoder_embed_dim, decoder_num_heads, mlp_ratio) for _ in range(decoder_depth)
        )
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size**2 * in_chans)
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward_encoder(
        self, imgs: Tensor, mask_ratio: float, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``[N, C, H, W]`` -> latent ``[N, 1 + kept, D]``, mask ``[N, L]``, ids_restore ``[N, L]``."""
        _check_model_input(imgs, self.in_chans, self.img_size)
        x = self.patch_embed(imgs).flatten(2).transpose(1, 2)  # [N, L, D], all patches
        x = x + self.pos_embed[:, 1:]  # position first, so the kept tokens remember where they were
        x, mask, ids_restore = random_masking(x, mask_ratio, generator)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x), mask, ids_restore

    def forward_decoder(self, latent: Tensor, ids_restore: Tensor) -> Tensor:
        """Latent ``[N, 1 + kept, D]`` -> predicted pixels ``[N, L, p*p*C]`` for every patch."""
        x = self.decoder_embed(latent)
        n, length = ids_restore.shape
        mask_tokens = self.mask_token.expand(n, length + 1 - x.shape[1], -1)
        x_ = torch.cat([x[:, 1:], mask_tokens], dim=1)  # kept (shuffled order) + mask tokens
        x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[2]))  # unshuffle
        x = (
            torch.cat([x[:, :1], x_], dim=1) + self.decoder_pos_embed
        )  # every token gets its position
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]  # drop the [CLS] token

    def forward(
        self, imgs: Tensor, mask_ratio: float = 0.75, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Returns ``(loss, pred [N, L, p*p*C], mask [N, L])``, like ``MaskedAutoencoderViT``."""
        latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio, generator)
        pred = self.forward_decoder(latent, ids_restore)
        loss = forward_loss(imgs, pred, mask, self.patch_size, self.norm_pix_loss)
        return loss, pred, mask


# --8<-- [end:tiny_mae]


def _check_counts(mask_ratio: float | None = None, **counts: float) -> None:
    """FLOP formulas are polynomials: a negative size or a ratio outside [0, 1] gives nonsense."""
    for name, v in counts.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        if v < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    if mask_ratio is not None and not 0.0 <= mask_ratio <= 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1], got {mask_ratio}")


# --8<-- [start:flops]
def blocks_flops(num_tokens: int, dim: int, depth: int, mlp_ratio: float = 4.0) -> int:
    """Matmul FLOPs (2 per multiply-add) of ``depth`` Transformer blocks on ``num_tokens`` tokens.

    Per block: ``qkv`` ``2nD*3D``, ``proj`` ``2nD*D``, MLP ``2 * 2nD*rD`` (linear in n), and
    ``QK^T`` plus ``attn @ V`` ``2 * 2n^2 D`` (quadratic in n). LayerNorm, softmax, GELU and
    additions are not matmuls and are not counted (as in ``torch.utils.flop_counter``).

    Args:
        num_tokens: n, including the ``[CLS]`` token.
        dim: D.
        depth: number of blocks.
        mlp_ratio: r, MLP hidden width / D.

    Returns:
        FLOPs as an int.

    Examples:
        >>> blocks_flops(197, 768, 12)  # ViT-B/16 on 196 patches + [CLS]: 12 * (24nD^2 + 4n^2 D)
        34894909440
    """
    _check_counts(num_tokens=num_tokens, dim=dim, depth=depth, mlp_ratio=mlp_ratio)
    n, d, hidden = num_tokens, dim, int(dim * mlp_ratio)
    linear = 2 * n * d * (3 * d + d) + 2 * 2 * n * d * hidden
    attention = 2 * 2 * n * n * d
    return depth * (linear + attention)


def mae_encoder_flops(
    num_patches: int,
    mask_ratio: float,
    dim: int,
    depth: int,
    patch_dim: int,
    mlp_ratio: float = 4.0,
) -> int:
    """Matmul FLOPs of MAE's encoder: patch embedding of all patches, blocks on the kept ones.

    Args:
        num_patches: L.
        mask_ratio: fraction removed (0 = the whole image goes through the encoder).
        dim: encoder width D.
        depth: encoder blocks.
        patch_dim: ``p*p*C`` (768 for 16 x 16 x 3).
        mlp_ratio: MLP hidden width / D.

    Returns:
        FLOPs as an int.

    Examples:
        >>> full = mae_encoder_flops(196, 0.0, 768, 12, 768)  # ViT-B/16
        >>> round(mae_encoder_flops(196, 0.75, 768, 12, 768) / full, 3)  # 49 + 1 of 196 + 1 tokens
        0.251
    """
    _check_counts(mask_ratio, num_patches=num_patches, patch_dim=patch_dim)
    kept = int(num_patches * (1 - mask_ratio))
    patch_embed = 2 * num_patches * patch_dim * dim  # MAE embeds every patch, then drops 75%
    return patch_embed + blocks_flops(kept + 1, dim, depth, mlp_ratio)


def mae_pretrain_flops(
    num_patches: int,
    mask_ratio: float,
    dim: int,
    depth: int,
    patch_dim: int,
    decoder_dim: int = 512,
    decoder_depth: int = 8,
    mlp_ratio: float = 4.0,
) -> int:
    """Matmul FLOPs of one MAE forward pass: encoder, decoder on all ``L + 1`` tokens, pixel head.

    With ``mask_ratio=0`` this is the cost of putting every token (mask tokens included) through
    the encoder; the ratio of the two is what the asymmetric design saves.

    Args:
        num_patches: L.
        mask_ratio: fraction removed before the encoder.
        dim: encoder width.
        depth: encoder blocks.
        patch_dim: ``p*p*C``, the size of the predicted pixel vector.
        decoder_dim: decoder width (512 in MAE).
        decoder_depth: decoder blocks (8 in MAE).
        mlp_ratio: MLP hidden width / width.

    Returns:
        FLOPs as an int.

    Examples:
        >>> vit_l = dict(num_patches=196, dim=1024, depth=24, patch_dim=768)
        >>> round(mae_pretrain_flops(mask_ratio=0.0, **vit_l) / mae_pretrain_flops(mask_ratio=0.75, **vit_l), 2)
        3.23
    """
    _check_counts(mask_ratio, num_patches=num_patches, decoder_dim=decoder_dim)
    _check_counts(decoder_depth=decoder_depth, patch_dim=patch_dim)
    kept = int(num_patches * (1 - mask_ratio))
    encoder = mae_encoder_flops(num_patches, mask_ratio, dim, depth, patch_dim, mlp_ratio)
    decoder_embed = 2 * (kept + 1) * dim * decoder_dim
    decoder = blocks_flops(num_patches + 1, decoder_dim, decoder_depth, mlp_ratio)
    pred = 2 * (num_patches + 1) * decoder_dim * patch_dim
    return encoder + decoder_embed + decoder + pred


# --8<-- [end:flops]
