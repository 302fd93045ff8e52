"""Rate loop and entropy coding of the flattened spectrum (TCX paper, sec. 5).

Both sides derive, from values the decoder has, the allocation B(f) (``dsp.allocation``) for a
target read from the bitstream, and from B(f) each bin's step size and coding table:

    δ(f) = 2^(H1(f) - B(f))          (eq. 10: B(f) bits buy a step 2^-B below the step of H1 bits)

snapped to a grid of 1/8 octave relative to the model's scale, so that every (model, step) pair
has one precomputed integer table.  Each bin rounds to the grid with its own offset (a golden-
ratio sequence over the bins), so that as the target grows the bins move to the next finer
step a few at a time and the coded size grows smoothly, not in jumps of F/8 bits.  Bins with B(f) = 0 are not coded.  The encoder's rate loop
searches the 8-bit target index for the finest quantization whose coded size fits the bits
left in the frame; after it come a 3-bit noise-filling level and the quantized bins.  Each bin's
index is the dead zone's, or, with λ > 0, the rate-distortion choice (RD1) of
:func:`rd_indices` under the bin's own table; the decoder reads both alike.

A per-bin table shift k(f) (``dsp.harmonic_model``, zeros when it is off) then moves each coded
bin's table, never its step, to the column r(f) − k(f) clipped to [RATIO_MIN, RATIO_MAX]: a
larger scale at harmonic peaks, a smaller one in the valleys.

Frame fields written here, in order: target index (8 bits), noise level (3 bits), spectrum.
"""
import numpy as np
from numba import njit

from .allocation import allocate_bits
from .quantization import dequantize, noise_fill, quantize
from .range_coder import (MAX_ABS_VALUE, rc_decode_bits, rc_decode_value, rc_encode_bits, rc_encode_value,
                          rc_tell, value_bits)

STEPS_PER_OCTAVE = 8
"""Resolution of the step grid: δ / scale = 2^(r / 8)."""
RATIO_MIN = -48
"""Finest step, scale / 64 (about 36 dB above the model's scale)."""
RATIO_MAX = 24
"""Coarsest step, 8 × scale: beyond it a bin costs almost nothing and is left uncoded."""
N_RATIOS = RATIO_MAX - RATIO_MIN + 1
GOLDEN_RATIO_CONJUGATE = 0.6180339887498949
TARGET_BITS = 8
MAX_TARGET_INDEX = (1 << TARGET_BITS) - 1
TARGET_DIVISIONS = 192
"""Allocation target = index × frame budget / 192, so index 255 allows 1.33 × the budget."""
NOISE_LEVEL_BITS = 3
NOISE_LEVEL_MAX = 2.5
"""Loudest noise-filling level in the flattened domain, about the rms of w for a unit-
geometric-mean Laplacian (√2 · e^γ ≈ 2.5)."""
RATE_LOOP_MARGIN_BITS = 4.0
"""Headroom kept by the search on the estimated size for the range coder's termination."""


def step_ratios() -> np.ndarray:
    """Step / model scale of each table column, 2^(r/8) for r = RATIO_MIN … RATIO_MAX."""
    return 2.0 ** (np.arange(RATIO_MIN, RATIO_MAX + 1) / STEPS_PER_OCTAVE)


@njit(cache=True)
def target_bits(index: int, budget_bits: int) -> float:
    """Allocation target B_target of a target index (both sides)."""
    return index * budget_bits / TARGET_DIVISIONS


