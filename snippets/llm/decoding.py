"""Decoding for language models: greedy, temperature, top-k, top-p, repetition penalty, beam
search with length penalty, and speculative sampling.

Conventions (same as ``transformers`` 5.23, ``generation/logits_process.py`` and
``generation/utils.py``):

* every logits function takes ``[..., V]`` scores and returns new scores of the same shape;
  removed tokens get ``filter_value`` (``-inf``), so a softmax gives them probability 0;
* top-k keeps every token whose score is ``>=`` the k-th largest: ties at the boundary all stay;
* top-p keeps the token that crosses ``top_p`` and always keeps ``min_tokens_to_keep`` tokens;
* ``generate(do_sample=True)`` applies temperature, then top-k, then top-p;
* beam search divides a finished hypothesis' summed log-probability by
  ``generated_length ** length_penalty`` (the prompt does not count, the EOS token does).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def _check_logits(logits: Tensor, name: str = "logits") -> None:
    if not isinstance(logits, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape [..., V], got {type(logits).__name__}"
        )
    if logits.ndim < 1 or logits.shape[-1] == 0:
        raise ValueError(f"{name} must have shape [..., V] with V >= 1, got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor [..., V], got {logits.dtype}")


def _check_int(value: int, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")


def _check_float(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")


# --8<-- [start:greedy]
def greedy_next_token(logits: Tensor) -> Tensor:
    """Greedy decoding: the most likely next token (first index on ties, as ``argmax``).

    Args:
        logits: ``[..., V]`` scores of the next token.

    Returns:
        ``[...]`` int64 token ids.

    Examples:
        >>> greedy_next_token(torch.tensor([[0.1, 2.0, 2.0, -1.0]])).tolist()
        [1]
    """
    _check_logits(logits)
    return torch.argmax(logits, dim=-1)


def temperature_logits(logits: Tensor, temperature: float) -> Tensor:
    """Divide the logits by ``temperature`` (``TemperatureLogitsWarper``).

    Args:
        logits: ``[..., V]`` scores.
        temperature: ``> 0``; below 1 sharpens the softmax, above 1 flattens it.

    Returns:
        ``[..., V]`` scaled scores.

    Examples:
        >>> temperature_logits(torch.tensor([2.0, -1.0]), 0.5).tolist()
        [4.0, -2.0]
    """
    _check_logits(logits)
    _check_float(temperature, "temperature")
    if not temperature > 0:
        raise ValueError(f"temperature must be a float > 0 (use greedy for 0), got {temperature}")
    return logits / temperature


# --8<-- [end:greedy]


# --8<-- [start:top_k]
def top_k_logits(
    logits: Tensor,
    top_k: int,
    filter_value: float = -math.inf,
    min_tokens_to_keep: int = 1,
) -> Tensor:
    """Keep the ``top_k`` highest scores, set the rest to ``filter_value`` (``TopKLogitsWarper``).

    Args:
        logits: ``[..., V]`` scores.
        top_k: how many tokens to keep, ``>= 1``; ``top_k >= V`` keeps all.
        filter_value: score given to removed tokens.
        min_tokens_to_keep: never keep fewer tokens than this.

    Returns:
        ``[..., V]`` scores; ties with the k-th largest score are all kept.

    Examples:
        >>> top_k_logits(torch.tensor([1.0, 3.0, 2.0, 2.0]), 2).tolist()  # tie: 3 kept
        [-inf, 3.0, 2.0, 2.0]
    """
    _check_logits(logits)
    _check_int(top_k, "top_k", 1)
    _check_int(min_tokens_to_keep, "min_tokens_to_keep", 1)
    k = min(max(top_k, min_tokens_to_keep), logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # k-th largest, kept as [..., 1]
    return logits.masked_fill(logits < kth, filter_value)  # strict <: ties survive


# --8<-- [end:top_k]


# --8<-- [start:top_p]
def top_p_logits(
    logits: Tensor,
    top_p: float,
    filter_value: float = -math.inf,
    min_tokens_to_keep: int = 1,
) -> Tensor:
    """Nucleus filtering: keep the smallest set of top tokens whose mass is ``>= top_p``.

    Args:
        logits: ``[..., V]`` scores.
        top_p: probability mass to keep, in ``[0, 1]``.
        filter_value: score given to removed tokens.
        min_tokens_to_keep: the best ``min_tokens_to_keep`` tokens always stay.

    Returns:
        ``[..., V]`` scores (``TopPLogitsWarper``).

    Examples:
        >>> x = torch.log(torch.tensor([0.5, 0.3, 0.2]))
        >>> (top_p_logits(x, 0.6) > -math.inf).tolist()  # 0.5 < 0.6: 0.3 crosses, kept
        [True, True, False]
    """
    _check_logits(logits)
    _check_float(top_p, "top_p")
    if not 0.0 <= top_p <= 1.0:
        raise ValueError(f"top_p must be a float in [0, 1], got {top_p}")
    _check_int(min_tokens_to_keep, "min_tokens_to_keep", 1)
    # Ascending, as transformers: the cumulative mass of the *worst* tokens. A token is removed
    # when it and everything below it hold at most 1 - top_p; the token that crosses the
    # threshold has more than that below-or-at it, so it stays.
    sorted_logits, sorted_idx = torch.sort(logits, descending=False)
    cum_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cum_probs <= (1 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False  # the best tokens, never all removed
    remove = remove_sorted.scatter(-1, sorted_idx, remove_sorted)  # back to vocab order
    return logits.masked_fill(remove, filter_value)


# --8<-- [end:top_p]


# --8<-- [start:repetition]
def repetition_penalty_logits(logits: Tensor, input_ids: Tensor, penalty: float) -> Tensor:
    """Penalise tokens already in ``input_ids`` (``RepetitionPenaltyLogitsProcessor``).

    Args:
        logits: ``[B, V]`` next-token scores.
        input_ids: ``[B, L]`` int64 tokens so far (prompt included); repeats count once.
        penalty: ``> 0``; ``> 1`` discourages repeats, ``< 1`` encourages them.

    Returns:
        ``[B, V]`` scores: a seen token's positive score is divided by ``penalty``, a
        negative one multiplied, so both move down when ``penalty > 1``.

    Examples:
        >>> s = repetition_penalty_logits(torch.tensor([[2.0, -2.0, 1.0]]),
        ...                               torch.tensor([[0, 1, 1]]), 2.0)
        >>> s.tolist()
        [[1.0, -4.0, 1.0]]
    """
    _check_logits(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [B, V], got {tuple(logits.shape)}")
    if not isinstance(input_ids, Tensor):
        raise TypeError(f"input_ids must be a torch.Tensor [B, L], got {type(input_ids).__name__}")
    if input_ids.ndim != 2 or input_ids.shape[0] != logits.shape[0]:
        raise ValueError(f"input_ids must have shape [B, L] with B = {logits.shape[0]}")
    if input_ids.dtype != torch.int64:
        raise TypeError(f"input_ids must be an int64 tensor [B, L], got {input_ids.dtype}")
    _check_float(penalty, "penalty")
    if not penalty > 0:
        raise ValueError(f"penalty must be a float > 0, got {penalty}")
    seen = logits.gather(-1, input_ids)  # [B, L]
    # Dividing a NEGATIVE logit by penalty > 1 would move it up, towards 0: multiply instead.
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return logits.scatter(-1, input_ids, seen)  # a repeated id writes the same value twice


# --8<-- [end:repetition]


# --8<-- [start:sample]
def sample_next_token(
    logits: Tensor,
    generator: torch.Generator,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> Tensor:
    """Sample the next token in ``generate``'s order: temperature, then top-k, then top-p.

    Args:
        logits: ``[B, V]`` next-token scores.
        generator: seeded ``torch.Generator`` for ``torch.multinomial``.
        temperature: ``> 0``; 1 leaves the logits alone.
        top_k: 0 switches top-k off.
        top_p: 1.0 switches top-p off.

    Returns:
        ``[B]`` int64 sampled token ids.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> sample_next_token(torch.tensor([[0.0, 5.0, 1.0]]), g, top_k=1).tolist()
        [1]
    """
    if temperature != 1.0:
        logits = temperature_logits(logits, temperature)
    if top_k != 0:
        logits = top_k_logits(logits, top_k)
    if top_p < 1.0:
        logits = top_p_logits(logits, top_p)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# --8<-- [end:sample]


# --8<-- [start:beam_search]
def beam_search(
    logits_fn: Callable[[Tensor], Tensor],
    input_ids: Tensor,
    num_beams: int,
    max_new_tokens: int,
    eos_token_id: int,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
) -> tuple[Tensor, float]:
    """Beam search as ``generate(num_beams=..., do_sample=False)`` runs it (batch of one).

    Args:
        logits_fn: maps ``[n, t]`` token ids to ``[n, V]`` next-token logits.
        input_ids: ``[P]`` int64 prompt.
        num_beams: beams kept per step, ``>= 1``.
        max_new_tokens: at most this many generated tokens.
        eos_token_id: the token that finishes a hypothesis.
        length_penalty: finished score = sum log p / generated_length ** length_penalty.
        early_stopping: ``True``, ``False`` or ``"never"``, as in transformers.

    Returns:
        ``(tokens, score)``: ``[P + n]`` prompt plus best hypothesis and its score.

    Examples:
        >>> table = torch.log(torch.tensor([[0.3, 0.3, 0.4], [0.9, 0.05, 0.05],
        ...                                 [0.1, 0.4, 0.5]]))  # row = last token
        >>> tokens, score = beam_search(lambda s: table[s[:, -1]], torch.tensor([2]),
        ...                             num_beams=2, max_new_tokens=2, eos_token_id=0)
        >>> tokens.tolist(), round(score, 4)  # log(0.4 * 0.9) / 2; greedy takes 0.5 first
        ([2, 1, 0], -0.5108)
    """
    _check_int(num_beams, "num_beams", 1)
    _check_int(max_new_tokens, "max_new_tokens", 1)
    if not isinstance(input_ids, Tensor) or input_ids.ndim != 1 or input_ids.numel() == 0:
        raise TypeError("input_ids must be a non-empty int64 torch.Tensor of shape [P]")
    if early_stopping not in (True, False, "never"):
        raise ValueError(f"early_stopping must be True, False or 'never', got {early_stopping!r}")
    k, prompt = num_beams, input_ids.numel()
    max_length = prompt + max_new_tokens
    seqs = input_ids.repeat(k, 1)  # [k, t] running hypotheses
    scores = torch.full((k,), -1e9)  # only beam 0 is live at first: no k copies of one token
    scores[0] = 0.0
    done_seqs = [input_ids] * k  # finished hypotheses, best first
    done_scores = torch.full((k,), -1e9)
    done = torch.zeros(k, dtype=torch.bool)
    is_first_k = torch.arange(2 * k) < k  # only the best k candidates may finish
    can_improve = True
    cur = prompt
    while True:
        logp = torch.log_softmax(logits_fn(seqs).float(), dim=-1)  # [k, V]
        vocab = logp.shape[-1]
        total = (logp + scores[:, None]).reshape(-1)
        # 2k candidates: even if k of them end in EOS, k live ones remain.
        cand_scores, flat = torch.topk(total, 2 * k)
        cand = torch.cat([seqs[flat // vocab], (flat % vocab)[:, None]], dim=1)
        hit = (cand[:, -1] == eos_token_id) | (cur + 1 >= max_length)
        # Live beams: the best k candidates that did not just stop.
        live_scores = cand_scores + hit.float() * -1e9
        live = torch.topk(live_scores, k).indices
        seqs, scores = cand[live], live_scores[live]
        # Finished: length-normalised by the number of generated tokens (EOS included).
        norm = cand_scores / ((cur + 1 - prompt) ** length_penalty)
        norm += float(bool(done.all()) and early_stopping is True) * -1e9  # full: closed
        norm += float(not can_improve) * -1e9
        norm += (~(hit & is_first_k)).float() * -1e9  # only just-finished top-k enter
        merged = torch.cat([done_scores, norm])
        best = torch.topk(merged, k).indices
        pool = done_seqs + list(cand)
        done_seqs = [pool[i] for i in best.tolist()]
        done_scores = merged[best]
        done = torch.cat([done, hit & is_first_k])[best]
        cur += 1
        # Can a live beam still beat the worst finished one? (transformers' heuristic)
        gen_len = (
            max_length - prompt
            if early_stopping == "never" and length_penalty > 0
            else cur - prompt
        )
        best_live = scores[:1] / (gen_len**length_penalty)
        worst_done = torch.where(done, done_scores.min(), -1e9)
        can_improve = can_improve and bool((best_live > worst_done).any())
        closed = bool(done.all()) and early_stopping is True
        if not can_improve or closed or bool(hit.all()):
            return done_seqs[0], float(done_scores[0])


# --8<-- [end:beam_search]


# --8<-- [start:speculative]
def acceptance_probability(p: Tensor, q: Tensor) -> Tensor:
    """``min(1, p(x) / q(x))`` for every token ``x`` (Leviathan et al. 2023, Algorithm 1).

    Args:
        p: ``[..., V]`` target probabilities.
        q: ``[..., V]`` draft probabilities; a token with ``q = 0`` is never proposed.

    Returns:
        ``[..., V]`` acceptance probabilities.

    Examples:
        >>> acceptance_probability(torch.tensor([0.2, 0.8]), torch.tensor([0.5, 0.5])).tolist()
        [0.4000000059604645, 1.0]
    """
    return torch.where(q > 0, (p / q).clamp(max=1.0), torch.ones_like(p))


def residual_distribution(p: Tensor, q: Tensor) -> Tensor:
    """``norm(max(0, p - q))``: where to sample after a rejection.

    Args:
        p: ``[..., V]`` target probabilities.
        q: ``[..., V]`` draft probabilities.

    Returns:
        ``[..., V]`` probabilities (``p`` itself when ``p == q``: then nothing is rejected).

    Examples:
        >>> residual_distribution(torch.tensor([0.2, 0.8]), torch.tensor([0.5, 0.5])).tolist()
        [0.0, 1.0]
    """
    r = (p - q).clamp(min=0.0)
    mass = r.sum(dim=-1, keepdim=True)
    return torch.where(mass > 0, r / mass.clamp(min=1e-30), p)


def speculative_step(
    target_probs: Tensor, draft_probs: Tensor, draft_tokens: Tensor, generator: torch.Generator
) -> Tensor:
    """Verify ``gamma`` draft tokens with one target pass; return the tokens kept.

    Args:
        target_probs: ``[gamma + 1, V]`` target ``p`` after each draft prefix.
        draft_probs: ``[gamma, V]`` draft ``q`` that proposed each token.
        draft_tokens: ``[gamma]`` int64 tokens sampled from ``draft_probs``.
        generator: seeded ``torch.Generator``.

    Returns:
        ``[n]`` int64, ``1 <= n <= gamma + 1``: accepted drafts, then one target token.

    Examples:
        >>> p, q = torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([[0.5, 0.5]])
        >>> speculative_step(p, q, torch.tensor([1]), torch.Generator()).tolist()
        [1, 0]
    """
    accept = acceptance_probability(target_probs[:-1], draft_probs)  # [gamma, V]
    out = []
    for i, x in enumerate(draft_tokens.tolist()):
        if torch.rand((), generator=generator) < accept[i, x]:
            out.append(x)  # accepted with probability min(1, p/q)
            continue
        fix = residual_distribution(target_probs[i], draft_probs[i])
        out.append(int(torch.multinomial(fix, 1, generator=generator)))
        return torch.tensor(out)
    # All gamma accepted: the target's distribution after them gives one token for free.
    out.append(int(torch.multinomial(target_probs[-1], 1, generator=generator)))
    return torch.tensor(out)


def expected_tokens_per_step(alpha: float, gamma: int) -> float:
    """``(1 - alpha**(gamma + 1)) / (1 - alpha)``: tokens per target call (paper, Eq. 1).

    Args:
        alpha: acceptance rate ``sum_x min(p(x), q(x))``, in ``[0, 1]``.
        gamma: number of draft tokens per step.

    Returns:
        Expected number of tokens one step produces (``gamma + 1`` when ``alpha = 1``).

    Examples:
        >>> expected_tokens_per_step(0.5, 2)  # 1 + 0.5 + 0.25
        1.75
    """
    return gamma + 1.0 if alpha == 1 else (1 - alpha ** (gamma + 1)) / (1 - alpha)


# --8<-- [end:speculative]
