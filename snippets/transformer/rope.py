"""Position encodings: sinusoidal, learned, rotary (RoPE), context extension, ALiBi, 2D RoPE.

Conventions (same as ``transformers.models.llama.modeling_llama``):

* ``rotate_half`` pairs dimension ``i`` with ``i + d/2`` (half split). Meta's original llama
  code pairs ``(2i, 2i+1)`` (interleaved, complex form): the same rotation on permuted dims;
* ``cos`` / ``sin`` have shape ``[batch, seq, head_dim]``, each frequency appearing twice
  (``cat(freqs, freqs)``), and ``apply_rotary_pos_emb`` unsqueezes them over the head axis;
* the inverse frequencies are ``base ** (-2i / d)`` for ``i = 0 .. d/2 - 1``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _check_tensor(x: object, name: str, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")


def _check_even_dim(value: object, name: str, multiple: int = 2) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % multiple:
        raise ValueError(f"{name} must be a positive int divisible by {multiple}, got {value!r}")


# --8<-- [start:sinusoidal]
def sinusoidal_position_encoding(
    num_positions: int, dim: int, base: float = 10000.0, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Fixed encoding of Vaswani et al. §3.5: sin on even dims, cos on odd dims.

    Args:
        num_positions: number of positions ``L``.
        dim: model width ``d`` (even).
        base: the 10000 in ``pos / base ** (2i / d)``.
        dtype: floating dtype of the result.

    Returns:
        ``[L, d]`` with ``PE[pos, 2i] = sin(pos / base**(2i/d))``, ``PE[pos, 2i+1] = cos(...)``.

    Examples:
        >>> pe = sinusoidal_position_encoding(4, 6)
        >>> pe[0].tolist()  # position 0: sin 0 = 0, cos 0 = 1
        [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
        >>> round(float(pe[1, 0]), 6) == round(math.sin(1.0), 6)
        True
    """
    _check_even_dim(dim, "dim")
    if isinstance(num_positions, bool) or not isinstance(num_positions, int) or num_positions < 0:
        raise ValueError(f"num_positions must be a non-negative int, got {num_positions!r}")
    pos = torch.arange(num_positions, dtype=dtype)[:, None]  # [L, 1]
    angle = pos / base ** (torch.arange(0, dim, 2, dtype=dtype) / dim)  # [L, d/2]
    pe = torch.empty(num_positions, dim, dtype=dtype)
    pe[:, 0::2] = torch.sin(angle)  # interleaved, as in the paper (not cat(sin, cos))
    pe[:, 1::2] = torch.cos(angle)
    return pe


# --8<-- [end:sinusoidal]


# --8<-- [start:learned]
class LearnedPositionEmbedding(nn.Module):
    """A trained vector per position (BERT, GPT-2, ViT): a lookup table of ``max_len`` rows."""

    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_len, dim) * 0.02)

    def forward(self, position_ids: Tensor) -> Tensor:
        """``[..., L]`` integer positions -> ``[..., L, dim]``; no row exists past ``max_len``."""
        _check_tensor(position_ids, "position_ids", "[..., L]")
        if position_ids.numel() and int(position_ids.max()) >= self.weight.shape[0]:
            raise ValueError(
                f"position_ids must be < max_len = {self.weight.shape[0]} (a learned table "
                f"cannot extrapolate), got max {int(position_ids.max())}"
            )
        return self.weight[position_ids]


# --8<-- [end:learned]


# --8<-- [start:cos_sin]
def rope_inv_freq(
    head_dim: int, base: float = 10000.0, dtype: torch.dtype = torch.float64
) -> Tensor:
    """Inverse frequencies ``theta_i = base ** (-2i / d)``, ``i = 0 .. d/2 - 1``: ``[d/2]``."""
    _check_even_dim(head_dim, "head_dim")
    return 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=dtype) / head_dim)


def cos_sin_from_inv_freq(
    position_ids: Tensor, inv_freq: Tensor, attention_factor: float = 1.0
) -> tuple[Tensor, Tensor]:
    """Angles ``m * theta_i`` -> ``cos``, ``sin`` of shape ``[..., L, d]`` (each angle twice)."""
    _check_tensor(position_ids, "position_ids", "[batch, L]")
    freqs = position_ids[..., None].to(inv_freq.dtype) * inv_freq  # [..., L, d/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # half split: dim i and i + d/2 share an angle
    return emb.cos() * attention_factor, emb.sin() * attention_factor