@njit(cache=True)
def bin_steps(bits: np.ndarray, log2_scale: np.ndarray, h1: np.ndarray,
              table_base: np.ndarray):
    """Table index and step δ(f) = 2^(H1(f) - B(f)) of every bin, snapped to the 1/8-octave grid
    with the bin's own rounding offset frac((f + 1) · 0.618…).

    Parameters
    ----------
    bits : ndarray, shape (F,)
        Allocation B(f) ≥ 0; bins with B(f) = 0 get table -1 (not coded) and an infinite step.
    log2_scale, h1 : ndarray, shape (F,)
        log2 of each bin model's scale and its differential entropy H1(f) in bits.
    table_base : ndarray of int64, shape (F,)
        Index of each bin model's first table (model id × N_RATIOS).
    """
    n_bins = bits.shape[0]
    table = np.full(n_bins, -1, dtype=np.int64)
    step = np.full(n_bins, np.inf)
    for f in range(n_bins):
        if bits[f] <= 0.0:
            continue
        grid_offset = (f + 1) * GOLDEN_RATIO_CONJUGATE % 1.0
        r = int(np.floor(STEPS_PER_OCTAVE * (h1[f] - log2_scale[f] - bits[f]) + grid_offset))
        if r > RATIO_MAX:
            continue
        r = max(r, RATIO_MIN)
        table[f] = table_base[f] + r - RATIO_MIN
        step[f] = 2.0 ** (log2_scale[f] + r / STEPS_PER_OCTAVE)
    return table, step


@njit(cache=True)
def shift_tables(table, table_base, table_shift):
    """Table of each coded bin moved from column r(f) to r(f) − k(f), clipped to the column
    range (``table_shift`` k(f), int64 (F,)); bins not coded (table -1) stay -1."""
    shifted = table.copy()
    for f in range(table.shape[0]):
        if table[f] >= 0 and table_shift[f] != 0:
            r = table[f] - table_base[f] + RATIO_MIN - table_shift[f]
            shifted[f] = table_base[f] + min(max(r, RATIO_MIN), RATIO_MAX) - RATIO_MIN
    return shifted


@njit(cache=True)
def _rd_cost(v, value, t, cdf_bits, length, offset, rd_lambda):
    """J of (RD1) for one bin: (v − |value|)² + λ · bits(value | table t)."""
    return (v - abs(value)) ** 2 + rd_lambda * value_bits(cdf_bits, length, offset, t, value)


@njit(cache=True)
def rd_indices(w, step, table, cdf_bits, length, offset, rd_lambda):
    """Rate-distortion choice of each coded bin's index (table ≥ 0; 0 elsewhere): with
    v = |w(f)| / δ(f) and n = round(v), the m among n, n − 1 and 0 (with the sign of w) that
    minimizes

        J(m) = (v − m)² + λ · bits(±m | table(f)),                                       (RD1)

    bits() the ideal code length under the bin's table.  The distortion is the squared error
    of the flattened (perceptually weighted) spectrum in units of δ(f)², rebuilt at m·δ(f)
    (ρ = 0).  λ = 2 ln 2 / 12 ≈ 0.116 is the slope −dD/dR of D(R) = δ²/12 · 2^(−2R) of a fine
    uniform quantizer; a larger λ spends fewer bits where an index is expensive, that is,
    where the allocation gave few bits."""
    q = np.zeros(w.shape[0], dtype=np.int64)
    for f in range(w.shape[0]):
        if table[f] < 0:
            continue
        v = abs(w[f]) / step[f]
        sign = 1 if w[f] >= 0.0 else -1
        nearest = min(int(np.floor(v + 0.5)), MAX_ABS_VALUE)
        best_cost = _rd_cost(v, 0, table[f], cdf_bits, length, offset, rd_lambda)
        for m in range(max(nearest - 1, 1), nearest + 1):
            cost = _rd_cost(v, sign * m, table[f], cdf_bits, length, offset, rd_lambda)
            if cost < best_cost:
                q[f], best_cost = sign * m, cost
    return q


@njit(cache=True)
def quantize_at(index, w, relative_bits, budget_bits, log2_scale, h1, table_base,
                table_shift, rounding_offset, dither, cdf_bits, length, offset, rd_lambda):
    """Table, step δ(f) and index q(f) of every bin at target index ``index`` (table -1, step
    inf and q 0 where a bin is not coded): what the rate loop codes at that index.  With
    ``rd_lambda`` > 0 (and no dither) each index is the rate-distortion choice (RD1) of
    :func:`rd_indices` instead of the dead zone's."""
    bits = allocate_bits(relative_bits, target_bits(index, budget_bits))
    table, step = bin_steps(bits, log2_scale, h1, table_base)
    table = shift_tables(table, table_base, table_shift)
    if rd_lambda > 0.0 and not np.any(dither != 0.0):
        return table, step, rd_indices(w, step, table, cdf_bits, length, offset, rd_lambda)
    q = quantize(w, step, rounding_offset, dither)
    for f in range(q.shape[0]):
        if table[f] < 0:
            q[f] = 0
        q[f] = min(max(q[f], -MAX_ABS_VALUE), MAX_ABS_VALUE)
    return table, step, q


