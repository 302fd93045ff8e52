"""Cepstral spectral envelope (TCX paper, sec. 3, eq. 1-2).

Encoder side: ``cepstrum`` (of log|X|, eq. 1, or of the log spectrum (E1) of ``fit_log_spectrum``,
which follows the harmonics' power) → ``quantize_cepstrum``; both sides: ``dequantize_cepstrum``
→ ``envelope_from_cepstrum`` → ``flatten`` / ``unflatten``.  With inter-frame prediction (E2),
``predicted_cepstrum`` gives the prediction that both quantize around, and
``fit_cepstrum_prediction`` fits its gains on consecutive frames.  ``spectral_distortion_db``
measures how far a quantized envelope lies from the unquantized one (``cepstral_distortion_db``: the same
from the cepstra).  For fits and studies over many frames, ``quantized_envelope`` and
``flatten_by_quantized_envelope`` run the chain in one call.
"""
from functools import lru_cache
from typing import Dict

import numpy as np
from scipy.ndimage import uniform_filter1d

N_CEPSTRA = 20
"""K, the number of cepstral coefficients (TCX paper, sec. 6)."""

MAGNITUDE_FLOOR = 1e-6
"""Smallest |X| taken into the logarithm, about -120 dB re full scale: keeps silence finite."""

LOG_ENVELOPE_RANGE = (np.log(MAGNITUDE_FLOOR) - 10.0, np.log(1e4))
"""Bounds of Dᵀŷ: an envelope outside them cannot come from audio in [-1, 1], only from
damaged data, and is clipped so that ŝ stays finite."""


@lru_cache(maxsize=8)
def dct_matrix(n_cepstra: int, n_bins: int) -> np.ndarray:
    """D: the first ``n_cepstra`` rows of the orthonormal DCT-II matrix of size ``n_bins``.

    D[k, n] = c_k cos(pi k (n + 1/2) / N), c_0 = sqrt(1/N), c_k = sqrt(2/N) (TCX eq. 1).
    Rows are orthonormal, so Dᵀ y is the least-squares smooth curve with cepstrum y.

    Returns
    -------
    D : ndarray, shape (n_cepstra, n_bins), read-only
    """
    k = np.arange(n_cepstra)[:, None]
    n = np.arange(n_bins)[None, :]
    d = np.sqrt(2.0 / n_bins) * np.cos(np.pi * k * (n + 0.5) / n_bins)
    d[0] /= np.sqrt(2.0)
    d.setflags(write=False)
    return d


def cepstrum(spectrum: np.ndarray, n_cepstra: int = N_CEPSTRA, smoothing_bins: int = 0,
             mix: float = 1.0) -> np.ndarray:
    """Envelope parameters y = D L, L = log|X| (TCX eq. 1) or the log spectrum of (E1).

    Parameters
    ----------
    spectrum : ndarray, shape (..., N)
        MDCT coefficients X.
    n_cepstra : int
        K, rows of D.
    smoothing_bins, mix : int, float
        h and μ of :func:`fit_log_spectrum`; μ = 1 (the default) is eq. 1.

    Returns
    -------
    y : ndarray, shape (..., K)
    """
    d = dct_matrix(n_cepstra, spectrum.shape[-1])
    return fit_log_spectrum(spectrum, smoothing_bins, mix) @ d.T


def fit_log_spectrum(spectrum: np.ndarray, smoothing_bins: int, mix: float) -> np.ndarray:
    """The log spectrum L that the cepstrum fits, between log|X| and the log of the local power:

        L(f) = μ log|X(f)| + (1 − μ) ½ log( 1/(2h+1) Σ_{|j|≤h} X(f+j)² ),                 (E1)

    h = ``smoothing_bins`` (the end bins repeated past the edges), μ = ``mix``.  With μ = 1 it is
    eq. 1's log|X|.  Why the power term: under resolved harmonics the MDCT's log|X| dips by tens
    of dB between the partials and with each partial's phase, so eq. 1's least-squares fit lies
    far below the power there, lower than over noise-like bins of the same power, and the bit
    allocation, which follows ŝ, leaves the partials of low-pitched voices uncoded (150-400 Hz,
    where they are resolved).  The local power follows the partials; μ keeps the valleys.
    """
    log_magnitude = np.log(np.maximum(np.abs(spectrum), MAGNITUDE_FLOOR))
    if mix == 1.0:
        return log_magnitude
    power = uniform_filter1d(np.square(spectrum), 2 * smoothing_bins + 1, axis=-1,
                             mode="nearest")
    log_power = 0.5 * np.log(np.maximum(power, MAGNITUDE_FLOOR ** 2))
    return mix * log_magnitude + (1.0 - mix) * log_power


def quantize_cepstrum(y: np.ndarray, envelope_step: float, prediction=0.0) -> np.ndarray:
    """Quantization indices round((y − ỹ) / Δq) of TCX eq. 2 (ŷ = ỹ + Δq · index), ỹ the
    inter-frame prediction (E2) or 0."""
    return np.rint((y - prediction) / envelope_step).astype(np.int64)


def dequantize_cepstrum(indices: np.ndarray, envelope_step: float, prediction=0.0) -> np.ndarray:
    """ŷ = ỹ + Δq · index (TCX eq. 2; ỹ the prediction (E2) or 0)."""
    return prediction + envelope_step * np.asarray(indices, dtype=np.float64)


