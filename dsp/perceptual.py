"""EVS-like perceptual model: masking curve and perceptual weights from the quantized envelope.

The TCX paper (entropy-optimized-source-model-tcx, sec. 5-6) takes its perceptual model from EVS:
the signal autocorrelation is estimated "from the power spectrum of the quantized envelope using an
inverse DFT", a predictor is fitted by Levinson-Durbin, and the weighting filter built on it gives
an envelope W(f) "which corresponds to the relative magnitude of quantization errors that gives a
uniform perceptual degradation"; the bits of bin f then follow B(f) = log2 W(f) + Hr(f) + eta
(eq. 11-12).

Processing steps, per frame, from the quantized envelope s_hat (320 MDCT bins):

1. power spectrum of the pre-emphasised signal, s_hat^2 |1 - beta e^{-j omega}|^2 with beta = 0.68
   (AMR-WB and EVS fit their predictor to the pre-emphasised signal, TS 26.190 sec. 5.1);
2. autocorrelation by inverse DFT at the bin centres omega_k = pi (k + 1/2) / 320, 60 Hz Gaussian
   lag window and -40 dB white-noise correction (TS 26.190 sec. 5.2.1);
3. Levinson-Durbin, order 16 (AMR-WB, EVS and the CQ paper sec. 3.1);
4. weighted predictor A(z / gamma1), gamma1 = 0.92 (the AMR-WB weighting factor, TS 26.190
   sec. 5.3; EVS TCX shapes its MDCT spectrum with the same weighted LPC, TS 26.445 sec. 5.3.3.2);
5. masking curve M(omega) = |1 / (A(e^{j omega} / gamma1) (1 - beta e^{-j omega}))|: EVS's TCX noise
   shape 1 / |A(e^{j omega} / gamma1)| in the pre-emphasised MDCT domain, de-emphasised because this
   codec's MDCT sees the signal without pre-emphasis;
6. the codec quantizes the flattened spectrum X / s_hat, so the weight of bin k is
   W = s_hat / M, normalized to geometric mean 1.

A configuration may lean the allocation towards the low band (W1, :func:`low_band_emphasis`):
a fixed factor on W that gives the bins below N more bits, falling linearly to N, and the rest
fewer.  It is not in EVS; the speech configurations use it because the harmonics of voiced speech
below 3 kHz are worth more than the LPC weighting alone gives them (see
hybridcodec.components.configurations).

Everything per frame runs in one Numba kernel with a fixed order of operations (no threads, no
fast-math), so the same envelope always gives the same floats on encoder and decoder.
"""
import functools

import numpy as np
from numba import njit

from .filters import PRE_EMPHASIS
from .lpc import (LAG_WINDOW_BANDWIDTH_HZ, WHITE_NOISE_FACTOR, bin_centre_cosines,
                  cosine_sum_kernel, levinson_kernel, lag_window)

GAMMA1 = 0.92        # weighting factor gamma1 of AMR-WB (TS 26.190 sec. 5.3)
LPC_ORDER = 16       # wideband LPC order of AMR-WB, EVS and the CQ paper (sec. 3.1)
N_BINS = 320         # MDCT bins per frame
SAMPLE_RATE_HZ = 16000


@functools.lru_cache(maxsize=4)
def _tables(order, gamma1, beta):
    """Per-configuration constants of the kernel, computed once.

    Returns cos(m omega_k) and sin(m omega_k) (order + 1, 320), the lag window with the white-noise
    factor folded into lag 0 (order + 1,), gamma1^m (order + 1,) and |1 - beta e^{-j omega_k}|^2
    (320,).
    """
    cosines = bin_centre_cosines(order, N_BINS)
    phase = np.outer(np.arange(order + 1), 2 * np.arange(N_BINS) + 1) % (4 * N_BINS)
    sines = np.sin(2.0 * np.pi * phase / (4 * N_BINS))
    lag = lag_window(order, LAG_WINDOW_BANDWIDTH_HZ, SAMPLE_RATE_HZ)
    lag[0] *= WHITE_NOISE_FACTOR
    omega = np.pi * (np.arange(N_BINS) + 0.5) / N_BINS
    emphasis_power = 1.0 - 2.0 * beta * np.cos(omega) + beta * beta
    return cosines, sines, lag, gamma1 ** np.arange(order + 1), emphasis_power