@njit(cache=True)
def estimated_bits(table, q, cdf_bits, length, offset):
    """Ideal code length in bits of the indices q of the coded bins (table ≥ 0) under their
    tables: the rate loop's size estimate."""
    total = 0.0
    for f in range(q.shape[0]):
        if table[f] >= 0:
            total += value_bits(cdf_bits, length, offset, table[f], q[f])
    return total


@njit(cache=True)
def _zero_halfwidth(step, rounding_offset, dither):
    """Largest |w| quantized to zero per bin (inf where the bin is not coded)."""
    half = np.empty(step.shape[0])
    for f in range(step.shape[0]):
        half[f] = step[f] * (1.0 - rounding_offset) if dither[f] == 0.0 else 0.0
    return half


@njit(cache=True)
def noise_level_index(w, q, first_bin, gain):
    """3-bit index of ``gain`` × the rms of w over the bins quantized to zero from ``first_bin`` on.

    Levels are NOISE_LEVEL_MAX · 2^(-(7 - i)/2) for i = 1…7 (3 dB apart); i = 0 means no fill.
    """
    energy = 0.0
    count = 0
    for f in range(first_bin, w.shape[0]):
        if q[f] == 0:
            energy += w[f] * w[f]
            count += 1
    if count == 0 or energy == 0.0:
        return 0
    rms = gain * np.sqrt(energy / count)
    index = int(np.round(7.0 + 2.0 * np.log2(rms / NOISE_LEVEL_MAX)))
    return min(max(index, 0), 7)


@njit(cache=True)
def noise_level(index):
    """Noise-filling level of a 3-bit index (0 for index 0)."""
    if index == 0:
        return 0.0
    return NOISE_LEVEL_MAX * 2.0 ** (-(7 - index) / 2.0)


@njit(cache=True)
def _write_frame_spectrum(state, buf, index, nf_index, table, q, cdf, length, offset):
    rc_encode_bits(state, buf, index, TARGET_BITS)
    rc_encode_bits(state, buf, nf_index, NOISE_LEVEL_BITS)
    for f in range(q.shape[0]):
        if table[f] >= 0:
            rc_encode_value(state, buf, cdf, length, offset, table[f], q[f])


@njit(cache=True)
def encode_spectrum(state, buf, w, relative_bits, budget_bits, log2_scale, h1, table_base,
                    table_shift, cdf, length, offset, cdf_bits, rounding_offset, dither,
                    nf_first_bin, nf_gain, rd_lambda):
    """Rate loop: quantize and write the flattened spectrum in the bits left in the frame.

    A bisection on the estimated size (ideal code lengths of the tables) finds the largest
    target index that leaves RATE_LOOP_MARGIN_BITS; the frame is then coded for real at that
    index and its neighbours (:func:`_code_best_index`), so that it leaves less than a whole
    byte of the budget unused unless the next index would overrun.  The noise level coded is
    ``nf_gain`` times the rms of the bins quantized to zero: filling at full level sounds
    noisier than the original.  ``table_shift``: k(f) of :func:`shift_tables` (zeros: no
    shift).  ``rd_lambda``: λ of the rate-distortion choice of the indices (RD1), 0 for the dead
    zone alone.

    Returns
    -------
    index, nf_index : int
        Target index and noise level index written.
    q : ndarray of int64, shape (F,)
        Quantization indices (0 for bins not coded).
    step : ndarray, shape (F,)
        Step per bin (inf for bins not coded).
    """
    available = budget_bits - rc_tell(state) - TARGET_BITS - NOISE_LEVEL_BITS
    low, high = 0, MAX_TARGET_INDEX
    while low < high:
        middle = (low + high + 1) // 2
        table, step, q = quantize_at(middle, w, relative_bits, budget_bits, log2_scale, h1,
                                      table_base, table_shift, rounding_offset, dither,
                                      cdf_bits, length, offset, rd_lambda)
        if estimated_bits(table, q, cdf_bits, length, offset) + RATE_LOOP_MARGIN_BITS <= available:
            low = middle
        else:
            high = middle - 1
    return _code_best_index(state, buf, low, w, relative_bits, budget_bits, log2_scale, h1,
                            table_base, table_shift, cdf, length, offset, cdf_bits,
                            rounding_offset, dither, nf_first_bin, nf_gain, rd_lambda)


