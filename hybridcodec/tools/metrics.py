"""Objective speech-quality metrics: PESQ-WB, STOI and segmental SNR.

Every function takes a reference ``ref`` (the codec input) and a degraded signal
``deg`` (the codec output) of the same shape ``(n,)``, float64 in [-1, 1], time-aligned.
"""
import warnings

import numpy as np
import pesq as pesq_lib
import pystoi

from hybridcodec.formats.audio import resample

PESQ_SAMPLE_RATE_HZ = 16000
SEGMENTAL_SNR_FRAME_SAMPLES = 320
SEGMENTAL_SNR_CLAMP_DB = (-10.0, 35.0)
SILENT_FRAME_BELOW_MAX_DB = 40.0
"""A reference frame this many dB below the loudest frame counts as silent."""


def pesq_wb(ref, deg, sample_rate_hz=PESQ_SAMPLE_RATE_HZ):
    """Wideband PESQ (ITU-T P.862.2) MOS-LQO of a degraded signal.

    Signals at another rate are resampled to 16 kHz first.

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    sample_rate_hz : int, optional
        Sampling rate of both signals, in Hz (default 16000).

    Returns
    -------
    float
        MOS-LQO, about 1.04 (bad) to 4.64 (transparent); NaN, with a warning, when
        PESQ finds no utterance in the reference (e.g. silence).
    """
    ref, deg = _check_pair(ref, deg)
    ref = resample(ref, sample_rate_hz, PESQ_SAMPLE_RATE_HZ)
    deg = resample(deg, sample_rate_hz, PESQ_SAMPLE_RATE_HZ)
    try:
        with np.errstate(invalid="ignore"):  # pesq divides an all-zero signal by its peak
            return float(pesq_lib.pesq(PESQ_SAMPLE_RATE_HZ, ref, deg, "wb"))
    except pesq_lib.NoUtterancesError:
        warnings.warn("PESQ found no utterance in the reference signal; returning NaN",
                      RuntimeWarning, stacklevel=2)
        return float("nan")


def stoi(ref, deg, sample_rate_hz):
    """Short-time objective intelligibility (Taal et al., 2011) of a degraded signal.

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    sample_rate_hz : int
        Sampling rate of both signals, in Hz (pystoi resamples to 10 kHz itself).

    Returns
    -------
    float
        STOI, 0 (unintelligible) to 1 (identical).
    """
    ref, deg = _check_pair(ref, deg)
    return float(pystoi.stoi(ref, deg, sample_rate_hz, extended=False))


def segmental_snr_db(ref, deg, frame_samples=SEGMENTAL_SNR_FRAME_SAMPLES,
                     clamp_db=SEGMENTAL_SNR_CLAMP_DB):
    """Segmental SNR: the mean over frames of the clamped per-frame SNR.

    The classic definition (Quackenbush, Barnwell and Clements, *Objective Measures
    of Speech Quality*, 1988; Hansen and Pellom, "An effective quality evaluation
    protocol for speech enhancement algorithms", ICSLP 1998): non-overlapping frames,
    per-frame SNR ``10 log10(sum ref^2 / sum (ref - deg)^2)`` clamped to
    ``clamp_db``, averaged over the frames. Reference frames more than 40 dB below
    the loudest frame are silent and skipped; a trailing partial frame is dropped.

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    frame_samples : int, optional
        Frame length, in samples (default 320: 20 ms at 16 kHz).
    clamp_db : tuple of float, optional
        Lower and upper bound of the per-frame SNR, in dB (default (-10, 35)).

    Returns
    -------
    float
        Segmental SNR, in dB; NaN when the reference has no non-silent frame.
    """
    ref, deg = _check_pair(ref, deg)
    n_frames = ref.shape[0] // frame_samples
    ref_frames = ref[:n_frames * frame_samples].reshape(n_frames, frame_samples)
    err_frames = ref_frames - deg[:n_frames * frame_samples].reshape(n_frames, frame_samples)
    signal_energy = np.sum(ref_frames ** 2, axis=1)
    error_energy = np.sum(err_frames ** 2, axis=1)
    active = _active_frames(signal_energy)
    if not np.any(active):
        return float("nan")
    tiny = np.finfo(np.float64).tiny
    snr_db = 10.0 * (np.log10(signal_energy[active]) - np.log10(np.maximum(error_energy[active], tiny)))
    return float(np.mean(np.clip(snr_db, *clamp_db)))


def _active_frames(frame_energy):
    """Mask of frames less than 40 dB below the loudest one (and not all zero)."""
    threshold = np.max(frame_energy, initial=0.0) * 10.0 ** (-SILENT_FRAME_BELOW_MAX_DB / 10.0)
    return (frame_energy > threshold) & (frame_energy > 0.0)


def measure(ref, deg, sample_rate_hz):
    """All metrics of a degraded signal.

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    sample_rate_hz : int
        Sampling rate of both signals, in Hz.

    Returns
    -------
    dict[str, float]
        ``{"pesq_wb": ..., "stoi": ..., "segmental_snr_db": ...}``; segmental SNR uses
        20 ms frames at ``sample_rate_hz``.
    """
    frame_samples = int(round(0.020 * sample_rate_hz))
    return {
        "pesq_wb": pesq_wb(ref, deg, sample_rate_hz),
        "stoi": stoi(ref, deg, sample_rate_hz),
        "segmental_snr_db": segmental_snr_db(ref, deg, frame_samples),
    }


def _check_pair(ref, deg):
    """Both signals as float64 arrays; ValueError unless they are 1-D of the same length."""
    ref = np.asarray(ref, dtype=np.float64)
    deg = np.asarray(deg, dtype=np.float64)
    if ref.ndim != 1 or ref.shape != deg.shape:
        raise ValueError(
            f"ref and deg must be 1-D arrays of the same length, got shapes {ref.shape} and {deg.shape}"
        )
    return ref, deg
