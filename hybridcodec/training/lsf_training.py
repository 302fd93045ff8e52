"""Training of the LSF envelopes on the training split: common statistics and the k-means VQ.

``hybridcodec train lsf-vq`` runs :func:`train_lsf_vq` and writes ``lsf-vq-<digest>.npz``.
Used by the softmax codebook (``learned.lsf_codebook``) and the envelope study too: the
training frames, LSF analysis in bulk (at the lag window of the component trained), the
correction curve c(f), the gain table, and the frame cost at fixed spectrum quantization
(:func:`spectrum_bits`).  Only the training split
is read; every random choice is seeded.
"""
from typing import Dict, Optional, Tuple

import numpy as np
from sklearn.cluster import KMeans
from tqdm import tqdm

from hybridcodec.dsp.envelope import MAGNITUDE_FLOOR

from ..components import lsf_envelope as le
from .corpus import load_clips, require_frames
from .fit import speech_spectra

SEED = 20261122
TRAIN_FRAMES = 120_000
"""Active frames drawn (seeded) from the training split's 211k: enough for 1024 centroids."""
GAIN_STEP_DB = 1.0
"""Gain quantizer step: error rms 1.0/√12 = 0.29 dB, adding in quadrature to the shape SD.  The
SD-per-bit optimum: at ~1.2 dB shape SD one LSF bit lowers SD² by ~0.12 dB², one gain bit by
2 ln2 · Δ²/12, equal at Δ ≈ 1.0 dB (1.5 dB cost 0.05 dB of mean SD for 0.6 bit less)."""
LSF_VQ_LAG_WINDOW_HZ = 150.0
"""Lag window of lsf-vq's analysis (stored in its parameter file as ``lag_window_hz``; the
decoder reads it from there).  Each LSF component has its own analysis, chosen for its own
objective, as in the CQ paper: lsf-vq is the classical quantizer designed for LSF distortion,
and a distortion-targeted quantizer codes the smoother 150 Hz envelope best (train split,
6 stages: SD 1.00 dB at 150 Hz against 1.22 dB at 60 Hz); lsf-softmax is optimized for
whole-frame bits and keeps 60 Hz (``learned.lsf_codebook.LAG_WINDOW_HZ``).  The price is in the
flattened spectrum: swept on the training split (lsf-vq, 40k frames to train, 3k others to
measure), the lowest total frame bits (envelope + spectrum at the fixed step) over stage counts
were 30 Hz 356.3, 45 Hz 356.7, 60 Hz 357.3, 100 Hz 361.6, 150 Hz 370.2, i.e. ~14-16 more bits
of flattened spectrum per frame at 150 Hz.  SD is measured against each component's own
unquantized envelope, so SD at different lag windows is distance to different targets; the
envelope study keeps a study-only lsf-vq at 60 Hz for the comparison at equal analysis."""
VQ_LAYOUT: Tuple[Tuple[int, int, int], ...] = (
    (0, 16, 10), (0, 16, 9), (0, 8, 8), (8, 16, 8), (0, 6, 6), (6, 11, 6), (11, 16, 6),
    (0, 16, 8))
"""Stages (first dim, end dim, bits): two 16-d stages, then splits refining the residual.  A
second full 9-bit stage before the 8 + 8 split: −0.04 dB at equal bits (train, 60 Hz) against
one 16-d stage followed by the splits."""
KMEANS_ITERATIONS = 30
FIXED_SPECTRUM_STEP = 3.4
"""δ/b of the 'fixed spectrum quantization' that prices the flattened spectrum: the step in
the flattened domain, relative to the Laplacian scale b, at which the cepstral envelope leaves
~290 bits/frame on the training split (δ = b: ~800), about the spectrum share of a 16.4 kbps frame."""


def training_frames(corpus_dir=None, max_files: Optional[int] = None,
                    max_frames: int = TRAIN_FRAMES, seed: int = SEED) -> np.ndarray:
    """Active MDCT frames (n, 320) of the training split, a seeded subset of at most max_frames."""
    spectra = speech_spectra(load_clips("train", corpus_dir, max_files=max_files))
    if spectra.shape[0] > max_frames:
        rows = np.random.default_rng(seed).choice(spectra.shape[0], max_frames, replace=False)
        spectra = spectra[np.sort(rows)]
    return spectra


def lsf_of(spectra: np.ndarray, lag_window_hz: float, progress: bool = False) -> np.ndarray:
    """LSFs (n, 16) of every frame, by the codec's own analysis."""
    return np.stack([le.analyze_lpc(x, lag_window_hz)
                     for x in tqdm(spectra, desc="LPC analysis", disable=not progress,
                                   mininterval=1.0)])


def log_magnitude(spectra: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.abs(spectra), MAGNITUDE_FLOOR))


