"""DDPM and DDIM by hand: noise schedules, the forward process, the loss, reverse steps, CFG.

Conventions (same as diffusers 0.42.1, ``schedulers/scheduling_ddpm.py`` / ``scheduling_ddim.py``):

* timesteps are 0-based: index ``t`` in ``0 .. T-1`` is the paper's step ``t + 1``, so
  ``alphas_cumprod[0] = 1 - betas[0]`` is already a little noisy, and "``t - 1``" of step 0 is
  the clean image, with ``alpha_bar = 1``;
* ``alphas_cumprod`` is ``torch.cumprod(1 - betas, 0)``, the paper's ``alpha_bar``;
* the network predicts the noise ``epsilon`` (``prediction_type="epsilon"``);
* ``clip_sample=True`` clamps the predicted ``x_0`` to ``[-1, 1]``, as both schedulers do by
  default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor


def _check_tensor(x: object, name: str, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")


def _check_alphas_cumprod(alphas_cumprod: object) -> None:
    _check_tensor(alphas_cumprod, "alphas_cumprod", "[T]")
    assert isinstance(alphas_cumprod, Tensor)
    if alphas_cumprod.ndim != 1 or alphas_cumprod.numel() == 0:
        raise ValueError(
            f"alphas_cumprod must have shape [T] with T >= 1, got {tuple(alphas_cumprod.shape)}"
        )


def _check_timestep(timestep: object, name: str, num_steps: int, allow_negative: bool) -> int:
    if isinstance(timestep, Tensor) and timestep.numel() == 1 and not timestep.is_floating_point():
        timestep = int(timestep)
    if isinstance(timestep, bool) or not isinstance(timestep, int):
        raise TypeError(f"{name} must be an int in [0, T), got {type(timestep).__name__}")
    low = -1 if allow_negative else 0
    if not low <= timestep < num_steps:
        raise ValueError(
            f"{name} must be an int in [{low}, T) with T = {num_steps}, got {timestep}"
        )
    return timestep


# --8<-- [start:make_beta_schedule]
def make_beta_schedule(
    num_train_timesteps: int,
    schedule: Literal["linear", "cosine"] = "linear",
    beta_start: float = 0.0001,
    beta_end: float = 0.02,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """The noise variances ``beta_1 .. beta_T`` of the forward process.

    Args:
        num_train_timesteps: ``T``, the number of diffusion steps (``>= 1``).
        schedule: ``"linear"`` (Ho et al. 2020) or ``"cosine"`` (Nichol & Dhariwal 2021).
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.
        dtype: dtype of the result (diffusers uses float32).

    Returns:
        ``[T]`` betas; ``torch.cumprod(1 - betas, 0)`` is ``alpha_bar``.

    Examples:
        >>> make_beta_schedule(3, beta_start=0.1, beta_end=0.3, dtype=torch.float64).tolist()
        [0.1, 0.2, 0.3]
        >>> b = make_beta_schedule(1000, "cosine", dtype=torch.float64)
        >>> round(float(b.max()), 6)  # the last step is clipped at 0.999
        0.999
    """
    if isinstance(num_train_timesteps, bool) or not isinstance(num_train_timesteps, int):
        raise TypeError(f"num_train_timesteps must be an int >= 1, got {num_train_timesteps!r}")
    if num_train_timesteps < 1:
        raise ValueError(f"num_train_timesteps must be an int >= 1, got {num_train_timesteps}")
    if schedule == "linear":
        # evenly spaced variances, 1e-4 .. 0.02 for T = 1000 in the paper
        return torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=dtype)
    if schedule != "cosine":
        raise ValueError(f"schedule must be 'linear' or 'cosine', got {schedule!r}")
    # Nichol & Dhariwal eq. 17: alpha_bar(t) = f(t) / f(0), f(t) = cos^2((t/T + s)/(1 + s) * pi/2)
    s, big_t = 0.008, num_train_timesteps
    steps = torch.arange(big_t + 1, dtype=torch.float64) / big_t
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    # beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} (f(0) cancels), capped: beta_T would be 1
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return betas.to(dtype)


# --8<-- [end:make_beta_schedule]


def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    """``[B]`` -> ``[B, 1, 1, ...]`` so one value per sample broadcasts over ``like``."""
    return values.flatten().reshape(-1, *([1] * (like.ndim - 1)))


# --8<-- [start:add_noise]
def add_noise(
    original_samples: Tensor, noise: Tensor, timesteps: Tensor, alphas_cumprod: Tensor
) -> Tensor:
    """Sample ``x_t ~ q(x_t | x_0)`` in one shot: ``sqrt(ab) x_0 + sqrt(1 - ab) eps``.

    Args:
        original_samples: ``[B, ...]`` clean samples ``x_0``.
        noise: ``[B, ...]`` standard normal noise ``eps``, same shape.
        timesteps: ``[B]`` integer timestep of each sample, in ``[0, T)``.
        alphas_cumprod: ``[T]`` ``alpha_bar``.

    Returns:
        ``[B, ...]`` noisy samples ``x_t``.

    Examples:
        >>> ab = torch.tensor([0.64, 0.36])
        >>> x0, eps = torch.ones(2, 1), torch.ones(2, 1)
        >>> x_t = add_noise(x0, eps, torch.tensor([0, 1]), ab)  # .8 + .6 and .6 + .8
        >>> [round(v, 6) for v in x_t.flatten().tolist()]
        [1.4, 1.4]
    """
    _check_tensor(original_samples, "original_samples", "[B, ...]")
    _check_tensor(noise, "noise", "[B, ...]")
    _check_tensor(timesteps, "timesteps", "[B]")
    _check_alphas_cumprod(alphas_cumprod)
    if noise.shape != original_samples.shape:
        raise ValueError(
            f"noise must have the shape of original_samples {tuple(original_samples.shape)}, "
            f"got {tuple(noise.shape)}"
        )
    if timesteps.is_floating_point() or timesteps.numel() not in (1, original_samples.shape[0]):
        raise ValueError(
            f"timesteps must be an integer tensor of shape [B] with B = "
            f"{original_samples.shape[0]}, got {timesteps.dtype} {tuple(timesteps.shape)}"
        )
    ab = alphas_cumprod.to(original_samples)[timesteps]  # one alpha_bar per sample
    ab = _per_sample(ab, original_samples)  # [B, 1, 1, 1]: broadcast over C, H, W
    return ab.sqrt() * original_samples + (1 - ab).sqrt() * noise


# --8<-- [end:add_noise]


# --8<-- [start:q_posterior]
def q_posterior(
    x0: Tensor, x_t: Tensor, timesteps: Tensor, alphas_cumprod: Tensor
) -> tuple[Tensor, Tensor]:
    """Mean and variance of ``q(x_{t-1} | x_t, x_0)`` (Ho et al. eq. 6-7).

    Args:
        x0: ``[B, ...]`` clean samples (or the network's estimate of them).
        x_t: ``[B, ...]`` noisy samples at ``timesteps``.
        timesteps: ``[B]`` integer timesteps in ``[0, T)``.
        alphas_cumprod: ``[T]`` ``alpha_bar``.

    Returns:
        ``(mean, variance)``: ``[B, ...]`` posterior mean, ``[B, 1, ...]`` variance
        ``beta_tilde``.

    Examples:
        >>> ab = torch.tensor([0.5, 0.25], dtype=torch.float64)
        >>> x = torch.ones(1, 1, dtype=torch.float64)
        >>> mean, var = q_posterior(x, x, torch.tensor([1]), ab)
        >>> round(float(var), 6)  # (1 - 0.5) / (1 - 0.25) * (1 - 0.25 / 0.5) = 1/3
        0.333333
    """
    _check_tensor(x0, "x0", "[B, ...]")
    _check_tensor(x_t, "x_t", "[B, ...]")
    _check_tensor(timesteps, "timesteps", "[B]")
    _check_alphas_cumprod(alphas_cumprod)
    ab_all = alphas_cumprod.to(x_t)
    ab_t = _per_sample(ab_all[timesteps], x_t)
    # alpha_bar of the previous step; before step 0 comes the clean image, alpha_bar = 1
    prev = (timesteps - 1).clamp(min=0)
    ab_prev = torch.where(timesteps > 0, ab_all[prev], torch.ones_like(ab_all[prev]))
    ab_prev = _per_sample(ab_prev, x_t)
    alpha_t = ab_t / ab_prev  # the one-step alpha_t = 1 - beta_t
    beta_t = 1 - alpha_t
    coef_x0 = ab_prev.sqrt() * beta_t / (1 - ab_t)
    coef_xt = alpha_t.sqrt() * (1 - ab_prev) / (1 - ab_t)
    mean = coef_x0 * x0 + coef_xt * x_t
    variance = (1 - ab_prev) / (1 - ab_t) * beta_t
    return mean, variance


# --8<-- [end:q_posterior]


# --8<-- [start:ddpm_loss]
def ddpm_loss(
    model: Callable[[Tensor, Tensor], Tensor],
    x0: Tensor,
    alphas_cumprod: Tensor,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
    timesteps: Tensor | None = None,
) -> Tensor:
    """The simple loss (Ho et al. eq. 14): MSE between the true and the predicted noise.

    Args:
        model: ``model(x_t, timesteps) -> eps_hat`` of the shape of ``x_t``.
        x0: ``[B, ...]`` clean training samples.
        alphas_cumprod: ``[T]`` ``alpha_bar``.
        generator: random generator for ``t`` and ``eps`` when they are not given.
        noise: optional ``[B, ...]`` ``eps``; drawn from ``N(0, I)`` if ``None``.
        timesteps: optional ``[B]`` timesteps; drawn uniformly from ``[0, T)`` if ``None``.

    Returns:
        Scalar loss, averaged over every element.

    Examples:
        >>> ab = (1 - make_beta_schedule(10)).cumprod(0)
        >>> x0, eps = torch.zeros(2, 3), torch.ones(2, 3)
        >>> float(ddpm_loss(lambda x, t: torch.zeros_like(x), x0, ab, noise=eps,
        ...                 timesteps=torch.tensor([0, 9])))  # mean((1 - 0)^2)
        1.0
    """
    _check_tensor(x0, "x0", "[B, ...]")
    _check_alphas_cumprod(alphas_cumprod)
    if timesteps is None:  # one t per sample, uniform over all T steps (Algorithm 1)
        high = alphas_cumprod.numel()
        timesteps = torch.randint(0, high, (x0.shape[0],), generator=generator)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    x_t = add_noise(x0, noise, timesteps, alphas_cumprod)
    return torch.mean((noise - model(x_t, timesteps)) ** 2)


# --8<-- [end:ddpm_loss]


# --8<-- [start:ddpm_step]
def ddpm_step(
    model_output: Tensor,
    timestep: int,
    sample: Tensor,
    alphas_cumprod: Tensor,
    noise: Tensor | None = None,
    clip_sample: bool = True,
) -> Tensor:
    """One ancestral step ``x_t -> x_{t-1}`` (``DDPMScheduler.step``, ``fixed_small``).

    Args:
        model_output: ``[B, ...]`` predicted noise ``eps_hat``.
        timestep: current timestep ``t`` in ``[0, T)``.
        sample: ``[B, ...]`` current sample ``x_t``.
        alphas_cumprod: ``[T]`` ``alpha_bar``.
        noise: ``[B, ...]`` standard normal ``z``; needed for ``t > 0``, ignored at ``t = 0``.
        clip_sample: clamp the predicted ``x_0`` to ``[-1, 1]`` (diffusers' default).

    Returns:
        ``[B, ...]`` the sample ``x_{t-1}``.

    Examples:
        >>> ab = torch.tensor([0.5], dtype=torch.float64)
        >>> x = torch.full((1, 1), 0.5**0.5, dtype=torch.float64)  # x_0 = 1, eps = 0
        >>> float(ddpm_step(torch.zeros_like(x), 0, x, ab))  # last step: x_0 itself
        1.0
    """
    _check_tensor(model_output, "model_output", "[B, ...]")
    _check_tensor(sample, "sample", "[B, ...]")
    _check_alphas_cumprod(alphas_cumprod)
    t = _check_timestep(timestep, "timestep", alphas_cumprod.numel(), allow_negative=False)
    if model_output.shape != sample.shape:
        raise ValueError(
            f"model_output must have the shape of sample {tuple(sample.shape)}, "
            f"got {tuple(model_output.shape)}"
        )
    ab_t = alphas_cumprod[t]
    ab_prev = alphas_cumprod[t - 1] if t > 0 else torch.ones_like(ab_t)  # NOT alphas_cumprod[t]
    alpha_t = ab_t / ab_prev  # = 1 - betas[t], recovered from alpha_bar as diffusers does
    beta_t = 1 - alpha_t
    # predicted x_0 (Ho et al. eq. 15), clipped to the data range
    x0_hat = (sample - (1 - ab_t).sqrt() * model_output) / ab_t.sqrt()
    if clip_sample:
        x0_hat = x0_hat.clamp(-1, 1)
    # posterior mean (eq. 7) with x_0 replaced by its estimate
    coef_x0 = ab_prev.sqrt() * beta_t / (1 - ab_t)
    coef_xt = alpha_t.sqrt() * (1 - ab_prev) / (1 - ab_t)
    mean = coef_x0 * x0_hat + coef_xt * sample
    if t == 0:  # the last step returns the mean: no noise on the final image
        return mean
    if not isinstance(noise, Tensor) or noise.shape != sample.shape:
        raise ValueError(f"noise must be a tensor of shape {tuple(sample.shape)} when t > 0")
    variance = ((1 - ab_prev) / (1 - ab_t) * beta_t).clamp(min=1e-20)  # beta_tilde, eq. 7
    return mean + variance.sqrt() * noise


# --8<-- [end:ddpm_step]


# --8<-- [start:ddim_step]
def ddim_step(
    model_output: Tensor,
    timestep: int,
    prev_timestep: int,
    sample: Tensor,
    alphas_cumprod: Tensor,
    eta: float = 0.0,
    noise: Tensor | None = None,
    clip_sample: bool = True,
) -> Tensor:
    """One DDIM step ``x_t -> x_prev`` (Song et al. eq. 12, 16; ``DDIMScheduler.step``).

    Args:
        model_output: ``[B, ...]`` predicted noise ``eps_hat``.
        timestep: current timestep ``t``.
        prev_timestep: the next, smaller timestep; ``< 0`` means the clean image.
        sample: ``[B, ...]`` current sample ``x_t``.
        alphas_cumprod: ``[T]`` ``alpha_bar``.
        eta: ``0`` is deterministic DDIM, ``1`` is DDPM-like noise.
        noise: ``[B, ...]`` standard normal noise, needed when ``eta > 0``.
        clip_sample: clamp the predicted ``x_0`` to ``[-1, 1]``.

    Returns:
        ``[B, ...]`` the sample at ``prev_timestep``.

    Examples:
        >>> ab = torch.tensor([0.9, 0.5], dtype=torch.float64)
        >>> x = torch.full((1, 1), 0.5**0.5, dtype=torch.float64)  # x_0 = 1, eps = 0
        >>> float(ddim_step(torch.zeros_like(x), 1, -1, x, ab))  # straight to x_0
        1.0
    """
    _check_tensor(model_output, "model_output", "[B, ...]")
    _check_tensor(sample, "sample", "[B, ...]")
    _check_alphas_cumprod(alphas_cumprod)
    n = alphas_cumprod.numel()
    t = _check_timestep(timestep, "timestep", n, allow_negative=False)
    prev = _check_timestep(max(prev_timestep, -1), "prev_timestep", n, allow_negative=True)
    ab_t = alphas_cumprod[t]
    ab_prev = alphas_cumprod[prev] if prev >= 0 else torch.ones_like(ab_t)
    x0_hat = (sample - (1 - ab_t).sqrt() * model_output) / ab_t.sqrt()
    if clip_sample:  # clip x_0 only; the direction below keeps the unclipped eps
        x0_hat = x0_hat.clamp(-1, 1)
    sigma = eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)).sqrt()  # eq. 16
    # eq. 12: predicted x_0, then "the direction pointing to x_t", then (optional) noise
    prev_sample = ab_prev.sqrt() * x0_hat + (1 - ab_prev - sigma**2).sqrt() * model_output
    if eta > 0:
        if not isinstance(noise, Tensor) or noise.shape != sample.shape:
            raise ValueError(f"noise must be a tensor of shape {tuple(sample.shape)} if eta > 0")
        prev_sample = prev_sample + sigma * noise
    return prev_sample


# --8<-- [end:ddim_step]


# --8<-- [start:classifier_free_guidance]
def classifier_free_guidance(
    noise_pred_uncond: Tensor, noise_pred_cond: Tensor, guidance_scale: float
) -> Tensor:
    """``eps_uncond + w (eps_cond - eps_uncond)``, diffusers' ``guidance_scale`` ``w``.

    Args:
        noise_pred_uncond: ``[B, ...]`` prediction with the empty condition.
        noise_pred_cond: ``[B, ...]`` prediction with the condition (e.g. the prompt).
        guidance_scale: ``w``; ``1`` is the plain conditional model, ``0`` the unconditional.

    Returns:
        ``[B, ...]`` guided noise prediction.

    Examples:
        >>> u, c = torch.tensor([1.0]), torch.tensor([2.0])
        >>> classifier_free_guidance(u, c, 7.5).tolist()  # 1 + 7.5 * (2 - 1)
        [8.5]
    """
    _check_tensor(noise_pred_uncond, "noise_pred_uncond", "[B, ...]")
    _check_tensor(noise_pred_cond, "noise_pred_cond", "[B, ...]")
    if noise_pred_uncond.shape != noise_pred_cond.shape:
        raise ValueError(
            f"noise_pred_cond must have the shape of noise_pred_uncond "
            f"{tuple(noise_pred_uncond.shape)}, got {tuple(noise_pred_cond.shape)}"
        )
    # Ho & Salimans write (1 + w') eps_cond - w' eps_uncond: the same with w = 1 + w'
    return noise_pred_uncond + guidance_scale * (noise_pred_cond - noise_pred_uncond)


# --8<-- [end:classifier_free_guidance]


# --8<-- [start:timestep_embedding]
def timestep_embedding(
    timesteps: Tensor,
    embedding_dim: int,
    flip_sin_to_cos: bool = False,
    downscale_freq_shift: float = 1,
    max_period: int = 10000,
) -> Tensor:
    """Sinusoidal embedding of ``t`` (diffusers' ``get_timestep_embedding``).

    Args:
        timesteps: ``[N]`` timesteps (may be fractional).
        embedding_dim: output width ``D``.
        flip_sin_to_cos: ``[cos, sin]`` instead of ``[sin, cos]`` (UNet2DModel uses True).
        downscale_freq_shift: frequencies are ``max_period ** (-i / (D/2 - shift))``.
        max_period: the slowest period.

    Returns:
        ``[N, D]`` float32 embedding, zero-padded when ``D`` is odd.

    Examples:
        >>> timestep_embedding(torch.tensor([0]), 4).tolist()  # sin 0 = 0, cos 0 = 1
        [[0.0, 0.0, 1.0, 1.0]]
    """
    _check_tensor(timesteps, "timesteps", "[N]")
    if timesteps.ndim != 1:
        raise ValueError(f"timesteps must have shape [N], got {tuple(timesteps.shape)}")
    half = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32)
    freqs = torch.exp(exponent / (half - downscale_freq_shift))  # geometric, 1 .. 1/max_period
    angles = timesteps[:, None].float() * freqs[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if embedding_dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


# --8<-- [end:timestep_embedding]


# --8<-- [start:ddpm_sample]
def ddpm_sample(
    model: Callable[[Tensor, Tensor], Tensor],
    shape: tuple[int, ...],
    alphas_cumprod: Tensor,
    generator: torch.Generator | None = None,
    clip_sample: bool = True,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Algorithm 2 of Ho et al.: start from ``N(0, I)``, apply ``ddpm_step`` for t = T-1 .. 0.

    Args:
        model: ``model(x_t, timesteps) -> eps_hat``.
        shape: shape of the batch to generate, ``(B, ...)``.
        alphas_cumprod: ``[T]`` ``alpha_bar``.
        generator: random generator for the initial noise and every step.
        clip_sample: clamp the predicted ``x_0`` to ``[-1, 1]`` at every step.
        dtype: dtype of the samples.

    Returns:
        ``shape`` tensor of generated samples ``x_0``.

    Examples:
        >>> ab = (1 - make_beta_schedule(50)).cumprod(0)
        >>> x = ddpm_sample(lambda x, t: torch.zeros_like(x), (4, 2), ab,
        ...                 torch.Generator().manual_seed(0))
        >>> tuple(x.shape), bool(x.abs().max() <= 1)  # eps_hat = 0 => x_0 = clip(...)
        ((4, 2), True)
    """
    _check_alphas_cumprod(alphas_cumprod)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    ab = alphas_cumprod.to(dtype)
    for t in reversed(range(ab.numel())):
        eps_hat = model(x, torch.full((shape[0],), t, dtype=torch.int64))
        z = torch.randn(shape, generator=generator, dtype=dtype) if t > 0 else None
        x = ddpm_step(eps_hat, t, x, ab, z, clip_sample=clip_sample)
    return x


# --8<-- [end:ddpm_sample]