@njit(cache=True)
def _log_masking_kernel(envelope, cosines, sines, lag, gamma_powers, emphasis_power):
    """log M at the 320 bins (steps 1-5 of the module docstring), in the units of log s_hat."""
    order = lag.size - 1
    peak = envelope.max()
    power = np.empty(envelope.size)
    for k in range(envelope.size):
        relative = envelope[k] / peak
        power[k] = relative * relative * emphasis_power[k]
    r = cosine_sum_kernel(cosines, power)
    for m in range(order + 1):
        r[m] *= lag[m]
    a, _, prediction_error = levinson_kernel(r, order)
    log_gain = np.log(peak) + 0.5 * np.log(prediction_error)
    re = np.zeros(envelope.size)     # A(e^{j omega_k} / gamma1), summed in order of m for
    im = np.zeros(envelope.size)     # each k, all k at once (element-wise, vectorized)
    for m in range(order + 1):
        weighted = a[m] * gamma_powers[m]
        for k in range(envelope.size):
            re[k] += weighted * cosines[m, k]
            im[k] -= weighted * sines[m, k]
    log_masking = np.empty(envelope.size)
    for k in range(envelope.size):
        log_masking[k] = log_gain - 0.5 * (np.log(re[k] * re[k] + im[k] * im[k])
                                           + np.log(emphasis_power[k]))
    return log_masking


@njit(cache=True)
def _finite_and_positive(envelope) -> bool:
    """0 < s_hat(f) < inf at every bin (one pass; NaN fails too)."""
    for value in envelope:
        if not 0.0 < value < np.inf:
            return False
    return True


def _log_masking_curve(envelope, gamma1, beta, order):
    envelope = np.asarray(envelope, dtype=np.float64)
    if envelope.shape != (N_BINS,):
        raise ValueError(f"envelope must have shape ({N_BINS},), got {envelope.shape}")
    if not _finite_and_positive(envelope):
        raise ValueError("envelope must be finite and positive")
    if not (0.0 < gamma1 <= 1.0 and 0.0 <= beta < 1.0 and 1 <= order < N_BINS):
        raise ValueError(f"need 0 < gamma1 <= 1, 0 <= beta < 1, 1 <= order < {N_BINS}; "
                         f"got {gamma1}, {beta}, {order}")
    return envelope, _log_masking_kernel(envelope, *_tables(int(order), float(gamma1), float(beta)))


def masking_curve(envelope, gamma1=GAMMA1, beta=PRE_EMPHASIS, order=LPC_ORDER):
    """Noise-shaping curve M(f) = |1 / (A(e^{j omega_k} / gamma1) (1 - beta e^{-j omega_k}))|.

    A(z) is the order-16 predictor fitted to s_hat^2 |1 - beta e^{-j omega}|^2 (steps 1-5 of the
    module docstring); M is the relative magnitude of MDCT-domain quantization error that gives
    uniform perceptual degradation, a smoothed version of s_hat (smoother as gamma1 decreases).

    Parameters
    ----------
    envelope : array_like, shape (320,)
        Quantized envelope magnitude s_hat at the MDCT bins, finite and positive.
    gamma1 : float
        Weighting factor, 0 < gamma1 <= 1 (0.92, AMR-WB).
    beta : float
        Pre-emphasis factor, 0 <= beta < 1 (0.68, AMR-WB).
    order : int
        LPC order (16).

    Returns
    -------
    M : ndarray, shape (320,)
        In the units of ``envelope``: with gamma1 = 1, M approximates s_hat.
    """
    _, log_masking = _log_masking_curve(envelope, gamma1, beta, order)
    return np.exp(log_masking)


def perceptual_weights(envelope, gamma1=GAMMA1, beta=PRE_EMPHASIS, order=LPC_ORDER):
    """Perceptual weights W(f) = s_hat(f) / M(f) of the flattened spectrum, geometric mean 1.

    The codec quantizes w = X / s_hat; noise shaped like M in the MDCT domain is noise shaped like
    M / s_hat in w, so bin f deserves log2 W(f) = log2 (s_hat(f) / M(f)) bits more than average
    (eq. 11-12 of the TCX paper): bins where the envelope stands above the masking curve get more.

    Parameters
    ----------
    envelope : array_like, shape (320,)
        Quantized envelope magnitude s_hat at the MDCT bins, finite and positive.
    gamma1, beta, order
        See :func:`masking_curve`.

    Returns
    -------
    W : ndarray, shape (320,)
        Positive, with mean(log2 W) = 0 (up to rounding).
    """
    envelope, log_masking = _log_masking_curve(envelope, gamma1, beta, order)
    log_weights = np.log(envelope) - log_masking
    # the mean as ndarray.mean computes it (the same float), without its wrapper's overhead
    return np.exp(log_weights - np.add.reduce(log_weights) / log_weights.size)


def low_band_emphasis(bits, width_bins):
    """log2 of the low-band emphasis (W1) that multiplies the perceptual weights W(f):

        e(f) = b · max(0, 1 − f / N) − mean_f(b · max(0, 1 − f / N))

    Bin 0 gets b (``bits``) bits more than the bins from N (``width_bins``) on, falling linearly
    in between; the mean is removed so that W keeps geometric mean 1.

    Returns
    -------
    e : ndarray, shape (320,)
    """
    ramp = bits * np.maximum(0.0, 1.0 - np.arange(N_BINS) / width_bins)
    return ramp - np.add.reduce(ramp) / N_BINS
