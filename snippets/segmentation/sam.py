"""Three small pieces of the Segment Anything Model (Kirillov et al., ICCV 2023), without weights.

* :class:`PositionEmbeddingRandom`: the random-Fourier positional encoding SAM's prompt encoder
  gives to points and box corners (same name, buffer and formula as
  ``segment_anything/modeling/prompt_encoder.py``).
* :func:`hypernetwork_masks`: the last step of the mask decoder, one mask per output token as a
  dot product between a per-token vector and every pixel of the upscaled image embedding
  (``segment_anything/modeling/mask_decoder.py``, ``MaskDecoder.predict_masks``).
* :func:`sam_loss`: the training loss the paper describes (§3, App. A): focal and Dice in a 20:1
  ratio, only the best of the candidate masks back-propagates, plus an MSE on the predicted IoU.
  SAM's repository has no training code; the reductions follow SAM 2's released
  ``training/loss_fns.py`` (focal averaged over pixels, Dice with smoothing 1, IoU target from
  logits > 0, IoU loss on the selected mask only).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchvision.ops import sigmoid_focal_loss

from snippets.segmentation.seg_metrics import dice_loss


def _check_tensor(name: str, value: object, shape: str) -> None:
    # Lists and NumPy arrays would fail deep inside with an AttributeError; say what is wrong.
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )


# --8<-- [start:position_embedding]
class PositionEmbeddingRandom(nn.Module):
    """Random-Fourier features of 2-D points: ``[sin(2 pi v G), cos(2 pi v G)]``.

    ``v = 2 * c - 1`` maps coordinates normalised to ``[0, 1]`` to ``[-1, 1]``; ``G`` is a fixed
    ``[2, num_pos_feats]`` Gaussian matrix (a buffer, never trained) scaled by ``scale``.

    Args:
        num_pos_feats: number of random frequencies; the code has ``2 * num_pos_feats`` channels
            (SAM: 128 frequencies for a 256-d embedding).
        scale: standard deviation of the frequencies; ``None`` or ``<= 0`` means 1.0, as in SAM.
        generator: optional ``torch.Generator`` so the matrix is reproducible.

    Examples:
        >>> pe = PositionEmbeddingRandom(4, generator=torch.Generator().manual_seed(0))
        >>> tuple(pe.forward_with_coords(torch.tensor([[[10.0, 20.0]]]), (64, 64)).shape)
        (1, 1, 8)
        >>> tuple(pe((16, 32)).shape)  # dense code of a 16 x 32 grid, channels first
        (8, 16, 32)
    """

    positional_encoding_gaussian_matrix: Tensor

    def __init__(
        self,
        num_pos_feats: int = 64,
        scale: float | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if scale is None or scale <= 0.0:
            scale = 1.0
        gaussian = scale * torch.randn((2, num_pos_feats), generator=generator)
        self.register_buffer("positional_encoding_gaussian_matrix", gaussian)

    def _pe_encoding(self, coords: Tensor) -> Tensor:
        """``[..., 2]`` coordinates in ``[0, 1]`` -> ``[..., 2F]`` codes."""
        coords = 2 * coords - 1  # centre the square: [0, 1] -> [-1, 1]
        coords = coords @ self.positional_encoding_gaussian_matrix  # random projections
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size: tuple[int, int]) -> Tensor:
        """Dense code of an ``H x W`` grid at pixel centres, shape ``[2F, H, W]``."""
        h, w = size
        # Build the grid where the buffer lives (after .cuda() / .double() too).
        g = self.positional_encoding_gaussian_matrix
        ys = (torch.arange(h, device=g.device, dtype=g.dtype) + 0.5) / h
        xs = (torch.arange(w, device=g.device, dtype=g.dtype) + 0.5) / w
        # [H, W, (x, y)]
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
        return self._pe_encoding(grid).permute(2, 0, 1)

    def forward_with_coords(
        self,
        coords_input: Tensor,
        image_size: tuple[int, int],
    ) -> Tensor:
        """Encode pixel coordinates ``[B, N, (x, y)]``; ``image_size = (H, W)``.

        Returns:
            ``[B, N, 2F]``. Dividing x by W and y by H makes the code depend only on the relative
            position, so the same relative point in images of different sizes gets the same code.
        """
        _check_tensor("coords_input", coords_input, "[B, N, 2]")
        if coords_input.ndim != 3 or coords_input.shape[-1] != 2:
            got = tuple(coords_input.shape)
            raise ValueError(f"coords_input must be [B, N, 2] (x, y), got {got}")
        coords = coords_input.to(self.positional_encoding_gaussian_matrix.dtype).clone()
        coords[:, :, 0] = coords[:, :, 0] / image_size[1]  # x by width
        coords[:, :, 1] = coords[:, :, 1] / image_size[0]  # y by height
        return self._pe_encoding(coords)


# --8<-- [end:position_embedding]


def _check_hyper(hyper_in: Tensor, upscaled: Tensor) -> None:
    _check_tensor("hyper_in", hyper_in, "[B, T, C]")
    _check_tensor("upscaled", upscaled, "[B, C, H, W]")
    if hyper_in.ndim != 3 or upscaled.ndim != 4:
        raise ValueError(
            f"hyper_in must have shape [B, T, C] and upscaled [B, C, H, W], got "
            f"{tuple(hyper_in.shape)} and {tuple(upscaled.shape)}"
        )
    if hyper_in.shape[0] != upscaled.shape[0] or hyper_in.shape[2] != upscaled.shape[1]:
        raise ValueError(
            f"hyper_in [B, T, C] and upscaled [B, C, H, W] must agree on B and C, got "
            f"{tuple(hyper_in.shape)} and {tuple(upscaled.shape)}"
        )


# --8<-- [start:hypernetwork_masks_naive]
def hypernetwork_masks_naive(hyper_in: Tensor, upscaled: Tensor) -> Tensor:
    """Mask logits by loops: ``mask[b,t,y,x] = sum_c hyper[b,t,c] * image[b,c,y,x]``.

    Args:
        hyper_in: ``[B, T, C]``, one vector per output token (SAM: T = 4 mask tokens, C = 32,
            each produced by its own 3-layer MLP from the token).
        upscaled: ``[B, C, H, W]`` upscaled image embedding (SAM: 256 x 256 from 64 x 64).

    Returns:
        ``[B, T, H, W]`` mask logits.

    Examples:
        >>> hyper = torch.tensor([[[1.0, 0.0], [1.0, -1.0]]])  # two tokens, C = 2
        >>> image = torch.tensor([[[[3.0]], [[5.0]]]])  # one pixel with features (3, 5)
        >>> hypernetwork_masks_naive(hyper, image).flatten().tolist()  # 3 and 3 - 5
        [3.0, -2.0]
    """
    _check_hyper(hyper_in, upscaled)
    b_size, t_size, _ = hyper_in.shape
    out = upscaled.new_zeros(b_size, t_size, *upscaled.shape[-2:])
    for b in range(b_size):
        for t in range(t_size):
            # One dynamic linear classifier per token, applied at every pixel.
            out[b, t] = (hyper_in[b, t, :, None, None] * upscaled[b]).sum(0)
    return out


# --8<-- [end:hypernetwork_masks_naive]


# --8<-- [start:hypernetwork_masks]
def hypernetwork_masks(hyper_in: Tensor, upscaled: Tensor) -> Tensor:
    """Vectorised :func:`hypernetwork_masks_naive`: one batched matmul, as in SAM.

    Args:
        hyper_in: ``[B, T, C]`` per-token vectors.
        upscaled: ``[B, C, H, W]`` upscaled image embedding.

    Returns:
        ``[B, T, H, W]`` mask logits.

    Examples:
        >>> masks = hypernetwork_masks(torch.randn(2, 4, 32), torch.randn(2, 32, 256, 256))
        >>> tuple(masks.shape)  # SAM: 4 mask tokens, 256 x 256 low-resolution masks
        (2, 4, 256, 256)
    """
    _check_hyper(hyper_in, upscaled)
    b, t, _ = hyper_in.shape
    h, w = upscaled.shape[-2:]
    # [B, T, C] @ [B, C, H*W] -> [B, T, H*W]: every token scores every pixel.
    # Spell out T: with B = 0 or H*W = 0 a -1 in view() is ambiguous.
    return (hyper_in @ upscaled.flatten(2)).view(b, t, h, w)


# --8<-- [end:hypernetwork_masks]


# --8<-- [start:select_masks]
def select_masks(
    masks: Tensor,
    iou_pred: Tensor,
    multimask_output: bool,
) -> tuple[Tensor, Tensor]:
    """Pick the outputs SAM returns from its 4 mask tokens (``MaskDecoder.forward``).

    Token 0 is the single-mask output used for unambiguous (multi-prompt) input; tokens 1-3
    are the three candidates for an ambiguous single prompt.

    Args:
        masks: ``[B, 4, H, W]`` logits of all mask tokens.
        iou_pred: ``[B, 4]`` predicted IoU of each.
        multimask_output: ``True`` returns the 3 candidates, ``False`` the single mask.

    Returns:
        ``(masks [B, 3 or 1, H, W], iou_pred [B, 3 or 1])``.

    Examples:
        >>> m, s = select_masks(torch.zeros(1, 4, 8, 8), torch.tensor([[0.9, 0.1, 0.2, 0.3]]), True)
        >>> tuple(m.shape), s.tolist()
        ((1, 3, 8, 8), [[0.1, 0.2, 0.3]])
    """
    _check_tensor("masks", masks, "[B, T, H, W]")
    _check_tensor("iou_pred", iou_pred, "[B, T]")
    if masks.ndim != 4 or iou_pred.shape != masks.shape[:2]:
        raise ValueError(
            f"masks must be [B, T, H, W] and iou_pred [B, T], got "
            f"{tuple(masks.shape)} and {tuple(iou_pred.shape)}"
        )
    chosen = slice(1, None) if multimask_output else slice(0, 1)
    return masks[:, chosen], iou_pred[:, chosen]


# --8<-- [end:select_masks]


def _check_masks(mask_logits: Tensor, target: Tensor) -> None:
    _check_tensor("mask_logits", mask_logits, "[B, M, H, W]")
    _check_tensor("target", target, "[B, H, W]")
    if mask_logits.ndim != 4 or target.shape != mask_logits.shape[:1] + mask_logits.shape[2:]:
        raise ValueError(
            f"mask_logits must be [B, M, H, W] and target [B, H, W], got "
            f"{tuple(mask_logits.shape)} and {tuple(target.shape)}"
        )


# --8<-- [start:sam_loss]
def mask_losses(
    mask_logits: Tensor,
    target: Tensor,
    focal_weight: float = 20.0,
    dice_weight: float = 1.0,
) -> Tensor:
    """Weighted focal + Dice loss of every candidate mask, shape ``[B, M]``.

    Args:
        mask_logits: ``[B, M, H, W]`` logits of ``M`` candidate masks.
        target: ``[B, H, W]`` binary ground-truth mask.
        focal_weight: weight of the sigmoid focal loss (alpha 0.25, gamma 2) averaged over pixels.
        dice_weight: weight of the soft Dice loss (smoothing 1).

    Returns:
        ``[B, M]`` per-candidate losses.
    """
    _check_masks(mask_logits, target)
    b, m = mask_logits.shape[:2]
    target = target.to(mask_logits.dtype)[:, None].expand_as(mask_logits)
    focal = sigmoid_focal_loss(mask_logits, target, reduction="none")
    focal = focal.flatten(2).mean(-1)  # averaged over pixels
    dice = dice_loss(mask_logits.flatten(0, 1), target.flatten(0, 1), reduction="none")
    dice = dice.view(b, m)
    return focal_weight * focal + dice_weight * dice


def mask_iou(mask_logits: Tensor, target: Tensor) -> Tensor:
    """IoU of each binarised candidate (logit > 0) with the target, shape ``[B, M]``."""
    _check_masks(mask_logits, target)
    pred = mask_logits.flatten(2) > 0
    gt = target.flatten(1)[:, None].bool()
    inter = (pred & gt).sum(-1).to(mask_logits.dtype)
    union = (pred | gt).sum(-1).to(mask_logits.dtype)
    return inter / union.clamp(min=1.0)  # empty vs empty counts as IoU 0, as in SAM 2


def sam_loss(
    mask_logits: Tensor,
    target: Tensor,
    iou_pred: Tensor | None = None,
    iou_weight: float = 1.0,
    *,
    supervise_all_iou: bool = False,
    iou_use_l1_loss: bool = False,
) -> tuple[Tensor, Tensor]:
    """Minimum-over-masks loss: only each sample's best candidate back-propagates.

    Args:
        mask_logits: ``[B, M, H, W]`` candidate mask logits (SAM: M = 3 for one click).
        target: ``[B, H, W]`` binary ground truth.
        iou_pred: optional ``[B, M]`` predicted IoUs; adds ``iou_weight * MSE`` between the chosen
            candidate's prediction and its actual IoU.
        iou_weight: weight of the IoU-head loss (1.0 in the paper).
        supervise_all_iou: average the IoU loss over all ``M`` candidates instead of taking the
            chosen one (SAM 2's option; its released SAM 2.1 training config turns it on).
        iou_use_l1_loss: L1 instead of MSE for the IoU loss (on in the same SAM 2.1 config).

    Returns:
        ``(loss, best)``: the scalar loss averaged over the batch and the ``[B]`` index of the
        selected candidate.

    Examples:
        >>> target = torch.zeros(1, 4, 4)
        >>> target[0, :2, :2] = 1  # a 2 x 2 object
        >>> good = torch.where(target > 0, 8.0, -8.0)  # candidate 1 matches it
        >>> logits = torch.stack([-good[0], good[0], torch.zeros(4, 4)])[None]
        >>> loss, best = sam_loss(logits, target)
        >>> best.tolist(), round(float(loss), 3)
        ([1], 0.0)
    """
    per_mask = mask_losses(mask_logits, target)  # [B, M]
    # min over candidates; its gradient reaches only the argmin entry of each row.
    best_loss, best = per_mask.min(dim=1)
    loss = best_loss.mean()
    if iou_pred is not None:
        _check_tensor("iou_pred", iou_pred, "[B, M]")
        if iou_pred.shape != per_mask.shape:
            raise ValueError(
                f"iou_pred must have shape [B, M] = {list(per_mask.shape)}, "
                f"got {list(iou_pred.shape)}"
            )
        # The actual IoU is a regression target, not a gradient path.
        actual = mask_iou(mask_logits, target).detach()
        err = iou_pred - actual
        err = err.abs() if iou_use_l1_loss else err**2  # [B, M]
        # SAM: the chosen candidate only; gather keeps the index on its device.
        chosen = err.gather(1, best[:, None])[:, 0]
        per_sample = err.mean(1) if supervise_all_iou else chosen
        loss = loss + iou_weight * per_sample.mean()
    return loss, best


# --8<-- [end:sam_loss]
