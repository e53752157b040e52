"""The Transformer block: pre-norm vs post-norm, GELU and SwiGLU FFNs, a tiny Llama-style model.

Conventions (same as the reference libraries, so the tests compare outputs directly):

* ``EncoderBlock`` / ``DecoderBlock`` have the parameter names of ``nn.TransformerEncoderLayer`` /
  ``nn.TransformerDecoderLayer`` (``batch_first=True``), so ``load_state_dict`` copies weights;
  masks follow PyTorch: ``True`` (or ``-inf``) means "may NOT attend", padding mask ``[B, L]``.
* ``TinyDecoderLM`` has the parameter names of ``transformers``' ``LlamaForCausalLM`` minus the
  ``model.`` prefix; its ``attention_mask`` follows Hugging Face: ``1`` = real token, ``0`` = pad.
* Linear weights are stored as ``nn.Linear`` stores them: ``[out_features, in_features]``.
* FLOPs count 2 per multiply-accumulate, as ``torch.utils.flop_counter.FlopCounterMode`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Sublayer = Callable[[Tensor], Tensor]


def _check_tensor(x: object, name: str, shape: str, ndim: int | None = None) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")


def _check_heads(d_model: int, n_heads: int, n_kv_heads: int | None = None) -> None:
    for name, v in (("d_model", d_model), ("nhead", n_heads), ("n_kv_heads", n_kv_heads)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} must be divisible by nhead={n_heads}")
    if n_kv_heads is not None and n_heads % n_kv_heads:
        raise ValueError(f"nhead={n_heads} must be divisible by n_kv_heads={n_kv_heads}")


def _check_sequence(x: object, d_model: int, name: str) -> None:
    _check_tensor(x, name, "[B, L, d_model]", ndim=3)
    shape = tuple(x.shape)  # type: ignore[attr-defined]
    if shape[-1] != d_model:
        raise ValueError(f"{name} must be [B, L, d_model={d_model}], got {shape}")


def _check_masks(x: Tensor, mask: object, pad: object, mask_name: str, pad_name: str) -> None:
    b, n = x.shape[:2]
    if mask is not None:
        _check_tensor(mask, mask_name, f"[L, L] = [{n}, {n}]")
        if tuple(mask.shape) != (n, n):  # type: ignore[attr-defined]
            got = tuple(mask.shape)  # type: ignore[attr-defined]
            raise ValueError(f"{mask_name} must be [L, L] = [{n}, {n}], got {got}")
    if pad is not None:
        _check_tensor(pad, pad_name, f"[B, L] = [{b}, {n}]")
        if tuple(pad.shape) != (b, n) or pad.dtype != torch.bool:  # type: ignore[attr-defined]
            got = f"{pad.dtype} {tuple(pad.shape)}"  # type: ignore[attr-defined]
            raise ValueError(f"{pad_name} must be a bool tensor [B, L] = [{b}, {n}], got {got}")


# --8<-- [start:blocks]
def pre_norm_block(
    x: Tensor, attn: Sublayer, ffn: Sublayer, norm1: Sublayer, norm2: Sublayer
) -> Tensor:
    """Pre-norm: ``h = x + attn(norm1(x))``, then ``h + ffn(norm2(h))``.

    Args:
        x: ``[B, L, d]`` residual stream.
        attn: attention sublayer ``[B, L, d] -> [B, L, d]``.
        ffn: feed-forward sublayer ``[B, L, d] -> [B, L, d]``.
        norm1: norm on the input of the attention branch.
        norm2: norm on the input of the FFN branch.

    Returns:
        ``[B, L, d]``; with ``attn = ffn = 0`` it is ``x`` itself.

    Examples:
        >>> x = torch.randn(1, 3, 4)
        >>> zero = lambda h: 0 * h
        >>> ln = nn.LayerNorm(4, elementwise_affine=False)
        >>> torch.equal(pre_norm_block(x, zero, zero, ln, ln), x)
        True
    """
    _check_tensor(x, "x", "[B, L, d]")
    h = x + attn(norm1(x))  # the norm sees a copy; the stream x itself is untouched
    return h + ffn(norm2(h))


def post_norm_block(
    x: Tensor, attn: Sublayer, ffn: Sublayer, norm1: Sublayer, norm2: Sublayer
) -> Tensor:
    """Post-norm (Vaswani et al. 2017): ``h = norm1(x + attn(x))``, ``norm2(h + ffn(h))``.

    Args:
        x: ``[B, L, d]`` input.
        attn: attention sublayer ``[B, L, d] -> [B, L, d]``.
        ffn: feed-forward sublayer ``[B, L, d] -> [B, L, d]``.
        norm1: norm applied after the attention residual addition.
        norm2: norm applied after the FFN residual addition.

    Returns:
        ``[B, L, d]``, normalised: every token leaves with mean 0, variance 1 (LayerNorm).

    Examples:
        >>> x = 5 + 3 * torch.randn(1, 3, 4)
        >>> zero = lambda h: 0 * h
        >>> ln = nn.LayerNorm(4, elementwise_affine=False)
        >>> y = post_norm_block(x, zero, zero, ln, ln)
        >>> round(float(y.mean(-1).abs().max()), 4)
        0.0
    """
    _check_tensor(x, "x", "[B, L, d]")
    h = norm1(x + attn(x))  # the stream itself is normalised after every sublayer
    return norm2(h + ffn(h))


# --8<-- [end:blocks]


# --8<-- [start:ffn]
def swiglu(x: Tensor, w_gate: Tensor, w_up: Tensor, w_down: Tensor) -> Tensor:
    """SwiGLU FFN (Shazeer 2020), as ``LlamaMLP``: ``down(silu(gate(x)) * up(x))``.

    Args:
        x: ``[..., d]`` input.
        w_gate: ``[d_ff, d]`` gate weight (``nn.Linear`` layout, no bias).
        w_up: ``[d_ff, d]`` up-projection weight.
        w_down: ``[d, d_ff]`` weight.

    Returns:
        ``[..., d]``.

    Examples:
        >>> x = torch.ones(1, 1)
        >>> w = torch.ones(1, 1)
        >>> round(float(swiglu(x, w, 2 * w, w)), 4)  # silu(1) * 2 = 0.7311 * 2
        1.4621
    """
    _check_tensor(x, "x", "[..., d]")
    for name, w in (("w_gate", w_gate), ("w_up", w_up), ("w_down", w_down)):
        _check_tensor(w, name, "[d_ff, d]" if name != "w_down" else "[d, d_ff]", ndim=2)
    d, d_ff = x.shape[-1], w_gate.shape[0]
    if w_gate.shape != (d_ff, d) or w_up.shape != (d_ff, d) or w_down.shape != (d, d_ff):
        raise ValueError(
            f"w_gate, w_up must be [d_ff, d] and w_down [d, d_ff] with d = x.shape[-1] = {d}, got "
            f"{tuple(w_gate.shape)}, {tuple(w_up.shape)}, {tuple(w_down.shape)}"
        )
    gate = F.silu(F.linear(x, w_gate))  # the non-linearity is on the GATE only
    return F.linear(gate * F.linear(x, w_up), w_down)


def swiglu_hidden_size(d_model: int, multiple_of: int = 256) -> int:
    """Llama's SwiGLU width: ``int(2 * 4d / 3)`` rounded UP to a multiple of ``multiple_of``.

    Args:
        d_model: model width ``d``.
        multiple_of: rounding granularity (256 in ``meta-llama/llama``).

    Returns:
        The hidden size ``d_ff``.

    Examples:
        >>> swiglu_hidden_size(4096)  # int(10922.67) = 10922 -> 43 * 256
        11008
    """
    hidden = int(2 * (4 * d_model) / 3)  # 3 matrices of d x 8d/3 = 8d^2, as 2 of d x 4d
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class SwiGLU(nn.Module):
    """``LlamaMLP`` with the same parameter names (``gate_proj``, ``up_proj``, ``down_proj``)."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ff, bias=False)
        self.up_proj = nn.Linear(d_model, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """``[..., d] -> [..., d]``."""
        return swiglu(x, self.gate_proj.weight, self.up_proj.weight, self.down_proj.weight)


# --8<-- [end:ffn]


# --8<-- [start:encoder]
class EncoderBlock(nn.Module):
    """``nn.TransformerEncoderLayer(batch_first=True)`` written out: same names, same math."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        _check_heads(d_model, nhead)
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.p, self.act, self.norm_first = dropout, getattr(F, activation), norm_first

    def _sa(self, x: Tensor, mask: Tensor | None, pad: Tensor | None) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=pad, need_weights=False)
        return F.dropout(out[0], self.p, self.training)  # dropout1: on the branch output

    def _ff(self, x: Tensor) -> Tensor:
        h = F.dropout(self.act(self.linear1(x)), self.p, self.training)  # inside the FFN
        return F.dropout(self.linear2(h), self.p, self.training)  # dropout2: branch output

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
    ) -> Tensor:
        """``src [B, L, d]``, ``src_mask [L, L]``, ``src_key_padding_mask [B, L]`` (True = pad)."""
        _check_sequence(src, self.norm1.normalized_shape[0], "src")
        _check_masks(src, src_mask, src_key_padding_mask, "src_mask", "src_key_padding_mask")
        attn = lambda h: self._sa(h, src_mask, src_key_padding_mask)  # noqa: E731
        block = pre_norm_block if self.norm_first else post_norm_block
        return block(src, attn, self._ff, self.norm1, self.norm2)


# --8<-- [end:encoder]


# --8<-- [start:decoder]
class DecoderBlock(nn.Module):
    """``nn.TransformerDecoderLayer(batch_first=True)``: self-attn, cross-attn, FFN."""

    def __init__(
        self, d_model: int, nhead: int, dim_feedforward: int = 2048, norm_first: bool = False
    ) -> None:
        super().__init__()
        _check_heads(d_model, nhead)
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.norm_first = norm_first

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None) -> Tensor:
        """``tgt [B, T, d]`` (decoder stream), ``memory [B, S, d]`` (encoder output)."""
        d = self.norm1.normalized_shape[0]
        _check_sequence(tgt, d, "tgt")
        _check_sequence(memory, d, "memory")
        _check_masks(tgt, tgt_mask, None, "tgt_mask", "")
        sublayers = [
            (lambda h: self.self_attn(h, h, h, attn_mask=tgt_mask)[0], self.norm1),
            (lambda h: self.multihead_attn(h, memory, memory)[0], self.norm2),  # K, V = memory
            (lambda h: self.linear2(F.relu(self.linear1(h))), self.norm3),
        ]
        x = tgt
        for fn, norm in sublayers:  # the same residual rule three times
            x = x + fn(norm(x)) if self.norm_first else norm(x + fn(x))
        return x


# --8<-- [end:decoder]


# --8<-- [start:llama]
def rms_norm(x: Tensor, weight: Tensor, eps: float = 1e-6) -> Tensor:
    """``weight * x / sqrt(mean(x^2) + eps)`` over the last axis: no mean, no bias."""
    return weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def rope_cos_sin(seq_len: int, head_dim: int, theta: float = 10000.0) -> tuple[Tensor, Tensor]:
    """``[L, head_dim]`` cos and sin tables, half-split layout (Hugging Face ``rotate_half``)."""
    inv_freq = theta ** -(torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(seq_len, dtype=torch.float64)[:, None] * inv_freq  # [L, hd/2]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate each pair ``(x_i, x_{i + hd/2})`` of ``x [B, H, L, hd]`` by its angle."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat([-x2, x1], dim=-1) * sin.to(x.dtype)


class RMSNorm(nn.Module):
    """Learnable RMSNorm, the parameter named ``weight`` as in ``LlamaRMSNorm``."""

    def __init__(self, d_model: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d_model)), eps

    def forward(self, x: Tensor) -> Tensor:
        """``[..., d] -> [..., d]``."""
        return rms_norm(x, self.weight, self.eps)


class CausalSelfAttention(nn.Module):
    """Llama attention: RoPE on q and k, grouped-query heads (``n_kv_heads <= n_heads``)."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int) -> None:
        super().__init__()
        self.n_heads, self.n_kv, self.hd = n_heads, n_kv_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, n_heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d_model, n_kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d_model, n_kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(n_heads * self.hd, d_model, bias=False)

    def forward(self, x: Tensor, allowed: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        """``x [B, L, d]``; ``allowed [B, 1, L, L]`` bool, True = may attend."""
        b, n, _ = x.shape
        q = self.q_proj(x).view(b, n, self.n_heads, self.hd).transpose(1, 2)  # [B, H, L, hd]
        k = self.k_proj(x).view(b, n, self.n_kv, self.hd).transpose(1, 2)  # [B, Hkv, L, hd]
        v = self.v_proj(x).view(b, n, self.n_kv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # positions enter here only
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, enable_gqa=True)
        return self.o_proj(out.transpose(1, 2).reshape(b, n, -1))


class LlamaBlock(nn.Module):
    """One pre-norm decoder layer: RMSNorm -> attention, RMSNorm -> SwiGLU, two residuals."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, d_ff: int, eps: float) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(d_model, eps)
        self.self_attn = CausalSelfAttention(d_model, n_heads, n_kv_heads)
        self.post_attention_layernorm = RMSNorm(d_model, eps)
        self.mlp = SwiGLU(d_model, d_ff)

    def forward(self, x: Tensor, allowed: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        """``[B, L, d] -> [B, L, d]``."""
        attn = lambda h: self.self_attn(h, allowed, cos, sin)  # noqa: E731
        return pre_norm_block(
            x, attn, self.mlp, self.input_layernorm, self.post_attention_layernorm
        )


class TinyDecoderLM(nn.Module):
    """Embedding -> N ``LlamaBlock`` -> final RMSNorm -> ``lm_head``: a decoder-only LM."""

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        n_layers: int,
        n_heads: int,
        n_kv_heads: int,
        d_ff: int,
        rope_theta: float = 10000.0,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        _check_heads(d_model, n_heads, n_kv_heads)
        self.embed_tokens = nn.Embedding(vocab_size, d_model)
        blocks = [LlamaBlock(d_model, n_heads, n_kv_heads, d_ff, eps) for _ in range(n_layers)]
        self.layers = nn.ModuleList(blocks)
        self.norm = RMSNorm(d_model, eps)  # the stream is normalised once, here, at the end
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.theta, self.head_dim = rope_theta, d_model // n_heads

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """``input_ids [B, L]`` int, ``attention_mask [B, L]`` (1 = token) -> logits ``[B, L, V]``."""
        _check_tensor(input_ids, "input_ids", "[B, L]", ndim=2)
        b, n = input_ids.shape
        allowed = torch.ones(n, n, dtype=torch.bool, device=input_ids.device).tril()
        if attention_mask is not None:
            _check_tensor(attention_mask, "attention_mask", f"[B, L] = [{b}, {n}]", ndim=2)
            if attention_mask.shape != input_ids.shape:
                raise ValueError(
                    f"attention_mask must be [B, L] = [{b}, {n}], got {tuple(attention_mask.shape)}"
                )
            # A pad query keeps its own key, so no row is empty (NaN); its output is unused.
            allowed = allowed & attention_mask.bool()[:, None, None, :] | torch.eye(n).bool()
        cos, sin = rope_cos_sin(n, self.head_dim, self.theta)
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x = layer(x, allowed, cos, sin)
        return self.lm_head(self.norm(x))


# --8<-- [end:llama]


# --8<-- [start:count]
def decoder_parameter_count(
    d_model: int,
    n_layers: int,
    d_ff: int,
    vocab_size: int,
    n_heads: int,
    n_kv_heads: int,
    tied_embeddings: bool = False,
) -> dict[str, int]:
    """Parameters of a Llama-style model (no biases), split by component.

    Args:
        d_model: width ``d``.
        n_layers: number of blocks.
        d_ff: SwiGLU hidden width.
        vocab_size: vocabulary size ``V``.
        n_heads: query heads.
        n_kv_heads: key/value heads (GQA when fewer than ``n_heads``).
        tied_embeddings: ``lm_head`` shares the embedding matrix.

    Returns:
        Counts for ``attention``, ``ffn``, ``norms``, ``embeddings`` and their ``total``.

    Examples:
        >>> decoder_parameter_count(4096, 32, 11008, 32000, 32, 32)["total"]  # Llama-2-7B
        6738415616
    """
    _check_heads(d_model, n_heads, n_kv_heads)
    kv_dim = n_kv_heads * (d_model // n_heads)
    attention = 2 * d_model * d_model + 2 * d_model * kv_dim  # q, o: d x d; k, v: d x kv_dim
    counts = {
        "attention": n_layers * attention,
        "ffn": n_layers * 3 * d_model * d_ff,  # gate, up, down
        "norms": (2 * n_layers + 1) * d_model,  # two RMSNorm weights per layer + final
        "embeddings": (1 if tied_embeddings else 2) * vocab_size * d_model,
    }
    return counts | {"total": sum(counts.values())}


def encoder_layer_parameter_count(d_model: int, dim_feedforward: int, bias: bool = True) -> int:
    """``numel`` of ``nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, bias=bias)``.

    Args:
        d_model: width ``d``.
        dim_feedforward: FFN hidden width.
        bias: linear biases and LayerNorm biases (PyTorch drops both when ``bias=False``).

    Returns:
        The parameter count; it does not depend on ``nhead``.

    Examples:
        >>> encoder_layer_parameter_count(512, 2048)  # 12 d^2 + 13 d at d_ff = 4d
        3152384
    """
    weights = 4 * d_model**2 + 2 * d_model * dim_feedforward  # in_proj 3d^2, out_proj d^2, FFN
    biases = 3 * d_model + d_model + dim_feedforward + d_model  # in_proj, out_proj, linear1, 2
    norms = 2 * (2 * d_model if bias else d_model)  # LayerNorm weight (+ bias)
    return weights + (biases if bias else 0) + norms


def block_forward_flops(
    seq_len: int, d_model: int, d_ff: int, swiglu: bool = False
) -> dict[str, int]:
    """Forward FLOPs of one block on one sequence (2 per multiply-add, matmuls only).

    Multi-head attention with ``n_kv_heads = n_heads``; the mask is ignored (a causal kernel
    that skips masked tiles does about half of ``scores``).

    Args:
        seq_len: tokens ``n`` in the sequence.
        d_model: width ``d``.
        d_ff: FFN hidden width.
        swiglu: three FFN matrices (gate, up, down) instead of two.

    Returns:
        FLOPs of the ``projections`` (Q, K, V, O), the attention ``scores`` (``QK^T`` and
        ``AV``) and the ``ffn``.

    Examples:
        >>> f = block_forward_flops(6 * 64, 64, 4 * 64)  # n = 6d: attention == projections
        >>> f["scores"] == f["projections"] + f["ffn"]
        True
    """
    n, d = seq_len, d_model
    return {
        "projections": 2 * n * 4 * d * d,  # Q, K, V, O: four n x d x d matmuls
        "scores": 2 * 2 * n * n * d,  # Q K^T and weights @ V: n x n x d each
        "ffn": 2 * n * d * d_ff * (3 if swiglu else 2),
    }


# --8<-- [end:count]
