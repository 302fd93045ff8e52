"""Pre-processing filters: 50 Hz high-pass, pre-emphasis and de-emphasis (AMR-WB style).

The collaborative-quantization paper (sec. 3.1) takes its LPC front end from AMR-WB (3GPP TS 26.190
sec. 5.1): "a high-pass filter is employed with a cut off frequency of 50 Hz. The pre-emphasis
filter is H_emp(z) = 1 - 0.68 z^-1, and the de-emphasis filter is employed" at the decoder.

Each filter has a whole-signal form and a streaming form that carries its state across chunks and
gives the same floats for any chunking.
"""
import numpy as np
import scipy.signal

PRE_EMPHASIS = 0.68   # beta_1 of AMR-WB (TS 26.190 sec. 5.1), the CQ paper's H_emp(z)


def highpass_50hz_coefficients(sample_rate_hz=16000):
    """Second-order 50 Hz high-pass: a Butterworth design at the codec's sampling rate.

    AMR-WB's HP50 (TS 26.190 sec. 5.1) is a second-order 50 Hz high-pass at its internal 12.8 kHz
    rate; this is the same kind of filter designed with ``scipy.signal.butter`` for the rate given.

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
    return scipy.signal.butter(2, 50.0, btype="highpass", fs=sample_rate_hz)


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
        chunk = _one_dimensional(chunk)
        if chunk.size == 0:   # lfilter returns an undefined state for empty input
            return chunk.copy()
        y, self._state = scipy.signal.lfilter(self._b, self._a, chunk, zi=self._state)
        return y


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
    x, _ = scipy.signal.lfilter([1.0], [1.0, -beta], y, zi=[beta * state])
    return x, float(x[-1])


def _check_beta(beta):
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
