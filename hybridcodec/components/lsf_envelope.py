"""LSF envelope components (the ``envelope`` slot): an order-16 LPC envelope coded as LSFs.

Analysis (both components, ``analyze_lpc``): the LPC is fitted to the frame's MDCT power
spectrum, not to the windowed time signal.  The envelope slot receives only X (320 bins); the
envelope it returns divides exactly these bins; and X already comes from the encoder's 50 Hz
high-pass and 30 ms low-overlap window.  Fitting |X|² (inverse DFT on the half-bin-shifted MDCT
grid, ``dsp.lpc.lpc_from_power_spectrum``) therefore models the very spectrum that is flattened,
with no second window, no time/frequency misalignment and no extra interface.  The AMR-WB /
CQ-paper conditioning (sec. 3.1) is kept in the spectral domain: pre-emphasis 1 − 0.68 z⁻¹ is a
multiplication of the power by |1 − 0.68 e^{-jω}|², undone in synthesis; the 60 Hz Gaussian
lag window widens sharp peaks.  The white-noise floor is −70 dB (factor 1 + 1e-7), not
AMR-WB's −40 dB: on the training split the −40 dB floor lifts the envelope above the weak
high band and raised the Laplacian cost of the flattened spectrum by ~0.4 bit/bin.

Synthesis: log ŝ(f) = ĝ − ln|Â(e^{jω_f})| − ½ ln|1 − 0.68 e^{-jω_f}|² + c(f), where c(f) is a
fixed, trained correction curve (mean log|X| − log envelope per bin over the training split,
mostly the 50 Hz high-pass notch that an all-pole model cannot follow) and the gain ĝ keeps
the geometric-mean convention of the cepstral envelope: g = mean log|X| − mean (log shape), so
that mean log|w| ≈ 0 for w = X/ŝ and the Laplacian source model's scale (fitted for cepstral
flattening) stays right.  g is coded in dB with a uniform step and an entropy table.

Field layout of both components: number of stages / coefficients used (a symbol, nearly always
"all", so ~0.05 bits; fewer only when a small frame cannot hold the full envelope), the gain
index, then the LSF indices.  After dequantization the LSFs are sorted and spaced by at least
50 Hz (``dsp.lpc.stabilize_lsf``, as AMR-WB's ISF reordering), so Â(z) is always minimum phase.

``lsf-vq``: multi-stage, split vector quantizer trained with k-means (``hybridcodec.lsf_training``)
with entropy-coded indices and an M-best search over the stages.

``lsf-softmax``: the trainable LSP codebook of the collaborative-quantization paper (sec. 2.2,
3.1): each LSF is predicted from the previous quantized one, normalized by a learned scale, and
assigned to one of 256 shared scalar centroids (hard assignment here; softmax assignment in
training, ``learned.lsf_codebook``), trained against the cost of the whole frame.
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Tuple

import numpy as np

from dsp import lpc
from dsp.entropy_models import CodingTable, make_tableset, quantize_cdf
from dsp.envelope import MAGNITUDE_FLOOR, LOG_ENVELOPE_RANGE
from dsp.range_coder import RangeCoder

from ..config import CodecConfig, ComponentSpec, register_config
from ..parameters import digest, find_parameter_file, load_parameters
from ..registry import register
from .configurations import BASE

LPC_ORDER = 16
PRE_EMPHASIS = 0.68
"""1 − 0.68 z⁻¹, AMR-WB / CQ paper sec. 3.1 (applied to the power spectrum)."""
LAG_WINDOW_HZ = 60.0
WHITE_NOISE_FACTOR = 1.0 + 1e-7
"""r[0] scaling: a −70 dB floor (see the module notes)."""
MIN_LSF_GAP_RAD = 2.0 * np.pi * 50.0 / 16000.0
"""Smallest spacing of decoded LSFs (and distance from 0 and π): 50 Hz, as AMR-WB's ISF_GAP."""
DB_PER_NEPER = 20.0 / np.log(10.0)
N_BINS = 320
STAGE_COUNT_PRIOR = 0.97
"""Probability of 'all stages' in the stage-count symbol; the rest is spread over fewer."""


# ----------------------------------------------------------------------------- analysis

@lru_cache(maxsize=4)
def _omega(n_bins: int) -> np.ndarray:
    return np.pi * (np.arange(n_bins) + 0.5) / n_bins


@lru_cache(maxsize=4)
def log_tilt(n_bins: int = N_BINS) -> np.ndarray:
    """½ ln|1 − 0.68 e^{-jω}|² at the MDCT bin centres: the pre-emphasis in log magnitude."""
    return 0.5 * np.log(np.abs(1.0 - PRE_EMPHASIS * np.exp(-1j * _omega(n_bins))) ** 2)


