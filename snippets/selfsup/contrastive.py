"""Contrastive self-supervised learning: InfoNCE, SimCLR's NT-Xent, MoCo, SimSiam, CLIP.

The pieces an interviewer asks for, each as a small function:

* ``nt_xent_loss`` (SimCLR, Chen et al. 2020, eq. 1): loop version first, then one
  ``cross_entropy`` on the masked ``[2N, 2N]`` similarity matrix;
* ``info_nce_loss``: a query, its positive key, and either explicit negatives (MoCo's queue)
  or the other samples of the batch;
* MoCo's momentum encoder update and its FIFO queue of keys;
* SimSiam's negative-cosine loss with stop-gradient, and a tiny collapse experiment;
* CLIP's symmetric loss and zero-shot classification.

Layout convention (as ``google-research/simclr``'s ``objective.py``): the two views are two
``[N, D]`` tensors; stacked, rows ``0 .. N-1`` are view 1 and rows ``N .. 2N-1`` view 2, so the
positive of row ``i`` is row ``(i + N) mod 2N``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_features(name: str, x: object, shape: str = "[N, D]") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape {shape} with N >= 1, got {tuple(x.shape)}")
    return x


def _check_pair(n1: str, a: object, n2: str, b: object) -> None:
    _check_features(n1, a)
    _check_features(n2, b)
    if a.shape != b.shape:  # type: ignore[union-attr]
        raise ValueError(
            f"{n1} and {n2} must have the same shape [N, D], "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"  # type: ignore[union-attr]
        )


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


# --8<-- [start:nt_xent_loss_naive]
def nt_xent_loss_naive(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """NT-Xent as a loop over the 2N anchors, one term of SimCLR's eq. 1 each.

    Args:
        z1: ``[N, D]`` projections of view 1.
        z2: ``[N, D]`` projections of view 2 (row ``i`` is the same image as ``z1[i]``).
        temperature: tau, divides the cosine similarities.

    Returns:
        Scalar tensor, the mean of ``l(i, positive(i))`` over all ``2N`` anchors.

    Examples:
        >>> z = torch.eye(2)  # N=1: the only other sample is the positive
        >>> round(float(nt_xent_loss_naive(z[:1], z[1:])), 6)  # -log(1) = 0
        0.0
    """
    _check_pair("z1", z1, "z2", z2)
    _check_temperature(temperature)
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # cosine similarity = dot of unit vectors
    n2 = z.shape[0]
    losses = []
    for i in range(n2):
        j = (i + n2 // 2) % n2  # the other view of the same image
        sim = z @ z[i] / temperature  # [2N] similarities of anchor i to every sample
        others = torch.cat([sim[:i], sim[i + 1 :]])  # k != i: drop self-similarity
        losses.append(torch.logsumexp(others, dim=0) - sim[j])
    return torch.stack(losses).mean()


# --8<-- [end:nt_xent_loss_naive]


# --8<-- [start:nt_xent_loss]
def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """NT-Xent in one shot: cross-entropy on the masked ``[2N, 2N]`` similarity matrix.

    Args:
        z1: ``[N, D]`` projections of view 1.
        z2: ``[N, D]`` projections of view 2.
        temperature: tau.

    Returns:
        Scalar tensor, the same value as :func:`nt_xent_loss_naive`.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
        >>> bool(torch.allclose(nt_xent_loss(a, b), nt_xent_loss_naive(a, b)))
        True
    """
    _check_pair("z1", z1, "z2", z2)
    _check_temperature(temperature)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # [2N, D]
    logits = z @ z.T / temperature  # [2N, 2N]
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))  # exp(-inf) = 0: k != i
    targets = torch.arange(2 * n, device=z.device).roll(n)  # i -> (i + N) mod 2N
    return F.cross_entropy(logits, targets)  # mean over all 2N anchors


# --8<-- [end:nt_xent_loss]


# --8<-- [start:info_nce_loss]
def info_nce_loss(
    query: Tensor,
    positive_key: Tensor,
    negative_keys: Tensor | None = None,
    temperature: float = 0.1,
) -> Tensor:
    """InfoNCE: an (1 + K)-way classification whose correct class is the positive key.

    Args:
        query: ``[N, D]`` queries (MoCo's ``q``).
        positive_key: ``[N, D]``, row ``i`` is the positive of ``query[i]``.
        negative_keys: ``[K, D]`` negatives shared by all queries (MoCo's queue), or None:
            then the other rows of ``positive_key`` are the negatives (in-batch).
        temperature: tau (0.07 in MoCo v1).

    Returns:
        Scalar tensor, the mean cross-entropy over the N queries. All inputs are L2-normalised.

    Examples:
        >>> q = torch.tensor([[1.0, 0.0]])
        >>> round(float(info_nce_loss(q, q, torch.tensor([[0.0, 1.0]]), 1.0)), 4)
        0.3133
    """
    _check_pair("query", query, "positive_key", positive_key)
    _check_temperature(temperature)
    q = F.normalize(query, dim=1)
    k = F.normalize(positive_key, dim=1)
    if negative_keys is None:  # in-batch: logits[i, j] = q_i . k_j, positive on the diagonal
        logits = q @ k.T
        targets = torch.arange(q.shape[0], device=q.device)
    else:
        neg = F.normalize(_check_features("negative_keys", negative_keys, "[K, D]"), dim=1)
        if neg.shape[1] != q.shape[1]:
            raise ValueError(f"negative_keys must have shape [K, {q.shape[1]}], got {neg.shape}")
        l_pos = (q * k).sum(dim=1, keepdim=True)  # [N, 1]
        l_neg = q @ neg.T  # [N, K]
        logits = torch.cat([l_pos, l_neg], dim=1)  # the positive is class 0, as in MoCo
        targets = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits / temperature, targets)


# --8<-- [end:info_nce_loss]


# --8<-- [start:moco]
@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, m: float = 0.999) -> None:
    """MoCo's key-encoder update, in place: ``theta_k <- m theta_k + (1 - m) theta_q``.

    Args:
        online: the query encoder, trained by SGD (left untouched).
        target: the key encoder (updated in place, never by gradients).
        m: momentum (0.999 in MoCo).

    Returns:
        None.

    Examples:
        >>> a, b = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
        >>> _ = a.weight.data.fill_(1.0), b.weight.data.fill_(0.0)
        >>> momentum_update(a, b, m=0.9)
        >>> round(b.weight.item(), 4)
        0.1
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"m must be in [0, 1], got {m}")
    p_on, p_tg = list(online.parameters()), list(target.parameters())
    if [p.shape for p in p_on] != [p.shape for p in p_tg]:
        raise ValueError("online and target must have the same parameter shapes")
    for p_q, p_k in zip(p_on, p_tg, strict=True):
        p_k.mul_(m).add_(p_q.detach(), alpha=1.0 - m)


@torch.no_grad()
def enqueue_dequeue(queue: Tensor, ptr: int, keys: Tensor) -> tuple[Tensor, int]:
    """Replace the oldest keys of a FIFO queue by this batch's keys (MoCo's ring buffer).

    Args:
        queue: ``[K, D]`` stored keys (MoCo stores it transposed, ``[D, K]``).
        ptr: index of the oldest entry.
        keys: ``[B, D]`` new keys (detached: no gradient through the queue).

    Returns:
        ``(queue, new_ptr)``: the queue updated in place, and ``(ptr + B) mod K``.

    Examples:
        >>> q, p = enqueue_dequeue(torch.zeros(4, 1), 3, torch.ones(2, 1))
        >>> q.flatten().tolist(), p  # wraps around: slots 3 and 0
        ([1.0, 0.0, 0.0, 1.0], 1)
    """
    _check_features("queue", queue, "[K, D]")
    _check_features("keys", keys, "[B, D]")
    size, b = queue.shape[0], keys.shape[0]
    if keys.shape[1] != queue.shape[1] or b > size:
        raise ValueError(f"keys must have shape [B <= {size}, {queue.shape[1]}], got {keys.shape}")
    if not 0 <= ptr < size:
        raise ValueError(f"ptr must be in [0, {size}), got {ptr}")
    idx = (ptr + torch.arange(b, device=queue.device)) % size  # wrap around the ring
    queue[idx] = keys.detach()
    return queue, (ptr + b) % size


# --8<-- [end:moco]


# --8<-- [start:simsiam]
def simsiam_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor, stop_grad: bool = True) -> Tensor:
    """SimSiam: symmetric negative cosine between predictions and (detached) projections.

    Args:
        p1: ``[N, D]`` predictor output of view 1; ``p2`` the same for view 2.
        p2: ``[N, D]``.
        z1: ``[N, D]`` projector output of view 1 (the target for ``p2``); ``z2`` for ``p1``.
        z2: ``[N, D]``.
        stop_grad: detach the targets (SimSiam); False is the ablation that collapses.

    Returns:
        Scalar in ``[-1, 1]``; -1 when every prediction points at its target.

    Examples:
        >>> x = torch.ones(2, 3)
        >>> float(simsiam_loss(x, x, x, x))
        -1.0
    """
    for name, t in (("p1", p1), ("p2", p2), ("z1", z1), ("z2", z2)):
        _check_features(name, t)
    if stop_grad:
        z1, z2 = z1.detach(), z2.detach()  # the target is a constant for this step
    d1 = -F.cosine_similarity(p1, z2, dim=1).mean()
    d2 = -F.cosine_similarity(p2, z1, dim=1).mean()
    return (d1 + d2) / 2


