"""LSF envelope components (the ``envelope`` slot): an order-16 LPC envelope coded as LSFs.

Analysis (``analyze_lpc``, the same procedure in both components, each with its own lag
window): the LPC is fitted to the frame's MDCT power spectrum, not to the windowed time
signal.  The envelope slot receives only X (320 bins); the envelope it returns divides exactly
these bins; and X already comes from the encoder's 50 Hz high-pass and 30 ms low-overlap
window.  Fitting |X|² (inverse DFT on the half-bin-shifted MDCT grid,
``dsp.lpc.lpc_from_power_spectrum``) therefore models the very spectrum that is flattened,
with no second window, no time/frequency misalignment and no extra interface.  The AMR-WB /
CQ-paper conditioning (sec. 3.1) is kept in the spectral domain: pre-emphasis 1 − 0.68 z⁻¹ is a
multiplication of the power by |1 − 0.68 e^{-jω}|², undone in synthesis; a Gaussian lag window
widens sharp peaks.  Its width is a parameter of each component, stored in its parameter file
(``lag_window_hz``, which the bitstream header pins through the file's digest), because the
two components are designed for different objectives, as in the CQ paper: lsf-vq, the
classical quantizer designed for LSF distortion, analyses with 150 Hz, the smoother envelope
that a distortion-targeted quantizer codes best (``hybridcodec.training.lsf_training.
LSF_VQ_LAG_WINDOW_HZ``); lsf-softmax, optimized for whole-frame bits, with 60 Hz (AMR-WB's),
chosen by whole-frame bits on the training split (``learned.lsf_codebook.LAG_WINDOW_HZ``).  SD
is measured against each component's own unquantized envelope, so SDs at different lag windows
are distances to different targets; whole-frame bits are the common yardstick.
The white-noise floor is −70 dB (factor 1 + 1e-7), not AMR-WB's −40 dB: on the training split
the −40 dB floor lifts the envelope above the weak high band and raised the Laplacian cost
of the flattened spectrum by ~0.4 bit/bin.

Synthesis: log ŝ(f) = ĝ − ln|Â(e^{jω_f})| − ½ ln|1 − 0.68 e^{-jω_f}|² + c(f), where c(f) is a
fixed, trained correction curve (mean log|X| − log envelope per bin over the training split,
mostly the 50 Hz high-pass notch that an all-pole model cannot follow) and the gain ĝ keeps
the geometric-mean convention of the cepstral envelope: g = mean log|X| − mean (log shape), so
that mean log|w| ≈ 0 for w = X/ŝ and the Laplacian source model's scale (fitted for cepstral
flattening) stays right.  g is predicted from the frame's decoded LSFs (linear, trained; no
inter-frame state) and the residual is coded in dB with a uniform step and an entropy table.

Field layout of both components: number of stages / coefficients used (a symbol, nearly always
"all", so ~0.05 bits; fewer only when a small frame cannot hold the full envelope), the gain
index, then the LSF indices.  After dequantization the LSFs are sorted and spaced by at least
50 Hz (``dsp.lpc.stabilize_lsf``, as AMR-WB's ISF reordering), so Â(z) is always minimum phase.

``lsf-vq``: multi-stage, split vector quantizer trained with k-means (``hybridcodec.training.lsf_training``)
with entropy-coded indices and an M-best search over the stages.  With its 150 Hz analysis,
5 stages (45.8 bits with the gain) reach 0.96 dB mean SD, 0.0 % of frames above 4 dB, on the
held-out split (3000 frames; 6 stages: 51.6 bits, 0.80 dB).  The smoother envelope costs
~16 bits/frame more flattened spectrum than the same design at 60 Hz (1.17 dB at 45.8 bits, a
study-only variant of ``hybridcodec study envelope``), and it lies 1.72 dB mean SD from the
60 Hz envelope: its SD is measured against its own, smoother target.

``lsf-softmax``: the trainable LSP codebook of the collaborative-quantization paper (sec. 2.2,
3.1): each LSF is predicted from the previous quantized one, normalized by a learned scale, and
assigned to one of 256 shared scalar centroids (hard assignment here; softmax assignment in
training, ``learned.lsf_codebook``), trained against the cost of the whole frame.
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Tuple

import numpy as np

from hybridcodec.dsp import lpc
from hybridcodec.dsp.entropy_models import CodingTable, make_tableset, quantize_cdf
from hybridcodec.dsp.envelope import MAGNITUDE_FLOOR, LOG_ENVELOPE_RANGE
from hybridcodec.dsp.range_coder import RangeCoder

from ..errors import ConfigError
from ..parameters import digest, find_parameter_file, load_parameters
from ..core.geometry import N_BINS, SAMPLE_RATE_HZ
from ..core.registry import register

LPC_ORDER = 16
PRE_EMPHASIS = 0.68
"""1 − 0.68 z⁻¹, AMR-WB / CQ paper sec. 3.1 (applied to the power spectrum)."""
WHITE_NOISE_FACTOR = 1.0 + 1e-7
"""r[0] scaling: a −70 dB floor (see the module notes)."""
MIN_LSF_GAP_RAD = 2.0 * np.pi * 50.0 / SAMPLE_RATE_HZ
"""Smallest spacing of decoded LSFs (and distance from 0 and π): 50 Hz, as AMR-WB's ISF_GAP."""
DB_PER_NEPER = 20.0 / np.log(10.0)
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


