"""Projected scalar quantization (PSQ) of the perceptually weighted flattened spectrum, with a
rate loop over the quantizer step and range coding of the latent indices.

Reference: "Projected scalar quantization" (shared/papers/projected-scalar-quantization.txt),
sec. III.  The weighted spectrum v (F,) is cut into bands of L bins; band b is projected by a
learned matrix E_b (R × L) to the latent z_b = E_b v_b, every latent element is quantized with
one uniform step Δ for the frame,

    q = floor(z / Δ + 1/2),   ẑ = q Δ                                     (PSQ eq. 6)

and the band is rebuilt by the learned back-projection, v̂_b = D_b ẑ_b (L × R).

Entropy coding: latent dimension d has a zero-mean Laplacian of scale σ_d = 2^(s_d / 8)
(s_d an integer, learned), and the step is Δ = 2^(LOG2_STEP_MAX − i / 8) for an 8-bit index i.
The ratio Δ / σ_d = 2^((8 LOG2_STEP_MAX − i − s_d) / 8) thus falls exactly on the 1/8-octave
grid of ``dsp.spectrum_coder``, so the integer tables of ONE unit Laplacian, one per grid
column (a source model's spectrum tables), serve every dimension at every step; a dimension
whose ratio is above RATIO_MAX is not coded (q = 0), one below RATIO_MIN uses the finest table,
and index 0 codes none (so the rate loop always ends within the budget).

The rate loop searches i for the finest step whose coded size fits the bits left, as the
uniform quantizer's loop does (estimated size with a margin, then coded for real one index
coarser at a time until it fits).  Frame fields, in order: step index i (8 bits), noise level
(3 bits), the latent indices.  Latents quantized to zero are noise-filled in the latent domain
(``dsp.quantization.noise_fill``) before the back-projection, by the uniform quantizer's rule
in the flattened domain: one coded level ℓ, the rms of the zeroed latents each divided by its
band's weight W̄_b, and latent d at ±min(ℓ W̄_b, zero-bin half-width).  In the weighted domain
itself the latents' scales spread over about 2^-6 … 2^7, and one level there would let the
loud low bands set the fill of the quiet high ones.
"""
import numpy as np
from numba import njit

from .quantization import noise_fill, quantize
from .range_coder import MAX_ABS_VALUE, rc_decode_bits, rc_decode_value, rc_tell
from .spectrum_coder import (NOISE_LEVEL_BITS, RATE_LOOP_MARGIN_BITS, RATIO_MAX,
                             RATIO_MIN, STEPS_PER_OCTAVE, TARGET_BITS, _write_frame_spectrum,
                             estimated_bits, noise_level, noise_level_index)

LOG2_STEP_MAX = 12
"""Coarsest step Δ = 4096 (index 0, which codes nothing); index 255 gives Δ ≈ 2^-20."""


@njit(cache=True)
def step_size(index):
    """Δ of a step index: 2^(LOG2_STEP_MAX − index / 8)."""
    return 2.0 ** (LOG2_STEP_MAX - index / STEPS_PER_OCTAVE)


@njit(cache=True)
def band_transform(x, matrices):
    """Each band of x through its matrix: y_b = M_b x_b, ``matrices`` (B, out, in), x (B in,).

    The projection z_b = E_b v_b (``matrices`` E, (B, R, L)) and the back-projection
    v̂_b = D_b ẑ_b (``matrices`` D, (B, L, R)) of the module docstring.
    """
    n_bands, n_out, n_in = matrices.shape
    y = np.empty(n_bands * n_out)
    for b in range(n_bands):
        y[b * n_out:(b + 1) * n_out] = matrices[b] @ x[b * n_in:(b + 1) * n_in]
    return y


@njit(cache=True)
def latent_tables(index, scale_eighths):
    """Table (grid column − RATIO_MIN) of every latent dimension at step index ``index``; −1
    (not coded) where Δ / σ_d is above RATIO_MAX, and everywhere at index 0; ``scale_eighths``
    s_d (int64, (D,))."""
    table = np.full(scale_eighths.shape[0], -1, dtype=np.int64)
    for d in range(scale_eighths.shape[0] if index > 0 else 0):
        r = STEPS_PER_OCTAVE * LOG2_STEP_MAX - index - scale_eighths[d]
        if r <= RATIO_MAX:
            table[d] = max(r, RATIO_MIN) - RATIO_MIN
    return table


