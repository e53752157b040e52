"""LoRA: a frozen ``nn.Linear`` plus a trainable low-rank update ``scaling * B @ A``.

Names and conventions follow Hugging Face ``peft`` 0.21.2 (``peft/tuners/lora/layer.py``):

* ``lora_A`` is an ``nn.Linear(in_features, r, bias=False)``, so its weight is ``[r, in]``;
  ``lora_B`` is an ``nn.Linear(r, out_features, bias=False)``, weight ``[out, r]``;
* ``lora_A`` starts Kaiming-uniform with ``a=sqrt(5)`` (the default of ``nn.Linear``), ``lora_B``
  starts at zero, so the wrapped layer starts equal to the base layer;
* ``scaling = lora_alpha / r`` (rsLoRA: ``lora_alpha / sqrt(r)``);
* dropout is applied to the input of the LoRA branch only; the frozen path sees the raw input;
* output ``= base(x) + lora_B(lora_A(dropout(x))) * scaling``;
* merging adds ``scaling * B @ A`` (shape ``[out, in]``) to the base weight.

The class only wires modules together; the maths lives in module-level functions
(``lora_init``, ``lora_scaling``, ``lora_forward``, ``merge_lora_weight``,
``lora_num_parameters``) so that each can be practised and tested on its own.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_tensor(value: object, name: str, shape: str, ndim: int | None = None) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")


def _check_rank(r: object) -> None:
    if isinstance(r, bool) or not isinstance(r, int):
        raise TypeError(f"r must be a positive int, got {type(r).__name__}")
    if r <= 0:
        raise ValueError(f"r must be a positive int, got {r}")


def _check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite float, got {value}")


def _check_lora_shapes(weight: Tensor, lora_A: Tensor, lora_B: Tensor) -> None:
    _check_tensor(weight, "weight", "[out, in]", ndim=2)
    _check_tensor(lora_A, "lora_A", "[r, in]", ndim=2)
    _check_tensor(lora_B, "lora_B", "[out, r]", ndim=2)
    out_features, in_features = weight.shape
    r = lora_A.shape[0]
    if lora_A.shape[1] != in_features:
        raise ValueError(
            f"lora_A must have shape [r, in] with in = {in_features}, got {tuple(lora_A.shape)}"
        )
    if tuple(lora_B.shape) != (out_features, r):
        raise ValueError(
            f"lora_B must have shape [out, r] = [{out_features}, {r}], got {tuple(lora_B.shape)}"
        )


# --8<-- [start:lora_init]
def lora_init(
    in_features: int,
    out_features: int,
    r: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Initial ``lora_A`` (Kaiming-uniform, a=sqrt(5)) and ``lora_B`` (zeros), as peft.

    Args:
        in_features: ``in`` of the wrapped layer.
        out_features: ``out`` of the wrapped layer.
        r: rank of the update.
        generator: optional RNG for ``lora_A``.
        dtype: dtype of both tensors.

    Returns:
        ``(lora_A [r, in], lora_B [out, r])``.

    Examples:
        >>> A, B = lora_init(16, 4, r=2, generator=torch.Generator().manual_seed(0))
        >>> A.shape, B.shape, bool(B.eq(0).all()), bool(A.abs().max() <= 16 ** -0.5)
        (torch.Size([2, 16]), torch.Size([4, 2]), True, True)
    """
    _check_rank(r)
    for value, name in ((in_features, "in_features"), (out_features, "out_features")):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    # kaiming_uniform_(a=sqrt(5)): gain = sqrt(2 / (1 + 5)),
    # bound = gain * sqrt(3 / fan_in) = 1 / sqrt(in).
    # A random: B's gradient (dL/dh) (A x)^T is non-zero at step 0.
    bound = 1.0 / math.sqrt(in_features)
    lora_A = torch.empty(r, in_features, dtype=dtype)
    lora_A.uniform_(-bound, bound, generator=generator)
    # B zero: B @ A = 0, so the wrapped layer starts exactly equal to the base layer.
    lora_B = torch.zeros(out_features, r, dtype=dtype)
    return lora_A, lora_B