def analyze_lpc(spectrum: np.ndarray, lag_window_hz: float) -> np.ndarray:
    """Order-16 LSFs (radians, ascending) of the pre-emphasized MDCT power spectrum.

    Parameters
    ----------
    spectrum : ndarray, shape (320,)
        MDCT coefficients X of one frame.
    lag_window_hz : float
        f0 of the Gaussian lag window (wider: smoother envelope, easier to quantize); each
        component's comes from its parameter file.

    Returns
    -------
    lsf : ndarray, shape (16,)
    """
    power = (spectrum**2 + MAGNITUDE_FLOOR**2) * np.exp(2.0 * log_tilt(spectrum.shape[-1]))
    a, _ = lpc.lpc_from_power_spectrum(power, LPC_ORDER, lag_window_hz, WHITE_NOISE_FACTOR)
    for _ in range(8):
        try:
            return lpc.lpc_to_lsf(a)
        except ValueError:   # roots too close for the search: widen the peaks slightly
            a = lpc.bandwidth_expand(a, 0.995)
    return np.linspace(1, LPC_ORDER, LPC_ORDER) * np.pi / (LPC_ORDER + 1)


def log_shape(lsf: np.ndarray, correction: np.ndarray) -> np.ndarray:
    """ln of the envelope shape −ln|A| − ln|tilt| + c(f) at the MDCT bins (any gain), (..., 320).

    |A(e^{jω})|² = cos²(ω/2) Π_even 4(cos ω − cos l_i)² + sin²(ω/2) Π_odd 4(cos ω − cos l_i)²
    (A = (F1 + F2)/2 on the unit circle), which needs no expansion into coefficients and so
    stays accurate when LSFs crowd together; ``learned.lsf_codebook`` trains with the same form.
    """
    omega = _omega(N_BINS)
    difference = 2.0 * (np.cos(omega) - np.cos(np.asarray(lsf))[..., None])   # (..., 16, 320)
    power = (np.cos(omega / 2)**2 * np.prod(difference[..., 0::2, :], axis=-2)**2
             + np.sin(omega / 2)**2 * np.prod(difference[..., 1::2, :], axis=-2)**2)
    return -0.5 * np.log(np.maximum(power, 1e-300)) - log_tilt(N_BINS) + correction


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


def gain_features(lsf: np.ndarray) -> np.ndarray:
    """Regressors of the gain predictor: [1, l_1 … l_16, cos l_1 … cos l_16], shape (..., 33)."""
    lsf = np.asarray(lsf, dtype=np.float64)
    return np.concatenate([np.ones(lsf.shape[:-1] + (1,)), lsf, np.cos(lsf)], axis=-1)


class GainCoder:
    """The gain in dB, predicted from the decoded LSFs, residual uniformly quantized and coded.

    Intra-frame prediction only (no state across frames, so a lost frame costs nothing later):
    p = θ · [1, l̂, cos l̂] from the frame's quantized LSFs (least squares on the training split;
    the envelope shape tells much about the level: 11.9 dB gain std, 7.2 dB residual), then
    ĝ = p + step · index.  A parameter file without ``gain_predictor`` predicts 0.
    """

    def __init__(self, step_db: float, offset: int, counts: np.ndarray,
                 predictor: np.ndarray = None):
        self.step_db = float(step_db)
        self.predictor = (np.zeros(2 * LPC_ORDER + 1) if predictor is None
                          else np.asarray(predictor, dtype=np.float64))
        self.tables = make_tableset([empirical_table(counts, offset)])
        self._row = np.zeros(1, dtype=np.int64)

    def predict(self, lsf: np.ndarray) -> float:
        """Predicted gain (nepers) from the decoded LSFs."""
        return float(gain_features(lsf) @ self.predictor)

    def quantize(self, gain: float, prediction: float = 0.0) -> int:
        return int(np.round(DB_PER_NEPER * (gain - prediction) / self.step_db))

    def dequantize(self, index: int, prediction: float = 0.0) -> float:
        return prediction + index * self.step_db / DB_PER_NEPER

    def put(self, coder: RangeCoder, index: int) -> None:
        coder.encode_values(self.tables, self._row, np.array([index], dtype=np.int64))

    def get(self, coder: RangeCoder) -> int:
        return int(coder.decode_values(self.tables, self._row)[0])


