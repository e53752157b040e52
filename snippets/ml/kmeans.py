"""k-means: Lloyd's algorithm (loop and vectorised), k-means++ seeding, inertia, soft limit.

Conventions (same as scikit-learn 1.9 ``KMeans(algorithm="lloyd")`` where it matters):

* ``X`` is a NumPy array (or a nested list, converted with ``np.asarray``) of shape ``[n, d]``;
  it is computed in float64;
* ties in the assignment go to the lowest centre index (``np.argmin``, sklearn's strict ``<``);
* an empty cluster takes the point farthest from its own centre (sklearn's rule, see
  :func:`update_centers`);
* ``kmeans`` stops when the labels stop changing or the squared centre shift is ``<= tol``
  (absolute, default 0), and re-assigns the labels after the last centre update, so the
  returned labels are always the nearest centres of the returned centres.
"""

from __future__ import annotations

import numpy as np


def _check_data(X: object, name: str = "X") -> np.ndarray:
    if not isinstance(X, np.ndarray | list | tuple):
        raise TypeError(
            f"{name} must be a numpy.ndarray (or nested list) of shape [n, d], "
            f"got {type(X).__name__}"
        )
    arr = np.asarray(X)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape [n, d] with n, d >= 1, got {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _check_int(value: object, name: str, low: int, high: float = np.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def _check_centers(centers: object, d: int, name: str = "centers") -> np.ndarray:
    c = _check_data(centers, name)
    if c.shape[1] != d:
        raise ValueError(f"{name} must have shape [k, d] with d = X.shape[1] = {d}, got {c.shape}")
    return c


def _check_labels(labels: object, n: int, k: int) -> np.ndarray:
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        raise TypeError("labels must be an integer numpy.ndarray of shape [n]")
    if labels.shape != (n,) or (n and (labels.min() < 0 or labels.max() >= k)):
        raise ValueError(f"labels must have shape [n] = ({n},) with values in [0, {k})")
    return labels


# --8<-- [start:assign_naive]
def assign_labels_naive(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Assignment step with loops: each point goes to its nearest centre.

    Args:
        X: ``[n, d]`` points.
        centers: ``[k, d]`` centres.

    Returns:
        ``[n]`` int64 index of the nearest centre (ties: lowest index).

    Examples:
        >>> X = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 0.0]])
        >>> assign_labels_naive(X, np.array([[0.0, 0.0], [3.0, 0.0]])).tolist()
        [0, 1, 0]
    """
    X = _check_data(X)
    centers = _check_centers(centers, X.shape[1])
    labels = np.empty(len(X), dtype=np.int64)
    for i, x in enumerate(X):
        best, best_dist = 0, np.inf
        for j, c in enumerate(centers):
            dist = float(((x - c) ** 2).sum())  # squared: no sqrt needed for argmin
            if dist < best_dist:  # strict <: a tie keeps the lower index
                best, best_dist = j, dist
        labels[i] = best
    return labels


# --8<-- [end:assign_naive]


# --8<-- [start:assign]
def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """All squared distances at once: ``||x||^2 - 2 x.c + ||c||^2``, clamped at 0.

    Args:
        X: ``[n, d]`` points.
        centers: ``[k, d]`` centres.

    Returns:
        ``[n, k]`` float64 squared distances, all ``>= 0``.

    Examples:
        >>> squared_distances(np.array([[3.0, 4.0]]), np.array([[0.0, 0.0]])).tolist()
        [[25.0]]
    """
    X = _check_data(X)
    centers = _check_centers(centers, X.shape[1])
    xx = (X**2).sum(axis=1)[:, None]  # [n, 1]
    cc = (centers**2).sum(axis=1)[None, :]  # [1, k]
    d2 = xx - 2.0 * X @ centers.T + cc  # one matrix product: O(n k d)
    # Two large, nearly equal numbers subtracted: the result can be slightly negative.
    return np.maximum(d2, 0.0)


def assign_labels(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Assignment step, vectorised: ``argmin`` over the ``[n, k]`` distance matrix.

    Args:
        X: ``[n, d]`` points.
        centers: ``[k, d]`` centres.

    Returns:
        ``[n]`` int64 index of the nearest centre (ties: lowest index).

    Examples:
        >>> X = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 0.0]])
        >>> assign_labels(X, np.array([[0.0, 0.0], [3.0, 0.0]])).tolist()
        [0, 1, 0]
    """
    return np.argmin(squared_distances(X, centers), axis=1).astype(np.int64)