def rope_cos_sin(
    position_ids: Tensor,
    head_dim: int,
    base: float = 10000.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """``cos``, ``sin`` as ``LlamaRotaryEmbedding(config)(x, position_ids)`` returns them.

    Args:
        position_ids: ``[batch, L]`` positions (integers; floats allowed for interpolation).
        head_dim: rotary dimension ``d`` (even).
        base: ``rope_theta``.
        dtype: dtype of the computation (HF uses float32; float64 for exact checks).

    Returns:
        ``(cos, sin)``, each ``[batch, L, d]``.

    Examples:
        >>> cos, sin = rope_cos_sin(torch.tensor([[0, 1]]), 4, dtype=torch.float64)
        >>> cos[0, 0].tolist(), sin[0, 0].tolist()  # position 0: no rotation
        ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
        >>> round(float(sin[0, 1, 1]), 6) == round(math.sin(10000 ** -0.5), 6)  # theta_1
        True
    """
    _check_tensor(position_ids, "position_ids", "[batch, L]")
    return cos_sin_from_inv_freq(position_ids, rope_inv_freq(head_dim, base, dtype))


# --8<-- [end:cos_sin]


# --8<-- [start:apply]
def rotate_half(x: Tensor) -> Tensor:
    """``[x1, x2] -> [-x2, x1]``: pair ``(i, i + d/2)`` turned by 90 degrees.

    Args:
        x: ``[..., d]`` with ``d`` even.

    Returns:
        ``[..., d]``.

    Examples:
        >>> rotate_half(torch.tensor([1.0, 2.0, 3.0, 4.0])).tolist()
        [-3.0, -4.0, 1.0, 2.0]
    """
    _check_tensor(x, "x", "[..., d] with d even")
    if x.ndim == 0 or x.shape[-1] % 2:
        raise ValueError(f"x must have an even last dimension [..., d], got {tuple(x.shape)}")
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(
    q: Tensor, k: Tensor, cos: Tensor, sin: Tensor, unsqueeze_dim: int = 1
) -> tuple[Tensor, Tensor]:
    """Rotate queries and keys: ``x * cos + rotate_half(x) * sin`` (values are untouched).

    Args:
        q: ``[B, H, L, d]`` queries (``[B, L, H, d]`` with ``unsqueeze_dim=2``).
        k: keys, same layout as ``q`` (may have fewer heads).
        cos: ``[B, L, d]``, from :func:`rope_cos_sin`.
        sin: ``[B, L, d]``.
        unsqueeze_dim: where cos/sin get the head axis: 1 for ``[B, H, L, d]``.

    Returns:
        ``(q_embed, k_embed)``, same shapes as ``q`` and ``k``.

    Examples:
        >>> q = torch.tensor([[[[1.0, 0.0]]]])  # B = H = L = 1, d = 2
        >>> cos, sin = rope_cos_sin(torch.tensor([[1]]), 2, dtype=torch.float64)
        >>> qe, _ = apply_rotary_pos_emb(q.double(), q.double(), cos, sin)
        >>> [round(v, 6) for v in qe.flatten().tolist()]  # (1, 0) turned by 1 radian
        [0.540302, 0.841471]
    """
    for name, t in (("q", q), ("k", k), ("cos", cos), ("sin", sin)):
        _check_tensor(t, name, "[B, H, L, d]" if name in "qk" else "[B, L, d]")
    if q.ndim < 2 or q.shape[-1] % 2 or k.ndim != q.ndim or k.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"q and k must be [B, H, L, d] with the same even d, got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}"
        )
    if cos.shape != sin.shape or cos.ndim != q.ndim - 1 or cos.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"cos and sin must both be [B, L, d] (one axis fewer than q, d = {q.shape[-1]}), "
            f"got cos {tuple(cos.shape)}, sin {tuple(sin.shape)}"
        )
    cos = cos.unsqueeze(unsqueeze_dim)  # [B, 1, L, d]: the same rotation for every head
    sin = sin.unsqueeze(unsqueeze_dim)
    for t in (q, k):
        if any(a != b and 1 not in (a, b) for a, b in zip(cos.shape, t.shape, strict=True)):
            raise ValueError(
                f"cos of shape {tuple(cos.shape)} (after unsqueeze_dim={unsqueeze_dim}) does "
                f"not broadcast with q {tuple(q.shape)} and k {tuple(k.shape)}"
            )
    q_embed = q * cos + rotate_half(q) * sin
    k_embed = k * cos + rotate_half(k) * sin
    return q_embed, k_embed


# --8<-- [end:apply]


