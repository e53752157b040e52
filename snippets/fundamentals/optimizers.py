"""Optimisers from scratch: SGD (momentum, Nesterov), Adam, AdamW, warmup + cosine, clipping.

Conventions (same as ``torch.optim`` in torch 2.14):

* one *step function* per optimiser updates ONE tensor in place and keeps its state in a dict
  with torch's keys (``momentum_buffer``; ``step``, ``exp_avg``, ``exp_avg_sq``,
  ``max_exp_avg_sq``); the ``torch.optim.Optimizer`` subclasses only loop over param groups and
  skip parameters whose ``.grad`` is ``None``;
* SGD's momentum buffer starts AT the first gradient (no dampening on step 1);
* Adam counts steps from 1 and puts ``eps`` outside the square root, after bias-correcting v:
  ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``;
* Adam's ``weight_decay`` is L2 (added to the gradient); AdamW's is decoupled
  (``p *= 1 - lr * weight_decay``), default ``1e-2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


def _check_number(value: Any, name: str, *, below_one: bool = False) -> None:
    """``value`` must be a real number ``>= 0`` (and ``< 1`` for a beta)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if math.isnan(value) or value < 0 or (below_one and value >= 1):
        bound = "in [0, 1)" if below_one else ">= 0"
        raise ValueError(f"{name} must be a float {bound}, got {value}")


def _param_list(params: Any) -> list[Any]:
    """torch.optim's own check, with a message for a non-iterable too."""
    if isinstance(params, Tensor) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be an iterable of Tensors or dicts, got {type(params).__name__}"
        )
    return list(params)


def _check_tensors(param: Any, grad: Any) -> None:
    if not isinstance(param, Tensor):
        raise TypeError(f"param must be a torch.Tensor, got {type(param).__name__}")
    if not isinstance(grad, Tensor) or grad.shape != param.shape:
        got = tuple(grad.shape) if isinstance(grad, Tensor) else type(grad).__name__
        raise TypeError(
            f"grad must be a torch.Tensor of param's shape {tuple(param.shape)}, got {got}"
        )