def predicted_cepstrum(y_hat_previous: np.ndarray, mean: np.ndarray,
                       gain: np.ndarray) -> np.ndarray:
    """First-order inter-frame prediction of the cepstrum, per coefficient k:

        ỹ_k(t) = μ_k + a_k (ŷ_k(t−1) − μ_k),                                              (E2)

    from the previous frame's decoded cepstrum ŷ(t−1), so that encoder and decoder form the
    same ỹ.  The cepstra of 20 ms speech frames are strongly correlated from frame to frame
    (a ≈ 0.7 … 0.95), and coding y − ỹ instead of y saves about a third of the envelope's
    bits, as the LSF predictors of AMR-WB and the coarse energy prediction of CELT do.
    """
    return mean + gain * (y_hat_previous - mean)


def fit_cepstrum_prediction(sequences) -> Dict[str, np.ndarray]:
    """μ, a and the residual's Laplace scale of (E2), by least squares on consecutive frames.

    Parameters
    ----------
    sequences : iterable of ndarray, shape (n_i, K)
        Cepstra of runs of consecutive frames (each run at least 2 frames).

    Returns
    -------
    dict
        ``mean`` μ (K,), ``gain`` a (K,) = Σ c(t) c(t−1) / Σ c(t−1)² with c = y − μ, and
        ``residual_scale`` (K,), the mean |c(t) − a c(t−1)| (the maximum-likelihood Laplace
        scale of the unquantized residual).
    """
    sequences = [np.asarray(s, dtype=np.float64) for s in sequences if len(s) >= 2]
    mean = np.mean(np.concatenate(sequences), axis=0)
    current = np.concatenate([s[1:] - mean for s in sequences])
    previous = np.concatenate([s[:-1] - mean for s in sequences])
    gain = np.sum(current * previous, axis=0) / np.sum(previous**2, axis=0)
    residual_scale = np.mean(np.abs(current - gain * previous), axis=0)
    return {"mean": mean, "gain": gain, "residual_scale": residual_scale}


def envelope_from_cepstrum(y_hat: np.ndarray, n_bins: int) -> np.ndarray:
    """Envelope ŝ = exp(Dᵀ ŷ) at the ``n_bins`` MDCT bins (TCX sec. 3), Dᵀŷ clipped to
    LOG_ENVELOPE_RANGE.

    Parameters
    ----------
    y_hat : ndarray, shape (..., K)
    n_bins : int

    Returns
    -------
    envelope : ndarray, shape (..., n_bins), strictly positive
    """
    d = dct_matrix(y_hat.shape[-1], n_bins)
    return np.exp(np.clip(y_hat @ d, *LOG_ENVELOPE_RANGE))


def flatten(spectrum: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """Flattened spectrum w = X / ŝ (TCX sec. 3)."""
    return spectrum / envelope


def unflatten(flattened: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """Spectrum X̂ = ŵ · ŝ, the decoder's inverse of :func:`flatten`."""
    return flattened * envelope


def quantized_envelope(y: np.ndarray, envelope_step: float, n_bins: int) -> np.ndarray:
    """ŝ of cepstra ``y`` rounded with step Δq, as the decoder rebuilds it (TCX eq. 2, sec. 3).

    Parameters
    ----------
    y : ndarray, shape (..., K)
        Unquantized cepstra (:func:`cepstrum`).
    envelope_step : float
        Δq, in cepstral units.
    n_bins : int

    Returns
    -------
    envelope : ndarray, shape (..., n_bins)
    """
    y_hat = dequantize_cepstrum(quantize_cepstrum(y, envelope_step), envelope_step)
    return envelope_from_cepstrum(y_hat, n_bins)


def flatten_by_quantized_envelope(spectrum: np.ndarray, envelope_step: float) -> np.ndarray:
    """w = X / ŝ, ŝ the envelope of X's own cepstrum rounded with step Δq: the flattened
    spectrum the codec codes (at envelope shift 0), for fits and studies over many frames.

    Parameters
    ----------
    spectrum : ndarray, shape (..., N)
        MDCT frames X.
    envelope_step : float
        Δq, in cepstral units.

    Returns
    -------
    w : ndarray, shape (..., N)
    """
    envelope = quantized_envelope(cepstrum(spectrum), envelope_step, spectrum.shape[-1])
    return flatten(spectrum, envelope)


def spectral_distortion_db(envelope: np.ndarray, envelope_hat: np.ndarray) -> np.ndarray:
    """Spectral distortion SD = sqrt(mean_f (20 log10 s(f)/ŝ(f))²) in dB, per frame.

    Parameters
    ----------
    envelope, envelope_hat : ndarray, shape (..., N), positive

    Returns
    -------
    sd_db : ndarray, shape (...)
    """
    ratio_db = 20.0 * np.log10(envelope / envelope_hat)
    return np.sqrt(np.mean(ratio_db**2, axis=-1))


def cepstral_distortion_db(y: np.ndarray, y_hat: np.ndarray, n_bins: int) -> np.ndarray:
    """:func:`spectral_distortion_db` of the envelopes of cepstra y and ŷ, from the cepstra alone.

    The rows of D are orthonormal, so (Parseval) sum_f (Dᵀ(y − ŷ))_f² = ||y − ŷ||², and

        SD = 20 / ln 10 · sqrt(||y − ŷ||² / N)  dB,

    exact while neither envelope reaches LOG_ENVELOPE_RANGE (audio never does), in O(K)
    instead of two envelopes of N bins.

    Parameters
    ----------
    y, y_hat : ndarray, shape (..., K)
    n_bins : int
        N.

    Returns
    -------
    sd_db : ndarray, shape (...)
    """
    squared_error = np.sum((np.asarray(y) - y_hat) ** 2, axis=-1)
    return 20.0 / np.log(10.0) * np.sqrt(squared_error / n_bins)