# --8<-- [end:lora_init]


# --8<-- [start:lora_scaling]
def lora_scaling(r: int, lora_alpha: float, use_rslora: bool = False) -> float:
    """The factor in front of ``B @ A``: ``alpha / r`` (rsLoRA: ``alpha / sqrt(r)``).

    Args:
        r: rank of the update.
        lora_alpha: the ``alpha`` hyper-parameter.
        use_rslora: rank-stabilised scaling (Kalajdzievski, 2023).

    Returns:
        The scaling factor.

    Examples:
        >>> lora_scaling(8, 16), lora_scaling(16, 16, use_rslora=True)
        (2.0, 4.0)
    """
    _check_rank(r)
    _check_number(lora_alpha, "lora_alpha")
    return lora_alpha / math.sqrt(r) if use_rslora else lora_alpha / r


# --8<-- [end:lora_scaling]


# --8<-- [start:lora_forward]
def lora_forward(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    lora_A: Tensor,
    lora_B: Tensor,
    scaling: float,
    lora_dropout: float = 0.0,
    training: bool = False,
) -> Tensor:
    """``x W^T + b + scaling * B A dropout(x)``, without ever forming ``B @ A``.

    Args:
        x: ``[..., in]`` input.
        weight: ``[out, in]`` frozen base weight.
        bias: ``[out]`` frozen base bias, or ``None``.
        lora_A: ``[r, in]`` down-projection.
        lora_B: ``[out, r]`` up-projection.
        scaling: ``lora_alpha / r`` (see ``lora_scaling``).
        lora_dropout: dropout probability on the LoRA branch's input.
        training: apply the dropout (``module.training``).

    Returns:
        ``[..., out]``.

    Examples:
        >>> W, A, B = torch.eye(2), torch.ones(1, 2), torch.ones(2, 1)
        >>> lora_forward(torch.tensor([1.0, 2.0]), W, None, A, B, 0.5)  # x + 0.5 * 3
        tensor([2.5000, 3.5000])
    """
    _check_lora_shapes(weight, lora_A, lora_B)
    _check_tensor(x, "x", f"[..., in] with in = {weight.shape[1]}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x must have shape [..., in] with in = {weight.shape[1]}, got {tuple(x.shape)}"
        )
    _check_number(scaling, "scaling")
    result = F.linear(x, weight, bias)  # frozen path: sees the raw input
    # Dropout on the LoRA branch only.
    h = F.dropout(x, p=lora_dropout, training=training)
    # Two thin matmuls: O(r (in + out)) per token instead of O(in * out) for B @ A.
    return result + F.linear(F.linear(h, lora_A), lora_B) * scaling


# --8<-- [end:lora_forward]


# --8<-- [start:merge_lora_weight]
def merge_lora_weight(weight: Tensor, lora_A: Tensor, lora_B: Tensor, scaling: float) -> Tensor:
    """The merged weight ``W + scaling * B @ A``, shape ``[out, in]`` like ``W``.

    Args:
        weight: ``[out, in]`` base weight.
        lora_A: ``[r, in]``.
        lora_B: ``[out, r]``.
        scaling: ``lora_alpha / r``.

    Returns:
        ``[out, in]`` weight of a plain ``nn.Linear`` with the same output.

    Examples:
        >>> W, A, B = torch.zeros(3, 2), torch.tensor([[1.0, 2.0]]), torch.ones(3, 1)
        >>> merge_lora_weight(W, A, B, 2.0)  # rank 1: every row is 2 * [1, 2]
        tensor([[2., 4.],
                [2., 4.],
                [2., 4.]])
    """
    _check_lora_shapes(weight, lora_A, lora_B)
    _check_number(scaling, "scaling")
    return weight + (lora_B @ lora_A) * scaling  # [out, r] @ [r, in] = [out, in]


