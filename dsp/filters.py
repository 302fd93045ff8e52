"""Pre-processing filters: 50 Hz high-pass, pre-emphasis and de-emphasis (AMR-WB style).

The collaborative-quantization paper (sec. 3.1) takes its LPC front end from AMR-WB (3GPP TS 26.190
sec. 5.1): "a high-pass filter is employed with a cut off frequency of 50 Hz. The pre-emphasis
filter is H_emp(z) = 1 - 0.68 z^-1, and the de-emphasis filter is employed" at the decoder.

Each filter has a whole-signal form and a streaming form that carries its state across chunks and
gives the same floats for any chunking.  The recursions are small Numba kernels (no SciPy), so that
importing the codec stays fast.
"""
import math

import numpy as np
from numba import njit

PRE_EMPHASIS = 0.68   # beta_1 of AMR-WB (TS 26.190 sec. 5.1), the CQ paper's H_emp(z)


def highpass_50hz_coefficients(sample_rate_hz=16000):
    """Second-order 50 Hz high-pass: a Butterworth design at the codec's sampling rate.

    AMR-WB's HP50 (TS 26.190 sec. 5.1) is a second-order 50 Hz high-pass at its internal 12.8 kHz
    rate; this is the same kind of filter for the rate given: the analog Butterworth prototype
    s² / (s² + √2 s + 1) through the bilinear transform with K = tan(π 50 / fs), as
    ``scipy.signal.butter(2, 50, "highpass", fs=fs)`` designs it.

    Parameters
    ----------
    sample_rate_hz : float

    Returns
    -------
    b, a : ndarray, shape (3,)
        Numerator and denominator of H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2);
        -3 dB at 50 Hz, -16 dB at 20 Hz, -0.02 dB at 200 Hz.
    """
    if sample_rate_hz <= 100:
        raise ValueError(f"sample_rate_hz must exceed 100 Hz, got {sample_rate_hz}")
    k = math.tan(math.pi * 50.0 / sample_rate_hz)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b = norm * np.array([1.0, -2.0, 1.0])
    a = np.array([1.0, 2.0 * (k * k - 1.0) * norm, (1.0 - math.sqrt(2.0) * k + k * k) * norm])
    return b, a


@njit(cache=True)
def _biquad(b, a, x, state):
    """y = H(z) x in direct form II transposed (``state``: the two delays, updated in place)."""
    y = np.empty_like(x)
    for n in range(x.shape[0]):
        y[n] = b[0] * x[n] + state[0]
        state[0] = b[1] * x[n] - a[1] * y[n] + state[1]
        state[1] = b[2] * x[n] - a[2] * y[n]
    return y


@njit(cache=True)
def _one_pole(y, beta, previous):
    """x[n] = y[n] + beta x[n-1], from x[-1] = ``previous``."""
    x = np.empty_like(y)
    for n in range(y.shape[0]):
        previous = y[n] + beta * previous
        x[n] = previous
    return x


def _one_dimensional(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"signal must be one-dimensional, got shape {x.shape}")
    return x


def highpass_50hz(x, sample_rate_hz=16000):
    """High-pass a whole signal at 50 Hz (zero initial state).

    Parameters
    ----------
    x : array_like, shape (n,)
    sample_rate_hz : float

    Returns
    -------
    y : ndarray, shape (n,)
    """
    return HighPass50Hz(sample_rate_hz).push(x)


class HighPass50Hz:
    """Streaming 50 Hz high-pass; pushing chunks gives the same samples as :func:`highpass_50hz`."""

    def __init__(self, sample_rate_hz=16000):
        self._b, self._a = highpass_50hz_coefficients(sample_rate_hz)
        self._state = np.zeros(2)   # direct-form-II-transposed delays

    def push(self, chunk):
        """Filter the next chunk.

        Parameters
        ----------
        chunk : array_like, shape (m,)

        Returns
        -------
        ndarray, shape (m,)
        """
        return _biquad(self._b, self._a, _one_dimensional(chunk), self._state)


def pre_emphasis(x, beta=PRE_EMPHASIS, state=0.0):
    """Pre-emphasis y[n] = x[n] - beta x[n-1], i.e. H_emp(z) = 1 - beta z^-1 (CQ paper sec. 3.1).

    Parameters
    ----------
    x : array_like, shape (n,)
    beta : float
        Emphasis factor, 0 <= beta < 1 (0.68 in AMR-WB).
    state : float
        x[-1], the last input sample of the previous chunk (0 at the start).

    Returns
    -------
    y : ndarray, shape (n,)
    state : float
        The last input sample, to pass with the next chunk.
    """
    x = _one_dimensional(x)
    _check_beta(beta)
    if x.size == 0:
        return x.copy(), state
    previous = np.concatenate([[state], x[:-1]])
    return x - beta * previous, float(x[-1])


def de_emphasis(y, beta=PRE_EMPHASIS, state=0.0):
    """De-emphasis x[n] = y[n] + beta x[n-1], i.e. 1 / (1 - beta z^-1), the inverse of pre-emphasis.

    Parameters
    ----------
    y : array_like, shape (n,)
    beta : float
        Emphasis factor, 0 <= beta < 1.
    state : float
        x[-1], the last output sample of the previous chunk (0 at the start).

    Returns
    -------
    x : ndarray, shape (n,)
    state : float
        The last output sample, to pass with the next chunk.
    """
    y = _one_dimensional(y)
    _check_beta(beta)
    if y.size == 0:
        return y.copy(), state
    x = _one_pole(y, float(beta), float(state))
    return x, float(x[-1])


def _check_beta(beta):
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
