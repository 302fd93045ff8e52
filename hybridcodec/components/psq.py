"""Projected scalar quantization (``spectrum_quantizer`` slot ``psq``): the flattened spectrum
through a learned projection, one uniform scalar quantizer and a learned back-projection
(``dsp.projected_quantizer``; PSQ paper sec. III, eq. 6), NumPy inference only.

The quantizer works on the perceptually weighted spectrum

    v(f) = w(f) W(f),   W(f) = 2^(log2 W(f) − mean_f log2 W(f))

with the weights W(f) the uniform rate loop uses, so that a quantization noise white in v is
shaped like the uniform quantizer's (its step δ(f) ∝ 1 / W(f), TCX eq. 10–11); the decoder
returns ŵ = v̂ / W.  The weights change from frame to frame, so latent d of band b is modelled
by a Laplacian of scale σ_d W̄_b, σ_d learned in the flattened domain and W̄_b the geometric
mean of W(f) over the band (both sides have it); its table is the grid column of
Δ / (σ_d W̄_b).  Parameters (E_b, D_b, the Laplacian scales s_d):
``hybridcodec/data/psq-<realization>-<digest>.npz``, written by ``hybridcodec train psq``
(``hybridcodec.training.psq_training``, the torch model in ``learned.psq``).
"""
from functools import cached_property
from typing import Tuple

import numpy as np

from hybridcodec.dsp import projected_quantizer as pq
from hybridcodec.dsp.entropy_models import Laplace
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.dsp.spectrum_coder import STEPS_PER_OCTAVE

from ..core.registry import register
from ..parameters import digest, find_parameter_file, load_parameters
from .source_model import SourceModel
from .spectrum_quantizer import SpectrumReport, UniformQuantizer

REALIZATIONS = ("st", "noise")
"""PSQ sec. III-A: straight-through gradient, pseudo-quantization noise."""


PARAMETER_STEM = "psq-{}"
"""Stem of a realization's parameter file (``str.format`` with the realization)."""


def parameter_stem(realization: str) -> str:
    return PARAMETER_STEM.format(realization)


def frame_weights(log2_weights: np.ndarray, n_bands: int):
    """W(f) normalized to a geometric mean of 1 (module docstring), and log2 W̄_b, the mean of
    log2 W(f) over each band (n_bands,)."""
    normalized = log2_weights - log2_weights.mean()
    return 2.0 ** normalized, normalized.reshape(n_bands, -1).mean(axis=1)


class UnitLaplacian(SourceModel):
    """One zero-mean Laplacian of scale 1: its spectrum tables, one per column of the
    1/8-octave step grid, code every latent dimension (``dsp.projected_quantizer``)."""

    def __init__(self):
        self._envelope = []
        self._spectrum = [Laplace(0.0, 1.0)]
        self._bin_model = np.zeros(1, dtype=np.int64)