# --8<-- [end:merge_lora_weight]


# --8<-- [start:lora_num_parameters]
def lora_num_parameters(in_features: int, out_features: int, r: int) -> int:
    """Trainable parameters LoRA adds to one ``[out, in]`` layer: ``r * (in + out)``.

    Args:
        in_features: ``in`` of the layer.
        out_features: ``out`` of the layer.
        r: rank.

    Returns:
        ``r * in`` (``lora_A``) plus ``out * r`` (``lora_B``).

    Examples:
        >>> lora_num_parameters(4096, 4096, 8)  # full FT: 4096 * 4096 = 16,777,216
        65536
    """
    _check_rank(r)
    return r * in_features + out_features * r


# --8<-- [end:lora_num_parameters]


# --8<-- [start:LoRALinear]
class LoRALinear(nn.Module):
    """``nn.Linear`` wrapper with peft's names: ``base_layer``, ``lora_A``, ``lora_B``.

    Args:
        base: the ``nn.Linear`` to adapt; its parameters are frozen.
        r: rank of the update.
        lora_alpha: ``scaling = lora_alpha / r``.
        lora_dropout: dropout probability on the LoRA branch's input.
        use_rslora: ``scaling = lora_alpha / sqrt(r)``.
        generator: optional RNG for ``lora_A``'s initialisation.

    Examples:
        >>> base = nn.Linear(16, 4)
        >>> layer = LoRALinear(base, r=2, lora_alpha=4)
        >>> x = torch.randn(3, 16)
        >>> torch.equal(layer(x), base(x)), layer.scaling  # B = 0 at the start
        (True, 2.0)
        >>> sum(p.numel() for p in layer.parameters() if p.requires_grad)  # 2 (16 + 4)
        40
    """

    def __init__(
        self,
        base: nn.Linear,
        r: int,
        lora_alpha: float,
        lora_dropout: float = 0.0,
        use_rslora: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            name = type(base).__name__
            raise TypeError(f"base must be a torch.nn.Linear, got {name}")
        _check_number(lora_dropout, "lora_dropout")
        if not 0.0 <= lora_dropout < 1.0:
            raise ValueError(f"lora_dropout must be in [0, 1), got {lora_dropout}")
        # Frozen: no gradients, no optimiser state.
        self.base_layer = base.requires_grad_(False)
        self.r, self.lora_alpha, self.lora_dropout = r, lora_alpha, lora_dropout
        self.scaling = lora_scaling(r, lora_alpha, use_rslora)
        n_in, n_out = base.in_features, base.out_features
        kw = {"bias": False, "device": base.weight.device, "dtype": base.weight.dtype}
        A, B = lora_init(n_in, n_out, r, generator, base.weight.dtype)
        self.lora_A = nn.Linear(n_in, r, **kw)  # weight [r, in]
        self.lora_B = nn.Linear(r, n_out, **kw)  # weight [out, r]
        with torch.no_grad():
            self.lora_A.weight.copy_(A)
            self.lora_B.weight.copy_(B)

    def forward(self, x: Tensor) -> Tensor:
        """``base_layer(x) + lora_B(lora_A(dropout(x))) * scaling``, ``[..., out]``."""
        return lora_forward(
            x,
            self.base_layer.weight,
            self.base_layer.bias,
            self.lora_A.weight,
            self.lora_B.weight,
            self.scaling,
            self.lora_dropout,
            self.training,
        )

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A new plain ``nn.Linear``, weight ``W + scaling * B @ A``: no extra latency."""
        base = self.base_layer
        w = base.weight
        merged = nn.Linear(
            base.in_features, base.out_features, base.bias is not None, w.device, w.dtype
        )
        merged.weight.copy_(
            merge_lora_weight(w, self.lora_A.weight, self.lora_B.weight, self.scaling)
        )
        if base.bias is not None:
            merged.bias.copy_(base.bias)  # LoRA does not touch the bias
        return merged


# --8<-- [end:LoRALinear]
