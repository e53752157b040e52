"""Alignment losses: DPO, sequence log-probs, PPO pieces (clip, value, KL), GAE and GRPO.

Conventions (TRL / Hugging Face):

* ``labels`` mark prompt and padding tokens with ``-100``; ``sequence_logps`` shifts by one
  token itself (logits at position ``t`` predict the token at ``t + 1``), as
  ``LlamaForCausalLM`` does when it computes its loss.
* ``dpo_loss`` returns the per-example losses ``[B]``; the implicit rewards
  ``beta * (logp - ref_logp)`` come from the separate ``dpo_implicit_rewards``.
* Every loss here is a quantity to *minimise*: the PPO/GRPO surrogate objectives are negated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_tensor(x: object, name: str, shape: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of shape {shape}, got {x.dtype}")
    return x


def _check_tensors(shape: str, **tensors: object) -> None:
    """Every argument is a float tensor, all of the first argument's shape."""
    (ref_name, ref), *rest = tensors.items()
    ref = _check_tensor(ref, ref_name, shape)
    for name, x in rest:
        if _check_tensor(x, name, shape).shape != ref.shape:
            raise ValueError(
                f"{name} must have the shape of {ref_name} {tuple(ref.shape)}, got {tuple(x.shape)}"
            )


def _check_number(value: object, name: str, low: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not (value > low if strict else value >= low):
        sign = ">" if strict else ">="
        raise ValueError(f"{name} must be a float {sign} {low}, got {value}")
    return float(value)


# --8<-- [start:dpo]
def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    reference_chosen_logps: Tensor,
    reference_rejected_logps: Tensor,
    beta: float = 0.1,
) -> Tensor:
    """DPO loss of each preference pair (Rafailov et al. 2023, eq. 7).

    Args:
        policy_chosen_logps: ``[B]`` summed log-probs of the chosen responses, policy.
        policy_rejected_logps: ``[B]`` the same for the rejected responses.
        reference_chosen_logps: ``[B]`` chosen responses under the frozen reference model.
        reference_rejected_logps: ``[B]`` rejected responses under the reference model.
        beta: strength of the KL anchor to the reference model, ``> 0``.

    Returns:
        ``[B]`` losses ``-log sigmoid(beta * margin)``.

    Examples:
        >>> z = torch.zeros(1)
        >>> round(float(dpo_loss(z, z, z, z)), 4)  # margin 0: log 2
        0.6931
    """
    _check_tensors(
        "[B]",
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        reference_chosen_logps=reference_chosen_logps,
        reference_rejected_logps=reference_rejected_logps,
    )
    beta = _check_number(beta, "beta", strict=True)
    # How much more the policy prefers chosen over rejected than the reference does.
    pi_logratios = policy_chosen_logps - policy_rejected_logps
    ref_logratios = reference_chosen_logps - reference_rejected_logps
    logits = pi_logratios - ref_logratios
    # logsigmoid, never log(sigmoid(.)): sigmoid(-800) is 0.0 in float64, log(0) = -inf.
    return -F.logsigmoid(beta * logits)


def dpo_implicit_rewards(
    policy_logps: Tensor, reference_logps: Tensor, beta: float = 0.1
) -> Tensor:
    """DPO's implicit reward ``beta * (logp - ref_logp)`` (detached, for logging).

    Args:
        policy_logps: ``[B]`` summed log-probs of responses under the policy.
        reference_logps: ``[B]`` the same responses under the reference model.
        beta: the ``beta`` used in ``dpo_loss``.

    Returns:
        ``[B]`` rewards; ``chosen - rejected`` is the margin ``dpo_loss`` sees.

    Examples:
        >>> dpo_implicit_rewards(torch.tensor([-1.0]), torch.tensor([-3.0]), beta=0.5)
        tensor([1.])
    """
    _check_tensors("[B]", policy_logps=policy_logps, reference_logps=reference_logps)
    beta = _check_number(beta, "beta", strict=True)
    return beta * (policy_logps - reference_logps).detach()


# --8<-- [end:dpo]


