"""FlashAttention's forward pass in plain PyTorch: online softmax, then exact tiled attention.

Conventions (same as ``torch.nn.functional.scaled_dot_product_attention``, torch 2.14):

* ``query`` is ``[B, H, L, E]``, ``key`` is ``[B, H, S, E]``, ``value`` is ``[B, H, S, Ev]``;
  the output is ``[B, H, L, Ev]``; scores are scaled by ``1 / sqrt(E)``;
* ``is_causal=True`` keeps key ``j`` for query ``i`` when ``j <= i``: the mask is
  ``torch.ones(L, S).tril()``, aligned to the TOP-LEFT corner when ``L != S`` (flash-attn >= 2.1
  aligns it to the bottom-right instead);
* a query row that sees no key at all (only possible here when ``S == 0``) gets output 0, as torch
  returns, and logsumexp ``-inf``.

The tiled loop follows Algorithm 1 of Dao et al. (2022): the outer loop walks key/value blocks,
the inner loop query blocks, and each query row keeps its output O, running max m and running sum
l. Only one ``[block, block]`` score tile exists at a time; the ``[L, S]`` matrix never does.
Python loops make this slow; the point is the arithmetic, which the tests compare with torch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _check_qkv(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, x, shape in (
        ("query", query, "[B, H, L, E]"),
        ("key", key, "[B, H, S, E]"),
        ("value", value, "[B, H, S, Ev]"),
    ):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}"
            )
        if x.ndim != 4:
            raise ValueError(f"{name} must have shape {shape} (4-D), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor {shape}, got {x.dtype}")
    if key.dtype != query.dtype or value.dtype != query.dtype:
        raise TypeError(
            f"query, key and value must share one dtype, got {query.dtype}, {key.dtype}, "
            f"{value.dtype}"
        )
    if key.shape[:2] != query.shape[:2] or key.shape[-1] != query.shape[-1]:
        raise ValueError(
            f"key must have shape [B, H, S, E] with B, H, E = {tuple(query.shape[:2])}, "
            f"{query.shape[-1]} from query, got {tuple(key.shape)}"
        )
    if value.shape[:3] != key.shape[:3]:
        raise ValueError(
            f"value must have shape [B, H, S, Ev] with B, H, S = {tuple(key.shape[:3])} "
            f"from key, got {tuple(value.shape)}"
        )


def _check_block_size(block_size: int) -> None:
    if isinstance(block_size, bool) or not isinstance(block_size, int):
        raise TypeError(f"block_size must be an int >= 1, got {type(block_size).__name__}")
    if block_size < 1:
        raise ValueError(f"block_size must be an int >= 1, got {block_size}")


# --8<-- [start:online_softmax]
def online_softmax(x: Tensor, block_size: int = 1) -> Tensor:
    """Softmax over the last axis; one pass finds both the max and the sum (Milakov 2018).

    Args:
        x: ``[..., n]`` scores; entries may be ``-inf`` (masked).
        block_size: entries read per step; 1 is the paper's one-element-at-a-time loop.

    Returns:
        ``[..., n]``, equal to ``torch.softmax(x, dim=-1)`` (NaN for an all ``-inf`` row, as
        torch gives).

    Examples:
        >>> x = torch.tensor([1.0, 3.0, 2.0])  # the max changes at step 2: d is rescaled
        >>> torch.allclose(online_softmax(x), torch.softmax(x, dim=-1))
        True
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape [..., n], got {type(x).__name__}")
    if x.ndim < 1 or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor of shape [..., n], got {x.dtype}")
    _check_block_size(block_size)
    m = x.new_full(x.shape[:-1], -math.inf)  # running max
    d = x.new_zeros(x.shape[:-1])  # running sum of exp(x - m)
    for start in range(0, x.shape[-1], block_size):
        block = x[..., start : start + block_size]
        m_new = torch.maximum(m, block.amax(dim=-1))
        # Nothing but -inf seen yet: exp(-inf - (-inf)) would be NaN; shift by 0 instead.
        shift = torch.where(m_new == -math.inf, 0.0, m_new)
        # The sum so far was taken relative to the old max: rescale it to the new one.
        d = d * torch.exp(m - shift) + torch.exp(block - shift[..., None]).sum(dim=-1)
        m = m_new
    return torch.exp(x - m[..., None]) / d[..., None]  # second pass: normalise


# --8<-- [end:online_softmax]


# --8<-- [start:attention_naive]
def attention_naive(query: Tensor, key: Tensor, value: Tensor, is_causal: bool = False) -> Tensor:
    """Standard attention: materialise the ``[L, S]`` scores, softmax, multiply by V.

    Args:
        query: ``[B, H, L, E]``.
        key: ``[B, H, S, E]``.
        value: ``[B, H, S, Ev]``.
        is_causal: mask key ``j > i`` for query ``i`` (top-left aligned, as torch).

    Returns:
        ``[B, H, L, Ev]``.

    Examples:
        >>> q = k = v = torch.eye(2).reshape(1, 1, 2, 2)
        >>> attention_naive(q, k, v, is_causal=True)[0, 0, 0].tolist()  # row 0 sees key 0 only
        [1.0, 0.0]
    """
    _check_qkv(query, key, value)
    scale = 1.0 / math.sqrt(query.shape[-1])
    scores = query @ key.transpose(-2, -1) * scale  # [B, H, L, S]: the O(N^2) memory
    if is_causal:
        allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~allowed, -math.inf)
    return torch.softmax(scores, dim=-1) @ value


# --8<-- [end:attention_naive]


