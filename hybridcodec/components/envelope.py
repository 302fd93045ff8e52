"""Envelope components (the ``envelope`` slot): code the spectral envelope ŝ of each frame.

``cepstral``: y = D log|X| (or D L with L the log spectrum (E1) of ``dsp.envelope``, which
follows the harmonics' power), ŷ = Δq round(y/Δq) coded with the source model's tables (TCX
eq. 1-2); ŝ = exp(Dᵀŷ).  Field layout: a shift s (Δq·2^s, nearly always 0, so ~0.04 bits)
then the K indices.  When the envelope would leave fewer than ``spectrum_reserve_bits`` in a
small frame, the encoder tries the next coarser shift; at the coarsest it replaces the highest
coefficients by the model's most likely index until it fits.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp.entropy_models import quantize_cdf
from hybridcodec.dsp.range_coder import RangeCoder

from ..core.geometry import N_BINS
from ..core.registry import register
from .source_model import ENVELOPE_SHIFTS

SHIFT_PROBABILITIES = np.array([0.97, 0.01, 0.01, 0.01])
"""Prior of the envelope-step shift: s > 0 only rescues frames that are too small."""


@dataclass(frozen=True)
class CepstralSide:
    """What the bitstream carries for a cepstral envelope; on the encoder side also the
    unquantized cepstrum y it came from (None when read from a stream; not compared)."""

    shift: int
    indices: np.ndarray
    y: Optional[np.ndarray] = field(default=None, compare=False, repr=False)


@register("envelope", "cepstral")
class CepstralEnvelope:
    """Uniformly quantized cepstral envelope (TCX paper sec. 3).

    ``envelope_step`` Δq defaults to the step the source model was fitted with (the 1 dB rule
    for the Laplacians, the trained Δq for learned models), times ``envelope_step_scale``.
    The encoder fits the cepstrum to log|X| (eq. 1) or, with ``fit_mix`` μ < 1, to the log
    spectrum (E1) of ``dsp.envelope.fit_log_spectrum`` (h = ``fit_smoothing_bins``); the
    decoder does not depend on the fit.
    """

    def __init__(self, source_model, envelope_step: Optional[float] = None,
                 envelope_step_scale: float = 1.0, n_cepstra: int = cepstral.N_CEPSTRA,
                 n_bins: int = N_BINS, fit_smoothing_bins: int = 0, fit_mix: float = 1.0):
        if envelope_step is None:
            envelope_step = source_model.envelope_step
        self.envelope_step = envelope_step * envelope_step_scale
        self.n_cepstra = n_cepstra
        self.fit = (fit_smoothing_bins, fit_mix)
        self.n_bins = n_bins
        self.tables = source_model.envelope_tables(self.envelope_step)
        self.shift_cdf = quantize_cdf(SHIFT_PROBABILITIES)
        self._modes = self._most_likely_indices()
        self._table_rows = [shift * n_cepstra + np.arange(n_cepstra, dtype=np.int64)
                            for shift in range(ENVELOPE_SHIFTS)]

    def _most_likely_indices(self) -> np.ndarray:
        freqs = np.diff(self.tables.cdf, axis=1)
        modes = np.empty(self.tables.n_tables, dtype=np.int64)
        for t in range(self.tables.n_tables):
            modes[t] = self.tables.offset[t] + np.argmax(freqs[t, :self.tables.length[t] - 1])
        return modes

    def _rows(self, shift: int) -> np.ndarray:
        """Table of each coefficient at envelope-step shift ``shift``."""
        return self._table_rows[shift]

    def analyze(self, spectrum: np.ndarray, shift: int = 0) -> CepstralSide:
        """Quantize the cepstrum of ``spectrum`` with step Δq·2^shift (eq. 1-2)."""
        return self._quantized(self.cepstrum(spectrum), shift)

    def cepstrum(self, spectrum: np.ndarray) -> np.ndarray:
        """y of eq. 1, fitted to log|X| or to (E1)."""
        return cepstral.cepstrum(spectrum, self.n_cepstra, *self.fit)

    def _quantized(self, y: np.ndarray, shift: int) -> CepstralSide:
        return CepstralSide(shift, cepstral.quantize_cepstrum(y, self.envelope_step * 2.0**shift), y)

    def put(self, coder: RangeCoder, side: CepstralSide) -> None:
        coder.encode_symbol(self.shift_cdf, side.shift)
        coder.encode_values(self.tables, self._rows(side.shift), side.indices)

    def get(self, coder: RangeCoder) -> CepstralSide:
        shift = coder.decode_symbol(self.shift_cdf)
        return CepstralSide(shift, coder.decode_values(self.tables, self._rows(shift)))

    def dequantize(self, side: CepstralSide) -> np.ndarray:
        """ŷ = Δq·2^shift · index (eq. 2)."""
        return cepstral.dequantize_cepstrum(side.indices, self.envelope_step * 2.0**side.shift)

    def synthesize(self, side: CepstralSide) -> np.ndarray:
        """ŝ = exp(Dᵀŷ), the envelope both sides use."""
        return cepstral.envelope_from_cepstrum(self.dequantize(side), self.n_bins)

    def encode(self, spectrum: np.ndarray, capacity_bytes: int, max_bits: int):
        """A fresh coder holding the envelope in at most ``max_bits`` bits, and the side info."""
        y = self.cepstrum(spectrum)
        for shift in range(ENVELOPE_SHIFTS):
            side = self._quantized(y, shift)
            coder = RangeCoder.encoder(capacity_bytes)
            self.put(coder, side)
            if coder.tell() <= max_bits:
                return coder, side
        return self._encode_truncated(side, capacity_bytes, max_bits)

    def _encode_truncated(self, side: CepstralSide, capacity_bytes: int, max_bits: int):
        """Coarsest shift, highest coefficients replaced by their most likely index until it fits."""
        indices = side.indices.copy()
        modes = self._modes[self._rows(side.shift)]
        for k in range(self.n_cepstra - 1, -1, -1):
            indices[k] = modes[k]
            side = CepstralSide(side.shift, indices.copy(), side.y)
            coder = RangeCoder.encoder(capacity_bytes)
            self.put(coder, side)
            if coder.tell() <= max_bits:
                break
        return coder, side

    def spectral_distortion_db(self, spectrum: np.ndarray, side: CepstralSide) -> float:
        """SD between the unquantized and the coded envelope of this frame, in dB."""
        y = side.y if side.y is not None else self.cepstrum(spectrum)
        return float(cepstral.cepstral_distortion_db(y, self.dequantize(side), self.n_bins))


@dataclass(frozen=True)
class NoSide:
    """The empty side information of :class:`NoEnvelope` (``shift`` for the frame report)."""

    shift: int = 0


@register("envelope", "none")
class NoEnvelope:
    """No envelope: 0 bits, ŝ = 1, so flatten and unflatten are identities.  For quantizers that
    code the frame themselves (the end-to-end autoencoder ``e2e-ae``)."""

    def __init__(self, n_bins: int = N_BINS):
        self.n_bins = n_bins

    def put(self, coder: RangeCoder, side: NoSide) -> None:
        """Nothing is written."""

    def get(self, coder: RangeCoder) -> NoSide:
        return NoSide()

    def synthesize(self, side: NoSide) -> np.ndarray:
        return np.ones(self.n_bins)

    def encode(self, spectrum: np.ndarray, capacity_bytes: int, max_bits: int):
        """A fresh coder with nothing in it, and the empty side."""
        return RangeCoder.encoder(capacity_bytes), NoSide()

    def spectral_distortion_db(self, spectrum: np.ndarray, side: NoSide) -> float:
        return float("nan")
