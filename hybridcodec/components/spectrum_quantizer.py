"""Spectrum quantizers (the ``spectrum_quantizer`` slot): code the flattened spectrum w."""
from dataclasses import dataclass, field
from typing import Tuple

import numpy as np

from hybridcodec.dsp import harmonic_model, spectrum_coder
from hybridcodec.dsp.quantization import dither_offsets
from hybridcodec.dsp.range_coder import RangeCoder

from ..core.config import MIN_BITRATE_BPS
from ..core.registry import register


@dataclass(frozen=True)
class SpectrumReport:
    """What the rate loop chose for a frame; ``steps`` are the steps δ(f) of the bins, inf where
    a bin is not coded (F,)."""

    target_index: int
    noise_level_index: int
    coded_bins: int
    nonzero_bins: int
    steps: np.ndarray = field(compare=False, repr=False)


@register("spectrum_quantizer", "uniform")
class UniformQuantizer:
    """Uniform quantization with rate loop (dsp.spectrum_coder), dead zone, dither, noise filling.

    Parameters
    ----------
    source_model : SourceModel
        Gives the integer tables and H1(f).
    rounding_offset : float
        θ of dsp.quantization.quantize (1/2 = rounding, less = dead zone).
    reconstruction_offset : float
        ρ: nonzero values are rebuilt at (|q| − ρ)·δ.
    dither : bool
        Subtractive dither seeded by the frame index.
    noise_filling : bool
        Fill zeroed bins from ``noise_fill_first_bin`` on with the coded noise level.
    noise_fill_first_bin : int
        First bin that may be noise-filled (bin f covers 25 f … 25 (f + 1) Hz).
    noise_fill_gain : float
        Coded noise level relative to the rms of the zeroed bins.
    harmonic_model : bool
        Shift the coding tables of the bins by their distance to the harmonics of the coded
        pitch lag (dsp.harmonic_model; same steps and indices, fewer bits on voiced frames).
    rd_lambda : float
        λ of the encoder's rate-distortion choice of the indices (dsp.spectrum_coder, RD1);
        0 quantizes with the dead zone θ alone.  The decoder does not read it.
    """

    min_bitrate_bps = MIN_BITRATE_BPS
    """The rate loop works at any bitrate the container allows."""
    side_bits = spectrum_coder.TARGET_BITS + spectrum_coder.NOISE_LEVEL_BITS
    """Raw bits of the target index and the noise level, before the spectrum
    (``info --frames``' "target+noise_level")."""

    def __init__(self, source_model, rounding_offset: float = 0.5,
                 reconstruction_offset: float = 0.0, dither: bool = False,
                 noise_filling: bool = True, noise_fill_first_bin: int = 8,
                 noise_fill_gain: float = 1.0, harmonic_model: bool = False,
                 rd_lambda: float = 0.0):
        self.source_model = source_model
        self.tables = source_model.spectrum_tables
        self.rounding_offset = rounding_offset
        self.reconstruction_offset = reconstruction_offset
        self.dither = dither
        self.noise_fill_first_bin = noise_fill_first_bin if noise_filling else 1 << 30
        self.noise_fill_gain = noise_fill_gain
        self.hr = source_model.relative_bits()
        self.harmonic_model = harmonic_model
        self.rd_lambda = rd_lambda

    def _dither(self, frame_index: int, n_bins: int) -> np.ndarray:
        if self.dither:
            return dither_offsets(frame_index, n_bins)
        return np.zeros(n_bins)

    def table_shift(self, n_bins: int, harmonic_lag: float) -> np.ndarray:
        """k(f) of dsp.harmonic_model (zeros when the model is off or there is no lag)."""
        if self.harmonic_model:
            return harmonic_model.table_shifts(n_bins, harmonic_lag)
        return np.zeros(n_bins, dtype=np.int64)

    def _model_arrays(self, n_bins: int, harmonic_lag: float):
        model = self.source_model
        return (model.spectrum_log2_scale, model.spectrum_h1, model.spectrum_table_base,
                self.table_shift(n_bins, harmonic_lag), self.tables.cdf, self.tables.length,
                self.tables.offset)

    def encoder(self):
        """The encoder side of a stream: the component itself (each frame is coded alone)."""
        return self

    def encode(self, coder: RangeCoder, w: np.ndarray, log2_weights: np.ndarray,
               budget_bits: int, frame_index: int, harmonic_lag: float = 0.0) -> SpectrumReport:
        """Rate loop: write the spectrum fields so that the frame fits ``budget_bits``
        (``harmonic_lag``: the coded pitch lag in samples, 0 when none)."""
        index, nf_index, q, step = spectrum_coder.encode_spectrum(
            coder.state, coder.buf, w, log2_weights + self.hr, budget_bits,
            *self._model_arrays(w.shape[0], harmonic_lag), self.tables.bits, self.rounding_offset,
            self._dither(frame_index, w.shape[0]), self.noise_fill_first_bin,
            self.noise_fill_gain, self.rd_lambda)
        return SpectrumReport(int(index), int(nf_index), int(np.isfinite(step).sum()),
                              int(np.count_nonzero(q)), step)

    def quantization(self, w: np.ndarray, log2_weights: np.ndarray, budget_bits: int,
                     frame_index: int, target_index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Tables without the harmonic shift and indices q (F,) that :meth:`encode` coded at
        ``target_index`` (table -1 where a bin is not coded)."""
        model = self.source_model
        table, _, q = spectrum_coder.quantize_at(
            target_index, w, log2_weights + self.hr, budget_bits, model.spectrum_log2_scale,
            model.spectrum_h1, model.spectrum_table_base, np.zeros(w.shape[0], dtype=np.int64),
            self.rounding_offset, self._dither(frame_index, w.shape[0]), self.tables.bits,
            self.tables.length, self.tables.offset, self.rd_lambda)
        return table, q

    def decode(self, coder: RangeCoder, log2_weights: np.ndarray, budget_bits: int,
               frame_index: int, harmonic_lag: float = 0.0) -> Tuple[np.ndarray, SpectrumReport]:
        """Read the spectrum fields; return the noise-filled ŵ and what was read."""
        w_hat, q, index, nf_index, step = spectrum_coder.decode_spectrum(
            coder.state, coder.buf, log2_weights + self.hr, budget_bits,
            *self._model_arrays(log2_weights.shape[0], harmonic_lag),
            self.reconstruction_offset, self.rounding_offset,
            self._dither(frame_index, log2_weights.shape[0]), self.noise_fill_first_bin,
            frame_index)
        return w_hat, SpectrumReport(int(index), int(nf_index), int(np.isfinite(step).sum()),
                                     int(np.count_nonzero(q)), step)
