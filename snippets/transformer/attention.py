"""Scaled dot-product attention and multi-head attention, with PyTorch's exact semantics.

Conventions (checked against torch 2.14.1 in ``tests/transformer/test_attention.py``):

* :func:`scaled_dot_product_attention` mirrors ``torch.nn.functional.scaled_dot_product_attention``:
  shapes ``[..., L, E]``, ``[..., S, E]``, ``[..., S, Ev]`` -> ``[..., L, Ev]``; a **boolean**
  ``attn_mask`` is ``True`` where attention is **allowed**; a float mask is **added** to the
  scores; ``is_causal`` builds ``ones(L, S).tril()``, aligned **top-left** when ``L != S``;
  ``enable_gqa`` repeats each K/V head for ``Hq // H`` consecutive query heads; a row with
  nothing to attend to gives **zeros** (torch's ``_safe_softmax``), not NaN.
* :class:`MultiHeadAttention` mirrors ``nn.MultiheadAttention(..., batch_first=True)``: same
  parameter names (its ``state_dict`` loads unchanged); its masks use the OPPOSITE boolean
  convention: ``True`` = masked out (``key_padding_mask``: padding; ``attn_mask``: not allowed).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_tensor(x: object, name: str, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")


def _check_flag(x: object, name: str) -> None:
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be a bool, got {type(x).__name__}")


def _check_mask(mask: object, name: str, shape: str, dtype: torch.dtype) -> None:
    _check_tensor(mask, f"{name} (or None)", shape)
    assert isinstance(mask, Tensor)
    if mask.dtype != torch.bool and mask.dtype != dtype:
        raise TypeError(
            f"{name} must be a bool tensor or have query's dtype {dtype}, got {mask.dtype}"
        )


def _check_sdpa_inputs(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None,
    dropout_p: float,
    is_causal: bool,
    scale: float | None,
    enable_gqa: bool,
) -> None:
    """Every check torch makes (and a few it skips), with messages naming the argument."""
    for x, name, shape in (
        (query, "query", "[..., L, E]"),
        (key, "key", "[..., S, E]"),
        (value, "value", "[..., S, Ev]"),
    ):
        _check_tensor(x, name, shape)
        if x.ndim < 2:
            raise ValueError(
                f"{name} must have shape {shape} (at least 2 dims), got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor {shape}, got {x.dtype}")
        if x.dtype != query.dtype:
            raise TypeError(f"{name} must have query's dtype {query.dtype}, got {x.dtype}")
    e, s = query.shape[-1], key.shape[-2]
    if e == 0:
        raise ValueError("query must have shape [..., L, E] with E >= 1 (the scale is 1/sqrt(E))")
    if key.shape[-1] != e:
        raise ValueError(
            f"key must have shape [..., S, E] with E = query.size(-1) = {e}, got {tuple(key.shape)}"
        )
    if value.shape[-2] != s:
        raise ValueError(
            f"value must have shape [..., S, Ev] with S = key.size(-2) = {s}, "
            f"got {tuple(value.shape)}"
        )
    _check_flag(is_causal, "is_causal")
    _check_flag(enable_gqa, "enable_gqa")
    heads_q = query.shape[:-2]
    batch_k, batch_v = list(key.shape[:-2]), list(value.shape[:-2])
    if enable_gqa:
        if min(query.ndim, key.ndim, value.ndim) < 3:
            raise ValueError(
                "enable_gqa=True needs query [..., Hq, L, E], key [..., H, S, E] and "
                "value [..., H, S, Ev] (a head dim at -3)"
            )
        hq = query.shape[-3]
        for x, name in ((key, "key"), (value, "value")):
            if x.shape[-3] == 0 or hq % x.shape[-3]:
                raise ValueError(
                    f"{name} must have shape [..., H, S, *] with H dividing the "
                    f"query heads Hq = {hq}, got H = {x.shape[-3]}"
                )
        batch_k[-1] = batch_v[-1] = hq  # after repeat_interleave
    try:
        batch = torch.broadcast_shapes(heads_q, tuple(batch_k), tuple(batch_v))
    except RuntimeError:
        raise ValueError(
            f"the batch dims of query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} must broadcast ([..., L, E], [..., S, E], [..., S, Ev])"
        ) from None
    weights = (*batch, query.shape[-2], s)
    if attn_mask is not None:
        _check_mask(attn_mask, "attn_mask", "[..., L, S]", query.dtype)
        if is_causal:
            raise ValueError("attn_mask must be None when is_causal=True (torch raises too)")
        try:
            ok = torch.broadcast_shapes(attn_mask.shape, weights) == weights
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"attn_mask must broadcast to the attention weights [..., L, S] = "
                f"{weights}, got {tuple(attn_mask.shape)}"
            )
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, int | float):
        raise TypeError(f"dropout_p must be a float in [0, 1], got {type(dropout_p).__name__}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout_p must be a float in [0, 1], got {dropout_p}")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)):
        raise TypeError(f"scale must be a float or None, got {type(scale).__name__}")


# --8<-- [start:attention_naive]
def attention_naive(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """One head, spelled out: ``softmax(q k^T / sqrt(E)) v``, softmax written by hand.

    Args:
        query: ``[L, E]``, one row per query.
        key: ``[S, E]``, one row per key.
        value: ``[S, Ev]``.
        mask: optional bool ``[L, S]``, ``True`` where query ``i`` may see key ``j``.

    Returns:
        ``(output [L, Ev], weights [L, S])``; a row whose mask is all False gives NaN.

    Examples:
        >>> q = torch.tensor([[1.0, 0.0]])
        >>> k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> out, w = attention_naive(q, k, torch.eye(2))  # scores 1/sqrt(2) and 0
        >>> round(float(w[0, 0]), 4)  # e^0.7071 / (e^0.7071 + 1)
        0.6698
        >>> out, w = attention_naive(q, k, torch.eye(2), torch.tensor([[False, False]]))
        >>> w  # exp(-inf - (-inf)) = exp(nan): the classic fully-masked row
        tensor([[nan, nan]])
    """
    _check_sdpa_inputs(query, key, value, None, 0.0, False, None, False)
    if query.ndim != 2 or key.ndim != 2 or value.ndim != 2:
        raise ValueError("attention_naive takes query [L, E], key [S, E], value [S, Ev]")
    if mask is not None:
        _check_mask(mask, "mask", "[L, S]", torch.bool)
        if mask.dtype != torch.bool or mask.shape != (query.shape[0], key.shape[0]):
            raise ValueError(
                f"mask must be a bool tensor of shape [L, S] = "
                f"{(query.shape[0], key.shape[0])}, got {tuple(mask.shape)}"
            )
    scores = query @ key.T / math.sqrt(query.shape[-1])  # [L, S]: q_i . k_j / sqrt(E)
    if mask is not None:
        # BEFORE the softmax: the weight becomes e^-inf = 0
        scores = scores.masked_fill(~mask, float("-inf"))
    # Softmax over the KEY axis (each query's weights sum to 1). Subtracting the row max
    # changes nothing mathematically and keeps exp() from overflowing.
    e = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
    weights = e / e.sum(dim=-1, keepdim=True)
    return weights @ value, weights


# --8<-- [end:attention_naive]


# --8<-- [start:softmax_safe]
def softmax_safe(scores: Tensor) -> Tensor:
    """Softmax over the last axis; an all ``-inf`` row gives zeros, as torch's.

    Args:
        scores: ``[..., L, S]`` scores, ``-inf`` where masked.

    Returns:
        ``[..., L, S]``; each row sums to 1, or is all zeros if no score was finite.

    Examples:
        >>> inf = float("inf")
        >>> softmax_safe(torch.tensor([[0.0, -inf], [-inf, -inf]]))
        tensor([[1., 0.],
                [0., 0.]])
    """
    # Rows with nothing to attend to (torch: _safe_softmax in attention.cpp).
    dead = (scores == float("-inf")).all(dim=-1, keepdim=True)
    # Fill them with 0 BEFORE the softmax: a finite input keeps NaN out of the
    # gradient too (zeroing only the output would back-propagate NaN).
    weights = torch.softmax(scores.masked_fill(dead, 0.0), dim=-1)
    return weights.masked_fill(dead, 0.0)


# --8<-- [end:softmax_safe]


# --8<-- [start:scaled_dot_product_attention]
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(Q K^T * scale + mask) V``, as ``F.scaled_dot_product_attention``.

    Args:
        query: ``[..., Hq, L, E]`` (any number of leading dims).
        key: ``[..., H, S, E]``.
        value: ``[..., H, S, Ev]``.
        attn_mask: bool (``True`` = may attend) or float (added), broadcastable
            to ``[..., L, S]``.
        dropout_p: dropout on the weights; always applied, so pass 0.0 in eval.
        is_causal: query ``i`` sees keys ``0..i`` (top-left aligned); needs
            ``attn_mask=None``.
        scale: multiplies the scores; default ``1 / sqrt(E)``.
        enable_gqa: ``Hq`` may be a multiple of ``H``; K/V heads are repeated.

    Returns:
        ``[..., Hq, L, Ev]``.

    Examples:
        >>> q, k = torch.ones(1, 3, 4), torch.ones(1, 3, 4)  # equal scores
        >>> v = torch.tensor([[[0.0], [3.0], [6.0]]])
        >>> scaled_dot_product_attention(q, k, v).flatten().tolist()  # mean of 0, 3, 6
        [3.0, 3.0, 3.0]
        >>> scaled_dot_product_attention(q, k, v, is_causal=True).flatten().tolist()
        [0.0, 1.5, 3.0]
    """
    _check_sdpa_inputs(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    L, S = query.size(-2), key.size(-2)
    scale = 1 / math.sqrt(query.size(-1)) if scale is None else scale
    if enable_gqa:  # K/V head h serves query heads h*g .. h*g + g-1, g = Hq // H
        key = key.repeat_interleave(query.size(-3) // key.size(-3), dim=-3)
        value = value.repeat_interleave(query.size(-3) // value.size(-3), dim=-3)
    scores = query @ key.transpose(-2, -1) * scale  # [..., L, S]
    if is_causal:  # top-left: row i keeps columns j <= i, whatever L and S are
        attn_mask = torch.ones(L, S, dtype=torch.bool, device=query.device).tril()
    if attn_mask is not None and attn_mask.dtype == torch.bool:
        scores = scores.masked_fill(~attn_mask, float("-inf"))  # True = allowed
    elif attn_mask is not None:
        scores = scores + attn_mask  # additive: 0 keeps, -inf removes
    weights = softmax_safe(scores)  # over the KEY axis
    if dropout_p > 0.0:
        # zero each weight with probability p, scale the rest by 1 / (1 - p)
        weights = F.dropout(weights, p=dropout_p)
    return weights @ value


# --8<-- [end:scaled_dot_product_attention]


def _mha_mask_to_bias(mask: Tensor, dtype: torch.dtype) -> Tensor:
    """nn.MultiheadAttention's convention -> additive bias: bool True = masked out = -inf."""
    if mask.dtype == torch.bool:
        bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
        return bias.masked_fill(mask, float("-inf"))
    return mask.to(dtype)


def _check_mha_args(embed_dim: int, num_heads: int) -> None:
    for x, name in ((embed_dim, "embed_dim"), (num_heads, "num_heads")):
        if isinstance(x, bool) or not isinstance(x, int) or x <= 0:
            raise ValueError(f"{name} must be a positive int, got {x!r}")
    if embed_dim % num_heads:
        raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")


# --8<-- [start:mha]
class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first; loads ``nn.MultiheadAttention`` weights.

    Args:
        embed_dim: model width ``E``; each head gets ``E // num_heads``.
        num_heads: number of heads ``h``; must divide ``embed_dim``.
        bias: biases on the input and output projections.

    Examples:
        >>> mha = MultiHeadAttention(8, 2)
        >>> sum(p.numel() for p in mha.parameters())  # 4 E^2 + 4 E = 256 + 32
        288
        >>> mha(torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 8)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        _check_mha_args(embed_dim, num_heads)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        # torch's names: W_Q, W_K, W_V stacked as one [3E, E] matrix, then out_proj.
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        if bias:
            self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)  # torch's _reset_parameters
        if bias:
            nn.init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        attn_mask: Tensor | None = None,
    ) -> Tensor:
        """Attend from ``query`` ``[N, L, E]`` to ``key``/``value`` ``[N, S, E]``.

        Args:
            query: ``[N, L, E]``.
            key: ``[N, S, E]``.
            value: ``[N, S, E]``.
            key_padding_mask: ``[N, S]``; bool ``True`` = padding (ignored), or
                float (added).
            attn_mask: ``[L, S]`` or ``[N * num_heads, L, S]``; bool ``True`` =
                NOT allowed, or float (added).

        Returns:
            ``[N, L, E]``, equal to ``nn.MultiheadAttention``'s first output.
        """
        self._check(query, key, value, key_padding_mask, attn_mask)
        n, L, E = query.shape
        S, h, d = key.shape[1], self.num_heads, self.head_dim
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b = self.in_proj_bias
        b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
        # Project, then split E into h heads of size d: [N, L, E] -> [N, h, L, d].
        q = F.linear(query, w_q, b_q).view(n, L, h, d).transpose(1, 2)
        k = F.linear(key, w_k, b_k).view(n, S, h, d).transpose(1, 2)
        v = F.linear(value, w_v, b_v).view(n, S, h, d).transpose(1, 2)
        # Both masks become one additive bias broadcastable to [N, h, L, S].
        bias = None
        if attn_mask is not None:
            bias = _mha_mask_to_bias(attn_mask, q.dtype)
            bias = bias if bias.ndim == 2 else bias.view(n, h, L, S)  # row b*h + i
        if key_padding_mask is not None:
            pad = _mha_mask_to_bias(key_padding_mask, q.dtype).view(n, 1, 1, S)
            bias = pad if bias is None else bias + pad
        out = scaled_dot_product_attention(q, k, v, attn_mask=bias)  # [N, h, L, d]
        out = out.transpose(1, 2).reshape(n, L, E)  # concatenate the heads
        return self.out_proj(out)

    # --8<-- [end:mha]

    def _check(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
    ) -> None:
        E = self.embed_dim
        for x, name, shape in (
            (query, "query", "[N, L, E]"),
            (key, "key", "[N, S, E]"),
            (value, "value", "[N, S, E]"),
        ):
            _check_tensor(x, name, shape)
            if x.ndim != 3 or x.shape[-1] != E:
                raise ValueError(
                    f"{name} must have shape {shape} with E = embed_dim = {E}, got {tuple(x.shape)}"
                )
            if x.dtype != self.in_proj_weight.dtype:
                raise TypeError(
                    f"{name} must have the parameters' dtype "
                    f"{self.in_proj_weight.dtype}, got {x.dtype}"
                )
        n, L, S = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[0] != n or value.shape[:2] != key.shape[:2]:
            raise ValueError(
                f"key and value must have shape [N, S, E] with N = {n} and the same S, "
                f"got {tuple(key.shape)} and {tuple(value.shape)}"
            )
        for mask, name, shapes in (
            (key_padding_mask, "key_padding_mask", [(n, S)]),
            (attn_mask, "attn_mask", [(L, S), (n * self.num_heads, L, S)]),
        ):
            if mask is None:
                continue
            _check_tensor(mask, f"{name} (or None)", " or ".join(map(str, shapes)))
            if mask.dtype != torch.bool and not mask.is_floating_point():
                raise TypeError(f"{name} must be a bool or float tensor, got {mask.dtype}")
            if tuple(mask.shape) not in shapes:
                raise ValueError(
                    f"{name} must have shape {' or '.join(map(str, shapes))}, "
                    f"got {tuple(mask.shape)}"
                )