# ----------------------------------------------------------------------------- components

@dataclass(frozen=True)
class LsfSide:
    """What the bitstream carries for an LSF envelope.

    ``count``: stages (lsf-vq) or coefficients (lsf-softmax) coded; ``dropped``: how many of
    them a small frame had to leave out (reported as the frame's envelope shift).
    """

    count: int
    dropped: int
    gain_index: int
    indices: Tuple[int, ...]

    @property
    def shift(self) -> int:
        return self.dropped


class LsfEnvelope:
    """Shared frame logic: analysis, gain, the stage-count field, fallback, synthesis, SD.

    Subclasses provide ``n_codes`` (stages or coefficients), ``_search(lsf)`` (all indices),
    ``_put_indices``/``_get_indices`` and ``_lsf(indices)`` (dequantized, unsorted).
    """

    n_codes: int

    def __init__(self, parameters: str):
        # a stem of a shipped file, or the path of a ``<stem>-<digest>.npz`` (the envelope
        # study's study-only variants)
        path = (Path(parameters) if str(parameters).endswith(".npz")
                else find_parameter_file(parameters))
        self.parameter_files = [path]
        self.arrays = load_parameters(path)
        if "lag_window_hz" not in self.arrays:
            raise ConfigError(f"parameter file {path.name} has no lag_window_hz (its analysis)")
        # this component's analysis: from its parameter file, whose digest the bitstream records
        self.lag_window_hz = float(self.arrays["lag_window_hz"])
        self.correction = self.arrays["correction"]
        self.gain = GainCoder(float(self.arrays["gain_step_db"]), int(self.arrays["gain_offset"]),
                              self.arrays["gain_counts"], self.arrays.get("gain_predictor"))

    def parameter_digests(self) -> tuple:
        return tuple(digest(path) for path in self.parameter_files)

    def quantized_lsf(self, indices) -> np.ndarray:
        """Decoded LSFs: dequantized, then sorted and spaced by 50 Hz (always stable)."""
        return lpc.stabilize_lsf(self._lsf(indices), MIN_LSF_GAP_RAD)

    def analyze(self, spectrum: np.ndarray) -> LsfSide:
        """Quantize the frame's LSFs and gain (the encoder continues from the quantized LSFs)."""
        indices = self._search(analyze_lpc(spectrum, self.lag_window_hz))
        return LsfSide(self.n_codes, 0, self._gain_index(spectrum, indices),
                       tuple(int(i) for i in indices))

    def _gain_index(self, spectrum: np.ndarray, indices) -> int:
        """The gain index for the shape and prediction the decoder will have from ``indices``."""
        lsf = self.quantized_lsf(indices)
        return self.gain.quantize(log_gain(spectrum, log_shape(lsf, self.correction)),
                                  self.gain.predict(lsf))

    def put(self, coder: RangeCoder, side: LsfSide) -> None:
        coder.encode_symbol(stage_count_cdf(self.n_codes), side.count)
        self.gain.put(coder, side.gain_index)
        self._put_indices(coder, side.indices[:side.count])

    def get(self, coder: RangeCoder, previous=None) -> LsfSide:
        """The side of one frame; frames are coded on their own (``previous`` is not read)."""
        count = coder.decode_symbol(stage_count_cdf(self.n_codes))
        gain_index = self.gain.get(coder)
        indices = self._get_indices(coder, count)
        return LsfSide(count, self.n_codes - count, gain_index, tuple(indices))

    def synthesize(self, side: LsfSide) -> np.ndarray:
        """ŝ = exp(ĝ + shape(Â)) at the 320 MDCT bins, the envelope both sides use."""
        return envelope_from_log(self._log_envelope(side))

    def _log_envelope(self, side: LsfSide) -> np.ndarray:
        lsf = self.quantized_lsf(side.indices[:side.count])
        return self.gain.dequantize(side.gain_index, self.gain.predict(lsf)) + \
            log_shape(lsf, self.correction)

    def encode(self, spectrum: np.ndarray, capacity_bytes: int, max_bits: int, previous=None):
        """A fresh coder holding the envelope in at most ``max_bits`` bits, and the side info
        (coded on its own: ``previous`` is not read).

        A frame too small for all codes drops the last ones (the gain is re-fitted to the
        coarser shape); with none left the shape is the flat or mean one.
        """
        side = self.analyze(spectrum)
        for count in range(self.n_codes, -1, -1):
            if count < self.n_codes:
                side = LsfSide(count, self.n_codes - count,
                               self._gain_index(spectrum, side.indices[:count]), side.indices)
            coder = RangeCoder.encoder(capacity_bytes)
            self.put(coder, side)
            if coder.tell() <= max_bits:
                break
        return coder, LsfSide(side.count, side.dropped, side.gain_index,
                              side.indices[:side.count])

    def unquantized_log_envelope(self, spectrum: np.ndarray) -> np.ndarray:
        """The envelope before quantization (unquantized LSFs and gain), in nepers."""
        shape = log_shape(analyze_lpc(spectrum, self.lag_window_hz), self.correction)
        return log_gain(spectrum, shape) + shape

    def spectral_distortion_db(self, spectrum: np.ndarray, side: LsfSide) -> float:
        """SD between the unquantized and the coded envelope of this frame (gain included), dB."""
        return float(sd_db(self.unquantized_log_envelope(spectrum), self._log_envelope(side)))


