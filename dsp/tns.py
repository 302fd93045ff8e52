"""Temporal noise shaping: linear prediction across frequency on the flattened spectrum w.

LC3's TNS (ETSI TS 103 634 sec. 3.3.8 encoder, its side information and the sec. 3.4 decoder) on
the 320 bins of 25 Hz of one 20 ms frame.  LC3 at 16 kHz (wideband) uses one filter over
600 Hz-8 kHz with three sub-divisions; so does this module, with the LC3 WB 10 ms bin bounds
doubled for 25 Hz bins (``SUBDIVISIONS``).  One filter keeps the field small (it is paid from
a 192-bit frame at 9.6 kbps) and a click spreads over the whole band anyway.

Encoder (sec. 3.3.8.2-3.3.8.4), and step 6 of this codec's own:

1. normalized autocorrelation over the S = 3 sub-divisions [b_s, b_{s+1}) of w

       r(0) = S,  r(k) = w_lag(k) sum_s (sum_{n=b_s}^{b_{s+1}-1-k} w[n] w[n+k]) / e(s),      (T1)
       e(s) = sum_{n=b_s}^{b_{s+1}-1} w[n]^2,  w_lag(k) = exp(-1/2 (0.02 pi k)^2),

   r(k) = 0 (k > 0) when any e(s) = 0;
2. Levinson-Durbin to order P <= 8 (``lpc.levinson_kernel``), prediction gain

       G = r(0) / E_P;  TNS is on when G > 1.3 (LC3: 1.5; a transient, whose spectrum is
       predictable across frequency);                                                        (T2)

3. LPC weighting (LC3 below 48 kbps, i.e. at every rate of this codec) when G < 2:

       a_k <- gamma^k a_k,  gamma = 1 - (1 - 0.85) (2 - G) / (2 - 1.5),                     (T3)

   (LC3 switches TNS on from G = 1.5; here gamma goes on falling to 0.79 at G = 1.3),

   then the reflection coefficients k_1..k_P of the weighted A(z) (``lpc.reflection_kernel``);
4. arcsine quantization with 17 levels

       i_m = nint(arcsin(k_m) / Delta),  |i_m| <= 8,  k^_m = sin(Delta i_m),  Delta = pi / 17; (T4)

   the order is the index of the last nonzero i_m (0: TNS off);
5. the FIR lattice (analysis) filter across frequency, n = b_0 .. N - 1, with the QUANTIZED k^

       f_0[n] = b_0[n] = w[n],
       f_m[n] = f_{m-1}[n] + k^_m b_{m-1}[n-1],  b_m[n] = k^_m f_{m-1}[n] + b_{m-1}[n-1],  (T5)

   output f_P[n]; and the decoder's IIR lattice (synthesis), its exact inverse

       f_{m-1}[n] = f_m[n] - k^_m b_{m-1}[n-1],  b_m[n] = k^_m f_{m-1}[n] + b_{m-1}[n-1];   (T6)

6. the residual coded is f_P / g, with g from the decoded k^ alone

       g = sqrt(prod_m (1 - k^_m^2)),                                                       (T7)

   the residual power of the AR model that k^ describes, so the residual keeps the unit level
   of w that the rate loop's tables and the noise-filling levels assume (LC3 instead computes
   its global gain after TNS, sec. 3.3.10); the decoder multiplies by g before (T6).

Bitstream (LC3's TNS side information): one bit on/off; when on, the order P - 1 with LC3's
``ac_tns_order`` model (the LPC-weighting one) and each i_m + 8 with the model ``ac_tns_coef``
of its position m.  The encoder lowers the order until the field fits ``MAX_FIELD_BITS`` (the
bound the envelope reserves); LC3 has no such bound because its frames have room for the
largest field.
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from numba import njit

from .lpc import lag_window, levinson_kernel, reflection_kernel
from .range_coder import (check_cdf, rc_decode_bits, rc_decode_symbol, rc_encode_bits,
                          rc_encode_symbol)

MAX_ORDER = 8                            # P of LC3 at 10 ms
SUBDIVISIONS = np.array([24, 122, 220, 320])   # b_s of (T1): LC3 WB 10 ms {12, 61, 110, 160} x 2
GAIN_THRESHOLD = 1.3                     # G of (T2) above which TNS is on; LC3 has 1.5
"""Tuned on the validation split (``configurations.py``, tcx-tns): 1.3 and LC3's 1.5 differ by
less than 0.01 in mean PESQ-WB and ViSQOL; 1.3 was ahead on both."""
WEIGHTING_GAIN = 2.0                     # (T3) weights when G is below this
WEIGHTING_GAIN_LOW = 1.5                 # LC3's threshold, where (T3) has gamma = 0.85 (the
WEIGHTING_GAMMA_MIN = 0.85               # line goes on below it, down to GAIN_THRESHOLD)
QUANTIZER_STEP = np.pi / 17              # Delta of (T4)
MAX_INDEX = 8                            # |i_m| <= 8: 17 levels
MAX_FIELD_BITS = 40                      # the most bits of the field (1 on/off + order + indices)
LAG_WINDOW = lag_window(MAX_ORDER, bandwidth_hz=0.01, sample_rate_hz=1.0)
"""w_lag of (T1): exp(-1/2 (2 pi 0.01 k)^2), LC3's lag window, in cycles per bin."""

