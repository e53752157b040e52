"""PCA: covariance eigendecomposition, SVD of the centred data, projection, whitening, choosing k.

Conventions (same as scikit-learn 1.9.1 ``PCA(n_components=k, svd_solver="full")``):

* ``X`` is a NumPy array (or a nested list, converted with ``np.asarray``) of shape ``[n, d]``
  with ``n >= 2``; it is computed in float64;
* ``components`` are ROWS, shape ``[k, d]`` (sklearn's ``components_``), unit length, sorted by
  decreasing variance;
* ``explained_variance`` uses ``n - 1`` degrees of freedom: ``S**2 / (n - 1)``;
* signs: the entry of largest absolute value in each component is positive (sklearn's
  ``svd_flip(U, Vt, u_based_decision=False)``), so no sign fix is needed to compare.
"""

from __future__ import annotations

import numpy as np


def _check_data(X: object, name: str = "X", min_rows: int = 2) -> np.ndarray:
    if not isinstance(X, np.ndarray | list | tuple):
        raise TypeError(
            f"{name} must be a numpy.ndarray (or nested list) of shape [n, d], "
            f"got {type(X).__name__}"
        )
    arr = np.asarray(X)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < min_rows or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must have shape [n, d] with n >= {min_rows}, d >= 1, got {arr.shape}"
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _check_k(n_components: object, X: np.ndarray) -> int:
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer):
        raise TypeError(f"n_components must be an int, got {type(n_components).__name__}")
    top = min(X.shape)
    if not 1 <= n_components <= top:
        raise ValueError(f"n_components must be in [1, min(n, d)] = [1, {top}], got {n_components}")
    return int(n_components)


