"""Vision Transformer (ViT, Dosovitskiy et al., ICLR 2021): patch embedding, a tiny ViT, and the
position-embedding resampling used to fine-tune at a higher resolution.

Names, arguments and state-dict keys mirror ``timm`` (``timm.layers.PatchEmbed``,
``timm.layers.resample_abs_pos_embed``, ``timm.models.vision_transformer.VisionTransformer``), so
weights load across and outputs can be compared directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _to_2tuple(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, Sequence) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name} must be an int or a pair (h, w) of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return pair[0], pair[1]


def _check_tensor(x: object, name: str, shape: str, ndim: int) -> None:
    """A list or NumPy array where a tensor belongs is a TypeError that names the argument."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")


# --8<-- [start:patchify]
def patchify(imgs: Tensor, patch_size: int) -> Tensor:
    """Cut images into non-overlapping ``P x P`` patches and flatten each one.

    Args:
        imgs: ``[B, C, H, W]`` with ``H`` and ``W`` divisible by ``patch_size``.
        patch_size: ``P``.

    Returns:
        ``[B, N, P * P * C]`` with ``N = (H / P) * (W / P)`` patches in raster order (row by row).
        Inside a patch the order is (row, column, channel), channel last, as in MAE's ``patchify``.

    Examples:
        >>> patchify(torch.zeros(2, 3, 224, 224), 16).shape  # 14 * 14 = 196 patches of 16*16*3
        torch.Size([2, 196, 768])
    """
    _check_tensor(imgs, "imgs", "[B, C, H, W]", 4)
    if not isinstance(patch_size, int) or isinstance(patch_size, bool):
        raise TypeError(f"patch_size must be an int, got {patch_size!r}")
    p = _to_2tuple(patch_size, "patch_size")[0]  # ValueError unless >= 1
    b, c, h, w = imgs.shape
    if h % p or w % p:
        raise ValueError(f"imgs height and width must be divisible by patch_size={p}, got {h}x{w}")
    x = imgs.reshape(b, c, h // p, p, w // p, p)  # split H into (rows of patches, P), same for W
    x = x.permute(0, 2, 4, 3, 5, 1)  # [B, H/P, W/P, P, P, C]: patch grid first, then pixels
    return x.reshape(b, (h // p) * (w // p), p * p * c)


# --8<-- [end:patchify]


# --8<-- [start:patch_embed]
class PatchEmbed(nn.Module):
    """Image to patch tokens with one strided convolution (mirrors ``timm.layers.PatchEmbed``).

    A ``Conv2d`` with ``kernel_size = stride = patch_size`` applies the same linear map to every
    non-overlapping patch: it *is* "flatten each patch, then ``nn.Linear``", computed in one call.

    Args:
        img_size: expected input size, int or ``(H, W)``; inputs of any other size are rejected.
        patch_size: ``P``, int or ``(P_h, P_w)``.
        in_chans: input channels ``C``.
        embed_dim: token width ``D``.

    Examples:
        >>> embed = PatchEmbed()  # ViT-B/16: 224 / 16 = 14 patches per side
        >>> embed.grid_size, embed.num_patches, embed.num_patches + 1  # +1 for the [class] token
        ((14, 14), 196, 197)
        >>> PatchEmbed(img_size=384).num_patches  # fine-tuning at 384: 24 * 24
        576
        >>> sum(p.numel() for p in embed.parameters())  # 16*16*3*768 weights + 768 biases
        590592
        >>> embed(torch.zeros(2, 3, 224, 224)).shape
        torch.Size([2, 196, 768])
    """

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int | tuple[int, int] = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
    ) -> None:
        super().__init__()
        self.img_size = _to_2tuple(img_size, "img_size")
        self.patch_size = _to_2tuple(patch_size, "patch_size")
        # Like timm, a size that is not a multiple of the patch drops the remainder (floor).
        (h, w), (ph, pw) = self.img_size, self.patch_size
        self.grid_size = (h // ph, w // pw)
        if min(self.grid_size) < 1:
            raise ValueError(f"patch_size {patch_size!r} is larger than img_size {img_size!r}")
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        # kernel = stride = patch: the windows tile the image with no overlap and no gaps.
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=(ph, pw), stride=(ph, pw))
        self.norm = nn.Identity()  # timm's norm_layer=None; kept so state dicts line up

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, H, W]`` images -> ``[B, N, D]`` tokens, ``N = num_patches``."""
        expected = (self.proj.in_channels, *self.img_size)
        if not isinstance(x, Tensor):
            raise TypeError(f"input must be a torch.Tensor [B, C, H, W], got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            # timm's strict_img_size=True check, raised as an exception rather than an assert.
            raise ValueError(
                f"input must have shape [B, {expected[0]}, {expected[1]}, {expected[2]}], "
                f"got {tuple(x.shape)}"
            )
        x = self.proj(x)  # [B, D, H/P, W/P]
        x = x.flatten(2).transpose(1, 2)  # [B, D, N] -> [B, N, D]: tokens in raster order
        return self.norm(x)


# --8<-- [end:patch_embed]


def _check_tokens(x: object, dim: int) -> None:
    _check_tensor(x, "x", f"[B, N, {dim}]", 3)
    if x.shape[-1] != dim:
        raise ValueError(f"x must have shape [B, N, {dim}], got {tuple(x.shape)}")


# --8<-- [start:block]
class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection (timm's layout)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, N, D]`` -> ``[B, N, D]``."""
        _check_tokens(x, self.proj.in_features)
        b, n, d = x.shape
        # [B, N, 3*D] -> [3, B, heads, N, D/heads]
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        # 1/sqrt(d_head): q.k sums d_head products, so its variance grows with d_head; the scale
        # keeps the softmax out of saturation (Vaswani et al. 2017, sec. 3.2.1).
        attn = (q @ k.transpose(-2, -1)) * self.scale  # [B, heads, N, N]: every token sees all
        # Same result as F.scaled_dot_product_attention(q, k, v), which timm runs; its fused
        # kernels never store the N x N matrix (FlashAttention), this naive line does.
        x = attn.softmax(dim=-1) @ v  # [B, heads, N, D/heads]
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """Two-layer MLP with GELU, hidden width ``mlp_ratio * dim``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden}")
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, N, D]`` -> ``[B, N, D]``."""
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm Transformer encoder block: ``x + MSA(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        """``[B, N, D]`` -> ``[B, N, D]``."""
        _check_tokens(x, self.norm1.normalized_shape[0])
        x = x + self.attn(self.norm1(x))  # LayerNorm *before* the sublayer (ViT eq. 2)
        return x + self.mlp(self.norm2(x))  # (ViT eq. 3)


# --8<-- [end:block]


# --8<-- [start:vit]
class VisionTransformer(nn.Module):
    """ViT classifier: patch embedding, ``[class]`` token, learnable 1-D position embedding,
    pre-norm encoder, final LayerNorm, linear head on the class token.

    Defaults are ViT-B/16 (``timm``'s ``vit_base_patch16_224``); pass small numbers for a tiny ViT.
    Only ``pos_embed`` and ``cls_token`` are initialised as in timm; the Linear layers keep
    PyTorch's default init (timm uses truncated normal, std 0.02), so do not copy it as timm's.

    Args:
        img_size: input size, int or ``(H, W)``.
        patch_size: ``P``.
        in_chans: input channels.
        num_classes: classifier outputs.
        embed_dim: token width ``D``.
        depth: number of encoder blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width as a multiple of ``D``.

    Examples:
        >>> vit = VisionTransformer(img_size=32, patch_size=8, num_classes=10, embed_dim=64,
        ...                         depth=2, num_heads=4)
        >>> vit.pos_embed.shape  # (32/8)^2 = 16 patches + 1 class token
        torch.Size([1, 17, 64])
        >>> x = torch.randn(2, 3, 32, 32)
        >>> vit.forward_features(x).shape, vit(x).shape
        (torch.Size([2, 17, 64]), torch.Size([2, 10]))
    """

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        if not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depth must be an int >= 0, got {depth!r}")
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        num_tokens = self.patch_embed.num_patches + 1  # + [class]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_tokens, embed_dim))  # learnable, 1-D
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)  # timm's init
        nn.init.normal_(self.cls_token, std=1e-6)

    def forward_features(self, x: Tensor) -> Tensor:
        """``[B, C, H, W]`` -> ``[B, 1 + N, D]`` normalised tokens, class token first."""
        x = self.patch_embed(x)  # [B, N, D]
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # one copy per image
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # the class token gets a position too
        return self.norm(self.blocks(x))

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, H, W]`` -> ``[B, num_classes]`` logits from the class token."""
        return self.head(self.forward_features(x)[:, 0])


# --8<-- [end:vit]


# --8<-- [start:resample_abs_pos_embed]
def resample_abs_pos_embed(
    posemb: Tensor,
    new_size: Sequence[int],
    old_size: Sequence[int] | None = None,
    num_prefix_tokens: int = 1,
    interpolation: str = "bicubic",
    antialias: bool = True,
) -> Tensor:
    """Resize a ``[1, prefix + H*W, D]`` absolute position embedding to a new patch grid.

    Mirrors ``timm.layers.resample_abs_pos_embed``: the prefix tokens (class, registers) are
    kept as they are; the grid part is reshaped to an image ``[1, D, H, W]`` and interpolated in
    float32, then cast back to the input dtype.

    Args:
        posemb: ``[1, num_prefix_tokens + H_old * W_old, D]``.
        new_size: ``(H_new, W_new)`` patch grid.
        old_size: ``(H_old, W_old)``; if None the old grid is assumed square.
        num_prefix_tokens: leading tokens that have no grid position (1 for ``[class]``).
        interpolation: ``F.interpolate`` mode: "bicubic", "bilinear", "nearest", ...
        antialias: passed to ``F.interpolate`` (bilinear, bicubic and lanczos support it).

    Returns:
        ``[1, num_prefix_tokens + H_new * W_new, D]``. The input object itself when nothing
        changes (same token count and ``new_size`` square, or equal to ``old_size``).

    Examples:
        >>> posemb = torch.randn(1, 1 + 14 * 14, 768)  # ViT-B/16 at 224
        >>> resample_abs_pos_embed(posemb, (24, 24)).shape  # fine-tune at 384: 1 + 576 tokens
        torch.Size([1, 577, 768])
        >>> resample_abs_pos_embed(posemb, (14, 14)) is posemb  # nothing to do
        True
    """
    _check_tensor(posemb, "posemb", "[1, num_prefix_tokens + H*W, D]", 3)
    if posemb.shape[0] != 1:
        raise ValueError(
            f"posemb must have shape [1, num_prefix_tokens + H*W, D], got {tuple(posemb.shape)}"
        )
    new_h, new_w = _to_2tuple(new_size, "new_size")
    num_tokens = posemb.shape[1]
    if not 0 <= num_prefix_tokens <= num_tokens:
        raise ValueError(f"num_prefix_tokens must be in [0, {num_tokens}], got {num_prefix_tokens}")
    num_grid = num_tokens - num_prefix_tokens
    if old_size is None:
        side = math.isqrt(num_grid)
        if side * side != num_grid:
            raise ValueError(
                f"old_size is None but posemb has {num_grid} grid tokens, not a square number"
            )
        old_size = (side, side)
    old_h, old_w = _to_2tuple(old_size, "old_size")
    if old_h * old_w != num_grid:
        raise ValueError(
            f"old_size {old_size} needs {old_h * old_w} grid tokens, posemb has {num_grid}"
        )
    modes = ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos")
    if interpolation not in modes:  # F.interpolate's 2-D modes
        raise ValueError(f"interpolation must be one of {modes}, got {interpolation!r}")
    if antialias and interpolation not in ("bilinear", "bicubic", "lanczos"):
        raise ValueError(
            "antialias=True needs interpolation 'bilinear', 'bicubic' or 'lanczos', "
            f"got {interpolation!r}"
        )

    if (new_h, new_w) == (old_h, old_w):
        return posemb  # same grid: nothing to do (timm's early exit)
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    dim, dtype = posemb.shape[-1], posemb.dtype
    # float32 even for float64 input, as timm does (bfloat16/float16 are upcast for accuracy).
    grid = grid.float().reshape(1, old_h, old_w, dim).permute(0, 3, 1, 2)  # tokens -> [1, D, H, W]
    grid = F.interpolate(grid, size=(new_h, new_w), mode=interpolation, antialias=antialias)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_h * new_w, dim).to(dtype)  # back to tokens
    return torch.cat([prefix, grid], dim=1)


# --8<-- [end:resample_abs_pos_embed]