def collapse_experiment(stop_grad: bool, steps: int = 150, seed: int = 0) -> list[float]:
    """Train a tiny SimSiam on 2-view Gaussian data; record the std of normalised outputs.

    Encoder: MLP 16 -> 32 -> 16; predictor: MLP 16 -> 8 -> 16; SGD lr 0.1, batch 64.

    Args:
        stop_grad: use the stop-gradient (True) or not (False).
        steps: SGD steps.
        seed: seeds the data, the views and the weights.

    Returns:
        Per step, the mean over channels of the std over the batch of ``z / ||z||``:
        about ``1 / sqrt(16) = 0.25`` for spread-out outputs, 0 when every input maps to one point.

    Examples:
        >>> len(collapse_experiment(True, steps=3))
        3
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 16, generator=g)
    with torch.random.fork_rng(devices=[]):  # seed nn.Linear's init, leave global RNG alone
        torch.manual_seed(seed)
        encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
        predictor = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 16))
    params = list(encoder.parameters()) + list(predictor.parameters())
    opt = torch.optim.SGD(params, lr=0.1)
    history = []
    for _ in range(steps):
        v1 = x + 0.5 * torch.randn(x.shape, generator=g)  # two "augmentations"
        v2 = x + 0.5 * torch.randn(x.shape, generator=g)
        z1, z2 = encoder(v1), encoder(v2)
        loss = simsiam_loss(predictor(z1), predictor(z2), z1, z2, stop_grad)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(F.normalize(z1.detach(), dim=1).std(dim=0).mean()))
    return history


# --8<-- [end:simsiam]


# --8<-- [start:clip_loss]
def clip_loss(image_features: Tensor, text_features: Tensor, logit_scale: Tensor | float) -> Tensor:
    """CLIP's symmetric InfoNCE: image->text and text->image cross-entropy, averaged.

    Args:
        image_features: ``[N, D]`` L2-normalised image embeddings.
        text_features: ``[N, D]`` L2-normalised text embeddings; row i matches image i.
        logit_scale: the MULTIPLIER ``exp(t) = 1 / tau`` (already exponentiated), e.g. 100.

    Returns:
        Scalar tensor ``(CE(logits, arange) + CE(logits.T, arange)) / 2``.

    Examples:
        >>> e = torch.eye(3)  # perfect match, scale 0: every logit 0, loss log 3
        >>> round(float(clip_loss(e, e, 0.0)), 4)
        1.0986
    """
    _check_pair("image_features", image_features, "text_features", text_features)
    logits_per_image = logit_scale * image_features @ text_features.T  # [N_img, N_txt]
    labels = torch.arange(image_features.shape[0], device=image_features.device)
    loss_i = F.cross_entropy(logits_per_image, labels)  # each image picks its caption
    loss_t = F.cross_entropy(logits_per_image.T, labels)  # each caption picks its image
    return (loss_i + loss_t) / 2


def zero_shot_classify(image_features: Tensor, class_text_features: Tensor) -> Tensor:
    """Zero-shot: the class whose prompt embedding is most cosine-similar to the image.

    Args:
        image_features: ``[N, D]`` image embeddings.
        class_text_features: ``[C, D]`` embeddings of "a photo of a {class}" prompts.

    Returns:
        ``[N]`` int64 class indices.

    Examples:
        >>> zero_shot_classify(torch.tensor([[0.1, 2.0]]), torch.eye(2)).tolist()
        [1]
    """
    _check_features("image_features", image_features)
    _check_features("class_text_features", class_text_features, "[C, D]")
    if image_features.shape[1] != class_text_features.shape[1]:
        raise ValueError("image_features and class_text_features must have the same D")
    sim = F.normalize(image_features, dim=1) @ F.normalize(class_text_features, dim=1).T
    return sim.argmax(dim=1)  # the logit scale and the softmax do not change the argmax


# --8<-- [end:clip_loss]