# LC3's ac_tns_order_freq (the LPC-weighting row) and ac_tns_coef_freq tables (TS 103 634),
# frequencies out of 1024 (10-bit tables).
_ORDER_FREQ = np.array([14, 42, 100, 157, 181, 178, 167, 185])
_COEF_FREQ = np.array([
    [1, 5, 15, 31, 54, 86, 97, 120, 159, 152, 111, 104, 59, 22, 6, 1, 1],
    [1, 1, 1, 1, 13, 43, 94, 139, 173, 160, 154, 131, 78, 27, 6, 1, 1],
    [1, 1, 1, 1, 9, 43, 106, 199, 217, 210, 141, 74, 17, 1, 1, 1, 1],
    [1, 1, 1, 1, 2, 11, 49, 204, 285, 297, 120, 39, 9, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 7, 42, 241, 341, 314, 58, 9, 3, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 13, 205, 366, 377, 47, 5, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 13, 281, 330, 371, 17, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 5, 297, 1, 682, 26, 2, 1, 1, 1, 1, 1],
])
ORDER_CDF = np.concatenate(([0], np.cumsum(_ORDER_FREQ))).astype(np.int64)
COEF_CDF = np.concatenate((np.zeros((MAX_ORDER, 1)), np.cumsum(_COEF_FREQ, axis=1)),
                          axis=1).astype(np.int64)
for _cdf in (ORDER_CDF, *COEF_CDF):
    check_cdf(np.ascontiguousarray(_cdf))
ORDER_BITS = 10.0 - np.log2(_ORDER_FREQ)          # -log2 p of each order symbol
COEF_BITS = 10.0 - np.log2(_COEF_FREQ)            # -log2 p of each index symbol, per position
CODER_ROUNDING_BITS = 0.05                        # slack for the range coder's rounding


@dataclass(frozen=True)
class TnsData:
    """What the TNS field carries: the quantizer indices i_1..i_P of (T4); P = 0 is off."""

    indices: Tuple[int, ...] = ()

    @property
    def order(self) -> int:
        return len(self.indices)

    def reflection(self) -> np.ndarray:
        """k^_m = sin(Delta i_m) of (T4), shape (P,)."""
        return dequantize_kernel(np.array(self.indices, dtype=np.int64))


@njit(cache=True)
def dequantize_kernel(indices):
    """k^_m = sin(Delta i_m) of (T4)."""
    return np.sin(QUANTIZER_STEP * indices.astype(np.float64))