def analyze_lpc(spectrum: np.ndarray) -> np.ndarray:
    """Order-16 LSFs (radians, ascending) of the pre-emphasized MDCT power spectrum.

    Parameters
    ----------
    spectrum : ndarray, shape (320,)
        MDCT coefficients X of one frame.

    Returns
    -------
    lsf : ndarray, shape (16,)
    """
    power = (spectrum**2 + MAGNITUDE_FLOOR**2) * np.exp(2.0 * log_tilt(spectrum.shape[-1]))
    a, _ = lpc.lpc_from_power_spectrum(power, LPC_ORDER, LAG_WINDOW_HZ, WHITE_NOISE_FACTOR)
    for _ in range(8):
        try:
            return lpc.lpc_to_lsf(a)
        except ValueError:   # roots too close for the search: widen the peaks slightly
            a = lpc.bandwidth_expand(a, 0.995)
    return np.linspace(1, LPC_ORDER, LPC_ORDER) * np.pi / (LPC_ORDER + 1)


def log_shape(lsf: np.ndarray, correction: np.ndarray) -> np.ndarray:
    """ln of the envelope shape −ln|A| − ln|tilt| + c(f) at the MDCT bins (any gain), (..., 320)."""
    a = np.stack([lpc.lsf_to_lpc(row) for row in np.atleast_2d(lsf)])
    response = np.fft.rfft(a, n=4 * N_BINS, axis=-1)[..., 1:2 * N_BINS:2]
    shape = -np.log(np.abs(response)) - log_tilt(N_BINS) + correction
    return shape.reshape(np.shape(lsf)[:-1] + (N_BINS,))


def log_gain(spectrum: np.ndarray, shape: np.ndarray) -> float:
    """g (nepers) with mean(g + shape) = mean ln|X|: the geometric-mean convention."""
    log_magnitude = np.log(np.maximum(np.abs(spectrum), MAGNITUDE_FLOOR))
    return float(np.mean(log_magnitude) - np.mean(shape))


def envelope_from_log(log_envelope: np.ndarray) -> np.ndarray:
    """ŝ = exp(log ŝ), clipped to the range of real audio as the cepstral envelope."""
    return np.exp(np.clip(log_envelope, *LOG_ENVELOPE_RANGE))


def sd_db(log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """Spectral distortion (dB) between two log envelopes (nepers), per frame."""
    return np.sqrt(np.mean((DB_PER_NEPER * (log_a - log_b)) ** 2, axis=-1))


# ----------------------------------------------------------------------------- coding tables

def empirical_table(counts: np.ndarray, offset: int = 0) -> CodingTable:
    """A coding table from training counts (add-½ smoothing) with a tiny ESCAPE mass."""
    pdf = np.append(np.asarray(counts, dtype=np.float64) + 0.5, 1e-6 * (np.sum(counts) + 1.0))
    return CodingTable(quantize_cdf(pdf), int(offset))


def symbol_cdf(counts: np.ndarray) -> np.ndarray:
    """An integer CDF (no escape) for symbols 0 … n − 1 from training counts, add-½ smoothing."""
    return quantize_cdf(np.asarray(counts, dtype=np.float64) + 0.5)


def stage_count_cdf(n_stages: int) -> np.ndarray:
    """Prior of the stage-count symbol: 'all' (index n_stages) nearly always."""
    pdf = np.full(n_stages + 1, (1.0 - STAGE_COUNT_PRIOR) / max(n_stages, 1))
    pdf[n_stages] = STAGE_COUNT_PRIOR
    return quantize_cdf(pdf)


class GainCoder:
    """Uniform quantizer of the gain in dB with an entropy table trained on the training split."""

    def __init__(self, step_db: float, offset: int, counts: np.ndarray):
        self.step_db = float(step_db)
        self.tables = make_tableset([empirical_table(counts, offset)])
        self._row = np.zeros(1, dtype=np.int64)

    def quantize(self, gain: float) -> int:
        return int(np.round(DB_PER_NEPER * gain / self.step_db))

    def dequantize(self, index: int) -> float:
        return index * self.step_db / DB_PER_NEPER

    def put(self, coder: RangeCoder, index: int) -> None:
        coder.encode_values(self.tables, self._row, np.array([index], dtype=np.int64))

    def get(self, coder: RangeCoder) -> int:
        return int(coder.decode_values(self.tables, self._row)[0])
