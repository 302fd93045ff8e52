"""Bit allocation B(f) = log2 W(f) + Hr(f) + η with iterative zeroing (TCX paper, eq. 11-12).

One function serves encoder and decoder: both call it with values the decoder has (the
perceptual weights from the quantized envelope, the source model's entropies, and a target
read from the bitstream), so both reach the same allocation.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def allocate_bits(relative_bits: np.ndarray, target_bits: float) -> np.ndarray:
    """Per-bin bits B(f, η) summing to ``target_bits``, none negative (TCX eq. 12).

    η is first the mean correction over all bins; bins whose B(f, η) falls below zero are set
    to zero and left out, and η is recomputed over the remaining bins, until no remaining bin
    is negative (TCX sec. 5).

    Parameters
    ----------
    relative_bits : ndarray, shape (F,)
        B(f, 0) = log2 W(f) + Hr(f), eq. 11.
    target_bits : float
        B_target = Σ_f B(f, η). Zero or less gives all zeros.

    Returns
    -------
    bits : ndarray, shape (F,)
        B(f, η) ≥ 0 with Σ bits = target_bits (all zero when target_bits ≤ 0).
    """
    n_bins = relative_bits.shape[0]
    bits = np.zeros(n_bins)
    if target_bits <= 0.0:
        return bits
    active = np.ones(n_bins, dtype=np.bool_)
    n_active = n_bins
    while n_active > 0:
        eta = target_bits
        for f in range(n_bins):
            if active[f]:
                eta -= relative_bits[f]
        eta /= n_active
        n_dropped = 0
        for f in range(n_bins):
            if active[f] and relative_bits[f] + eta < 0.0:
                active[f] = False
                n_dropped += 1
        if n_dropped == 0:
            for f in range(n_bins):
                if active[f]:
                    bits[f] = relative_bits[f] + eta
            return bits
        n_active -= n_dropped
    return bits