# --8<-- [start:complex]
def precompute_freqs_cis(
    dim: int, end: int, theta: float = 10000.0, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Meta llama's ``e^{i m theta_j}`` table for positions ``0 .. end - 1``.

    Args:
        dim: head dimension ``d`` (even).
        end: number of positions.
        theta: the base.
        dtype: real dtype of the angles (complex64 for float32, complex128 for float64).

    Returns:
        ``[end, d/2]`` complex.

    Examples:
        >>> f = precompute_freqs_cis(4, 2, dtype=torch.float64)
        >>> f.shape, f.dtype, bool(torch.allclose(f[0], torch.ones(2, dtype=f.dtype)))
        (torch.Size([2, 2]), torch.complex128, True)
    """
    angles = torch.outer(torch.arange(end, dtype=dtype), rope_inv_freq(dim, theta, dtype))
    return torch.polar(torch.ones_like(angles), angles)


def apply_rotary_emb(xq: Tensor, xk: Tensor, freqs_cis: Tensor) -> tuple[Tensor, Tensor]:
    """Meta's complex form: pairs ``(2j, 2j+1)`` are complex numbers, times ``e^{i m theta_j}``.

    Args:
        xq: ``[B, L, H, d]`` (Meta's layout: heads after the sequence axis).
        xk: ``[B, L, H_kv, d]``.
        freqs_cis: ``[L, d/2]`` complex, from :func:`precompute_freqs_cis`.

    Returns:
        ``(xq_out, xk_out)``, same shapes and dtypes as the inputs.

    Examples:
        >>> x = torch.tensor([[[[1.0, 0.0]]]], dtype=torch.float64)
        >>> f = precompute_freqs_cis(2, 2, dtype=torch.float64)[1:]  # position 1
        >>> [round(v, 6) for v in apply_rotary_emb(x, x, f)[0].flatten().tolist()]
        [0.540302, 0.841471]
    """
    _check_tensor(xq, "xq", "[B, L, H, d]")
    _check_tensor(xk, "xk", "[B, L, H, d]")
    _check_tensor(freqs_cis, "freqs_cis", "[L, d/2] complex")
    if xq.ndim != 4 or xq.shape[-1] % 2 or freqs_cis.shape != (xq.shape[1], xq.shape[-1] // 2):
        raise ValueError(
            f"xq must be [B, L, H, d] with d even and freqs_cis [L, d/2], got xq "
            f"{tuple(xq.shape)}, freqs_cis {tuple(freqs_cis.shape)}"
        )
    f = freqs_cis[None, :, None, :]  # [1, L, 1, d/2]: broadcast over batch and heads
    real = torch.float64 if xq.dtype == torch.float64 else torch.float32
    xq_ = torch.view_as_complex(xq.to(real).reshape(*xq.shape[:-1], -1, 2))  # (2j, 2j+1)
    xk_ = torch.view_as_complex(xk.to(real).reshape(*xk.shape[:-1], -1, 2))
    xq_out = torch.view_as_real(xq_ * f).flatten(3)
    xk_out = torch.view_as_real(xk_ * f).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def interleaved_to_half(head_dim: int) -> Tensor:
    """Index ``p`` with ``x_half = x_interleaved[..., p]``: ``[0, 2, 4, ..., 1, 3, 5, ...]``."""
    _check_even_dim(head_dim, "head_dim")
    return torch.cat((torch.arange(0, head_dim, 2), torch.arange(1, head_dim, 2)))


# --8<-- [end:complex]


# --8<-- [start:scaling]
def linear_scaling_inv_freq(head_dim: int, base: float, factor: float) -> Tensor:
    """Position interpolation (Chen et al. 2023): ``m -> m / s``, i.e. every ``theta / s``."""
    return rope_inv_freq(head_dim, base) / factor


def ntk_scaling_inv_freq(head_dim: int, base: float, factor: float) -> Tensor:
    """NTK-aware: ``base * s ** (d / (d - 2))``; the lowest frequency is divided by ``s``."""
    return rope_inv_freq(head_dim, base * factor ** (head_dim / (head_dim - 2)))


def dynamic_ntk_inv_freq(
    head_dim: int, base: float, factor: float, seq_len: int, max_position_embeddings: int
) -> Tensor:
    """HF's "dynamic": NTK with ``s = factor * L / L_train - (factor - 1)``, only when longer."""
    seq_len = max(seq_len, max_position_embeddings)
    scale = factor * seq_len / max_position_embeddings - (factor - 1)
    return ntk_scaling_inv_freq(head_dim, base, scale)


def yarn_inv_freq(
    head_dim: int,
    base: float,
    factor: float,
    original_max_position_embeddings: int,
    beta_fast: float = 32.0,
    beta_slow: float = 1.0,
    truncate: bool = True,
) -> tuple[Tensor, float]:
    """YaRN (Peng et al. 2023): extrapolate fast dims, interpolate slow ones, ramp between.

    Returns:
        ``(inv_freq [d/2], attention_factor)`` with ``attention_factor = 0.1 ln(s) + 1``; it
        multiplies cos and sin, so the logits ``q . k`` grow by its square.
    """
    d, L = head_dim, original_max_position_embeddings

    def dim_of(rotations: float) -> float:  # pair index whose wave turns `rotations` times in L
        return d * math.log(L / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low, high = dim_of(beta_fast), dim_of(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, d - 1)
    if low == high:
        high += 0.001  # as HF: avoid 0 / 0
    ramp = ((torch.arange(d // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    extrapolate = 1 - ramp  # 1: keep theta (fast dims), 0: theta / s (slow dims)
    theta = rope_inv_freq(d, base)
    inv_freq = theta / factor * (1 - extrapolate) + theta * extrapolate
    attention_factor = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    return inv_freq, attention_factor


# --8<-- [end:scaling]


# --8<-- [start:alibi]
def alibi_slopes(n_heads: int) -> Tensor:
    """ALiBi head slopes: ``2 ** (-8 h / n)``, ``h = 1..n``, for ``n`` a power of two.

    Otherwise (the paper's rule): the slopes of the closest smaller power of two ``p``, then
    every other slope of ``2p`` heads.

    Examples:
        >>> alibi_slopes(8).tolist()[:3]
        [0.5, 0.25, 0.125]
    """
    if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads <= 0:
        raise ValueError(f"n_heads must be a positive int, got {n_heads!r}")
    p = 2 ** math.floor(math.log2(n_heads))
    h = torch.arange(1, p + 1, dtype=torch.float64)
    slopes = 2.0 ** (-8.0 * h / p)
    if p < n_heads:  # odd exponents of 2 ** (-8 / 2p): the slopes that fall between
        extra = torch.arange(1, 2 * (n_heads - p), 2, dtype=torch.float64)
        slopes = torch.cat((slopes, 2.0 ** (-8.0 * extra / (2 * p))))
    return slopes


def alibi_bias(n_heads: int, seq_len: int) -> Tensor:
    """``[H, L, L]`` bias ``-m_h * |i - j|`` added to the attention logits."""
    pos = torch.arange(seq_len, dtype=torch.float64)
    distance = (pos[:, None] - pos[None, :]).abs()  # [L, L]
    return -alibi_slopes(n_heads)[:, None, None] * distance


# --8<-- [end:alibi]


# --8<-- [start:rope2d]
def rope_2d_cos_sin(
    pos_xy: Tensor, head_dim: int, base: float = 100.0, dtype: torch.dtype = torch.float64
) -> tuple[Tensor, Tensor]:
    """Axial 2D RoPE for patches: half the rotation pairs turn with x, half with y.

    Args:
        pos_xy: ``[..., N, 2]`` patch coordinates ``(x, y)``.
        head_dim: ``d``, divisible by 4 (``d/4`` frequencies per axis).
        base: 100 in Heo et al.'s RoPE-ViT code.
        dtype: computation dtype.

    Returns:
        ``(cos, sin)``, each ``[..., N, d]``, for :func:`apply_rotary_pos_emb`.
    """
    _check_tensor(pos_xy, "pos_xy", "[..., N, 2]")
    if pos_xy.ndim < 1 or pos_xy.shape[-1] != 2:
        raise ValueError(f"pos_xy must have shape [..., N, 2], got {tuple(pos_xy.shape)}")
    _check_even_dim(head_dim, "head_dim", 4)
    inv_freq = rope_inv_freq(head_dim // 2, base, dtype)  # d/4 frequencies, shared by x and y
    fx = pos_xy[..., 0:1].to(dtype) * inv_freq  # [..., N, d/4]
    fy = pos_xy[..., 1:2].to(dtype) * inv_freq
    half = torch.cat((fx, fy), dim=-1)  # pair i < d/4 turns with x, the rest with y
    emb = torch.cat((half, half), dim=-1)  # half-split layout, as rope_cos_sin
    return emb.cos(), emb.sin()


# --8<-- [end:rope2d]