@njit(cache=True)
def autocorrelation_kernel(w, bounds, lag_window_):
    """r(0..P) of (T1) over the sub-divisions ``bounds`` (b_0 .. b_S), P = lag_window_.size - 1."""
    r = np.zeros(lag_window_.size)
    r[0] = bounds.size - 1
    for s in range(bounds.size - 1):
        start, stop = bounds[s], bounds[s + 1]
        energy = 0.0
        for n in range(start, stop):
            energy += w[n] * w[n]
        if energy == 0.0:
            r[1:] = 0.0
            return r
        for k in range(1, r.size):
            acc = 0.0
            for n in range(start, stop - k):
                acc += w[n] * w[n + k]
            r[k] += lag_window_[k] * acc / energy
    return r


@njit(cache=True)
def analysis_kernel(w, bounds, lag_window_, gain_threshold):
    """Reflection coefficients of (T1)-(T3), zeros when G <= ``gain_threshold``; and G."""
    order = lag_window_.size - 1
    r = autocorrelation_kernel(w, bounds, lag_window_)
    a, _, error = levinson_kernel(r, order)
    gain = r[0] / error
    if not gain > gain_threshold:
        return np.zeros(order), gain
    if gain < WEIGHTING_GAIN:
        gamma = 1.0 - (1.0 - WEIGHTING_GAMMA_MIN) * (WEIGHTING_GAIN - gain) \
            / (WEIGHTING_GAIN - WEIGHTING_GAIN_LOW)
        a = a * gamma ** np.arange(order + 1)
    return reflection_kernel(a), gain


def quantize(reflection: np.ndarray) -> TnsData:
    """(T4): indices i_m, trailing zeros dropped, the order then lowered until the field fits
    ``MAX_FIELD_BITS``."""
    return TnsData(tuple(quantize_kernel(np.asarray(reflection, dtype=np.float64), ORDER_BITS,
                                         COEF_BITS).tolist()))


@njit(cache=True)
def quantize_kernel(reflection, order_bits, coef_bits):
    """Indices of :func:`quantize` (int64, shape (P,))."""
    indices = np.empty(reflection.size, dtype=np.int64)
    for m in range(reflection.size):
        index = int(np.rint(np.arcsin(reflection[m]) / QUANTIZER_STEP))
        indices[m] = min(max(index, -MAX_INDEX), MAX_INDEX)
    order = reflection.size
    while order and (indices[order - 1] == 0
                     or field_bits_kernel(indices[:order], order_bits, coef_bits)
                     > MAX_FIELD_BITS):
        order -= 1
    return indices[:order]


def field_bits(indices) -> float:
    """Bits of the field holding ``indices`` (information, plus the coder's rounding slack)."""
    return field_bits_kernel(np.asarray(indices, dtype=np.int64), ORDER_BITS, COEF_BITS)


@njit(cache=True)
def field_bits_kernel(indices, order_bits, coef_bits):
    """Unchecked Numba kernel of :func:`field_bits`."""
    if indices.size == 0:
        return 1.0
    bits = 1.0 + order_bits[indices.size - 1] + CODER_ROUNDING_BITS
    for m in range(indices.size):
        bits += coef_bits[m, indices[m] + MAX_INDEX]
    return bits


@njit(cache=True)
def lattice_analysis_kernel(w, reflection, start):
    """(T5): the FIR lattice across bins start .. N - 1 of w; a filtered copy."""
    out = w.copy()
    state = np.zeros(reflection.size)          # b_{m}[n-1], m = 0 .. P-1
    for n in range(start, w.size):
        forward = w[n]
        backward = w[n]
        for m in range(reflection.size):
            previous = state[m]
            state[m] = backward
            backward = reflection[m] * forward + previous
            forward = forward + reflection[m] * previous
        out[n] = forward
    return out


@njit(cache=True)
def lattice_synthesis_kernel(w, reflection, start):
    """(T6): the IIR lattice across bins start .. N - 1, the inverse of (T5); a filtered copy."""
    out = w.copy()
    order = reflection.size
    state = np.zeros(order + 1)                # b_{m}[n-1], m = 0 .. P
    for n in range(start, w.size):
        forward = w[n]
        for m in range(order - 1, -1, -1):
            forward -= reflection[m] * state[m]
            state[m + 1] = state[m] + reflection[m] * forward
        state[0] = forward
        out[n] = forward
    return out