@register("spectrum_quantizer", "psq")
class ProjectedScalarQuantizer:
    """PSQ with a rate loop over the step Δ (module docstring).

    Parameters
    ----------
    realization : str
        Which trained parameter file: "st" (straight-through) or "noise" (pseudo-quantization
        noise), PSQ sec. III-A.
    rounding_offset : float
        θ of the scalar quantizer: 1/2 rounds (PSQ eq. 6), less gives a dead zone.
    noise_fill_gain : float
        Coded noise level relative to the rms of the zeroed latents in the flattened domain
        (``dsp.projected_quantizer``; 0: no noise filling).
    noise_fill_first : int
        First latent that may be noise-filled.
    """

    min_bitrate_bps = UniformQuantizer.min_bitrate_bps
    side_bits = UniformQuantizer.side_bits
    """The step index (TARGET_BITS) and the noise level, as the uniform quantizer's fields."""

    def __init__(self, realization: str = "st", rounding_offset: float = 0.5,
                 noise_fill_gain: float = 0.7, noise_fill_first: int = 8):
        if realization not in REALIZATIONS:
            raise ValueError(f"realization must be one of {REALIZATIONS}, got {realization!r}")
        self.realization = realization
        self.rounding_offset = rounding_offset
        self.noise_fill_gain = noise_fill_gain
        self.noise_fill_first = noise_fill_first

    @cached_property
    def path(self):
        return find_parameter_file(parameter_stem(self.realization))

    @cached_property
    def parameters(self) -> dict:
        arrays = load_parameters(self.path)
        return {"encoder": np.ascontiguousarray(arrays["encoder"], dtype=np.float64),
                "decoder": np.ascontiguousarray(arrays["decoder"], dtype=np.float64),
                "scale_eighths": arrays["scale_eighths"].astype(np.int64)}

    @cached_property
    def tables(self):
        return UnitLaplacian().spectrum_tables

    def parameter_digests(self) -> tuple:
        return (digest(self.path),)

    def frame_model(self, log2_weights: np.ndarray):
        """W(f) (F,); per latent the scale index of this frame, s_d + round(8 log2 W̄_b) (its
        Laplacian σ_d W̄_b on the step grid), and W̄_b (D,)."""
        n_bands, _, rank = self.parameters["decoder"].shape
        w_weights, band_log2 = frame_weights(log2_weights, n_bands)
        band_log2 = np.repeat(band_log2, rank)
        scale = self.parameters["scale_eighths"] + np.round(STEPS_PER_OCTAVE * band_log2)
        return w_weights, scale.astype(np.int64), 2.0 ** band_log2

    def _report(self, index: int, nf_index: int, q: np.ndarray, w_weights: np.ndarray,
                coded: np.ndarray) -> SpectrumReport:
        """``steps``: Δ / W(f) in the bands with a coded latent, inf elsewhere."""
        n_bands, width, _ = self.parameters["decoder"].shape
        band_coded = np.repeat(coded.reshape(n_bands, -1).any(axis=1), width)
        steps = np.where(band_coded, pq.step_size(index) / w_weights, np.inf)
        return SpectrumReport(int(index), int(nf_index), int(coded.sum()),
                              int(np.count_nonzero(q)), steps)

    def encoder(self):
        """The encoder side of a stream: the component itself (each frame is coded alone)."""
        return self

    def encode(self, coder: RangeCoder, w: np.ndarray, log2_weights: np.ndarray,
               budget_bits: int, frame_index: int, harmonic_lag: float = 0.0) -> SpectrumReport:
        """Rate loop: write the step index, noise level and latent indices within ``budget_bits``
        (``harmonic_lag`` is not used)."""
        t = self.tables
        w_weights, scale, band_weight = self.frame_model(log2_weights)
        z = pq.band_transform(w * w_weights, self.parameters["encoder"])
        index, nf_index, q = pq.encode_latents(
            coder.state, coder.buf, z, scale, budget_bits, t.cdf, t.length, t.offset, t.bits,
            self.rounding_offset, band_weight, self.noise_fill_first, self.noise_fill_gain)
        coded = pq.latent_tables(index, scale) >= 0
        return self._report(index, nf_index, q, w_weights, coded)

    def decode(self, coder: RangeCoder, log2_weights: np.ndarray, budget_bits: int,
               frame_index: int, harmonic_lag: float = 0.0) -> Tuple[np.ndarray, SpectrumReport]:
        """Read the fields; return ŵ = D ẑ / W and what was read."""
        t = self.tables
        w_weights, scale, band_weight = self.frame_model(log2_weights)
        z_hat, q, index, nf_index = pq.decode_latents(
            coder.state, coder.buf, scale, t.cdf, t.length, t.offset, self.rounding_offset,
            band_weight, self.noise_fill_first, frame_index)
        coded = pq.latent_tables(index, scale) >= 0
        return pq.band_transform(z_hat, self.parameters["decoder"]) / w_weights, self._report(
            index, nf_index, q, w_weights, coded)