@register("envelope", "lsf-vq")
class LsfVqEnvelope(LsfEnvelope):
    """LSFs by a multi-stage split VQ trained with k-means (``hybridcodec train lsf-vq``).

    Stage s refines the dimensions ``stage_dims[s]`` of the residual left by stages < s; the
    encoder keeps the ``m_best`` best paths (Paliwal's inverse-spacing weighted distance) over
    the stages.  Each stage index is coded with the stage's trained index frequencies.

    Parameters
    ----------
    n_stages : int
        Stages used (the rate: more stages, more bits; at most the trained number).
    m_best : int
        Paths kept by the encoder's search (1 = sequential nearest neighbour).
    """

    def __init__(self, n_stages: int = 5, m_best: int = 16, parameters: str = "lsf-vq"):
        super().__init__(parameters)
        sizes = self.arrays["stage_sizes"].astype(np.int64)
        if not 0 <= n_stages <= sizes.size:
            raise ValueError(f"n_stages must be in 0 .. {sizes.size}, got {n_stages}")
        self.n_codes = int(n_stages)
        self.m_best = int(m_best)
        self.dims = [np.flatnonzero(mask) for mask in self.arrays["stage_dims"][:n_stages]]
        self.codebooks = [self.arrays["codebooks"][s, :sizes[s]][:, self.dims[s]]
                          for s in range(n_stages)]
        self.cdfs = [symbol_cdf(self.arrays["index_counts"][s, :sizes[s]])
                     for s in range(n_stages)]
        self.mean = self.arrays["lsf_mean"]

    def _lsf(self, indices) -> np.ndarray:
        lsf = self.mean.copy()
        for s, index in enumerate(indices):
            lsf[self.dims[s]] += self.codebooks[s][index]
        return lsf

    def _search(self, lsf: np.ndarray) -> List[int]:
        return m_best_search(lsf - self.mean, inverse_spacing_weights(lsf), self.dims,
                             self.codebooks, self.m_best)

    def _put_indices(self, coder: RangeCoder, indices) -> None:
        for s, index in enumerate(indices):
            coder.encode_symbol(self.cdfs[s], index)

    def _get_indices(self, coder: RangeCoder, count: int) -> List[int]:
        return [coder.decode_symbol(self.cdfs[s]) for s in range(count)]


def inverse_spacing_weights(lsf: np.ndarray) -> np.ndarray:
    """Paliwal & Atal's weights 1/(l_i − l_{i−1}) + 1/(l_{i+1} − l_i), l_0 = 0, l_17 = π, (..., 16).

    LSFs close together mark a sharp formant, where an error costs most spectral distortion.
    """
    edges = np.concatenate([np.zeros(lsf.shape[:-1] + (1,)), lsf,
                            np.full(lsf.shape[:-1] + (1,), np.pi)], axis=-1)
    gaps = np.maximum(np.diff(edges, axis=-1), 1e-4)
    return 1.0 / gaps[..., :-1] + 1.0 / gaps[..., 1:]


