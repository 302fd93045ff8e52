"""Objective speech-quality metrics: PESQ-WB, ViSQOL, STOI, DNSMOS and segmental SNR; time alignment.

Every metric takes a reference ``ref`` (the codec input) and a degraded signal
``deg`` (the codec output) of the same shape ``(n,)``, float64 in [-1, 1], time-aligned;
:func:`align` makes a codec output so, and checks it. :data:`METRICS` lists the metrics
by the name the ``evaluate`` command uses, with the column each fills.

ViSQOL is v3 in speech mode (16 kHz), from PyPI's ``visqol-python``, a port of Google's
C++ ViSQOL 3.3. Its similarity is mapped to MOS-LQO by the deep-lattice model of the C++
tool when ``ai-edge-litert`` imports (``pip install hybridcodec[lattice]``), else by the
port's polynomial fallback, whose scores are higher and not comparable;
:func:`visqol_mapper` says which one runs.

DNSMOS (P.835 overall quality, Microsoft's DNSMOS models from PyPI's ``speechmos``) is
non-intrusive: it rates the output alone, so it sees noise that a codec adds wherever the
reference has it too; ``pip install hybridcodec[dnsmos]``.
"""
import importlib.util
import threading
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pesq as pesq_lib
import pystoi
from scipy import signal as scipy_signal

from hybridcodec.errors import HybridCodecError
from hybridcodec.formats.audio import fit_length, resample

PESQ_SAMPLE_RATE_HZ = 16000
SEGMENTAL_SNR_FRAME_SAMPLES = 320
SEGMENTAL_SNR_CLAMP_DB = (-10.0, 35.0)
SILENT_FRAME_BELOW_MAX_DB = 40.0
"""A reference frame this many dB below the loudest frame counts as silent."""
VISQOL_SAMPLE_RATE_HZ = 16000
DNSMOS_SAMPLE_RATE_HZ = 16000
ALIGN_SEARCH_MS = 20.0
"""Cross-correlation lags searched by :func:`align`: within ± this many ms."""
ALIGN_TOLERANCE_MS = 0.25
"""Largest lag :func:`align` accepts beyond the expected one (4 samples at 16 kHz)."""


class AlignmentError(HybridCodecError):
    """A codec output does not line up with its input where it should."""


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
    ref, deg = _pair_at(ref, deg, sample_rate_hz, PESQ_SAMPLE_RATE_HZ)
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
        ``{"pesq_wb": ..., "visqol": ..., "stoi": ..., "segmental_snr_db": ...}``: PESQ-WB and
        ViSQOL side by side (one metric alone can be tuned against); segmental SNR uses 20 ms
        frames at ``sample_rate_hz``.
    """
    frame_samples = int(round(0.020 * sample_rate_hz))
    return {
        "pesq_wb": pesq_wb(ref, deg, sample_rate_hz),
        "visqol": visqol(ref, deg, sample_rate_hz),
        "stoi": stoi(ref, deg, sample_rate_hz),
        "segmental_snr_db": segmental_snr_db(ref, deg, frame_samples),
    }


def _pair_at(ref, deg, sample_rate_hz, metric_rate_hz):
    """Both signals checked by :func:`_check_pair` and resampled to the metric's rate."""
    ref, deg = _check_pair(ref, deg)
    return resample(ref, sample_rate_hz, metric_rate_hz), resample(deg, sample_rate_hz, metric_rate_hz)


def _check_pair(ref, deg):
    """Both signals as float64 arrays; ValueError unless they are 1-D of the same length."""
    ref = np.asarray(ref, dtype=np.float64)
    deg = np.asarray(deg, dtype=np.float64)
    if ref.ndim != 1 or ref.shape != deg.shape:
        raise ValueError(
            f"ref and deg must be 1-D arrays of the same length, got shapes {ref.shape} and {deg.shape}"
        )
    return ref, deg


def visqol(ref, deg, sample_rate_hz):
    """ViSQOL v3 MOS-LQO of a degraded signal, in speech mode.

    Signals at another rate are resampled to 16 kHz first. The mapper is the
    deep-lattice model when ``ai-edge-litert`` imports, else the polynomial one
    (see :func:`visqol_mapper`).

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    sample_rate_hz : int
        Sampling rate of both signals, in Hz.

    Returns
    -------
    float
        MOS-LQO, 1 (bad) to about 4.7 (transparent, lattice mapper).
    """
    return visqol_features(ref, deg, sample_rate_hz).moslqo


