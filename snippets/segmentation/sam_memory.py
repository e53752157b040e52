"""SAM 2's memory (Ravi et al., 2024): which frames it remembers and how a frame attends to them.

SAM 2 tracks an object through a video by conditioning every frame's image features on a small
memory bank before the SAM-style mask decoder runs. Three pieces, following
``facebookresearch/sam2`` (``sam2/modeling/sam2_base.py``, ``sam2/modeling/memory_attention.py``,
``sam2/configs/sam2.1/sam2.1_hiera_b+.yaml``):

* :func:`memory_frame_slots`: the memory bank, a FIFO of the last ``num_maskmem - 1 = 6`` frames
  plus every prompted ("conditioning") frame, with the temporal slot each one gets.
* :func:`split_object_pointers`: each frame's object pointer (its 256-d SAM output token) becomes
  ``256 / 64 = 4`` tokens of the 64-d memory width.
* :class:`MemoryAttentionLayer` and :class:`MemoryAttention`: pre-norm self-attention over the
  current frame, cross-attention to the memories (keys and values 64-d), an MLP; 4 layers.

Simplification: SAM 2 applies 2-D rotary position embeddings (RoPE) to queries and keys in both
attentions (not to the object-pointer tokens); here positions enter additively, as SAM 2 also
does for the memories' keys, so that the layer stays a few lines and can be checked against
``torch.nn.MultiheadAttention``.
"""

from __future__ import annotations

import torch  # noqa: F401 (the doctests use it)
from torch import Tensor, nn


def _check_tensor(name: str, value: object, shape: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )


# --8<-- [start:memory_bank]
def memory_frame_slots(
    frame_idx: int, cond_frames: set[int] | frozenset[int], num_maskmem: int = 7
) -> list[tuple[int, int]]:
    """``(t_pos, frame)`` of the memories that frame ``frame_idx`` attends to.

    Args:
        frame_idx: the frame being segmented; it is not a prompted frame.
        cond_frames: indices of the prompted (conditioning) frames, at least one.
        num_maskmem: memory slots, the current frame included (7 in SAM 2 / 2.1).

    Returns:
        Prompted frames first, all with temporal slot 0 and never evicted; then the up to
        ``num_maskmem - 1`` frames just before ``frame_idx``, oldest first, in slots
        ``1 .. num_maskmem - 1`` (slot ``num_maskmem - 1`` is the previous frame). A prompted
        frame among them is not stored twice.

    Examples:
        >>> memory_frame_slots(10, {0})  # the prompt plus a FIFO of the last 6 frames
        [(0, 0), (1, 4), (2, 5), (3, 6), (4, 7), (5, 8), (6, 9)]
        >>> memory_frame_slots(2, {0})  # early frames: fewer memories
        [(0, 0), (6, 1)]
    """
    if not cond_frames or frame_idx in cond_frames:
        raise ValueError(
            f"cond_frames must be non-empty and must not contain "
            f"frame_idx={frame_idx}, got {sorted(cond_frames)}"
        )
    if num_maskmem < 1:
        raise ValueError(f"num_maskmem must be >= 1, got {num_maskmem}")
    slots = [(0, c) for c in sorted(cond_frames)]  # prompts: always kept
    for t_pos in range(1, num_maskmem):
        # t_pos = num_maskmem - 1 is the previous frame, frame_idx - 1.
        prev = frame_idx - (num_maskmem - t_pos)
        if prev >= 0 and prev not in cond_frames:
            slots.append((t_pos, prev))
    return slots