# --8<-- [start:sgd_step]
@torch.no_grad()
def sgd_step(
    param: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> None:
    """One SGD step on one tensor, in place (the update of ``torch.optim.SGD``).

    Args:
        param: parameter tensor ``[*]``, updated in place.
        grad: its gradient, same shape.
        state: this parameter's state; gets ``"momentum_buffer"`` when ``momentum > 0``.
        lr: learning rate.
        momentum: momentum factor ``mu`` (0: plain SGD).
        dampening: the buffer adds ``(1 - dampening) * grad`` from step 2 on.
        weight_decay: L2 coefficient, added to the gradient as ``weight_decay * param``.
        nesterov: step along ``grad + momentum * buf`` instead of ``buf``.

    Returns:
        None (``param`` and ``state`` are updated).

    Examples:
        >>> p, state = torch.tensor([1.0]), {}
        >>> sgd_step(p, torch.tensor([2.0]), state, lr=0.1, momentum=0.9)
        >>> float(p), float(state["momentum_buffer"])  # buffer starts AT the gradient
        (0.8, 2.0)
        >>> sgd_step(p, torch.tensor([2.0]), state, lr=0.1, momentum=0.9)
        >>> round(float(p), 6), float(state["momentum_buffer"])  # buf = 0.9 * 2 + 2
        (0.42, 3.8)
    """
    _check_tensors(param, grad)
    if weight_decay != 0:
        grad = grad + weight_decay * param  # L2: gradient of (wd / 2) * ||p||^2
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:  # first step: the buffer IS the gradient, no dampening
            buf = state["momentum_buffer"] = grad.clone()
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        # Nesterov: look ahead along the NEW buffer, g + mu * buf_t; plain: step along buf_t.
        grad = grad + momentum * buf if nesterov else buf
    param.add_(grad, alpha=-lr)


# --8<-- [end:sgd_step]


# --8<-- [start:adam_step]
@torch.no_grad()
def adam_step(
    param: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    decoupled_weight_decay: bool = False,
) -> None:
    """One Adam / AdamW step on one tensor, in place (``torch.optim.adam._single_tensor_adam``).

    Args:
        param: parameter tensor ``[*]``, updated in place.
        grad: its gradient, same shape.
        state: this parameter's state (empty before the first step); holds ``"step"``,
            ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v) and, with amsgrad, ``"max_exp_avg_sq"``.
        lr: learning rate.
        betas: ``(beta1, beta2)``, decay rates of m and v.
        eps: added to ``sqrt(v_hat)`` in the denominator.
        weight_decay: L2 coefficient, or the decoupled decay rate for AdamW.
        amsgrad: divide by the running maximum of v (Reddi et al., 2018).
        decoupled_weight_decay: ``True`` for AdamW (``p *= 1 - lr * wd``), else L2.

    Returns:
        None (``param`` and ``state`` are updated).

    Examples:
        >>> p, state = torch.tensor([1.0, 1.0]), {}
        >>> adam_step(p, torch.tensor([3.0, -1e-3]), state, lr=0.1)
        >>> [round(x, 4) for x in p.tolist()]  # step 1 moves each weight by ~lr: sign(g)
        [0.9, 1.1]
        >>> state["step"], round(float(state["exp_avg"][0]), 4)  # m_1 = 0.1 * g
        (1, 0.3)
    """
    _check_tensors(param, grad)
    beta1, beta2 = betas
    if not state:  # lazy init, as torch: zeros, and step 0 = "no update yet"
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(param)
        state["exp_avg_sq"] = torch.zeros_like(param)
        if amsgrad:
            state["max_exp_avg_sq"] = torch.zeros_like(param)
    state["step"] += 1
    t = state["step"]  # 1 on the first update, so 1 - beta**t > 0
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)  # AdamW: shrink p, outside m and v
        else:
            grad = grad + weight_decay * param  # Adam: L2, later divided by sqrt(v)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if amsgrad:  # normalise by the largest v seen so far
        v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
    bias1 = 1 - beta1**t  # E[m_t] = (1 - beta1^t) E[g]
    bias2 = 1 - beta2**t
    denom = v.sqrt() / math.sqrt(bias2) + eps  # eps OUTSIDE the sqrt
    param.addcdiv_(m, denom, value=-lr / bias1)


# --8<-- [end:adam_step]


def _run_closure(closure: Callable[[], Any] | None) -> Any:
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