VISQOL_FEATURES = ("fvnsim", "fvnsim10", "fstdnsim", "fvdegenergy")
"""What ViSQOL's speech mapper reads, one value per gammatone band (21 bands, 50 Hz to 8 kHz):
the mean NSIM of the band over the patches, its 10th percentile, its standard deviation, and the
mean energy of the degraded signal in the band (after ViSQOL's level alignment; the reference's
energy is not an input). The polynomial mapper reads the mean NSIM alone."""


@dataclass(frozen=True)
class VisqolFeatures:
    """A ViSQOL comparison's MOS-LQO and the per-band features it was mapped from
    (:data:`VISQOL_FEATURES`, each an array of shape (21,))."""

    moslqo: float
    fvnsim: np.ndarray
    fvnsim10: np.ndarray
    fstdnsim: np.ndarray
    fvdegenergy: np.ndarray

    def swapped(self, other, names):
        """These features with ``other``'s for the features in ``names`` (MOS-LQO unset: map
        them with :func:`visqol_mos`)."""
        values = {name: getattr(other if name in names else self, name) for name in VISQOL_FEATURES}
        return VisqolFeatures(float("nan"), **values)


def visqol_features(ref, deg, sample_rate_hz):
    """The features of :func:`visqol`'s comparison, with its MOS-LQO (:class:`VisqolFeatures`)."""
    ref, deg = _pair_at(ref, deg, sample_rate_hz, VISQOL_SAMPLE_RATE_HZ)
    result = _visqol_api().measure_from_arrays(ref, deg, VISQOL_SAMPLE_RATE_HZ)
    return VisqolFeatures(float(result.moslqo),
                          **{name: np.asarray(getattr(result, name), dtype=np.float64)
                             for name in VISQOL_FEATURES})


def visqol_mos(features):
    """MOS-LQO of ViSQOL features by this thread's mapper, e.g. of features one system took from
    another (:meth:`VisqolFeatures.swapped`), to see which features a difference of scores
    comes from."""
    mapper = _visqol_api()._manager.quality_mapper   # visqol-python keeps its mapper there
    return float(mapper.predict_quality(*(getattr(features, name) for name in VISQOL_FEATURES)))


def visqol_mapper():
    """The similarity-to-MOS mapper ViSQOL runs with here.

    Returns
    -------
    str
        ``"lattice"`` (the C++ tool's default) or ``"polynomial"`` (no ai-edge-litert).
    """
    from visqol.quality_mapper import has_lattice_runtime

    return "lattice" if has_lattice_runtime() else "polynomial"


_VISQOL_APIS = threading.local()


def _visqol_api():
    """This thread's ViSQOL instance in speech mode (made once: its interpreter is not shared)."""
    if not hasattr(_VISQOL_APIS, "api"):
        from visqol import VisqolApi

        api = VisqolApi()
        api.create(mode="speech", use_lattice_model=visqol_mapper() == "lattice")
        _VISQOL_APIS.api = api
    return _VISQOL_APIS.api


def _visqol_missing():
    """Why ViSQOL cannot run (visqol-python absent), or None."""
    if importlib.util.find_spec("visqol") is None:
        return "visqol-python is not installed (pip install visqol-python)"
    return None


def dnsmos(ref, deg, sample_rate_hz):
    """DNSMOS P.835 overall quality (OVRL) of the degraded signal, non-intrusive.

    ``ref`` is only checked against ``deg``; the score depends on ``deg`` alone, resampled to
    16 kHz and held within [-1, 1]. The model scores 9.01 s windows; a shorter signal is
    repeated to that length (``speechmos``'s own rule).

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    sample_rate_hz : int
        Sampling rate of both signals, in Hz.

    Returns
    -------
    float
        MOS, 1 (bad) to 5 (excellent).
    """
    from speechmos import dnsmos as dnsmos_model

    _, deg = _pair_at(ref, deg, sample_rate_hz, DNSMOS_SAMPLE_RATE_HZ)
    deg = np.clip(deg, -1.0, 1.0).astype(np.float32)
    return float(dnsmos_model.run(deg, DNSMOS_SAMPLE_RATE_HZ)["ovrl_mos"])


