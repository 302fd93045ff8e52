"""Fit the DSP source model (Laplacians), the 1 dB envelope step and the envelope's inter-frame
prediction on the training split.

``hybridcodec train laplacian`` runs :func:`fit_laplacian` and ``hybridcodec train
envelope-prediction`` :func:`train_envelope_prediction`; each writes the parameter file that
ships in ``hybridcodec/data``.  Only the training split is read.
"""
from typing import Dict, List

import numpy as np
from scipy.optimize import brentq

from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp import mdct
from hybridcodec.dsp.filters import highpass_50hz

from ..components.configurations import SPEECH_ENVELOPE_FIT
from ..components.source_model import fit_laplacians
from ..core.geometry import N_BINS
from .corpus import load_clips

ACTIVE_FRAME_DB = -55.0
"""Frames quieter than this (rms of the MDCT frame re full scale) are left out of the fits:
digital silence between clips says nothing about speech."""
TARGET_SD_DB = 1.0
"""The conventional rule of thumb: mean spectral distortion of the envelope ≈ 1 dB (TCX [16])."""


def active_runs(frames: np.ndarray) -> List[np.ndarray]:
    """The runs of consecutive active frames (:func:`is_active`) of one clip's MDCT frames."""
    active = is_active(frames)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    return [frames[a:b] for a, b in zip(edges[::2], edges[1::2])]


def speech_spectra(clips: List[np.ndarray]) -> np.ndarray:
    """MDCT frames (n, 320) of the clips as the encoder sees them (50 Hz high-pass), active only."""
    frames = np.concatenate([mdct.analyze(highpass_50hz(x)) for x in clips])
    return frames[is_active(frames)]


def is_active(frames: np.ndarray) -> np.ndarray:
    """Which MDCT frames (n, 320) are louder than ACTIVE_FRAME_DB, bool (n,)."""
    level_db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    return level_db > ACTIVE_FRAME_DB


def mean_sd_db(y: np.ndarray, envelope_step: float) -> float:
    """Mean spectral distortion (dB) of cepstra ``y`` quantized with ``envelope_step``."""
    envelope = cepstral.envelope_from_cepstrum(y, N_BINS)
    quantized = cepstral.quantized_envelope(y, envelope_step, N_BINS)
    return float(np.mean(cepstral.spectral_distortion_db(envelope, quantized)))


def one_db_envelope_step(y: np.ndarray) -> float:
    """Δq whose mean SD is TARGET_SD_DB (bisection on the monotone SD(Δq))."""
    return float(brentq(lambda step: mean_sd_db(y, step) - TARGET_SD_DB, 0.05, 20.0, xtol=1e-3))


def fit_laplacian(spectra: np.ndarray, envelope_step: float) -> Dict[str, np.ndarray]:
    """The arrays of the ``laplacian`` parameter file: maximum-likelihood Laplacians
    (``components.source_model.fit_laplacians``) of the cepstra and of the spectrum flattened
    by the envelope quantized with ``envelope_step``, as in the codec; then F and Δq.
    """
    y = cepstral.cepstrum(spectra)
    w = cepstral.flatten_by_quantized_envelope(spectra, envelope_step)
    return {**fit_laplacians(y, w), "n_bins": np.array(N_BINS),
            "envelope_step": np.array(envelope_step)}


def train_laplacian(corpus_dir=None, max_files=None) -> Dict[str, np.ndarray]:
    """Fit Δq by the 1 dB rule and the Laplacians on the training split."""
    clips = load_clips("train", corpus_dir, max_files=max_files)
    spectra = speech_spectra(clips)
    step = one_db_envelope_step(cepstral.cepstrum(spectra))
    return fit_laplacian(spectra, step)


def train_envelope_prediction(corpus_dir=None, max_files=None) -> Dict[str, np.ndarray]:
    """μ, a and residual scales of the cepstral envelope's inter-frame prediction (E2), fitted
    on the runs of consecutive active frames of the training split, on the cepstra of the fit
    (E1) that the speech configurations use (``SPEECH_ENVELOPE_FIT``)."""
    clips = load_clips("train", corpus_dir, max_files=max_files)
    runs = [run for x in clips for run in active_runs(mdct.analyze(highpass_50hz(x)))]
    fit = (SPEECH_ENVELOPE_FIT["fit_smoothing_bins"], SPEECH_ENVELOPE_FIT["fit_mix"])
    cepstra = [cepstral.cepstrum(run, cepstral.N_CEPSTRA, *fit) for run in runs]
    return cepstral.fit_cepstrum_prediction(cepstra)