# --8<-- [start:classes]
class SGD(torch.optim.Optimizer):
    """``torch.optim.SGD``: same arguments, defaults, state and updates."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        for value, name in ((lr, "lr"), (momentum, "momentum"), (weight_decay, "weight_decay")):
            _check_number(value, name)
        _check_number(dampening, "dampening")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov,
        )  # fmt: skip
        super().__init__(_param_list(params), defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = _run_closure(closure)
        for group in self.param_groups:
            hyper = {k: group[k] for k in ("lr", "momentum", "dampening")}
            hyper.update(weight_decay=group["weight_decay"], nesterov=group["nesterov"])
            for p in group["params"]:
                if p.grad is not None:  # torch skips parameters without a gradient
                    sgd_step(p, p.grad, self.state[p], **hyper)
        return loss


class Adam(torch.optim.Optimizer):
    """``torch.optim.Adam``: L2 ``weight_decay`` unless ``decoupled_weight_decay=True``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_number(lr, "lr")
        _check_number(eps, "eps")
        _check_number(weight_decay, "weight_decay")
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        _check_number(betas[0], "betas[0]", below_one=True)
        _check_number(betas[1], "betas[1]", below_one=True)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )  # fmt: skip
        super().__init__(_param_list(params), defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = _run_closure(closure)
        for group in self.param_groups:
            keys = ("lr", "betas", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay")
            hyper = {k: group[k] for k in keys}
            for p in group["params"]:
                if p.grad is not None:
                    adam_step(p, p.grad, self.state[p], **hyper)
        return loss


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay, default ``1e-2``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)


# --8<-- [end:classes]


# --8<-- [start:state_numel]
def state_numel(optimizer: torch.optim.Optimizer) -> int:
    """Number of elements in an optimizer's per-parameter state tensors (``step`` excluded).

    Args:
        optimizer: any ``torch.optim.Optimizer`` (ours or torch's) after at least one step.

    Returns:
        Total ``numel`` of the state tensors: 2x the parameters for Adam (m and v).

    Examples:
        >>> w = torch.nn.Parameter(torch.ones(3, 4))
        >>> opt = Adam([w])
        >>> w.grad = torch.ones(3, 4)
        >>> opt.step()
        >>> state_numel(opt) // w.numel()  # exp_avg + exp_avg_sq
        2
    """
    return sum(
        value.numel()
        for state in optimizer.state.values()
        for key, value in state.items()
        if isinstance(value, Tensor) and key != "step"
    )


# --8<-- [end:state_numel]


# --8<-- [start:warmup_cosine_lr]
def warmup_cosine_lr(
    step: int,
    base_lr: float,
    warmup_steps: int,
    total_steps: int,
    start_factor: float = 0.0,
    eta_min: float = 0.0,
) -> float:
    """Learning rate at ``step``: linear warmup, then cosine decay to ``eta_min``.

    Equals ``SequentialLR([LinearLR(start_factor, total_iters=warmup_steps),
    CosineAnnealingLR(T_max=total_steps - warmup_steps, eta_min)], milestones=[warmup_steps])``
    for ``0 <= step <= total_steps``, and holds ``eta_min`` after ``total_steps``.

    Args:
        step: optimizer steps taken so far (0 for the first update).
        base_lr: peak learning rate, reached at ``step = warmup_steps``.
        warmup_steps: length of the warmup (``0``: none).
        total_steps: step at which the rate reaches ``eta_min``; ``> warmup_steps``.
        start_factor: the first step uses ``start_factor * base_lr``.
        eta_min: final learning rate.

    Returns:
        The learning rate (float).

    Examples:
        >>> [warmup_cosine_lr(s, 1.0, warmup_steps=2, total_steps=4) for s in range(6)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"warmup_steps and total_steps must satisfy 0 <= warmup_steps < total_steps, "
            f"got {warmup_steps} and {total_steps}"
        )
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    decay_steps = total_steps - warmup_steps
    progress = min(step - warmup_steps, decay_steps) / decay_steps  # in [0, 1]
    return eta_min + (base_lr - eta_min) * 0.5 * (1 + math.cos(math.pi * progress))


# --8<-- [end:warmup_cosine_lr]


# --8<-- [start:clip_grad_norm_]
@torch.no_grad()
def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so their joint norm is at most ``max_norm``.

    Args:
        parameters: a tensor or an iterable of tensors; those with ``.grad = None`` are skipped.
        max_norm: largest allowed total norm, ``>= 0``.
        norm_type: p of the p-norm; ``float("inf")`` for the max-abs norm.
        error_if_nonfinite: raise ``RuntimeError`` if the total norm is nan or inf.

    Returns:
        The total norm of the gradients BEFORE clipping (0-d tensor).

    Examples:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, 4.0])
        >>> float(clip_grad_norm_([w], max_norm=1.0))  # the norm before clipping
        5.0
        >>> [round(g, 4) for g in w.grad.tolist()]  # scaled by 1 / (5 + 1e-6)
        [0.6, 0.8]
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not all(isinstance(p, Tensor) for p in params):
        raise TypeError("parameters must be a torch.Tensor or an iterable of torch.Tensor")
    _check_number(max_norm, "max_norm")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    # Norm of the per-tensor norms = norm of all gradients concatenated (any p, inf too).
    norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]
    total = torch.linalg.vector_norm(torch.stack(norms), norm_type)
    if error_if_nonfinite and not bool(torch.isfinite(total)):
        raise RuntimeError(f"the total gradient norm is {float(total)}: cannot clip")
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)  # never scale UP
    for g in grads:
        g.mul_(coef)  # the same factor for every tensor keeps the direction
    return total


# --8<-- [end:clip_grad_norm_]