def _dnsmos_missing():
    """Why DNSMOS cannot run (speechmos or what it imports absent), or None."""
    absent = [name for name in ("speechmos", "librosa", "onnxruntime", "requests")
              if importlib.util.find_spec(name) is None]
    if absent:
        return f"{', '.join(absent)} not installed (pip install hybridcodec[dnsmos])"
    return None


def lag_samples(ref, deg, max_lag_samples):
    """Lag of ``deg`` behind ``ref`` at the peak of their cross-correlation.

    Parameters
    ----------
    ref, deg : numpy.ndarray, shape (n,)
        Reference and degraded signals.
    max_lag_samples : int
        Only lags within ± this many samples are searched.

    Returns
    -------
    int
        Positive when ``deg`` is late.
    """
    correlation = scipy_signal.correlate(deg, ref, mode="full", method="fft")
    lags = scipy_signal.correlation_lags(deg.shape[0], ref.shape[0], mode="full")
    searched = np.abs(lags) <= max_lag_samples
    return int(lags[searched][np.argmax(correlation[searched])])


def align(ref, deg, sample_rate_hz, expected_lag_samples=0, tolerance_ms=ALIGN_TOLERANCE_MS,
          search_ms=ALIGN_SEARCH_MS):
    """Line a codec output up with its input, after checking its lag is the expected one.

    Processing steps: find the lag of ``deg`` behind ``ref`` by cross-correlation within
    ± ``search_ms``; raise if it is further than ``tolerance_ms`` from the expected lag;
    else shift ``deg`` by it (zeros fill the gap) so that it has the length of ``ref``.

    Parameters
    ----------
    ref : numpy.ndarray, shape (n,)
        Reference (the codec input).
    deg : numpy.ndarray, shape (m,)
        Codec output.
    sample_rate_hz : int
        Sampling rate of both signals, in Hz.
    expected_lag_samples : int, optional
        The codec's delay still in ``deg`` (default 0: its round trip removed it).
    tolerance_ms, search_ms : float, optional
        Accepted distance from the expected lag and searched lags, in ms.

    Returns
    -------
    aligned : numpy.ndarray, shape (n,)
        ``deg`` shifted by the found lag.
    lag : int
        The found lag, in samples.

    Raises
    ------
    AlignmentError
        If the found lag is not the expected one (a silent or destroyed output, or a
        codec whose delay changed).
    """
    ref = np.asarray(ref, dtype=np.float64)
    deg = np.asarray(deg, dtype=np.float64)
    lag = lag_samples(ref, deg, int(round(search_ms * sample_rate_hz / 1000)))
    if abs(lag - expected_lag_samples) > tolerance_ms * sample_rate_hz / 1000:
        raise AlignmentError(f"output lags the input by {lag} samples at the cross-correlation "
                             f"peak, {expected_lag_samples} expected")
    shifted = deg[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), deg])
    return fit_length(shifted, ref.shape[0]), lag


@dataclass(frozen=True)
class Metric:
    """A metric the ``evaluate`` command can compute.

    Attributes
    ----------
    column : str
        Its column in ``results.csv``.
    function : callable
        ``function(ref, deg, sample_rate_hz) -> float``.
    min_duration_s : float
        Shortest signal it scores, in seconds.
    missing : callable
        ``missing() -> str or None``: why it cannot run (None when it can).
    """

    column: str
    function: Callable[..., float]
    min_duration_s: float
    missing: Callable[[], Optional[str]] = lambda: None


METRICS = {
    "pesq": Metric("pesq_wb", pesq_wb, 0.25),          # P.862: a quarter of a second
    "visqol": Metric("visqol", visqol, 1.0, _visqol_missing),  # fails below about 0.7 s
    "stoi": Metric("stoi", stoi, 1.0),                 # 30 frames of 25.6 ms of speech, or 1e-5
    "dnsmos": Metric("dnsmos_ovrl", dnsmos, 1.0, _dnsmos_missing),
}
"""The metrics by their ``--metrics`` name."""
METRIC_LABELS = {"pesq_wb": "PESQ-WB", "visqol": "ViSQOL", "stoi": "STOI", "dnsmos_ovrl": "DNSMOS"}
"""Result column → its name in tables and plots."""
