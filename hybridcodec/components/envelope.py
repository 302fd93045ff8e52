"""Envelope components (the ``envelope`` slot): code the spectral envelope ŝ of each frame.

``cepstral``: y = D log|X| (or D L with L the log spectrum (E1) of ``dsp.envelope``, which
follows the harmonics' power), ŷ = Δq round(y/Δq) coded with the source model's tables (TCX
eq. 1-2); ŝ = exp(Dᵀŷ).  Field layout: a shift s (Δq·2^s, nearly always 0, so ~0.04 bits)
then the K indices.  When the envelope would leave fewer than ``spectrum_reserve_bits`` in a
small frame, the encoder tries the next coarser shift; at the coarsest it replaces the highest
coefficients by the model's most likely index until it fits.

With ``prediction`` (a parameter file of ``hybridcodec train envelope-prediction``) a frame is
*predicted* or *intra*, as CELT codes its coarse energies: a flag (P(intra) = 1/8, CELT's)
goes with the shift into one symbol; a predicted frame's indices code y − ỹ, ỹ the inter-frame
prediction (E2) of ``dsp.envelope`` from frame t − 1's ŷ, with one Laplace table per coefficient
fitted to that residual; an intra frame is coded as without prediction.  The encoder takes the
one with the shorter ideal code length, and intra whenever the frame coders give it no frame
t − 1 (the first frame, every ``core.frame.INTRA_PERIOD`` th frame, every frame of a packet
stream).  A decoder that lacks frame t − 1 (lost, damaged) cannot decode a predicted frame t:
it conceals frames until the next intra frame (``core.frame.EnvelopeHistory``).
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp.entropy_models import Laplace, make_tableset, quantize_cdf
from hybridcodec.dsp.range_coder import RangeCoder, TableSet, values_bits

from ..core.geometry import N_BINS
from ..core.registry import register
from ..parameters import digest, find_parameter_file, load_parameters
from .source_model import ENVELOPE_SHIFTS, envelope_table_list

SHIFT_PROBABILITIES = np.array([0.97, 0.01, 0.01, 0.01])
"""Prior of the envelope-step shift: s > 0 only rescues frames that are too small."""
INTRA_PROBABILITIES = np.array([7 / 8, 1 / 8])
"""Prior of the flag (predicted, intra) of a predictive envelope: CELT's P(intra) = 1/8.  The
flag and the shift s are coded as one symbol 4 · intra + s (independent priors)."""
INTRA_BITS = -np.log2(INTRA_PROBABILITIES)


@dataclass(frozen=True)
class CepstralSide:
    """What the bitstream carries for a cepstral envelope, with the prediction ỹ (E2) it is
    coded around (0 for an intra frame); on the encoder side also the unquantized cepstrum y it
    came from (None when read from a stream; not compared)."""

    shift: int
    indices: np.ndarray
    y: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    prediction: object = field(default=0.0, compare=False, repr=False)

    @property
    def predicted(self) -> bool:
        return not np.isscalar(self.prediction)


@dataclass(frozen=True)
class _Coding:
    """How one kind of frame is coded: its tables, and their most likely index per table."""

    tables: TableSet
    modes: np.ndarray

    @classmethod
    def of(cls, tables: TableSet) -> "_Coding":
        freqs = np.diff(tables.cdf, axis=1)
        modes = np.array([tables.offset[t] + np.argmax(freqs[t, :tables.length[t] - 1])
                          for t in range(tables.n_tables)], dtype=np.int64)
        return cls(tables, modes)


@register("envelope", "cepstral")
class CepstralEnvelope:
    """Uniformly quantized cepstral envelope (TCX paper sec. 3).

    ``envelope_step`` Δq defaults to the step the source model was fitted with (the 1 dB rule
    for the Laplacians, the trained Δq for learned models), times ``envelope_step_scale``.
    The encoder fits the cepstrum to log|X| (eq. 1) or, with ``fit_mix`` μ < 1, to the log
    spectrum (E1) of ``dsp.envelope.fit_log_spectrum`` (h = ``fit_smoothing_bins``); the
    decoder does not depend on the fit.  ``prediction`` names the parameter file of the
    inter-frame prediction (E2), or None for frames coded on their own.
    """

    def __init__(self, source_model, envelope_step: Optional[float] = None,
                 envelope_step_scale: float = 1.0, n_cepstra: int = cepstral.N_CEPSTRA,
                 n_bins: int = N_BINS, fit_smoothing_bins: int = 0, fit_mix: float = 1.0,
                 prediction: Optional[str] = None):
        if envelope_step is None:
            envelope_step = source_model.envelope_step
        self.envelope_step = envelope_step * envelope_step_scale
        self.n_cepstra = n_cepstra
        self.fit = (fit_smoothing_bins, fit_mix)
        self.n_bins = n_bins
        self.intra_coding = _Coding.of(source_model.envelope_tables(self.envelope_step))
        self.parameter_files, self.predictor, self.predicted_coding = [], None, None
        if prediction is not None:
            self._load_predictor(prediction)
        self.shift_cdf = quantize_cdf(SHIFT_PROBABILITIES)
        self.flag_shift_cdf = quantize_cdf(
            np.outer(INTRA_PROBABILITIES, SHIFT_PROBABILITIES).ravel())
        self._table_rows = [shift * n_cepstra + np.arange(n_cepstra, dtype=np.int64)
                            for shift in range(ENVELOPE_SHIFTS)]

    @property
    def tables(self) -> TableSet:
        """The tables of frames coded on their own (the source model's)."""
        return self.intra_coding.tables

    def _load_predictor(self, stem: str) -> None:
        """μ and a of (E2), and the coding of predicted frames: the residual y − ỹ with one
        Laplace per coefficient."""
        path = find_parameter_file(stem)
        arrays = load_parameters(path)
        self.parameter_files = [path]
        self.predictor = (arrays["mean"][:self.n_cepstra], arrays["gain"][:self.n_cepstra])
        models = [Laplace(0.0, float(b)) for b in arrays["residual_scale"][:self.n_cepstra]]
        self.predicted_coding = _Coding.of(make_tableset(envelope_table_list(models,
                                                                             self.envelope_step)))

    def parameter_digests(self) -> tuple:
        return tuple(digest(path) for path in self.parameter_files)

    def _prediction(self, previous: CepstralSide) -> np.ndarray:
        """ỹ of (E2) from frame t − 1's side."""
        return cepstral.predicted_cepstrum(self.dequantize(previous), *self.predictor)

    def _coding(self, predicted: bool) -> _Coding:
        return self.predicted_coding if predicted else self.intra_coding

    def _rows(self, shift: int) -> np.ndarray:
        """Table of each coefficient at envelope-step shift ``shift``."""
        return self._table_rows[shift]

    def analyze(self, spectrum: np.ndarray, shift: int = 0) -> CepstralSide:
        """Quantize the cepstrum of ``spectrum`` with step Δq·2^shift (eq. 1-2), intra."""
        return self._quantized(self.cepstrum(spectrum), shift, 0.0)

    def cepstrum(self, spectrum: np.ndarray) -> np.ndarray:
        """y of eq. 1, fitted to log|X| or to (E1)."""
        return cepstral.cepstrum(spectrum, self.n_cepstra, *self.fit)

    def _quantized(self, y: np.ndarray, shift: int, prediction) -> CepstralSide:
        step = self.envelope_step * 2.0**shift
        return CepstralSide(shift, cepstral.quantize_cepstrum(y, step, prediction), y, prediction)

    def put(self, coder: RangeCoder, side: CepstralSide) -> None:
        if self.predictor is None:
            coder.encode_symbol(self.shift_cdf, side.shift)
        else:
            coder.encode_symbol(self.flag_shift_cdf,
                                ENVELOPE_SHIFTS * int(not side.predicted) + side.shift)
        coder.encode_values(self._coding(side.predicted).tables, self._rows(side.shift),
                            side.indices)

    def get(self, coder: RangeCoder, previous: Optional[CepstralSide] = None):
        """The side of frame t, given frame t − 1's (None: this decoder does not have it).
        None for a predicted frame without frame t − 1: it cannot be decoded."""
        if self.predictor is None:
            predicted, shift = False, coder.decode_symbol(self.shift_cdf)
        else:
            intra, shift = divmod(coder.decode_symbol(self.flag_shift_cdf), ENVELOPE_SHIFTS)
            predicted = not intra
        if predicted and previous is None:
            return None
        coding = self._coding(predicted)
        prediction = self._prediction(previous) if predicted else 0.0
        return CepstralSide(shift, coder.decode_values(coding.tables, self._rows(shift)),
                            prediction=prediction)

    def dequantize(self, side: CepstralSide) -> np.ndarray:
        """ŷ = ỹ + Δq·2^shift · index (eq. 2, ỹ of (E2) or 0)."""
        return cepstral.dequantize_cepstrum(side.indices, self.envelope_step * 2.0**side.shift,
                                            side.prediction)

    def synthesize(self, side: CepstralSide) -> np.ndarray:
        """ŝ = exp(Dᵀŷ), the envelope both sides use."""
        return cepstral.envelope_from_cepstrum(self.dequantize(side), self.n_bins)

    def encode(self, spectrum: np.ndarray, capacity_bytes: int, max_bits: int,
               previous: Optional[CepstralSide] = None):
        """A fresh coder holding the envelope in at most ``max_bits`` bits, and the side info.
        With prediction and frame t − 1's side ``previous``, the predicted or the intra coding,
        whichever has the shorter ideal code length (CELT's two-pass choice, estimated)."""
        y = self.cepstrum(spectrum)
        prediction = 0.0
        if self.predictor is not None and previous is not None:
            predicted = self._prediction(previous)
            if self._ideal_bits(y, predicted, self.predicted_coding, INTRA_BITS[0]) <= \
                    self._ideal_bits(y, 0.0, self.intra_coding, INTRA_BITS[1]):
                prediction = predicted
        return self._encode_fitting(y, prediction, capacity_bytes, max_bits)

    def _ideal_bits(self, y: np.ndarray, prediction, coding: _Coding, flag_bits: float) -> float:
        """Ideal code length of y's indices around ``prediction`` at shift 0 with ``coding``'s
        tables, plus the flag's ``flag_bits``."""
        indices = cepstral.quantize_cepstrum(y, self.envelope_step, prediction)
        tables = coding.tables
        return flag_bits + values_bits(tables.bits, tables.length, tables.offset, self._rows(0),
                                       indices)

    def _encode_fitting(self, y: np.ndarray, prediction, capacity_bytes: int, max_bits: int):
        """The finest shift whose coding around ``prediction`` fits ``max_bits``."""
        for shift in range(ENVELOPE_SHIFTS):
            side = self._quantized(y, shift, prediction)
            coder = RangeCoder.encoder(capacity_bytes)
            self.put(coder, side)
            if coder.tell() <= max_bits:
                return coder, side
        return self._encode_truncated(side, capacity_bytes, max_bits)

    def _encode_truncated(self, side: CepstralSide, capacity_bytes: int, max_bits: int):
        """Coarsest shift, highest coefficients replaced by their most likely index until it fits."""
        indices = side.indices.copy()
        modes = self._coding(side.predicted).modes[self._rows(side.shift)]
        for k in range(self.n_cepstra - 1, -1, -1):
            indices[k] = modes[k]
            side = CepstralSide(side.shift, indices.copy(), side.y, side.prediction)
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

    def get(self, coder: RangeCoder, previous=None) -> NoSide:
        return NoSide()

    def synthesize(self, side: NoSide) -> np.ndarray:
        return np.ones(self.n_bins)

    def encode(self, spectrum: np.ndarray, capacity_bytes: int, max_bits: int, previous=None):
        """A fresh coder with nothing in it, and the empty side."""
        return RangeCoder.encoder(capacity_bytes), NoSide()

    def spectral_distortion_db(self, spectrum: np.ndarray, side: NoSide) -> float:
        return float("nan")