def analyze(w: np.ndarray, max_order: int = MAX_ORDER,
            gain_threshold: float = GAIN_THRESHOLD) -> Tuple[np.ndarray, TnsData]:
    """Encoder steps 1-6: (the residual (T7) of w, the field's data); w itself when off."""
    w = np.ascontiguousarray(w, dtype=np.float64)
    reflection, _ = analysis_kernel(w, SUBDIVISIONS, LAG_WINDOW[:max_order + 1], gain_threshold)
    indices = quantize_kernel(reflection, ORDER_BITS, COEF_BITS)
    if not indices.size:
        return w, TnsData()
    return residual_kernel(w, indices, SUBDIVISIONS[0]), TnsData(tuple(indices.tolist()))


def synthesize(w_hat: np.ndarray, data: TnsData) -> np.ndarray:
    """Decoder: ŵ from the decoded residual by (T7) and the inverse filter (T6)."""
    if not data.order:
        return w_hat
    return synthesis_kernel(np.ascontiguousarray(w_hat, dtype=np.float64),
                            np.array(data.indices, dtype=np.int64), SUBDIVISIONS[0])


@njit(cache=True)
def residual_gain_kernel(k_hat):
    """g of (T7): sqrt(prod (1 - k^_m^2)), the rms of (T5)'s output for a unit-rms input that the
    filter predicts exactly as its AR model."""
    return np.sqrt(np.prod(1.0 - k_hat * k_hat))


@njit(cache=True)
def residual_kernel(w, indices, start):
    """Steps 5-6: (T5) with k^ of ``indices`` over bins start .. N - 1, divided by g (T7)."""
    k_hat = dequantize_kernel(indices)
    residual = lattice_analysis_kernel(w, k_hat, start)
    residual[start:] /= residual_gain_kernel(k_hat)
    return residual


@njit(cache=True)
def synthesis_kernel(residual, indices, start):
    """The decoder's inverse of :func:`residual_kernel`: times g (T7), then (T6)."""
    k_hat = dequantize_kernel(indices)
    scaled = residual.copy()
    scaled[start:] *= residual_gain_kernel(k_hat)
    return lattice_synthesis_kernel(scaled, k_hat, start)


def put_data(coder, data: TnsData) -> None:
    """Write the field (LC3 side information): on/off bit, order - 1, each i_m + 8."""
    put_kernel(coder.state, coder.buf, np.array(data.indices, dtype=np.int64), ORDER_CDF,
               COEF_CDF)


def get_data(coder) -> TnsData:
    """Read the field written by :func:`put_data`."""
    return TnsData(tuple(get_kernel(coder.state, coder.buf, ORDER_CDF, COEF_CDF).tolist()))


@njit(cache=True)
def put_kernel(state, buf, indices, order_cdf, coef_cdf):
    """Numba kernel of :func:`put_data` on a range coder's state and buffer."""
    rc_encode_bits(state, buf, 1 if indices.size else 0, 1)
    if indices.size:
        rc_encode_symbol(state, buf, order_cdf, indices.size - 1)
        for m in range(indices.size):
            rc_encode_symbol(state, buf, coef_cdf[m], indices[m] + MAX_INDEX)


@njit(cache=True)
def get_kernel(state, buf, order_cdf, coef_cdf):
    """Numba kernel of :func:`get_data`: the indices (int64, shape (P,), P = 0 when off)."""
    if not rc_decode_bits(state, buf, 1):
        return np.zeros(0, dtype=np.int64)
    indices = np.empty(rc_decode_symbol(state, buf, order_cdf) + 1, dtype=np.int64)
    for m in range(indices.size):
        indices[m] = rc_decode_symbol(state, buf, coef_cdf[m]) - MAX_INDEX
    return indices