# --8<-- [start:sequence_logps]
def sequence_logps(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> Tensor:
    """Sum of the log-probs of the response tokens of each sequence.

    Args:
        logits: ``[B, T, V]`` causal-LM logits; position ``t`` predicts token ``t + 1``.
        labels: ``[B, T]`` token ids, ``ignore_index`` on prompt and padding tokens.
        ignore_index: label value that is not counted.

    Returns:
        ``[B]`` summed log-probabilities (0 for a sequence with no response token).

    Examples:
        >>> logits = torch.zeros(1, 3, 4)  # uniform over 4 tokens
        >>> labels = torch.tensor([[-100, 2, 3]])  # prompt token, then 2 response tokens
        >>> round(float(sequence_logps(logits, labels)), 4)  # 2 * log(1/4)
        -2.7726
    """
    _check_tensor(logits, "logits", "[B, T, V]")
    if logits.ndim != 3:
        raise ValueError(f"logits must have shape [B, T, V], got {tuple(logits.shape)}")
    if not isinstance(labels, Tensor) or labels.is_floating_point():
        raise TypeError("labels must be an integer torch.Tensor of shape [B, T]")
    if labels.shape != logits.shape[:2]:
        raise ValueError(
            f"labels must have shape [B, T] = {tuple(logits.shape[:2])}, got {tuple(labels.shape)}"
        )
    # Shift: the logits at t score the label at t + 1; the last logits predict nothing.
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != ignore_index
    safe = torch.where(mask, labels, 0)  # any valid id; masked out below
    token_logps = torch.gather(logits.log_softmax(-1), 2, safe.unsqueeze(-1)).squeeze(-1)
    return (token_logps * mask).sum(-1)


# --8<-- [end:sequence_logps]


# --8<-- [start:ppo]
def ppo_clip_loss(
    logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, clip_eps: float = 0.2
) -> Tensor:
    """Negated PPO clipped surrogate, per token (Schulman et al. 2017, eq. 7).

    Args:
        logprobs: ``[...]`` log-probs of the sampled tokens under the current policy.
        old_logprobs: ``[...]`` the same under the policy that sampled them.
        advantages: ``[...]`` advantage of each token.
        clip_eps: the ratio is clipped to ``[1 - clip_eps, 1 + clip_eps]``.

    Returns:
        ``[...]`` ``-min(ratio * A, clip(ratio) * A)``.

    Examples:
        >>> lp, a = torch.log(torch.tensor([1.5])), torch.tensor([2.0])
        >>> ppo_clip_loss(lp, torch.zeros(1), a)  # -min(1.5 * 2, 1.2 * 2)
        tensor([-2.4000])
    """
    _check_tensors("[...]", logprobs=logprobs, old_logprobs=old_logprobs, advantages=advantages)
    clip_eps = _check_number(clip_eps, "clip_eps")
    ratio = torch.exp(logprobs - old_logprobs)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    # The min makes the objective pessimistic: no reward for moving the ratio further once
    # it has left the trust region in the direction the advantage favours.
    return -torch.minimum(ratio * advantages, clipped * advantages)


def ppo_value_loss(
    values: Tensor, old_values: Tensor, returns: Tensor, clip_eps: float = 0.2
) -> Tensor:
    """Clipped value loss ``0.5 * max((V - R)^2, (V_clip - R)^2)`` per token.

    Args:
        values: ``[...]`` current value predictions.
        old_values: ``[...]`` predictions when the rollout was collected.
        returns: ``[...]`` targets (advantages + old values).
        clip_eps: ``V_clip = old + clamp(V - old, -clip_eps, clip_eps)``.

    Returns:
        ``[...]`` per-element losses.

    Examples:
        >>> # V hits the target 1, but V_clip = 0.2 does not: max gives 0.5 * 0.8^2
        >>> ppo_value_loss(torch.tensor([1.0]), torch.zeros(1), torch.ones(1))
        tensor([0.3200])
    """
    _check_tensors("[...]", values=values, old_values=old_values, returns=returns)
    clip_eps = _check_number(clip_eps, "clip_eps")
    clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    return 0.5 * torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)