# --8<-- [end:assign]


# --8<-- [start:update]
def update_centers(X: np.ndarray, labels: np.ndarray, centers_old: np.ndarray) -> np.ndarray:
    """Update step: each centre moves to the mean of its points.

    An empty cluster (no points) would be a mean of nothing (NaN). As sklearn does, it
    takes the point farthest from its own old centre; that point leaves its old cluster.

    Args:
        X: ``[n, d]`` points.
        labels: ``[n]`` cluster index of each point, in ``[0, k)``.
        centers_old: ``[k, d]`` centres the labels were computed with.

    Returns:
        ``[k, d]`` float64 new centres.

    Examples:
        >>> X = np.array([[0.0], [2.0], [10.0]])
        >>> update_centers(X, np.array([0, 0, 1]), np.array([[0.0], [9.0]])).tolist()
        [[1.0], [10.0]]
        >>> # cluster 1 is empty: it takes x = 10, the farthest point from centre 0
        >>> update_centers(X, np.array([0, 0, 0]), np.array([[0.0], [99.0]])).tolist()
        [[1.0], [10.0]]
    """
    X = _check_data(X)
    centers_old = _check_centers(centers_old, X.shape[1], "centers_old")
    k = len(centers_old)
    labels = _check_labels(labels, len(X), k)
    sums = np.zeros_like(centers_old)
    np.add.at(sums, labels, X)  # sums[labels[i]] += X[i], repeated indices add up
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        dist = ((X - centers_old[labels]) ** 2).sum(axis=1)  # each point to its centre
        if dist.max() > 0:  # all 0: fewer distinct points than k, nothing to move
            # sklearn's expression: the len(empty) largest distances, largest first
            far = np.argpartition(dist, -empty.size)[: -empty.size - 1 : -1]
            for j, i in zip(empty, far, strict=True):
                sums[labels[i]] -= X[i]  # point i leaves its old cluster ...
                counts[labels[i]] -= 1
                sums[j], counts[j] = X[i], 1  # ... and alone forms cluster j
    centers = np.empty_like(sums)
    full = counts > 0
    centers[full] = sums[full] / counts[full][:, None]
    # Still empty (only when all points sit on their centres): copy the biggest cluster.
    centers[~full] = centers[np.argmax(counts)]
    return centers


# --8<-- [end:update]


# --8<-- [start:inertia]
def inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """The k-means objective: sum of squared distances of points to their centres.

    Args:
        X: ``[n, d]`` points.
        centers: ``[k, d]`` centres.
        labels: ``[n]`` cluster index of each point.

    Returns:
        ``sum_i ||x_i - c_{labels_i}||^2`` as a float.

    Examples:
        >>> X = np.array([[0.0], [2.0], [10.0]])
        >>> inertia(X, np.array([[1.0], [10.0]]), np.array([0, 0, 1]))
        2.0
    """
    X = _check_data(X)
    centers = _check_centers(centers, X.shape[1])
    labels = _check_labels(labels, len(X), len(centers))
    return float(((X - centers[labels]) ** 2).sum())  # exact differences, no cancellation


# --8<-- [end:inertia]


