"""Preparing a speech clip for the corpus: checks, 16 kHz mono, a fixed speech level.

Each clip is read at its own rate and channel count, checked, downmixed, resampled to
16 kHz (libsoxr, :func:`hybridcodec.formats.audio.resample`) and scaled to an active
speech level of :data:`TARGET_LEVEL_DBOV` (about -26 dBov, the level of ITU-T P.56 that
codec tests use). A clip is dropped, with the reason recorded, when

* its source rate is below 16 kHz (``rate below 16 kHz``): it cannot fill the codec's band;
* it is **band-limited** (``band-limited``): the long-term spectrum of its active frames
  falls more than :data:`BAND_FLOOR_DB` below its maximum everywhere above
  :data:`BAND_EDGE_HZ`, so an earlier low-pass (often the Vorbis encoder's) left the top of
  the 0-8 kHz band empty, and a model fitted on it would learn an empty band;
* it is **clipped** (``clipped``): its peak reaches :data:`CLIP_PEAK` of full scale and at
  least :data:`CLIP_MIN_SAMPLES` samples sit within 0.1 % of that peak, the flat tops a
  limiter or a clipped recording leaves;
* it is shorter than :data:`MIN_DURATION_S` or silent (``too short``, ``silent``).
"""
import io
import zipfile

import numpy as np
import soundfile

from hybridcodec.core.geometry import SAMPLE_RATE_HZ
from hybridcodec.formats.audio import resample

TARGET_LEVEL_DBOV = -26.0
ACTIVITY_RANGE_DB = 40.0
"""10 ms frames within this many dB of the loudest frame count as active speech."""
LEVEL_FRAME_S = 0.01
PEAK_LIMIT = 0.9
"""The level gain is lowered where it would lift the peak above this (-0.9 dBFS)."""
BAND_EDGE_HZ = 7000.0
BAND_FLOOR_DB = -60.0
CLIP_PEAK = 0.99
CLIP_MIN_SAMPLES = 4
MIN_DURATION_S = 0.2
SPECTRUM_SIZE = 1024


def read_clip(location):
    """Read a clip as float64 frames of shape (n, channels) and its rate.

    Parameters
    ----------
    location : tuple of str
        ``(path,)``, or ``(zip_archive, member)`` for a file inside a zip archive.
    """
    if len(location) == 2:
        with zipfile.ZipFile(location[0]) as archive:
            source = io.BytesIO(archive.read(location[1]))
    else:
        source = location[0]
    frames, rate_hz = soundfile.read(source, dtype="float64", always_2d=True)
    return frames, int(rate_hz)


def condition(frames, rate_hz):
    """Check a clip and bring it to 16 kHz mono at the target level.

    Parameters
    ----------
    frames : numpy.ndarray, shape (n, channels)
        The clip at its own rate.
    rate_hz : int
        Its sampling rate.

    Returns
    -------
    x : numpy.ndarray or None
        The prepared 16 kHz mono clip (float32), or None if it is dropped.
    reason : str or None
        Why it was dropped (see the module docstring), or None.
    """
    x = frames.mean(axis=1)
    reason = drop_reason(frames, x, rate_hz)
    if reason:
        return None, reason
    y = resample(x, rate_hz, SAMPLE_RATE_HZ)
    return normalize_level(y).astype(np.float32), None


def drop_reason(frames, x, rate_hz):
    """Why a clip is unfit for the corpus, or None (the checks of the module docstring)."""
    if frames.shape[0] < MIN_DURATION_S * rate_hz:
        return "too short"
    if rate_hz < SAMPLE_RATE_HZ:
        return "rate below 16 kHz"
    if is_clipped(frames):
        return "clipped"
    if active_level_dbov(x, rate_hz) is None:
        return "silent"
    if is_band_limited(x, rate_hz):
        return "band-limited"
    return None


def is_clipped(frames):
    """Whether the peak reaches CLIP_PEAK with CLIP_MIN_SAMPLES samples within 0.1 % of it."""
    magnitude = np.abs(frames)
    peak = magnitude.max()
    return bool(peak >= CLIP_PEAK and np.count_nonzero(magnitude >= 0.999 * peak) >= CLIP_MIN_SAMPLES)


def is_band_limited(x, rate_hz):
    """Whether the active long-term spectrum is below BAND_FLOOR_DB everywhere above BAND_EDGE_HZ.

    The spectrum is Welch's average of Hann-windowed frames (scipy.signal.welch) over the
    active frames, relative to its maximum.
    """
    from scipy.signal import welch

    if len(x) < SPECTRUM_SIZE:
        return False
    freqs, psd = welch(active_samples(x, rate_hz), rate_hz, nperseg=SPECTRUM_SIZE)
    above = psd[freqs >= BAND_EDGE_HZ]
    return bool(10 * np.log10(above.max() / psd.max() + 1e-30) < BAND_FLOOR_DB)


def _frame_powers(x, rate_hz):
    """Mean power of consecutive 10 ms frames, shape (n_frames, frame)."""
    size = max(1, int(LEVEL_FRAME_S * rate_hz))
    frames = x[: len(x) // size * size].reshape(-1, size)
    return frames, np.mean(frames ** 2, axis=1)


def active_samples(x, rate_hz):
    """The samples of the active 10 ms frames (within ACTIVITY_RANGE_DB of the loudest)."""
    frames, power = _frame_powers(x, rate_hz)
    return frames[_is_active(power)].ravel()


def _is_active(power):
    """Mask of the frames within ACTIVITY_RANGE_DB of the loudest."""
    return power >= power.max() * 10 ** (-ACTIVITY_RANGE_DB / 10)


def active_level_dbov(x, rate_hz=SAMPLE_RATE_HZ):
    """Active speech level of a signal in dBov, or None if it is silent.

    A simplified ITU-T P.56 level: the mean power of the 10 ms frames within
    ACTIVITY_RANGE_DB of the loudest, in dB relative to a full-scale square wave (dBov).
    """
    if len(x) < LEVEL_FRAME_S * rate_hz:
        return None
    _, power = _frame_powers(x, rate_hz)
    if power.max() < 10 ** (-90 / 10):
        return None
    return float(10 * np.log10(np.mean(power[_is_active(power)])))  # frames of equal length


def normalize_level(x, target_dbov=TARGET_LEVEL_DBOV):
    """Scale a 16 kHz signal to ``target_dbov`` active level, its peak kept at or below PEAK_LIMIT."""
    gain = 10 ** ((target_dbov - active_level_dbov(x)) / 20)
    peak = np.abs(x).max()
    return x * min(gain, PEAK_LIMIT / peak)