def kl_penalty(logprobs: Tensor, ref_logprobs: Tensor, kind: str = "k1") -> Tensor:
    """Per-token estimate of KL(policy || reference) from tokens sampled by the policy.

    Args:
        logprobs: ``[...]`` log-probs of the sampled tokens under the policy.
        ref_logprobs: ``[...]`` the same tokens under the reference model.
        kind: ``"k1"`` = ``logp - ref_logp`` (unbiased, can be negative) or ``"k3"`` =
            ``r - 1 - log r`` with ``r = p_ref / p`` (unbiased, always ``>= 0``).

    Returns:
        ``[...]`` per-token estimates.

    Examples:
        >>> lp, ref = torch.tensor([0.0]), torch.log(torch.tensor([0.5]))
        >>> kl_penalty(lp, ref, "k1"), kl_penalty(lp, ref, "k3")  # log 2; 0.5 - 1 + log 2
        (tensor([0.6931]), tensor([0.1931]))
    """
    _check_tensors("[...]", logprobs=logprobs, ref_logprobs=ref_logprobs)
    log_r = ref_logprobs - logprobs
    if kind == "k1":
        return -log_r
    if kind == "k3":
        return torch.expm1(log_r) - log_r  # expm1: exact near r = 1, where k3 ~ (log r)^2 / 2
    raise ValueError(f"kind must be 'k1' or 'k3', got {kind!r}")


# --8<-- [end:ppo]