def split_object_pointers(obj_ptrs: Tensor, mem_dim: int = 64) -> Tensor:
    """``[B, P, C]`` object pointers -> ``[B, P * C // mem_dim, mem_dim]`` tokens.

    Examples:
        >>> tuple(split_object_pointers(torch.zeros(1, 16, 256)).shape)  # 16 pointers x 4
        (1, 64, 64)
    """
    _check_tensor("obj_ptrs", obj_ptrs, "[B, P, C]")
    if obj_ptrs.ndim != 3 or obj_ptrs.shape[-1] % mem_dim:
        raise ValueError(
            f"obj_ptrs must have shape [B, P, C] with C divisible by "
            f"mem_dim={mem_dim}, got {tuple(obj_ptrs.shape)}"
        )
    b, p, c = obj_ptrs.shape
    # Pointer by pointer, each cut into C // mem_dim consecutive chunks.
    return obj_ptrs.reshape(b, p * (c // mem_dim), mem_dim)


# --8<-- [end:memory_bank]


# --8<-- [start:memory_attention]
class Attention(nn.Module):
    """Multi-head attention; keys and values may have another width, ``kv_dim``."""

    def __init__(self, dim: int, kv_dim: int, num_heads: int = 1) -> None:
        super().__init__()
        if dim % num_heads:
            got = f"dim={dim}, num_heads={num_heads}"
            raise ValueError(f"num_heads must divide dim, got {got}")
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(kv_dim, dim)  # memories are 64-d, projected up to 256
        self.v_proj = nn.Linear(kv_dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """``q [B, N, dim]``, ``k, v [B, M, kv_dim]`` -> ``[B, N, dim]``."""
        b, n, dim = q.shape
        h = self.num_heads

        def heads(x: Tensor) -> Tensor:  # [B, L, dim] -> [B, h, L, dim / h]
            return x.reshape(b, x.shape[1], h, dim // h).transpose(1, 2)

        q, k, v = heads(self.q_proj(q)), heads(self.k_proj(k)), heads(self.v_proj(v))
        weights = (q @ k.transpose(-2, -1) / (dim // h) ** 0.5).softmax(-1)
        return self.out_proj((weights @ v).transpose(1, 2).reshape(b, n, dim))


class MemoryAttentionLayer(nn.Module):
    """Pre-norm self-attention, cross-attention to the memories, then an MLP.

    Args:
        dim: width of the current frame's features (256 in SAM 2).
        mem_dim: width of the memories and object-pointer tokens (64).
        num_heads: attention heads (1 in the released configs).
        mlp_dim: hidden width of the MLP (2048).
    """

    def __init__(
        self, dim: int = 256, mem_dim: int = 64, num_heads: int = 1, mlp_dim: int = 2048
    ) -> None:
        super().__init__()
        self.self_attn = Attention(dim, dim, num_heads)
        self.cross_attn = Attention(dim, mem_dim, num_heads)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(dim) for _ in range(3))
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim),
            nn.ReLU(),
            nn.Linear(mlp_dim, dim),
        )

    def forward(self, x: Tensor, memory: Tensor, memory_pos: Tensor) -> Tensor:
        """``x [B, HW, dim]`` frame; ``memory``, ``memory_pos [B, M, mem_dim]``."""
        y = self.norm1(x)
        x = x + self.self_attn(y, y, y)  # the frame looks at itself
        # The frame queries the memories; positions go on the keys only (SAM 2.1).
        x = x + self.cross_attn(self.norm2(x), memory + memory_pos, memory)
        return x + self.mlp(self.norm3(x))


class MemoryAttention(nn.Module):
    """``num_layers`` memory-attention layers and a final LayerNorm (4 in SAM 2).

    Examples:
        >>> attn = MemoryAttention(num_layers=2, dim=16, mem_dim=8, mlp_dim=32)
        >>> frame, pos = torch.zeros(1, 4 * 4, 16), torch.zeros(1, 4 * 4, 16)
        >>> memory = torch.zeros(1, 3 * 4 * 4 + 8, 8)  # 3 memory frames + 8 pointer tokens
        >>> tuple(attn(frame, pos, memory, torch.zeros_like(memory)).shape)
        (1, 16, 16)
    """

    def __init__(self, num_layers: int = 4, **layer_kwargs: int) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        layers = (MemoryAttentionLayer(**layer_kwargs) for _ in range(num_layers))
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(self.layers[0].norm1.normalized_shape)

    def forward(
        self,
        curr: Tensor,
        curr_pos: Tensor,
        memory: Tensor,
        memory_pos: Tensor,
    ) -> Tensor:
        """Condition the frame ``curr [B, HW, dim]`` on ``memory [B, M, mem_dim]``."""
        for name, value in (("curr", curr), ("curr_pos", curr_pos), ("memory", memory)):
            _check_tensor(name, value, "[B, L, D]")
        _check_tensor("memory_pos", memory_pos, "[B, M, mem_dim]")
        if curr.ndim != 3 or memory.ndim != 3 or curr.shape[0] != memory.shape[0]:
            raise ValueError(
                f"curr [B, HW, dim] and memory [B, M, mem_dim] must be 3-D "
                f"with the same B, "
                f"got {tuple(curr.shape)} and {tuple(memory.shape)}"
            )
        # SAM 2 adds the position code once, scaled by 0.1, at the input.
        x = curr + 0.1 * curr_pos
        for layer in self.layers:
            x = layer(x, memory, memory_pos)
        return self.norm(x)


# --8<-- [end:memory_attention]