@njit(cache=True)
def _code_best_index(state, buf, index, w, relative_bits, budget_bits, log2_scale, h1,
                     table_base, table_shift, cdf, length, offset, cdf_bits, rounding_offset,
                     dither, nf_first_bin, nf_gain, rd_lambda):
    """Code the frame at the largest target index whose real size fits ``budget_bits``,
    starting from the estimate ``index``: one index lower while it overruns (index 0 codes no
    bin, so that ends), else one higher while a whole byte is left over, keeping the last
    coding that fit.  The estimate leaves RATE_LOOP_MARGIN_BITS and the range coder ends on a
    whole byte, so the first coding alone left 5 bits of a 192-bit frame (9.6 kbit/s) unused on
    average and 9 of a 488-bit one (24.4 kbit/s); the search upwards brings that to 0.2 and 3.6
    (65 s of training speech, the default configuration)."""
    start_state, start_buf = state.copy(), buf.copy()
    fit_state, fit_buf = state.copy(), buf.copy()
    fitted, fit_nf = -1, 0
    fit_q, fit_step = np.zeros(w.shape[0], dtype=np.int64), np.empty(w.shape[0])
    descending = False
    while True:
        table, step, q = quantize_at(index, w, relative_bits, budget_bits, log2_scale, h1,
                                      table_base, table_shift, rounding_offset, dither,
                                      cdf_bits, length, offset, rd_lambda)
        nf_index = noise_level_index(w, q, nf_first_bin, nf_gain)
        _write_frame_spectrum(state, buf, index, nf_index, table, q, cdf, length, offset)
        left_over = budget_bits - rc_tell(state)
        if left_over >= 0 or index == 0:
            if descending or index == MAX_TARGET_INDEX or left_over < 8:
                return index, nf_index, q, step
            fitted, fit_nf, fit_q, fit_step = index, nf_index, q, step
            fit_state[:] = state
            fit_buf[:] = buf
            index += 1
        elif fitted >= 0:
            state[:] = fit_state
            buf[:] = fit_buf
            return fitted, fit_nf, fit_q, fit_step
        else:
            descending = True
            index -= 1
        state[:] = start_state
        buf[:] = start_buf


@njit(cache=True)
def decode_spectrum(state, buf, relative_bits, budget_bits, log2_scale, h1, table_base,
                    table_shift, cdf, length, offset, reconstruction_offset, rounding_offset, dither,
                    nf_first_bin, seed):
    """Decoder side of :func:`encode_spectrum`: read the fields, rebuild and noise-fill ŵ.

    Returns
    -------
    w_hat : ndarray, shape (F,)
    q : ndarray of int64, shape (F,)
        The decoded indices (0 for bins not coded), before noise filling.
    index, nf_index : int
    step : ndarray, shape (F,)
        Step per bin (inf for bins not coded).
    """
    index = rc_decode_bits(state, buf, TARGET_BITS)
    nf_index = rc_decode_bits(state, buf, NOISE_LEVEL_BITS)
    bits = allocate_bits(relative_bits, target_bits(index, budget_bits))
    table, step = bin_steps(bits, log2_scale, h1, table_base)
    table = shift_tables(table, table_base, table_shift)
    q = np.zeros(relative_bits.shape[0], dtype=np.int64)
    coded_dither = dither.copy()
    for f in range(q.shape[0]):
        if table[f] >= 0:
            q[f] = rc_decode_value(state, buf, cdf, length, offset, table[f])
        else:
            coded_dither[f] = 0.0
    w_hat = dequantize(q, step, reconstruction_offset, coded_dither)
    half = _zero_halfwidth(step, rounding_offset, coded_dither)
    w_hat = noise_fill(w_hat, half, noise_level(nf_index), seed, nf_first_bin)
    return w_hat, q, index, nf_index, step
