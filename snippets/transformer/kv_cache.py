"""KV cache for incremental decoding: the cache, GQA/MQA (``repeat_kv``), MLA, cost formulas.

Conventions (same as ``transformers``' Llama and ``torch.nn.functional``):

* keys and values are ``[B, H_kv, S, D]`` (batch, KV heads, sequence, head dim); the cache grows
  along the **sequence axis** ``dim=-2``, like ``transformers.cache_utils.DynamicLayer.update``;
* queries are ``[B, H, T, D]`` with ``H = H_kv * n_rep``; query head ``h`` reads KV head
  ``h // n_rep`` (``repeat_interleave`` order, as ``repeat_kv`` and ``enable_gqa=True``);
* the ``T`` new queries are the **last** ``T`` positions of the ``S`` keys, so the causal mask is
  aligned bottom-right: query ``i`` sees keys ``0 .. S - T + i``;
* no RoPE in the cached layer (RoPE is on its own page); sizes in bytes, FLOPs = 2 per multiply-add.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_tensor(x: object, name: str, ndim: int, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")


def _check_int(value: object, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")


def _check_kv_pair(key: Tensor, value: Tensor, kname: str, vname: str) -> None:
    _check_tensor(key, kname, 4, "[B, H_kv, S, D]")
    _check_tensor(value, vname, 4, "[B, H_kv, S, D]")
    if key.shape[:3] != value.shape[:3]:
        raise ValueError(
            f"{vname} must have shape [B, H_kv, S, D_v] with B, H_kv, S of {kname} "
            f"{tuple(key.shape)}, got {tuple(value.shape)}"
        )


# --8<-- [start:repeat_kv]
def repeat_kv(hidden_states: Tensor, n_rep: int) -> Tensor:
    """Copy each KV head ``n_rep`` times (mirrors transformers' Llama ``repeat_kv``).

    Args:
        hidden_states: ``[B, H_kv, S, D]`` keys or values.
        n_rep: query heads per KV head, ``H // H_kv``.

    Returns:
        ``[B, H_kv * n_rep, S, D]``; head ``h`` is KV head ``h // n_rep``.

    Examples:
        >>> kv = torch.tensor([10.0, 20.0]).view(1, 2, 1, 1)  # 2 KV heads
        >>> repeat_kv(kv, 3).flatten().tolist()  # grouped, not tiled
        [10.0, 10.0, 10.0, 20.0, 20.0, 20.0]
    """
    _check_tensor(hidden_states, "hidden_states", 4, "[B, H_kv, S, D]")
    _check_int(n_rep, "n_rep", 1)
    b, h_kv, s, d = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    # expand makes a view (no copy); the reshape merges (H_kv, n_rep) so copies sit together.
    expanded = hidden_states[:, :, None, :, :].expand(b, h_kv, n_rep, s, d)
    return expanded.reshape(b, h_kv * n_rep, s, d)


# --8<-- [end:repeat_kv]


# --8<-- [start:kv_cache]
class KVCache:
    """One layer's cache; same contract as transformers' ``DynamicLayer.update``."""

    def __init__(self) -> None:
        self.keys: Tensor | None = None  # [B, H_kv, S, D]
        self.values: Tensor | None = None

    def update(self, key_states: Tensor, value_states: Tensor) -> tuple[Tensor, Tensor]:
        """Append the new tokens' K/V on the sequence axis; return ALL keys and values.

        Args:
            key_states: ``[B, H_kv, T, D]`` keys of the ``T`` new tokens.
            value_states: ``[B, H_kv, T, D_v]`` their values.

        Returns:
            ``(keys, values)``: ``[B, H_kv, S + T, D]`` and ``[B, H_kv, S + T, D_v]``.
        """
        _check_kv_pair(key_states, value_states, "key_states", "value_states")
        if self.keys is None or self.values is None:
            self.keys, self.values = key_states, value_states
        else:
            if key_states.shape[:2] != self.keys.shape[:2] or (
                key_states.shape[3] != self.keys.shape[3]
                or value_states.shape[3] != self.values.shape[3]
            ):
                raise ValueError(
                    f"key_states must have shape [B, H_kv, T, D] matching the cache "
                    f"{tuple(self.keys.shape)} in B, H_kv, D, got {tuple(key_states.shape)}"
                )
            self.keys = torch.cat([self.keys, key_states], dim=-2)
            self.values = torch.cat([self.values, value_states], dim=-2)
        return self.keys, self.values

    def get_seq_length(self) -> int:
        """Number of cached tokens ``S``."""
        return 0 if self.keys is None else self.keys.shape[-2]


# --8<-- [end:kv_cache]


class CausalSelfAttention(nn.Module):
    """The weights of one causal self-attention layer (names as in transformers' Llama).

    Args:
        hidden_size: model width ``E``.
        num_heads: query heads ``H``.
        num_kv_heads: key/value heads ``H_kv`` (``H`` for MHA, ``1`` for MQA).
        head_dim: ``D``; defaults to ``hidden_size // num_heads``.
        dtype: parameter dtype.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        num_kv_heads: int,
        head_dim: int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for value, name in ((hidden_size, "hidden_size"), (num_heads, "num_heads")):
            _check_int(value, name, 1)
        _check_int(num_kv_heads, "num_kv_heads", 1)
        if num_heads % num_kv_heads:
            raise ValueError(
                f"num_heads must be divisible by num_kv_heads, got {num_heads} and {num_kv_heads}"
            )
        head_dim = hidden_size // num_heads if head_dim is None else head_dim
        _check_int(head_dim, "head_dim", 1)
        self.hidden_size, self.head_dim = hidden_size, head_dim
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        kw = {"bias": False, "dtype": dtype}
        self.q_proj = nn.Linear(hidden_size, num_heads * head_dim, **kw)
        self.k_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, **kw)
        self.v_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, **kw)
        self.o_proj = nn.Linear(num_heads * head_dim, hidden_size, **kw)


