"""Sparse mixture of experts (MoE): top-k routing, the MoE layer, capacity, balancing losses.

Conventions (same as ``transformers`` 5.23, ``models/mixtral/modeling_mixtral.py``):

* router logits are ``[T, E]`` (``T`` tokens, ``E`` experts); the router is a bias-free linear
  layer whose weight is ``[E, H]``;
* Mixtral routing: softmax over the **expert** axis, take the top-k probabilities, renormalise
  them to sum to 1 (``MixtralTopKRouter``);
* the experts are fused tensors: ``gate_up_proj`` is ``[E, 2I, H]`` (gate rows first, then up
  rows) and ``down_proj`` is ``[E, H, I]``; expert ``e`` computes
  ``down[e] @ (silu(gate[e] @ x) * (up[e] @ x))`` (SwiGLU, ``MixtralExperts``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_tensor(x: object, name: str, ndim: int, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of shape {shape}, got {x.dtype}")


def _check_top_k(top_k: object, num_experts: int) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise TypeError(f"top_k must be an int, got {type(top_k).__name__}")
    if not 1 <= top_k <= num_experts:
        raise ValueError(
            f"top_k must satisfy 1 <= top_k <= num_experts = {num_experts}, got {top_k}"
        )


# --8<-- [start:topk_routing]
def topk_routing(
    router_logits: Tensor,
    top_k: int,
    order: Literal["softmax_topk", "topk_softmax"] = "softmax_topk",
    renormalize: bool = True,
) -> tuple[Tensor, Tensor]:
    """Pick ``top_k`` experts per token and their mixing weights.

    Args:
        router_logits: ``[T, E]`` router scores, one row per token.
        top_k: experts per token, ``1 <= top_k <= E``.
        order: ``"softmax_topk"`` (softmax over all experts, then top-k, as Mixtral in
            transformers) or ``"topk_softmax"`` (softmax over the k selected logits only).
        renormalize: for ``"softmax_topk"``, divide the k probabilities by their sum.

    Returns:
        ``(weights, experts)``: ``[T, top_k]`` weights and int64 expert indices, best first.

    Examples:
        >>> logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
        >>> w, e = topk_routing(logits, 2)
        >>> e.tolist(), round(float(w[0, 0]), 4)  # e^2 / (e^2 + e^1) = 0.7311
        ([[0, 1]], 0.7311)
        >>> w_raw, _ = topk_routing(logits, 2, renormalize=False)
        >>> round(float(w_raw.sum()), 4)  # (e^2 + e) / (e^2 + e + 1 + e^-1)
        0.8808
    """
    _check_tensor(router_logits, "router_logits", 2, "[T, E]")
    _check_top_k(top_k, router_logits.shape[-1])
    if order == "softmax_topk":
        probs = torch.softmax(router_logits, dim=-1)  # over EXPERTS, per token
        weights, experts = torch.topk(probs, top_k, dim=-1)
        if renormalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
    elif order == "topk_softmax":
        top_logits, experts = torch.topk(router_logits, top_k, dim=-1)
        weights = torch.softmax(top_logits, dim=-1)  # sums to 1 by construction
    else:
        raise ValueError(f"order must be 'softmax_topk' or 'topk_softmax', got {order!r}")
    return weights, experts


# --8<-- [end:topk_routing]


def _check_moe_inputs(
    hidden_states: Tensor, router_weight: Tensor, gate_up_proj: Tensor, down_proj: Tensor
) -> None:
    _check_tensor(hidden_states, "hidden_states", hidden_states.ndim, "[..., H]")
    _check_tensor(router_weight, "router_weight", 2, "[E, H]")
    _check_tensor(gate_up_proj, "gate_up_proj", 3, "[E, 2I, H]")
    _check_tensor(down_proj, "down_proj", 3, "[E, H, I]")
    e, h = router_weight.shape
    if hidden_states.ndim == 0 or hidden_states.shape[-1] != h:
        raise ValueError(
            f"hidden_states must have shape [..., H] with H = {h}, got {tuple(hidden_states.shape)}"
        )
    if gate_up_proj.shape[0] != e or gate_up_proj.shape[2] != h or gate_up_proj.shape[1] % 2:
        raise ValueError(
            f"gate_up_proj must have shape [E, 2I, H] = [{e}, 2I, {h}], "
            f"got {tuple(gate_up_proj.shape)}"
        )
    i = gate_up_proj.shape[1] // 2
    if tuple(down_proj.shape) != (e, h, i):
        raise ValueError(
            f"down_proj must have shape [E, H, I] = [{e}, {h}, {i}], got {tuple(down_proj.shape)}"
        )


# --8<-- [start:expert]
def expert_ffn(x: Tensor, gate_up: Tensor, down: Tensor) -> Tensor:
    """One SwiGLU expert: ``[n, H] -> [n, H]`` with ``gate_up [2I, H]``, ``down [H, I]``."""
    gate, up = F.linear(x, gate_up).chunk(2, dim=-1)  # first I rows gate, last I rows up
    return F.linear(F.silu(gate) * up, down)


# --8<-- [end:expert]


# --8<-- [start:moe_naive]
def moe_naive(
    hidden_states: Tensor,
    router_weight: Tensor,
    gate_up_proj: Tensor,
    down_proj: Tensor,
    top_k: int,
) -> Tensor:
    """Sparse MoE layer, one token at a time (the loop to write first).

    Args:
        hidden_states: ``[..., H]`` token states (e.g. ``[B, S, H]``).
        router_weight: ``[E, H]`` router (gate) weight.
        gate_up_proj: ``[E, 2I, H]`` fused gate and up projections.
        down_proj: ``[E, H, I]`` down projections.
        top_k: experts per token.

    Returns:
        ``[..., H]``: for each token, the weighted sum of its ``top_k`` experts' outputs.
    """
    _check_moe_inputs(hidden_states, router_weight, gate_up_proj, down_proj)
    x = hidden_states.reshape(-1, hidden_states.shape[-1])  # [T, H]
    weights, experts = topk_routing(F.linear(x, router_weight), top_k)  # [T, k] each
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for w, e in zip(weights[t], experts[t].tolist(), strict=True):
            out[t] += w * expert_ffn(x[t : t + 1], gate_up_proj[e], down_proj[e])[0]
    return out.reshape(hidden_states.shape)


# --8<-- [end:moe_naive]


# --8<-- [start:moe_grouped]
def moe_grouped(
    hidden_states: Tensor,
    router_weight: Tensor,
    gate_up_proj: Tensor,
    down_proj: Tensor,
    top_k: int,
    keep: Tensor | None = None,
) -> Tensor:
    """Sparse MoE layer, one batched matmul per expert (as ``MixtralExperts``).

    Args:
        hidden_states: ``[..., H]`` token states.
        router_weight: ``[E, H]``; ``gate_up_proj``: ``[E, 2I, H]``; ``down_proj``: ``[E, H, I]``.
        gate_up_proj: ``[E, 2I, H]`` fused gate and up projections.
        down_proj: ``[E, H, I]`` down projections.
        top_k: experts per token.
        keep: optional ``[T, top_k]`` bool mask from :func:`capacity_mask`; a dropped
            (token, expert) pair contributes nothing.

    Returns:
        ``[..., H]``, equal to :func:`moe_naive` (up to summation order).
    """
    _check_moe_inputs(hidden_states, router_weight, gate_up_proj, down_proj)
    x = hidden_states.reshape(-1, hidden_states.shape[-1])
    weights, experts = topk_routing(F.linear(x, router_weight), top_k)
    if keep is not None:
        weights = weights * keep  # dropped pairs get weight 0 (no renormalisation)
    out = torch.zeros_like(x)
    for e in torch.unique(experts).tolist():  # only experts that received a token
        token_idx, slot = torch.where(experts == e)  # tokens routed to e, and in which slot
        y = expert_ffn(x[token_idx], gate_up_proj[e], down_proj[e])  # one matmul per expert
        out.index_add_(0, token_idx, y * weights[token_idx, slot, None])
    return out.reshape(hidden_states.shape)


# --8<-- [end:moe_grouped]


# --8<-- [start:capacity]
def expert_capacity(num_tokens: int, num_experts: int, top_k: int, capacity_factor: float) -> int:
    """Slots per expert: ``ceil(capacity_factor * num_tokens * top_k / num_experts)``.

    Examples:
        >>> expert_capacity(num_tokens=6, num_experts=3, top_k=1, capacity_factor=1.0)
        2
        >>> expert_capacity(10, 4, 2, 1.25)  # ceil(1.25 * 10 * 2 / 4) = ceil(6.25)
        7
    """
    if capacity_factor <= 0:
        raise ValueError(f"capacity_factor must be > 0, got {capacity_factor}")
    return math.ceil(capacity_factor * num_tokens * top_k / num_experts)


def capacity_mask(experts: Tensor, num_experts: int, capacity: int) -> Tensor:
    """Which (token, slot) assignments fit in their expert's ``capacity``.

    Priority: every token's first choice (in token order) before any second choice, and so
    on; an expert accepts assignments until it is full, the rest are dropped.

    Args:
        experts: ``[T, k]`` int64 expert indices from :func:`topk_routing`.
        num_experts: ``E``.
        capacity: slots per expert.

    Returns:
        ``[T, k]`` bool, ``True`` where the assignment is kept.

    Examples:
        >>> capacity_mask(torch.tensor([[0], [0], [1], [0]]), 2, capacity=2).flatten().tolist()
        [True, True, True, False]
    """
    if not isinstance(experts, Tensor) or experts.ndim != 2 or experts.is_floating_point():
        raise TypeError("experts must be an int64 torch.Tensor of shape [T, k]")
    one_hot = F.one_hot(experts.T.reshape(-1), num_experts)  # [k*T, E], slot-major order
    position = one_hot.cumsum(dim=0) * one_hot  # 1-based arrival rank inside each expert
    kept = (position.sum(dim=-1) <= capacity).reshape(experts.shape[1], -1)
    return kept.T  # back to [T, k]


# --8<-- [end:capacity]


def _as_layers(router_logits: Tensor | tuple[Tensor, ...] | list[Tensor]) -> list[Tensor]:
    if isinstance(router_logits, Tensor):
        router_logits = (router_logits,)
    if not isinstance(router_logits, tuple | list) or not router_logits:
        raise TypeError(
            "router_logits must be a tuple of per-layer torch.Tensors of shape [T, E], "
            f"got {type(router_logits).__name__}"
        )
    for layer in router_logits:
        _check_tensor(layer, "router_logits", 2, "[T, E] per layer")
    return list(router_logits)


# --8<-- [start:load_balancing_loss]
def load_balancing_loss(
    router_logits: Tensor | tuple[Tensor, ...],
    num_experts: int,
    top_k: int,
    attention_mask: Tensor | None = None,
) -> Tensor:
    """Switch/Mixtral auxiliary loss ``E * sum_i f_i * P_i`` over all layers' tokens.

    Args:
        router_logits: tuple of per-layer ``[T, E]`` logits (``T = B * S``), or one tensor.
        num_experts: ``E``.
        top_k: experts per token.
        attention_mask: optional ``[B, S]``, 1 for real tokens; padding is ignored.

    Returns:
        Scalar; 1.0 for a perfectly uniform router with ``top_k = 1``, ``top_k`` in general.

    Examples:
        >>> round(float(load_balancing_loss((torch.zeros(6, 3),), 3, 1)), 6)  # P_i = 1/3
        1.0
    """
    layers = _as_layers(router_logits)
    _check_top_k(top_k, num_experts)
    logits = torch.cat(layers, dim=0)  # [L*T, E]: every layer's tokens count the same
    probs = torch.softmax(logits, dim=-1)  # over EXPERTS
    _, chosen = torch.topk(probs, top_k, dim=-1)  # [L*T, k]
    # f_i: hard counts of top-k assignments per token (sums to top_k, not 1)
    assigned = F.one_hot(chosen, num_experts).sum(dim=1).to(probs.dtype)  # [L*T, E]
    if attention_mask is None:
        mask = torch.ones(logits.shape[0], dtype=probs.dtype, device=probs.device)
    else:
        mask = attention_mask.reshape(-1).to(probs.dtype).repeat(len(layers))
        if mask.shape[0] != logits.shape[0]:
            raise ValueError("attention_mask must have B * S = T elements per layer")
    tokens = mask.sum()
    f = (assigned * mask[:, None]).sum(dim=0) / tokens  # fraction of tokens sent to i
    p = (probs * mask[:, None]).sum(dim=0) / tokens  # mean router prob of i, ALL tokens
    return num_experts * torch.sum(f * p)


# --8<-- [end:load_balancing_loss]


# --8<-- [start:z_loss]
def router_z_loss(router_logits: Tensor) -> Tensor:
    """ST-MoE router z-loss: mean over tokens of ``logsumexp(logits)**2``.

    Examples:
        >>> round(float(router_z_loss(torch.zeros(4, 2))), 6)  # log(2)**2
        0.480453
    """
    _check_tensor(router_logits, "router_logits", router_logits.ndim, "[..., E]")
    return torch.logsumexp(router_logits, dim=-1).pow(2).mean()


# --8<-- [end:z_loss]


# --8<-- [start:param_count]
def moe_param_count(
    hidden: int,
    intermediate: int,
    layers: int,
    num_experts: int,
    top_k: int,
    vocab: int,
    heads: int,
    kv_heads: int,
) -> tuple[int, int]:
    """``(total, active per token)`` parameters of a Mixtral-style decoder.

    Only the FFN is replicated per expert; attention, norms and embeddings are shared.

    Examples:
        >>> total, active = moe_param_count(4096, 14336, 32, 8, 2, 32000, 32, 8)
        >>> round(total / 1e9, 1), round(active / 1e9, 1)  # Mixtral 8x7B
        (46.7, 12.9)
    """
    head_dim = hidden // heads
    attn = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim  # q, o; k, v
    expert = 3 * hidden * intermediate  # gate, up, down
    shared = layers * (attn + num_experts * hidden + 2 * hidden)  # + router + 2 RMSNorms
    shared += 2 * vocab * hidden + hidden  # embeddings, untied lm_head, final norm
    return shared + layers * num_experts * expert, shared + layers * top_k * expert


# --8<-- [end:param_count]