# --8<-- [start:kmeans_plusplus]
def kmeans_plusplus(X: np.ndarray, k: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ seeding (Arthur & Vassilvitskii 2007, §2.2).

    First centre: a uniform random point. Each next centre: point ``x`` with
    probability ``D(x)^2 / sum D^2``, ``D(x)`` = distance to the nearest chosen centre.

    Args:
        X: ``[n, d]`` points.
        k: number of centres, ``1 <= k <= n``.
        seed: seed of ``np.random.default_rng``.

    Returns:
        ``(centers, indices)``: ``[k, d]`` chosen points and their ``[k]`` row indices.

    Examples:
        >>> X = np.array([[0.0], [0.0], [5.0]])
        >>> centers, idx = kmeans_plusplus(X, 2, seed=1)
        >>> sorted(X[idx, 0].tolist())  # one 0 and the 5: D(duplicate) = 0, never drawn
        [0.0, 5.0]
    """
    X = _check_data(X)
    n = len(X)
    k = _check_int(k, "k", 1, n)
    rng = np.random.default_rng(seed)
    indices = [int(rng.integers(n))]
    # Exact differences (not the expanded form): a chosen point gets D = 0 exactly.
    closest = ((X - X[indices[0]]) ** 2).sum(axis=1)  # D(x)^2 to the nearest centre
    for _ in range(1, k):
        total = closest.sum()
        # All D = 0 means fewer distinct points than k: any point is as good, pick uniformly.
        p = closest / total if total > 0 else np.full(n, 1.0 / n)
        i = int(rng.choice(n, p=p))
        indices.append(i)
        closest = np.minimum(closest, ((X - X[i]) ** 2).sum(axis=1))
    idx = np.array(indices, dtype=np.int64)
    return X[idx].copy(), idx


# --8<-- [end:kmeans_plusplus]


# --8<-- [start:kmeans]
def kmeans(
    X: np.ndarray,
    k: int,
    init: np.ndarray | None = None,
    max_iter: int = 300,
    tol: float = 0.0,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm: alternate assignment and update until nothing changes.

    Args:
        X: ``[n, d]`` points.
        k: number of clusters, ``1 <= k <= n``.
        init: ``[k, d]`` initial centres; ``None`` = :func:`kmeans_plusplus`.
        max_iter: maximum number of (assign, update) rounds, ``>= 1``.
        tol: stop when the summed squared centre shift is ``<= tol`` (absolute).
        seed: seed for k-means++ when ``init`` is ``None``.

    Returns:
        ``(centers, labels)``: ``[k, d]`` float64 centres, ``[n]`` int64 labels.

    Examples:
        >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
        >>> c, lab = kmeans(X, 2, init=np.array([[0.0], [1.0]]))
        >>> c.tolist(), lab.tolist()
        ([[0.5], [10.5]], [0, 0, 1, 1])
    """
    X = _check_data(X)
    k = _check_int(k, "k", 1, len(X))
    max_iter = _check_int(max_iter, "max_iter", 1)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not tol >= 0:
        raise ValueError(f"tol must be a float >= 0, got {tol!r}")
    if init is None:
        centers, _ = kmeans_plusplus(X, k, seed)
    else:
        centers = _check_centers(init, X.shape[1], "init")
        if len(centers) != k:
            raise ValueError(f"init must have shape [k, d] = ({k}, {X.shape[1]})")
    labels_old = None
    for _ in range(max_iter):  # bounded loop: Lloyd can take very long in theory
        labels = assign_labels(X, centers)  # step 1: never increases the inertia
        new = update_centers(X, labels, centers)  # step 2: neither does this
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if labels_old is not None and np.array_equal(labels, labels_old):
            return centers, labels  # same labels -> same means: a fixed point
        if shift <= tol:
            break
        labels_old = labels
    # Stopped on tol or max_iter: re-assign so labels match the returned centres (sklearn too).
    return centers, assign_labels(X, centers)


# --8<-- [end:kmeans]


# --8<-- [start:soft_assign]
def soft_assign(X: np.ndarray, centers: np.ndarray, sigma: float) -> np.ndarray:
    """E-step of a GMM with equal weights and shared covariance ``sigma^2 I``.

    ``r_ij = exp(-||x_i - c_j||^2 / (2 sigma^2)) / sum_l (...)``; as ``sigma -> 0``
    this becomes the one-hot nearest-centre assignment of k-means.

    Args:
        X: ``[n, d]`` points.
        centers: ``[k, d]`` component means.
        sigma: standard deviation, ``> 0``.

    Returns:
        ``[n, k]`` responsibilities; each row sums to 1.

    Examples:
        >>> r = soft_assign(np.array([[0.0]]), np.array([[0.0], [1.0]]), sigma=1.0)
        >>> round(float(r[0, 0]), 4)  # 1 / (1 + exp(-1/2))
        0.6225
    """
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0:
        raise ValueError(f"sigma must be a float > 0, got {sigma!r}")
    logits = -squared_distances(X, centers) / (2.0 * sigma**2)
    logits -= logits.max(axis=1, keepdims=True)  # stable softmax: largest logit is 0
    r = np.exp(logits)
    return r / r.sum(axis=1, keepdims=True)


# --8<-- [end:soft_assign]