def _check_decode_inputs(
    layer: CausalSelfAttention, x: Tensor, past_key: Tensor | None, past_value: Tensor | None
) -> None:
    if not isinstance(layer, CausalSelfAttention):
        raise TypeError(f"layer must be a CausalSelfAttention, got {type(layer).__name__}")
    _check_tensor(x, "x", 3, "[B, T, E]")
    if x.shape[-1] != layer.hidden_size or x.shape[1] == 0:
        raise ValueError(
            f"x must have shape [B, T, E] with T >= 1, E = {layer.hidden_size}, "
            f"got {tuple(x.shape)}"
        )
    if (past_key is None) != (past_value is None):
        raise ValueError("past_key and past_value must both be tensors or both be None")
    if past_key is not None and past_value is not None:
        _check_kv_pair(past_key, past_value, "past_key", "past_value")
        want = (x.shape[0], layer.num_kv_heads, past_key.shape[2], layer.head_dim)
        if past_key.shape != want or past_value.shape != want:
            raise ValueError(
                f"past_key and past_value must have shape [B, H_kv, S, D] = "
                f"[{want[0]}, {want[1]}, S, {want[3]}], got {tuple(past_key.shape)} "
                f"and {tuple(past_value.shape)}"
            )


# --8<-- [start:cached_attention]
def cached_attention(query: Tensor, key: Tensor, value: Tensor) -> Tensor:
    """Attention of the ``T`` newest queries over all ``S`` keys (causal, GQA-aware).

    Args:
        query: ``[B, H, T, D]``, the last ``T`` positions of the sequence.
        key: ``[B, H_kv, S, D]`` with ``S >= T`` (cache + new tokens).
        value: ``[B, H_kv, S, D_v]``.

    Returns:
        ``[B, H, T, D_v]``.

    Examples:
        >>> q, k = torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 3, 2)
        >>> v = torch.tensor([0.0, 3.0, 6.0]).view(1, 1, 3, 1)
        >>> float(cached_attention(q, k, v))  # one new query sees all 3 keys
        3.0
    """
    _check_tensor(query, "query", 4, "[B, H, T, D]")
    _check_kv_pair(key, value, "key", "value")
    (b, h, t, d), (s, h_kv) = query.shape, (key.shape[2], key.shape[1])
    if key.shape[0] != b or key.shape[3] != d or h % h_kv or s < t:
        raise ValueError(
            f"key must have shape [B, H_kv, S, D] with B = {b}, D = {d}, H = {h} divisible "
            f"by H_kv and S >= T = {t}, got {tuple(key.shape)}"
        )
    # Bottom-right causal mask: query i is position S - T + i. NOT is_causal=True, whose
    # mask is top-left (tril of [T, S]): a single new query would see key 0 only.
    mask = torch.ones(t, s, dtype=torch.bool, device=query.device).tril(diagonal=s - t)
    key, value = repeat_kv(key, h // h_kv), repeat_kv(value, h // h_kv)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask)


# --8<-- [end:cached_attention]


# --8<-- [start:decode_step]
def decode_step(
    layer: CausalSelfAttention,
    x: Tensor,
    past_key: Tensor | None = None,
    past_value: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run ``layer`` on ``T`` new tokens, reusing the cached K/V of the ``S`` earlier ones.

    Args:
        layer: the attention weights.
        x: ``[B, T, E]`` new tokens (a prompt for prefill, ``T = 1`` per decode step).
        past_key: ``[B, H_kv, S, D]`` cached keys, or ``None`` for an empty cache.
        past_value: ``[B, H_kv, S, D]`` cached values, or ``None``.

    Returns:
        ``(out, keys, values)``: ``[B, T, E]`` outputs, and the cache for the next
        step, ``[B, H_kv, S + T, D]`` each.
    """
    _check_decode_inputs(layer, x, past_key, past_value)
    b, t, _ = x.shape
    d = layer.head_dim
    # Only the NEW tokens are projected: K and V of old tokens never change, Q of old
    # tokens is never needed again. That is the whole saving.
    q = layer.q_proj(x).view(b, t, -1, d).transpose(1, 2)  # [B, H, T, D]
    k = layer.k_proj(x).view(b, t, -1, d).transpose(1, 2)  # [B, H_kv, T, D]
    v = layer.v_proj(x).view(b, t, -1, d).transpose(1, 2)
    if past_key is not None and past_value is not None:
        k = torch.cat([past_key, k], dim=-2)  # sequence axis
        v = torch.cat([past_value, v], dim=-2)
    out = cached_attention(q, k, v)  # [B, H, T, D]
    out = layer.o_proj(out.transpose(1, 2).reshape(b, t, -1))
    return out, k, v


# --8<-- [end:decode_step]


# --8<-- [start:mla]
def _mla_check(query: Tensor, latent: Tensor, w_uk: Tensor, w_uv: Tensor, w_o: Tensor) -> None:
    _check_tensor(query, "query", 4, "[B, H, T, D]")
    _check_tensor(latent, "latent", 3, "[B, S, d_c]")
    _check_tensor(w_uk, "w_uk", 3, "[H, D, d_c]")
    _check_tensor(w_uv, "w_uv", 3, "[H, D_v, d_c]")
    _check_tensor(w_o, "w_o", 2, "[E, H * D_v]")
    (b, h, t, d), (s, c) = query.shape, latent.shape[1:]
    if latent.shape[0] != b or s < t or w_uk.shape != (h, d, c) or w_uv.shape[::2] != (h, c):
        raise ValueError(
            f"latent [B, S, d_c], w_uk [H, D, d_c], w_uv [H, D_v, d_c] must agree with query "
            f"{tuple(query.shape)} and S >= T; got {tuple(latent.shape)}, "
            f"{tuple(w_uk.shape)}, {tuple(w_uv.shape)}"
        )
    if w_o.shape[1] != h * w_uv.shape[1]:
        raise ValueError(f"w_o must have shape [E, H * D_v], got {tuple(w_o.shape)}")


def mla_attention_naive(
    query: Tensor, latent: Tensor, w_uk: Tensor, w_uv: Tensor, w_o: Tensor
) -> Tensor:
    """MLA without RoPE, decompressing every cached latent into per-head K and V.

    Args:
        query: ``[B, H, T, D]`` queries ``W^Q h`` of the ``T`` newest tokens.
        latent: ``[B, S, d_c]`` the cache ``c^KV`` (one vector per token, all heads).
        w_uk: ``[H, D, d_c]`` up-projection to keys.
        w_uv: ``[H, D_v, d_c]`` up-projection to values.
        w_o: ``[E, H * D_v]`` output projection.

    Returns:
        ``[B, T, E]``.
    """
    _mla_check(query, latent, w_uk, w_uv, w_o)
    b, _, t, _ = query.shape
    keys = torch.einsum("hdc,bsc->bhsd", w_uk, latent)  # k_j = W^UK c_j: [B, H, S, D]
    values = torch.einsum("hdc,bsc->bhsd", w_uv, latent)
    out = cached_attention(query, keys, values)  # [B, H, T, D_v]
    return out.transpose(1, 2).reshape(b, t, -1) @ w_o.T


def mla_attention_absorbed(
    query: Tensor, latent: Tensor, w_uk: Tensor, w_uv: Tensor, w_o: Tensor
) -> Tensor:
    """The same MLA with ``W^UK`` absorbed into the query and ``W^UV`` into ``W^O``.

    ``q^T (W^UK c) = (W^UK^T q)^T c``: scores come straight from the latents, which act
    as ONE key/value head shared by all query heads (MQA with head dim ``d_c``).

    Args:
        query: ``[B, H, T, D]``.
        latent: ``[B, S, d_c]``.
        w_uk: ``[H, D, d_c]``.
        w_uv: ``[H, D_v, d_c]``.
        w_o: ``[E, H * D_v]``.

    Returns:
        ``[B, T, E]``, equal to :func:`mla_attention_naive`.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> args = [torch.randn(*s, generator=g, dtype=torch.float64)
        ...         for s in ((2, 4, 1, 8), (2, 5, 3), (4, 8, 3), (4, 8, 3), (6, 32))]
        >>> torch.allclose(mla_attention_absorbed(*args), mla_attention_naive(*args))
        True
    """
    _mla_check(query, latent, w_uk, w_uv, w_o)
    h, d = query.shape[1], query.shape[3]
    q_latent = torch.einsum("bhtd,hdc->bhtc", query, w_uk)  # W^UK^T q: [B, H, T, d_c]
    shared = latent[:, None]  # [B, 1, S, d_c]: keys AND values for every head
    # scale stays 1/sqrt(D), the head dim of the scores we reproduce, not 1/sqrt(d_c).
    mask = torch.ones(q_latent.shape[2], shared.shape[2], dtype=torch.bool).tril(
        diagonal=shared.shape[2] - q_latent.shape[2]
    )
    context = F.scaled_dot_product_attention(
        q_latent, shared, shared, attn_mask=mask.to(query.device), scale=d**-0.5, enable_gqa=True
    )  # [B, H, T, d_c]: attention-weighted sum of latents
    w_ov = torch.einsum("ehv,hvc->ehc", w_o.view(w_o.shape[0], h, -1), w_uv)  # W^O W^UV
    return torch.einsum("bhtc,ehc->bte", context, w_ov)


# --8<-- [end:mla]


# --8<-- [start:sizes]
def kv_cache_size(
    num_layers: int,
    num_kv_heads: int,
    head_dim: int,
    batch_size: int,
    seq_len: int,
    bytes_per_element: int = 2,
) -> int:
    """Bytes of a K/V cache: ``2 * L * H_kv * D * B * S * bytes`` (2 = K and V).

    Args:
        num_layers: ``L``.
        num_kv_heads: ``H_kv`` (``H`` for MHA, groups for GQA, ``1`` for MQA).
        head_dim: ``D``.
        batch_size: ``B``.
        seq_len: cached tokens ``S``.
        bytes_per_element: 2 for fp16/bf16, 4 for fp32, 1 for fp8/int8.

    Returns:
        Size in bytes.

    Examples:
        >>> kv_cache_size(32, 32, 128, 1, 4096) / 2**30  # Llama-2-7B, 4k tokens, fp16
        2.0
        >>> kv_cache_size(40, 40, 128, 1, 1)  # Llama-13B: 800 KB per token (vLLM §3)
        819200
    """
    for value, name in (
        (num_layers, "num_layers"),
        (num_kv_heads, "num_kv_heads"),
        (head_dim, "head_dim"),
        (bytes_per_element, "bytes_per_element"),
    ):
        _check_int(value, name, 1)
    _check_int(batch_size, "batch_size", 0)
    _check_int(seq_len, "seq_len", 0)
    return 2 * num_layers * num_kv_heads * head_dim * batch_size * seq_len * bytes_per_element


def mla_cache_size(
    num_layers: int,
    kv_lora_rank: int,
    qk_rope_head_dim: int,
    batch_size: int,
    seq_len: int,
    bytes_per_element: int = 2,
) -> int:
    """Bytes of an MLA cache: ``(d_c + d_h^R) * L * B * S * bytes`` (DeepSeek-V2 Table 1).

    Args:
        num_layers: ``L``.
        kv_lora_rank: ``d_c``, size of the latent ``c^KV``.
        qk_rope_head_dim: ``d_h^R``, size of the shared RoPE key.
        batch_size: ``B``.
        seq_len: cached tokens ``S``.
        bytes_per_element: 2 for fp16/bf16.

    Returns:
        Size in bytes.

    Examples:
        >>> mha = kv_cache_size(60, 128, 128, 1, 1, 1)  # DeepSeek-V2 shapes, if it were MHA
        >>> mla = mla_cache_size(60, 512, 64, 1, 1, 1)
        >>> mha, mla, mla / (128 * 60)  # elements per token; MLA = 4.5 d_h l
        (1966080, 34560, 4.5)
    """
    for value, name in ((num_layers, "num_layers"), (kv_lora_rank, "kv_lora_rank")):
        _check_int(value, name, 1)
    _check_int(qk_rope_head_dim, "qk_rope_head_dim", 0)
    _check_int(bytes_per_element, "bytes_per_element", 1)
    _check_int(batch_size, "batch_size", 0)
    _check_int(seq_len, "seq_len", 0)
    return (kv_lora_rank + qk_rope_head_dim) * num_layers * batch_size * seq_len * bytes_per_element


# --8<-- [end:sizes]


# --8<-- [start:costs]
def decode_step_cost(
    num_matmul_params: int,
    num_layers: int,
    num_heads: int,
    num_kv_heads: int,
    head_dim: int,
    context_len: int,
    batch_size: int = 1,
    bytes_per_element: int = 2,
) -> tuple[int, int]:
    """FLOPs and bytes read by ONE decode step (one new token per sequence).

    FLOPs: ``2 N`` per token for the weight matmuls plus ``4 L H D S`` for ``q k^T`` and
    ``p v``. Bytes: every weight once per step (shared by the batch) plus every sequence's
    whole cache. Norms, softmax and the embedding row are ignored.

    Args:
        num_matmul_params: ``N``, weights used in matmuls (not the embedding, not norms).
        num_layers: ``L``.
        num_heads: ``H``.
        num_kv_heads: ``H_kv``.
        head_dim: ``D``.
        context_len: ``S``, tokens attended to (cache + the new one).
        batch_size: ``B``.
        bytes_per_element: 2 for fp16/bf16.

    Returns:
        ``(flops, bytes)``.

    Examples:
        >>> flops, nbytes = decode_step_cost(6_607_077_376, 32, 32, 32, 128, 4096)
        >>> round(flops / 1e9, 2), round(nbytes / 1e9, 2), round(flops / nbytes, 2)
        (15.36, 15.36, 1.0)
    """
    for value, name in ((num_matmul_params, "num_matmul_params"), (context_len, "context_len")):
        _check_int(value, name, 0)
    _check_int(batch_size, "batch_size", 1)
    attention = 4 * num_layers * num_heads * head_dim * context_len  # per sequence
    flops = batch_size * (2 * num_matmul_params + attention)
    cache = kv_cache_size(
        num_layers, num_kv_heads, head_dim, batch_size, context_len, bytes_per_element
    )
    return flops, num_matmul_params * bytes_per_element + cache


def generation_attention_flops(
    num_tokens: int, num_heads: int, head_dim: int, use_cache: bool = True
) -> int:
    """Score + weighted-sum FLOPs of ONE layer to generate ``n`` tokens one at a time.

    With a cache, step ``t`` runs 1 query over ``t`` keys: ``4 H D t``, total
    ``2 H D n (n + 1)`` = O(n^2). Without, step ``t`` recomputes all ``t x t`` scores:
    ``4 H D t^2``, total ``4 H D n (n + 1)(2n + 1) / 6`` = O(n^3).

    Args:
        num_tokens: ``n``.
        num_heads: ``H``.
        head_dim: ``D``.
        use_cache: whether K/V of earlier tokens are reused.

    Returns:
        FLOPs.

    Examples:
        >>> generation_attention_flops(3, 1, 1), generation_attention_flops(3, 1, 1, False)
        (24, 56)
    """
    _check_int(num_tokens, "num_tokens", 0)
    _check_int(num_heads, "num_heads", 1)
    _check_int(head_dim, "head_dim", 1)
    n, hd = num_tokens, num_heads * head_dim
    if use_cache:
        return 2 * hd * n * (n + 1)
    return 4 * hd * n * (n + 1) * (2 * n + 1) // 6


# --8<-- [end:costs]


def attention_params(hidden_size: int, num_heads: int, num_kv_heads: int, head_dim: int) -> int:
    """Parameters of the four projections: ``2 E H D`` (Q, O) ``+ 2 E H_kv D`` (K, V).

    Args:
        hidden_size: ``E``.
        num_heads: ``H``.
        num_kv_heads: ``H_kv``.
        head_dim: ``D``.

    Returns:
        Parameter count (no biases, as in Llama).

    Examples:
        >>> attention_params(4096, 32, 8, 128) / attention_params(4096, 32, 32, 128)
        0.625
    """
    return 2 * hidden_size * head_dim * (num_heads + num_kv_heads)
