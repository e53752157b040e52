"""Dilated convolutions: which input offsets a stack reads, and HDC's rule against gridding.

Split from :mod:`snippets.backbone.receptive_field` to keep that module short. One axis only; a
stack of dilated ``k x k`` convs with stride 1 reads, from one output, the offsets
``sum_l r_l * t_l`` with ``t_l`` in ``[-(k // 2), k // 2]``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence


# --8<-- [start:hdc]
def dilated_offsets(rates: Sequence[int], kernel_size: int = 3) -> set[int]:
    """Input offsets (one axis) read by one output of stacked dilated convs.

    Args:
        rates: the dilation rate of each layer, first layer first.
        kernel_size: odd ``k`` of every layer.

    Returns:
        The set of offsets from the output position; "holes" are gaps in it (gridding).

    Examples:
        >>> sorted(dilated_offsets([2, 2]))  # only even offsets: every odd pixel is missed
        [-4, -2, 0, 2, 4]
    """
    offsets = {0}
    taps = range(-(kernel_size // 2), kernel_size // 2 + 1)
    for r in rates:
        offsets = {o + r * t for o in offsets for t in taps}  # add this layer's taps
    return offsets


def hdc_max_gap(rates: Sequence[int]) -> int:
    """HDC's ``M_2`` (Wang et al., WACV 2018): the largest gap the rates leave.

    ``M_n = r_n`` and ``M_i = max(M_{i+1} - 2 r_i, M_{i+1} - 2 (M_{i+1} - r_i), r_i)``; the
    design rule is ``M_2 <= K`` for kernel size ``K``, for rates that start at 1 and do not
    decrease (then ``M_2 <= 3`` is exactly "no holes" for ``K = 3``, see the tests).

    Args:
        rates: ``[r_1, ..., r_n]`` with ``n >= 2``.

    Returns:
        ``M_2``.

    Examples:
        >>> hdc_max_gap([1, 2, 5]), hdc_max_gap([1, 2, 9])  # 9 is coprime with 2, still holes
        (2, 5)
    """
    if len(rates) < 2:
        raise ValueError(f"rates must have at least 2 entries, got {list(rates)!r}")
    for i, r in enumerate(rates):
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
            raise ValueError(f"rates[{i}] must be an int >= 1, got {r!r}")
    m = rates[-1]
    for r in reversed(rates[1:-1]):  # from r_{n-1} down to r_2
        m = max(m - 2 * r, m - 2 * (m - r), r)
    return m


# --8<-- [end:hdc]
