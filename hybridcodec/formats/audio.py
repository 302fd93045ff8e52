"""Reading, resampling and writing audio files.

Every array here is float64 with samples in [-1, 1]; mono signals have shape ``(n,)``.
Resampling uses libsoxr (the ``soxr`` package) at its "VHQ" quality: a linear-phase,
band-limited resampler with a steep anti-aliasing filter, which handles any rate ratio
(22.05 -> 16 kHz, 44.1 -> 16 kHz) at a fraction of the cost of a polyphase filter with
large up/down factors such as ``resample_poly(x, 160, 441)``, and compensates its own
filter delay, so the output is time-aligned with the input.
"""
from pathlib import Path

import numpy as np
import soundfile
import soxr

from hybridcodec.errors import AudioInputError, HybridCodecError

SILENCE_THRESHOLD_DBFS = -70.0
"""RMS level (dB re full scale) below which a signal counts as silent."""

CLIP_LEVEL = 0.999
"""Absolute sample value at or above which a sample counts as clipped."""


def read_audio(path):
    """Read an audio file as a mono float64 signal.

    Multichannel files are downmixed by averaging their channels.

    Parameters
    ----------
    path : str or pathlib.Path
        Any file libsndfile reads (WAV, FLAC, Ogg Vorbis, AIFF, ...).

    Returns
    -------
    x : numpy.ndarray, shape (n,)
        Mono samples in [-1, 1] (float files may exceed this range).
    sample_rate_hz : int
        Sampling rate of the file, in Hz.
    n_channels : int
        Number of channels in the file before the downmix.

    Raises
    ------
    AudioInputError
        If the file is missing, unreadable, has no samples, or holds NaN or
        infinite samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioInputError(f"input audio file not found: {path}")
    frames, sample_rate_hz = _read_frames(path)
    _check_frames(frames, path)
    x = frames.mean(axis=1)
    return x, int(sample_rate_hz), frames.shape[1]


def _read_frames(path):
    """Read every frame of ``path`` as a float64 array of shape (n, channels)."""
    try:
        return soundfile.read(str(path), dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AudioInputError(f"cannot read audio file {path}: {reason}") from None


def _check_frames(frames, path):
    """Raise AudioInputError if ``frames`` read from ``path`` is empty or non-finite."""
    if frames.shape[0] == 0:
        raise AudioInputError(f"audio file has no samples: {path}")
    if not np.all(np.isfinite(frames)):
        n_bad = int(np.count_nonzero(~np.isfinite(frames)))
        raise AudioInputError(f"audio file holds {n_bad} NaN or infinite samples: {path}")


def resample(x, from_hz, to_hz):
    """Resample a signal with a high-quality band-limited resampler (libsoxr VHQ).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,) or (n, channels)
        Input signal.
    from_hz : int
        Sampling rate of ``x``, in Hz.
    to_hz : int
        Wanted sampling rate, in Hz.

    Returns
    -------
    numpy.ndarray, shape (m,) or (m, channels)
        The resampled float64 signal, with exactly ``m = round(n * to_hz / from_hz)``
        samples, and at least one sample when ``n >= 1``.
    """
    if from_hz <= 0 or to_hz <= 0:
        raise ValueError(f"sampling rates must be positive, got {from_hz} Hz -> {to_hz} Hz")
    x = np.asarray(x, dtype=np.float64)
    n_out = resampled_length(x.shape[0], from_hz, to_hz)
    if from_hz == to_hz:
        return x.copy()
    y = soxr.resample(x, from_hz, to_hz, quality="VHQ") if x.shape[0] else x
    return fit_length(np.asarray(y, dtype=np.float64), n_out)


def resampled_length(n_samples, from_hz, to_hz):
    """Number of samples a signal of ``n_samples`` has after resampling.

    Parameters
    ----------
    n_samples : int
        Length of the input, in samples.
    from_hz, to_hz : int
        Input and output sampling rates, in Hz.

    Returns
    -------
    int
        ``round(n_samples * to_hz / from_hz)``, but at least 1 when ``n_samples >= 1``.
    """
    n_out = int(round(n_samples * to_hz / from_hz))
    return max(n_out, 1) if n_samples >= 1 else 0


def fit_length(y, n_samples):
    """Trim ``y`` to ``n_samples`` along axis 0, or pad it with zeros at the end."""
    if y.shape[0] >= n_samples:
        return y[:n_samples]
    pad = [(0, n_samples - y.shape[0])] + [(0, 0)] * (y.ndim - 1)
    return np.pad(y, pad)


def write_audio(path, x, sample_rate_hz):
    """Write a signal as a 16-bit PCM WAV file, clipping it to [-1, 1].

    Parameters
    ----------
    path : str or pathlib.Path
        Output file; its folder must exist.
    x : numpy.ndarray, shape (n,) or (n, channels)
        Samples, nominally in [-1, 1].
    sample_rate_hz : int
        Sampling rate, in Hz.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    try:
        soundfile.write(str(path), x, int(sample_rate_hz), subtype="PCM_16", format="WAV")
    except (OSError, RuntimeError) as error:
        raise HybridCodecError(f"cannot write {path}: {error}") from None


def rms_dbfs(x):
    """Root-mean-square level of a signal, in dB relative to full scale.

    Parameters
    ----------
    x : numpy.ndarray
        Samples in [-1, 1].

    Returns
    -------
    float
        ``20 log10(rms)``; ``-inf`` for an all-zero or empty signal.
    """
    x = np.asarray(x, dtype=np.float64)
    mean_square = float(np.mean(x * x)) if x.size else 0.0
    with np.errstate(divide="ignore"):
        return float(10.0 * np.log10(mean_square))


def is_silent(x, threshold_dbfs=SILENCE_THRESHOLD_DBFS):
    """Whether a signal is silent (its RMS level is below a threshold).

    Parameters
    ----------
    x : numpy.ndarray
        Samples in [-1, 1].
    threshold_dbfs : float, optional
        RMS level below which the signal is silent, in dBFS (default -70).

    Returns
    -------
    bool
    """
    return rms_dbfs(x) < threshold_dbfs


def clipped_fraction(x, clip_level=CLIP_LEVEL):
    """Fraction of samples at or beyond the clipping level.

    Parameters
    ----------
    x : numpy.ndarray
        Samples in [-1, 1].
    clip_level : float, optional
        Absolute value at or above which a sample counts as clipped (default 0.999).

    Returns
    -------
    float
        A value in [0, 1]; 0 for an empty signal.
    """
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(np.abs(x) >= clip_level)) if x.size else 0.0


def demo_clip_path():
    """Path of the bundled demo clip (7.24 s of Dutch speech, 16 kHz mono FLAC, GPL-2).

    Returns
    -------
    pathlib.Path
        ``hybridcodec/data/demo_speech_nl.flac``; its source is in ``DEMO_CLIP.md``.
    """
    return Path(__file__).resolve().parents[1] / "data" / "demo_speech_nl.flac"