def m_best_search(residual: np.ndarray, weights: np.ndarray, dims: list, codebooks: list,
                  m_best: int) -> List[int]:
    """Multi-stage VQ search keeping the ``m_best`` lowest weighted-error paths at every stage.

    Parameters
    ----------
    residual : ndarray, shape (16,)
        LSFs minus the mean.
    weights : ndarray, shape (16,)
    dims : list of int arrays
        Dimensions refined by each stage.
    codebooks : list of ndarray, shape (K_s, len(dims[s]))

    Returns
    -------
    list of int, one index per stage (of the best final path)
    """
    paths = residual[None, :].copy()             # remaining error of each kept path
    chosen = np.zeros((1, 0), dtype=np.int64)
    for d, codebook in zip(dims, codebooks):
        errors = paths[:, None, d] - codebook[None]                       # (m, K, |d|)
        others = (paths**2) @ weights - (paths[:, d]**2) @ weights[d]
        cost = others[:, None] + (errors**2) @ weights[d]                         # (m, K)
        keep = np.argsort(cost, axis=None, kind="stable")[:m_best]
        path, index = np.unravel_index(keep, cost.shape)
        paths = paths[path].copy()
        paths[:, d] = errors[path, index]
        chosen = np.concatenate([chosen[path], index[:, None]], axis=1)
    return [int(i) for i in chosen[0]]


@register("envelope", "lsf-softmax")
class LsfSoftmaxEnvelope(LsfEnvelope):
    """The trainable LSP codebook of collaborative quantization (CQ paper sec. 2.2, 3.1).

    Coefficient by coefficient (closed loop, as the decoder sees it):
    prediction p_i = μ_i + ρ_i (l̂_{i−1} − μ_{i−1}) (p_0 = μ_0), normalized residual
    r_i = (l_i − p_i) / σ_i, hard assignment j_i = argmin_j |r_i − b_j| over the 256 shared
    centroids b, reconstruction l̂_i = p_i + σ_i b_{j_i}.  Index j_i is coded with the i-th
    coefficient's trained frequencies.  μ, ρ, σ and b were trained by softmax quantization
    against envelope bits + the bits of the flattened spectrum (``hybridcodec train
    lsf-codebook``); ``rate_point`` picks one of the codebooks trained for different weights λ
    of the envelope bits (λ = 1 is the whole-frame optimum).
    """

    n_codes = LPC_ORDER

    def __init__(self, rate_point: int = -1, parameters: str = "lsf-softmax"):
        super().__init__(parameters)
        lambdas = self.arrays["lambdas"]
        if rate_point < 0:
            rate_point = int(np.argmin(np.abs(lambdas - 1.0)))
        if not 0 <= rate_point < lambdas.size:
            raise ValueError(f"rate_point must be in 0 .. {lambdas.size - 1}, got {rate_point}")
        self.rate_point = rate_point
        self.mean = self.arrays["lsf_mean"]
        self.rho = self.arrays["rho"][rate_point]
        self.scale = self.arrays["scale"][rate_point]
        self.centroids = self.arrays["centroids"][rate_point]
        self.cdfs = [symbol_cdf(counts) for counts in self.arrays["index_counts"][rate_point]]
        self._zero_index = int(np.argmin(np.abs(self.centroids)))

    def _predict(self, i: int, previous: float) -> float:
        if i == 0:
            return float(self.mean[0])
        return float(self.mean[i] + self.rho[i] * (previous - self.mean[i - 1]))

    def _lsf(self, indices) -> np.ndarray:
        lsf = np.empty(LPC_ORDER)
        previous = 0.0
        for i in range(LPC_ORDER):
            index = indices[i] if i < len(indices) else self._zero_index
            previous = self._predict(i, previous) + self.scale[i] * self.centroids[index]
            lsf[i] = previous
        return lsf

    def _search(self, lsf: np.ndarray) -> List[int]:
        indices = []
        previous = 0.0
        for i in range(LPC_ORDER):
            prediction = self._predict(i, previous)
            index = int(np.argmin(np.abs((lsf[i] - prediction) / self.scale[i] - self.centroids)))
            indices.append(index)
            previous = prediction + self.scale[i] * self.centroids[index]
        return indices

    def _put_indices(self, coder: RangeCoder, indices) -> None:
        for i, index in enumerate(indices):
            coder.encode_symbol(self.cdfs[i], index)

    def _get_indices(self, coder: RangeCoder, count: int) -> List[int]:
        return [coder.decode_symbol(self.cdfs[i]) for i in range(count)]