@njit(cache=True)
def quantize_latents(index, z, scale_eighths, rounding_offset):
    """Tables and indices q = sign(z) floor(|z| / Δ + θ) at step index ``index`` (0 where a
    dimension is not coded); θ = ``rounding_offset``, 1/2 is eq. 6, less a dead zone."""
    table = latent_tables(index, scale_eighths)
    n = z.shape[0]
    q = quantize(z, np.full(n, step_size(index)), rounding_offset, np.zeros(n))
    for d in range(n):
        q[d] = 0 if table[d] < 0 else min(max(q[d], -MAX_ABS_VALUE), MAX_ABS_VALUE)
    return table, q


@njit(cache=True)
def encode_latents(state, buf, z, scale_eighths, budget_bits, cdf, length, offset, cdf_bits,
                   rounding_offset, fill_weight, nf_first, nf_gain):
    """Rate loop: quantize and write the latents in the bits left in the frame.

    Bisection on the estimated size (ideal code lengths) for the largest step index that
    leaves RATE_LOOP_MARGIN_BITS, then coding for real and, while ``rc_tell`` exceeds
    ``budget_bits``, again one index lower (index 0 codes nothing, so the loop ends).  The
    noise level is ``nf_gain`` × the rms of z_d / ``fill_weight``[d] (W̄_b of the module
    docstring) over the latents from ``nf_first`` on quantized to zero (0: no filling).

    Returns
    -------
    index, nf_index : int
    q : ndarray of int64, shape (D,)
    """
    available = budget_bits - rc_tell(state) - TARGET_BITS - NOISE_LEVEL_BITS
    low, high = 0, (1 << TARGET_BITS) - 1
    while low < high:
        middle = (low + high + 1) // 2
        table, q = quantize_latents(middle, z, scale_eighths, rounding_offset)
        if estimated_bits(table, q, cdf_bits, length, offset) + RATE_LOOP_MARGIN_BITS <= available:
            low = middle
        else:
            high = middle - 1
    saved_state = state.copy()
    saved_buf = buf.copy()
    index = low
    while True:
        table, q = quantize_latents(index, z, scale_eighths, rounding_offset)
        nf_index = noise_level_index(z / fill_weight, q, nf_first, nf_gain) if nf_gain > 0.0 else 0
        _write_frame_spectrum(state, buf, index, nf_index, table, q, cdf, length, offset)
        if rc_tell(state) <= budget_bits or index == 0:
            return index, nf_index, q
        state[:] = saved_state
        buf[:] = saved_buf
        index -= 1


@njit(cache=True)
def dequantize_latents(index, nf_index, q, rounding_offset, fill_weight, nf_first, seed):
    """ẑ = q Δ (eq. 6); zeros from latent ``nf_first`` on noise-filled at ±min(ℓ
    ``fill_weight``[d], (1 − θ) Δ), ℓ the coded level, with signs seeded by ``seed``."""
    z_hat = q * step_size(index)
    half_width = (1.0 - rounding_offset) * step_size(index)
    return noise_fill(z_hat, np.minimum(noise_level(nf_index) * fill_weight, half_width),
                      np.inf, seed, nf_first)


@njit(cache=True)
def decode_latents(state, buf, scale_eighths, cdf, length, offset, rounding_offset, fill_weight,
                   nf_first, seed):
    """Decoder side of :func:`encode_latents`: ẑ (D,), indices q (D,), step index and noise
    level index."""
    index = rc_decode_bits(state, buf, TARGET_BITS)
    nf_index = rc_decode_bits(state, buf, NOISE_LEVEL_BITS)
    table = latent_tables(index, scale_eighths)
    q = np.zeros(scale_eighths.shape[0], dtype=np.int64)
    for d in range(q.shape[0]):
        if table[d] >= 0:
            q[d] = rc_decode_value(state, buf, cdf, length, offset, table[d])
    z_hat = dequantize_latents(index, nf_index, q, rounding_offset, fill_weight, nf_first, seed)
    return z_hat, q, index, nf_index