# --8<-- [start:gae]
def compute_gae(
    rewards: Tensor,
    values: Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
    dones: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16), backwards in time.

    Args:
        rewards: ``[B, T]`` reward after each step.
        values: ``[B, T]`` value of each state (the rollout ends after step ``T - 1``, the
            next value is 0, as in TRL's PPO) or ``[B, T + 1]`` (last column bootstraps).
        gamma: discount factor in ``[0, 1]``.
        lam: GAE ``lambda`` in ``[0, 1]``: 0 = one-step TD, 1 = Monte Carlo minus ``V``.
        dones: optional ``[B, T]`` bool, ``True`` where an episode ends after step ``t``.

    Returns:
        ``(advantages, returns)``, both ``[B, T]``; ``returns = advantages + values[:, :T]``.

    Examples:
        >>> adv, ret = compute_gae(torch.tensor([[0.0, 1.0]]), torch.zeros(1, 2), 1.0, 0.5)
        >>> adv  # A_1 = 1; A_0 = 0 + (gamma * lam) * A_1
        tensor([[0.5000, 1.0000]])
    """
    _check_tensor(rewards, "rewards", "[B, T]")
    _check_tensor(values, "values", "[B, T] or [B, T + 1]")
    if rewards.ndim != 2:
        raise ValueError(f"rewards must have shape [B, T], got {tuple(rewards.shape)}")
    b, t_len = rewards.shape
    if values.shape not in ((b, t_len), (b, t_len + 1)):
        raise ValueError(
            f"values must have shape [B, T] or [B, T + 1] with [B, T] = "
            f"{(b, t_len)}, got {tuple(values.shape)}"
        )
    gamma, lam = _check_number(gamma, "gamma"), _check_number(lam, "lam")
    if gamma > 1 or lam > 1:
        raise ValueError(f"gamma and lam must lie in [0, 1], got gamma={gamma}, lam={lam}")
    if dones is None:
        dones = torch.zeros(b, t_len, dtype=torch.bool, device=rewards.device)
    if not isinstance(dones, Tensor) or dones.shape != rewards.shape:
        raise ValueError(f"dones must be a bool torch.Tensor of shape [B, T] = {(b, t_len)}")
    if values.shape[1] == t_len:
        values = torch.cat([values, values.new_zeros(b, 1)], dim=1)
    alive = (~dones.bool()).to(rewards.dtype)  # 0 where the episode ended: no bootstrap
    advantages = torch.zeros_like(rewards)
    last = rewards.new_zeros(b)
    for t in reversed(range(t_len)):  # A_t needs A_{t+1}: iterate backwards
        delta = rewards[:, t] + gamma * values[:, t + 1] * alive[:, t] - values[:, t]
        last = delta + gamma * lam * alive[:, t] * last
        advantages[:, t] = last
    return advantages, advantages + values[:, :t_len]


# --8<-- [end:gae]


# --8<-- [start:grpo]
def grpo_advantages(
    rewards: Tensor, group_size: int, eps: float = 1e-4, scale: bool = True
) -> Tensor:
    """GRPO advantages: each reward minus its group's mean, over the group's std + eps.

    Args:
        rewards: ``[N]`` one scalar reward per response, ``N = prompts * group_size``,
            the ``group_size`` responses of a prompt contiguous (TRL's layout).
        group_size: responses sampled per prompt, ``>= 2``.
        eps: added to the (unbiased) std, as TRL does; an all-equal group gives 0, not NaN.
        scale: ``False`` skips the std division (Dr. GRPO).

    Returns:
        ``[N]`` advantages, shared by every token of a response.

    Examples:
        >>> # group 1: mean 0.5, std 0.7071; group 2 all equal: 0 / (0 + eps) = 0
        >>> grpo_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), group_size=2)
        tensor([ 0.7070, -0.7070,  0.0000,  0.0000])
    """
    _check_tensor(rewards, "rewards", "[N]")
    if rewards.ndim != 1:
        raise ValueError(f"rewards must have shape [N], got {tuple(rewards.shape)}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
        raise ValueError(f"group_size must be an int >= 2, got {group_size!r}")
    if rewards.numel() % group_size:
        raise ValueError(
            f"rewards must have N = prompts * group_size elements, "
            f"got N={rewards.numel()}, group_size={group_size}"
        )
    eps = _check_number(eps, "eps")
    groups = rewards.view(-1, group_size)  # one row per prompt: normalise within the row
    centred = groups - groups.mean(dim=1, keepdim=True)
    if scale:
        centred = centred / (groups.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)


def grpo_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    ref_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_eps: float = 0.2,
    beta: float = 0.04,
    loss_type: str = "grpo",
    clip_eps_high: float | None = None,
) -> Tensor:
    """GRPO loss (DeepSeekMath eq. 3) with the aggregation of GRPO, Dr. GRPO or DAPO.

    Args:
        logprobs: ``[N, T]`` token log-probs under the current policy.
        old_logprobs: ``[N, T]`` under the sampling policy.
        ref_logprobs: ``[N, T]`` under the reference model (k3 KL, DeepSeekMath eq. 4).
        advantages: ``[N]`` from ``grpo_advantages``.
        mask: ``[N, T]`` 1 on response tokens, 0 on padding.
        clip_eps: lower clip range (and upper, unless ``clip_eps_high`` is given).
        beta: KL coefficient (``0`` drops the reference model).
        loss_type: ``"grpo"`` mean per response then over responses; ``"dapo"`` mean over
            all tokens; ``"dr_grpo"`` sum over tokens / (``N * T``), a constant.
        clip_eps_high: upper clip range (DAPO's clip-higher), default ``clip_eps``.

    Returns:
        Scalar loss.

    Examples:
        >>> z, m = torch.zeros(2, 3), torch.tensor([[1.0, 1, 1], [1, 0, 0]])
        >>> float(grpo_loss(z, z, z, torch.tensor([1.0, -1.0]), m))  # ratio 1, KL 0
        0.0
    """
    if loss_type not in ("grpo", "dapo", "dr_grpo"):
        raise ValueError(f"loss_type must be 'grpo', 'dapo' or 'dr_grpo', got {loss_type!r}")
    _check_tensors(
        "[N, T]", logprobs=logprobs, old_logprobs=old_logprobs, ref_logprobs=ref_logprobs
    )
    if logprobs.ndim != 2:
        raise ValueError(f"logprobs must have shape [N, T], got {tuple(logprobs.shape)}")
    if not isinstance(mask, Tensor) or mask.shape != logprobs.shape:
        raise ValueError(f"mask must be a torch.Tensor of shape [N, T] = {tuple(logprobs.shape)}")
    _check_tensor(advantages, "advantages", "[N]")
    if advantages.shape != logprobs.shape[:1]:
        raise ValueError(
            f"advantages must have shape [N] = ({logprobs.shape[0]},), "
            f"got {tuple(advantages.shape)}"
        )
    low = _check_number(clip_eps, "clip_eps")
    high = low if clip_eps_high is None else _check_number(clip_eps_high, "clip_eps_high")
    beta = _check_number(beta, "beta")
    ratio = torch.exp(logprobs - old_logprobs)
    adv = advantages[:, None]  # one advantage for every token of the response
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - low, 1 + high) * adv)
    per_token = -surrogate + beta * kl_penalty(logprobs, ref_logprobs, "k3")
    if loss_type == "grpo":  # 1/G sum_i 1/|o_i| sum_t
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()
    if loss_type == "dapo":  # 1/sum_i |o_i| sum_i sum_t
        return (per_token * mask).sum() / mask.sum().clamp(min=1)
    # dr_grpo: a constant normaliser, so no response is down-weighted for being long
    return (per_token * mask).sum() / mask.numel()


# --8<-- [end:grpo]