# --8<-- [start:tile_kind]
def tile_kind(q_start: int, q_end: int, k_start: int, k_end: int, is_causal: bool) -> str:
    """What a causal mask leaves of the tile of queries ``[q_start, q_end)`` × keys ``[k_start, k_end)``.

    Args:
        q_start: first query row of the tile.
        q_end: one past its last query row.
        k_start: first key column.
        k_end: one past its last key column.
        is_causal: top-left causal mask (key ``j`` allowed for query ``i`` iff ``j <= i``).

    Returns:
        ``"skip"`` (every entry masked), ``"partial"`` (some) or ``"full"`` (none masked).

    Examples:
        >>> tile_kind(0, 4, 4, 8, True), tile_kind(4, 8, 4, 8, True), tile_kind(4, 8, 0, 4, True)
        ('skip', 'partial', 'full')
    """
    if not is_causal or k_end - 1 <= q_start:  # last key <= first query: nothing masked
        return "full"
    if k_start > q_end - 1:  # first key > last query: everything masked
        return "skip"
    return "partial"


# --8<-- [end:tile_kind]


# --8<-- [start:flash_attention_forward]
def flash_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, is_causal: bool = False, block_size: int = 64
) -> tuple[Tensor, Tensor]:
    """Tiled exact attention with a running max and sum (FlashAttention, Algorithm 1).

    Args:
        query: ``[B, H, L, E]``.
        key: ``[B, H, S, E]``.
        value: ``[B, H, S, Ev]``.
        is_causal: top-left causal mask, as ``F.scaled_dot_product_attention``.
        block_size: rows of Q and of K/V per tile (the last block may be shorter).

    Returns:
        ``(out, lse)``: ``[B, H, L, Ev]`` attention output and ``[B, H, L]`` logsumexp of each
        row of scaled scores, what the backward pass keeps instead of the ``[L, S]`` matrix.

    Examples:
        >>> q, k, v = torch.randn(3, 1, 2, 5, 4, generator=torch.Generator().manual_seed(0))
        >>> out, lse = flash_attention_forward(q, k, v, block_size=2)
        >>> s = q @ k.transpose(-2, -1) / 2  # scale 1 / sqrt(E) = 1 / 2
        >>> torch.allclose(out, torch.softmax(s, -1) @ v, atol=1e-6)
        True
        >>> torch.allclose(lse, torch.logsumexp(s, -1))
        True
    """
    _check_qkv(query, key, value)
    _check_block_size(block_size)
    B, H, L, _ = query.shape
    S, Ev = key.shape[-2], value.shape[-1]
    scale = 1.0 / math.sqrt(query.shape[-1])
    # Per query block: output O, running max m, running sum l (kept in HBM in the paper).
    # Lists of blocks, replaced rather than written in place, so autograd can go through.
    q_blocks = query.split(block_size, dim=-2)
    o = list(query.new_zeros(B, H, L, Ev).split(block_size, dim=-2))
    m = list(query.new_full((B, H, L), -math.inf).split(block_size, dim=-1))
    l = list(query.new_zeros(B, H, L).split(block_size, dim=-1))  # noqa: E741
    for k0 in range(0, S, block_size):  # outer loop: one K/V block at a time
        k1 = min(k0 + block_size, S)  # the last block may be shorter
        k_blk, v_blk = key[..., k0:k1, :], value[..., k0:k1, :]
        for i, q_blk in enumerate(q_blocks):  # inner loop: every query block
            q0 = i * block_size
            q1 = q0 + q_blk.shape[-2]
            kind = tile_kind(q0, q1, k0, k1, is_causal)
            if kind == "skip":  # fully masked: no FLOPs, no memory traffic
                continue
            s = q_blk @ k_blk.transpose(-2, -1) * scale  # [B, H, Bq, Bk]: the only tile
            if kind == "partial":
                rows = torch.arange(q0, q1, device=s.device)[:, None]
                cols = torch.arange(k0, k1, device=s.device)[None, :]
                s = s.masked_fill(cols > rows, -math.inf)
            m_new = torch.maximum(m[i], s.amax(dim=-1))
            shift = torch.where(m_new == -math.inf, 0.0, m_new)  # row saw no key yet
            alpha = torch.exp(m[i] - shift)  # rescales what was summed under the old max
            p = torch.exp(s - shift[..., None])
            l_new = alpha * l[i] + p.sum(dim=-1)
            # O stays normalised (Algorithm 1, line 12): undo the old 1 / l, rescale, add
            # the new block, divide by the new l. A row with no key yet keeps O = 0.
            numerator = (alpha * l[i])[..., None] * o[i] + p @ v_blk
            o[i] = numerator / torch.where(l_new > 0, l_new, 1.0)[..., None]
            m[i], l[i] = m_new, l_new
    lse = torch.cat(m, dim=-1) + torch.log(torch.cat(l, dim=-1))  # m + log l, -inf if no key
    return torch.cat(o, dim=-2), lse


# --8<-- [end:flash_attention_forward]


# --8<-- [start:flash_attention]
def flash_attention(
    query: Tensor, key: Tensor, value: Tensor, is_causal: bool = False, block_size: int = 64
) -> Tensor:
    """Drop-in for ``F.scaled_dot_product_attention(query, key, value, is_causal=...)``.

    Args:
        query: ``[B, H, L, E]``.
        key: ``[B, H, S, E]``.
        value: ``[B, H, S, Ev]``.
        is_causal: top-left causal mask.
        block_size: rows of Q and of K/V per tile.

    Returns:
        ``[B, H, L, Ev]``.

    Examples:
        >>> q, k, v = torch.randn(3, 2, 3, 7, 8, generator=torch.Generator().manual_seed(1))
        >>> ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        >>> torch.allclose(flash_attention(q, k, v, True, block_size=3), ref, atol=1e-6)
        True
    """
    return flash_attention_forward(query, key, value, is_causal, block_size)[0]


# --8<-- [end:flash_attention]