def log_shapes(lsf: np.ndarray, correction: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """log_shape of many frames, in chunks (n, 320)."""
    return np.concatenate([le.log_shape(lsf[i:i + chunk], correction)
                           for i in range(0, lsf.shape[0], chunk)])


def correction_curve(spectra: np.ndarray, lsf: np.ndarray) -> np.ndarray:
    """c(f): the mean over frames of ln|X| − log shape, each frame's mean removed (sums to 0)."""
    d = log_magnitude(spectra) - log_shapes(lsf, np.zeros(le.N_BINS))
    return np.mean(d - d.mean(axis=1, keepdims=True), axis=0)


def gain_table(spectra: np.ndarray, lsf: np.ndarray, correction: np.ndarray,
               step_db: float = GAIN_STEP_DB) -> Dict[str, np.ndarray]:
    """Gain predictor (least squares on ``le.gain_features`` of the LSFs) and the (offset,
    counts) of the quantized prediction residuals, two empty bins either side."""
    shapes = log_shapes(lsf, correction)
    gains = log_magnitude(spectra).mean(axis=1) - shapes.mean(axis=1)
    features = le.gain_features(lsf)
    predictor = np.linalg.lstsq(features, gains, rcond=None)[0]
    index = np.round(le.DB_PER_NEPER * (gains - features @ predictor) / step_db).astype(np.int64)
    lo, hi = int(index.min()) - 2, int(index.max()) + 2
    return {"gain_step_db": np.array(step_db), "gain_predictor": predictor,
            "gain_offset": np.array(lo),
            "gain_counts": np.bincount(index - lo, minlength=hi - lo + 1).astype(np.float64)}


def shared_arrays(spectra: np.ndarray, lsf: np.ndarray, lag_window_hz: float) -> Dict:
    """Arrays every LSF parameter file holds: its analysis (the lag window ``lsf`` was computed
    with, read back by the codec on both sides), correction curve and gain coding."""
    correction = correction_curve(spectra, lsf)
    return {"lag_window_hz": np.array(lag_window_hz), "correction": correction,
            **gain_table(spectra, lsf, correction), "lsf_mean": lsf.mean(axis=0)}


def train_stages(residual: np.ndarray, layout=VQ_LAYOUT, seed: int = SEED,
                 progress: bool = True) -> Dict[str, np.ndarray]:
    """Sequential k-means: each stage is fitted to the residual the earlier stages leave."""
    n_stages, k_max = len(layout), max(1 << bits for _, _, bits in layout)
    require_frames(residual.shape[0], k_max, f"k-means of {k_max} codewords")
    codebooks = np.zeros((n_stages, k_max, le.LPC_ORDER))
    dims = np.zeros((n_stages, le.LPC_ORDER), dtype=bool)
    counts = np.zeros((n_stages, k_max))
    residual = residual.copy()
    for s, (first, end, bits) in enumerate(tqdm(layout, desc="k-means stages",
                                                disable=not progress)):
        kmeans = KMeans(1 << bits, n_init=1, max_iter=KMEANS_ITERATIONS, random_state=seed + s)
        labels = kmeans.fit_predict(residual[:, first:end])
        codebooks[s, :1 << bits, first:end] = kmeans.cluster_centers_
        dims[s, first:end] = True
        counts[s, :1 << bits] = np.bincount(labels, minlength=1 << bits)
        residual[:, first:end] -= kmeans.cluster_centers_[labels]
    return {"codebooks": codebooks, "stage_dims": dims, "index_counts": counts,
            "stage_sizes": np.array([1 << bits for _, _, bits in layout])}


def train_lsf_vq(corpus_dir=None, max_files: Optional[int] = None,
                 max_frames: int = TRAIN_FRAMES, layout=VQ_LAYOUT,
                 lag_window_hz: float = LSF_VQ_LAG_WINDOW_HZ,
                 progress: bool = True) -> Dict[str, np.ndarray]:
    """The lsf-vq parameter arrays, trained on the training split.

    ``lag_window_hz`` is the analysis (default: lsf-vq's own, :data:`LSF_VQ_LAG_WINDOW_HZ`);
    the envelope study trains a second, study-only quantizer at lsf-softmax's analysis."""
    spectra = training_frames(corpus_dir, max_files, max_frames)
    lsf = lsf_of(spectra, lag_window_hz, progress)
    arrays = shared_arrays(spectra, lsf, lag_window_hz)
    arrays.update(train_stages(lsf - arrays["lsf_mean"], layout, progress=progress))
    return arrays


def spectrum_bits(spectra: np.ndarray, log_envelope: np.ndarray, scale: float,
                  step_ratio: float = FIXED_SPECTRUM_STEP) -> np.ndarray:
    """Bits per frame of the flattened spectrum at fixed quantization, under the source model.

    w = X / ŝ is rounded with step δ = step_ratio · b and each index q costs
    −log2 P(q), P(q) = C((q + ½)δ) − C((q − ½)δ) for the Laplacian C of scale b (the
    Laplacian source model's).  With ŝ in the geometric-mean convention a fixed δ is a fixed
    mean log step in the MDCT domain, so envelopes are compared at equal noise level.

    Parameters
    ----------
    spectra, log_envelope : ndarray, shape (n, 320)
    scale : float
        b, the flattened spectrum's Laplacian scale.

    Returns
    -------
    ndarray, shape (n,)
    """
    step = step_ratio * scale
    q = np.abs(np.round(spectra * np.exp(-log_envelope) / step))
    t = step / (2.0 * scale)
    # P(0) = 1 − e^{−t}; P(q ≠ 0) = e^{−|q|δ/b} sinh(t) for each sign
    log2_p = np.where(q == 0, np.log2(-np.expm1(-t)),
                      (-q * step / scale) * np.log2(np.e) + np.log2(np.sinh(t)))
    return -np.sum(log2_p, axis=-1)