def _check_model(
    X: object, mean: object, components: object, explained_variance: object, x_name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    comps = _check_data(components, "components", min_rows=1)
    k, d = comps.shape
    mu = np.asarray(mean, dtype=np.float64) if isinstance(mean, np.ndarray | list) else None
    if mu is None or mu.shape != (d,):
        raise ValueError(f"mean must be an array of shape [d] = ({d},)")
    width = k if x_name == "Z" else d
    Xa = _check_data(X, x_name, min_rows=1)
    if Xa.shape[1] != width:
        raise ValueError(f"{x_name} must have shape [m, {width}], got {Xa.shape}")
    ev = None
    if explained_variance is not None:
        ev = np.asarray(explained_variance, dtype=np.float64)
        if ev.shape != (k,) or (ev < 0).any():
            raise ValueError(f"explained_variance must be >= 0 with shape [k] = ({k},)")
    return Xa, mu, comps, ev


# --8<-- [start:flip]
def flip_signs(components: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of each row positive (sklearn's v-based ``svd_flip``).

    Args:
        components: ``[k, d]`` directions, one per row.

    Returns:
        ``[k, d]`` the same rows, some multiplied by -1.

    Examples:
        >>> flip_signs(np.array([[0.6, -0.8], [0.8, 0.6]])).tolist()
        [[-0.6, 0.8], [0.8, 0.6]]
    """
    biggest = np.argmax(np.abs(components), axis=1)  # first index on a tie, as sklearn
    signs = np.sign(components[np.arange(len(components)), biggest])
    return components * signs[:, None]


# --8<-- [end:flip]


# --8<-- [start:pca_eig]
def pca_eig(X: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA the textbook way: eigenvectors of the covariance matrix.

    Args:
        X: ``[n, d]`` data, ``n >= 2``.
        n_components: ``k`` in ``[1, min(n, d)]``.

    Returns:
        ``components`` ``[k, d]`` (rows) and ``explained_variance`` ``[k]``, descending.

    Examples:
        >>> comps, var = pca_eig(np.array([[-3.0, 0], [3, 0], [0, -1], [0, 1]]), 2)
        >>> [round(float(v), 4) for v in var], comps.round(6).tolist()
        ([6.0, 0.6667], [[1.0, 0.0], [0.0, 1.0]])
    """
    X = _check_data(X)
    k = _check_k(n_components, X)
    Xc = X - X.mean(axis=0)  # PCA is about variance around the mean
    cov = Xc.T @ Xc / (X.shape[0] - 1)  # [d, d], ddof = 1 like np.cov
    eigvals, eigvecs = np.linalg.eigh(cov)  # ASCENDING, eigenvectors in COLUMNS
    eigvals, eigvecs = eigvals[::-1], eigvecs[:, ::-1]  # largest variance first
    eigvals = np.maximum(eigvals, 0.0)  # rounding can give -1e-17 for a zero eigenvalue
    components = flip_signs(eigvecs.T)  # rows, deterministic signs
    return components[:k], eigvals[:k]


# --8<-- [end:pca_eig]


# --8<-- [start:pca]
def pca(X: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA from the SVD of the centred data (sklearn's ``svd_solver="full"``).

    Args:
        X: ``[n, d]`` data, ``n >= 2``.
        n_components: ``k`` in ``[1, min(n, d)]``.

    Returns:
        ``components`` ``[k, d]`` (rows of ``Vt``) and ``explained_variance`` ``[k]``.

    Examples:
        >>> comps, var = pca(np.array([[-3.0, 0], [3, 0], [0, -1], [0, 1]]), 2)
        >>> [round(float(v), 4) for v in var], comps.round(6).tolist()
        ([6.0, 0.6667], [[1.0, 0.0], [0.0, 1.0]])
    """
    X = _check_data(X)
    k = _check_k(n_components, X)
    Xc = X - X.mean(axis=0)
    # Xc = U diag(S) Vt: S descending, the ROWS of Vt are the directions.
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)  # never forms Xc.T @ Xc
    explained_variance = S**2 / (X.shape[0] - 1)  # squared singular values, ddof = 1
    return flip_signs(Vt)[:k], explained_variance[:k]


# --8<-- [end:pca]


# --8<-- [start:transform]
def transform(
    X: np.ndarray,
    mean: np.ndarray,
    components: np.ndarray,
    explained_variance: np.ndarray | None = None,
) -> np.ndarray:
    """Project onto the components; pass ``explained_variance`` to whiten.

    Args:
        X: ``[m, d]`` data (new data too: centre with the TRAINING mean).
        mean: ``[d]`` training mean.
        components: ``[k, d]`` from :func:`pca`.
        explained_variance: ``[k]``; if given, each output column is divided by its std.

    Returns:
        ``[m, k]`` coordinates ``(X - mean) @ components.T`` (whitened: unit variance).

    Examples:
        >>> transform(np.array([[3.0, 1.0]]), np.zeros(2), np.array([[0.0, 1.0]])).tolist()
        [[1.0]]
    """
    X, mean, components, explained_variance = _check_model(
        X, mean, components, explained_variance, "X"
    )
    Z = (X - mean) @ components.T
    if explained_variance is not None:
        # sklearn clips the scale at eps so a zero-variance component gives 0, not inf/nan
        scale = np.maximum(np.sqrt(explained_variance), np.finfo(np.float64).eps)
        Z = Z / scale
    return Z


def inverse_transform(
    Z: np.ndarray,
    mean: np.ndarray,
    components: np.ndarray,
    explained_variance: np.ndarray | None = None,
) -> np.ndarray:
    """Back to the input space: ``Z @ components + mean`` (undo whitening first).

    Args:
        Z: ``[m, k]`` coordinates from :func:`transform`.
        mean: ``[d]`` training mean.
        components: ``[k, d]``.
        explained_variance: ``[k]``; give it if ``Z`` was whitened.

    Returns:
        ``[m, d]`` reconstruction, the projection of ``X`` onto the principal subspace.

    Examples:
        >>> inverse_transform(np.array([[1.0]]), np.zeros(2), np.array([[0.0, 1.0]])).tolist()
        [[0.0, 1.0]]
    """
    Z, mean, components, explained_variance = _check_model(
        Z, mean, components, explained_variance, "Z"
    )
    if explained_variance is not None:
        Z = Z * np.sqrt(explained_variance)
    return Z @ components + mean


# --8<-- [end:transform]


# --8<-- [start:choose_k]
def explained_variance_ratio(X: np.ndarray, explained_variance: np.ndarray) -> np.ndarray:
    """Share of the total variance (trace of the covariance) each component explains.

    Args:
        X: ``[n, d]`` the data the PCA was fitted on.
        explained_variance: ``[k]`` from :func:`pca`.

    Returns:
        ``[k]`` ratios in ``[0, 1]``; they sum to 1 when ``k = min(n, d)``.

    Examples:
        >>> X = np.array([[-3.0, 0], [3, 0], [0, -1], [0, 1]])
        >>> explained_variance_ratio(X, np.array([6.0])).tolist()
        [0.9]
    """
    X = _check_data(X)
    # trace(cov) = sum of ALL eigenvalues = sum of the per-feature variances
    total = X.var(axis=0, ddof=1).sum()
    if total == 0:
        raise ValueError("X has zero total variance: every row is the same point")
    return np.asarray(explained_variance, dtype=np.float64) / total


def choose_n_components(X: np.ndarray, threshold: float) -> int:
    """Smallest ``k`` whose cumulative ratio EXCEEDS ``threshold`` (sklearn's float rule).

    Args:
        X: ``[n, d]`` data.
        threshold: in ``(0, 1)``, e.g. 0.95 for "keep 95 % of the variance".

    Returns:
        ``k`` in ``[1, min(n, d)]``.

    Examples:
        >>> choose_n_components(np.array([[-3.0, 0], [3, 0], [0, -1], [0, 1]]), 0.85)
        1
    """
    X = _check_data(X)
    if isinstance(threshold, bool) or not isinstance(threshold, float | int | np.floating):
        raise TypeError(f"threshold must be a float, got {type(threshold).__name__}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    _, var = pca(X, min(X.shape))  # all components
    if var.sum() == 0:
        raise ValueError("X has zero total variance: every row is the same point")
    cumulative = np.cumsum(var / var.sum())
    # side="right": a cumulative ratio EQUAL to the threshold is not enough, as in sklearn
    k = int(np.searchsorted(cumulative, threshold, side="right")) + 1
    return min(k, len(var))  # rounding can leave cumulative[-1] a hair below 1


# --8<-- [end:choose_k]
