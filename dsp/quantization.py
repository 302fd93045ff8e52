"""Uniform scalar quantization of the flattened spectrum: dead zone, dither, noise filling.

The dead zone is a rounding offset θ (θ = 1/2 is plain rounding, smaller θ widens the zero
bin).  Dither is subtractive: both sides draw the same pseudo-random offsets from the same
seed (``dither_offsets``), the encoder adds them before rounding and the decoder subtracts
them after scaling.  Noise filling replaces bins that were quantized to zero by random-sign
values of one coded level, never beyond the zero bin's own width.
"""
import numpy as np
from numba import njit

_LCG_MULTIPLIER = 6364136223846793005
_LCG_INCREMENT = 1442695040888963407


@njit(cache=True)
def _lcg_next(state: np.uint64) -> np.uint64:
    """One step of Knuth's MMIX 64-bit linear congruential generator (wraps modulo 2**64)."""
    return state * np.uint64(_LCG_MULTIPLIER) + np.uint64(_LCG_INCREMENT)


@njit(cache=True)
def _mixed_seed(seed: int) -> np.uint64:
    """The SplitMix64 finalizer of ``seed``: a nonlinear start state, so that the LCG streams
    of consecutive seeds (frame t, t + 1) are unrelated (from an affine start, stream s + 1
    would be stream s plus a fixed per-position offset modulo 2**64)."""
    z = np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def dither_offsets(seed: int, n: int) -> np.ndarray:
    """``n`` uniform offsets in [-1/2, 1/2), the same on every machine for the same ``seed``.

    Uses the top 53 bits of an MMIX LCG, so encoder and decoder draw identical floats.
    """
    state = _mixed_seed(seed)
    out = np.empty(n)
    for i in range(n):
        state = _lcg_next(state)
        out[i] = (state >> np.uint64(11)) * (1.0 / 9007199254740992.0) - 0.5
    return out


@njit(cache=True)
def random_signs(seed: int, n: int) -> np.ndarray:
    """``n`` values of ±1 drawn from the LCG (bit 40 of each state), reproducible from ``seed``."""
    state = _mixed_seed(seed) ^ np.uint64(0x5EED)
    out = np.empty(n)
    for i in range(n):
        state = _lcg_next(state)
        out[i] = 1.0 if (state >> np.uint64(40)) & np.uint64(1) else -1.0
    return out


@njit(cache=True)
def quantize(x: np.ndarray, step: np.ndarray, rounding_offset: float,
             dither: np.ndarray) -> np.ndarray:
    """Indices q = sign(v) floor(|v| + θ) with v = x / step + dither.

    Parameters
    ----------
    x, step, dither : ndarray, shape (F,)
        Values, step sizes (> 0) and subtractive dither offsets (zeros for none).
    rounding_offset : float
        θ in (0, 1/2]; 1/2 rounds to nearest, less gives a dead zone around zero.

    Returns
    -------
    q : ndarray of int64, shape (F,)
    """
    q = np.empty(x.shape[0], dtype=np.int64)
    for f in range(x.shape[0]):
        v = x[f] / step[f] + dither[f]
        magnitude = np.floor(abs(v) + rounding_offset)
        q[f] = int(magnitude) if v >= 0.0 else -int(magnitude)
    return q


@njit(cache=True)
def dequantize(q: np.ndarray, step: np.ndarray, reconstruction_offset: float,
               dither: np.ndarray) -> np.ndarray:
    """Reconstruction x̂ of the indices of :func:`quantize`.

    Without dither a zero index reconstructs to 0 and a nonzero index is pulled towards zero by
    ρ (the centroid of a Laplacian bin lies below its centre).  With subtractive dither every
    bin reconstructs to (q - dither) · step and ρ is not applied.

    Parameters
    ----------
    q : ndarray of int64, shape (F,)
    step, dither : ndarray, shape (F,)
    reconstruction_offset : float
        ρ in [0, 1/2).
    """
    out = np.empty(q.shape[0])
    for f in range(q.shape[0]):
        if dither[f] != 0.0:
            out[f] = (q[f] - dither[f]) * step[f]
        elif q[f] == 0:
            out[f] = 0.0
        elif q[f] > 0:
            out[f] = (q[f] - reconstruction_offset) * step[f]
        else:
            out[f] = (q[f] + reconstruction_offset) * step[f]
    return out


@njit(cache=True)
def noise_fill(w_hat: np.ndarray, zero_halfwidth: np.ndarray, level: float,
               seed: int, first_bin: int) -> np.ndarray:
    """Fill bins from ``first_bin`` on that hold 0 with ±min(level, half-width of their zero bin).

    Parameters
    ----------
    w_hat : ndarray, shape (F,)
        Dequantized flattened spectrum; exact zeros mark bins to fill.
    zero_halfwidth : ndarray, shape (F,)
        Largest |w| that quantizes to zero in each bin (inf for bins not coded at all).
    level : float
        Noise level in the flattened domain, decoded from the bitstream.
    seed : int
        Seed of the random signs, the same on both sides.
    first_bin : int
        Lowest bin that is filled.
    """
    out = w_hat.copy()
    signs = random_signs(seed, w_hat.shape[0])
    for f in range(first_bin, w_hat.shape[0]):
        if w_hat[f] == 0.0:
            out[f] = signs[f] * min(level, zero_halfwidth[f])
    return out
