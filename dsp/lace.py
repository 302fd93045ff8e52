"""LACE's adaptive filters: a comb filter and an adaptive FIR ("AdaConv"), steered per sub-frame.

After LACE (Büthe, Mustafa, Valin, Helwani, Goodwin: "NoLACE: improving low-complexity speech
codec enhancement through adaptive temporal shaping", ICASSP 2024; Opus 1.5 ``dnn/torch/osce``):
a small network predicts, per sub-frame s of ``SUBFRAME`` = 80 samples (5 ms), the coefficients
of two classical filters, which then run on the decoded signal x with no added delay:

1. an FIR comb filter at the decoder-side pitch lag T_s (``dsp.postfilter``'s search, (P1)),
   taps b_s = g_s (c_{-1}, c_0, c_1), g_s >= 0 its gain,

       c[n] = x[n] + sum_{k=-1..1} b_{s,k} x[n - T_s + k];                                    (L1)

2. an adaptive FIR of ``ADACONV_TAPS`` = J taps for spectral shaping, a_s = G_s kappa_s with
   kappa_s a unit-norm kernel and G_s its gain,

       y[n] = sum_{j=0..J-1} a_{s,j} c[n - j];                                                (L2)

3. cross-fade: within sub-frame s, the filters of sub-frame s - 1 fade out and those of s fade
   in with f[n] = sin^2(pi (n + 1/2) / (2 L)) (the comb-filter fade of ``dsp.postfilter``),

       c[n] = x[n] + (1 - f[n]) (L1 with T_{s-1}, b_{s-1}) + f[n] (L1 with T_s, b_s),
       y[n] = sum_j ((1 - f[n]) a_{s-1,j} + f[n] a_{s,j}) c[n - j],                           (L3)

   so nothing clicks when the coefficients change.

Both filters are FIR: zero input gives zero output (silence stays silent), and the same
arithmetic is written in torch in ``learned.postfilter_net`` for training.

Richer filters did not pay.  Each was trained 1600 steps on the same examples and scored on 12
validation clips (mean PESQ-WB + ViSQOL over 9.6 / 13.2 / 24.4 kbps; none 6.900).  These filters
scored 7.161.  Two comb stages at the same lag, as LACE has, scored 7.157; a 5-tap comb 7.160; a
32-tap FIR 7.167.  NoLACE-like temporal shaping (a gain per 1 ms from the network and the
decoded sub-frame's envelope) scored 7.118 at step 800, against 7.144 for these filters there.
"""
import numpy as np
from numba import njit

from .pitch import cross_correlations, energy, normalized_correlations, octave_checked_lag
from .postfilter import MAX_LAG, MIN_LAG, OCTAVE_TOLERANCE, PITCH_WINDOW, SUBFRAME

assert PITCH_WINDOW == 2 * SUBFRAME, "subframe_pitch_kernel sums each window from two sub-frames"

ADACONV_TAPS = 16              # J of (L2): 1 ms at 16 kHz
COMB_OFFSETS = np.array([-1, 0, 1])   # k of (L1)
COMB_HISTORY = MAX_LAG + 1     # past input samples that (L1) reads


def crossfade_window(length: int = SUBFRAME) -> np.ndarray:
    """f[n] of (L3), n = 0 .. length - 1."""
    return np.sin(np.pi * (np.arange(length) + 0.5) / (2 * length)) ** 2


def identity_filters():
    """(T, b, a) that leave the signal unchanged: the 'previous' filters of the first sub-frame."""
    kernel = np.zeros(ADACONV_TAPS)
    kernel[0] = 1.0
    return MIN_LAG, np.zeros(COMB_OFFSETS.size), kernel


@njit(cache=True)
def lace_filter_kernel(x, history, lags, comb, kernels, comb_history, fade):
    """(L1)-(L3) over whole sub-frames.

    Parameters
    ----------
    x : ndarray, shape (k L,)
        New decoded samples.
    history : ndarray, shape (>= COMB_HISTORY,)
        The decoded samples before them (newest last).
    lags, comb, kernels : ndarray, shapes (k + 1,), (k + 1, 3), (k + 1, J)
        T, b and a of the sub-frame before x (row 0) and of x's k sub-frames.
    comb_history : ndarray, shape (J - 1,)
        The last comb outputs c before x.
    fade : ndarray, shape (L,)
        f of (L3).

    Returns
    -------
    y : ndarray, shape (k L,)
    c : ndarray, shape (k L,)
        The comb output (its tail is the next call's ``comb_history``).
    """
    length = fade.size
    h = history.size
    taps = kernels.shape[1]
    xe = np.concatenate((history, x))
    ce = np.concatenate((comb_history, np.zeros(x.size)))
    for i in range(x.size):                  # (L1) with its fade: c reads x only
        s = i // length
        f = fade[i % length]
        xi = h + i
        old = 0.0
        new = 0.0
        for k in range(3):
            old += comb[s, k] * xe[xi - lags[s] + k - 1]
            new += comb[s + 1, k] * xe[xi - lags[s + 1] + k - 1]
        ce[taps - 1 + i] = xe[xi] + (1.0 - f) * old + f * new
    y = np.zeros(x.size)
    for s in range(x.size // length):        # (L2) with its fade: the taps j outside, so that
        ys = y[s * length:(s + 1) * length]  # the sub-frame's samples, each summing its taps
        for j in range(taps):                # in order of j, run side by side
            cs = ce[taps - 1 - j + s * length:taps - 1 - j + (s + 1) * length]
            for n in range(length):
                ys[n] += ((1.0 - fade[n]) * kernels[s, j] + fade[n] * kernels[s + 1, j]) * cs[n]
    return y, ce[taps - 1:]


@njit(cache=True)
def subframe_pitch_kernel(x, first_end, k, length, first_numerators):
    """Lag T_s, correlation rho_s ((P1) of ``dsp.postfilter``) and mean power of the sub-frames
    x[first_end + (s - 1) length : first_end + s length], s = 0 .. k - 1 (causal windows).

    Each window is two sub-frames long (``PITCH_WINDOW`` = 2 L), so neighbouring windows share
    a sub-frame: the numerators sum x[n] x[n - T] are summed per sub-frame and each window adds
    its two (against a sum over each whole window, 3/8 of the multiplications saved for k = 4;
    rho differs in its last digits, by at most 2e-15 on speech).  ``first_numerators`` are those
    of the sub-frame before the first window's second, x[first_end - 2 L : first_end - L]: the
    last ones of the call before on the same stream (zeros at its start, where that sub-frame is
    zeros), which are returned with the rest for the next call, so that each sub-frame's are
    summed once.
    """
    halves = np.empty((k + 1, MAX_LAG + 1))
    halves[0] = first_numerators
    for j in range(1, k + 1):
        start = first_end + (j - 2) * length
        halves[j] = cross_correlations(x, start, start + length, MIN_LAG, MAX_LAG)
    lags = np.empty(k, dtype=np.int64)
    rho = np.empty(k)
    power = np.empty(k)
    for s in range(k):
        end = first_end + s * length
        correlations = normalized_correlations(x, end, MIN_LAG, MAX_LAG, 2 * length,
                                               halves[s] + halves[s + 1])
        lags[s], rho[s] = octave_checked_lag(correlations, MIN_LAG, OCTAVE_TOLERANCE)
        power[s] = energy(x, end - length, end) / length
    return lags, rho, power, halves[k]
