"""One frame through the codec: the frame path of DESIGN.md, encoder and decoder side by side.

Encoder: envelope (analyze, put) → pitch field → ŝ → weights W(f) → flattened spectrum w →
TNS (filter, put) → rate loop.
Decoder: envelope (get) → pitch field → ŝ → W(f) → TNS field → spectrum (decode, noise fill)
→ inverse TNS → X̂ = ŵ · ŝ.
Everything that decides how bits are read (ŝ, W, allocation, tables) is computed from decoded
values by the same functions on both sides.  The one state carried from frame to frame is the
envelope side of the frame before (:class:`EnvelopeHistory`), which a predictive envelope
predicts from.
"""
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from hybridcodec.dsp.envelope import flatten, unflatten
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.dsp.spectrum_coder import NOISE_LEVEL_BITS, TARGET_BITS

from ..formats.hcb import MIN_FRAME_BYTES
from .pipeline import Pipeline

SPECTRUM_RESERVE_BITS = TARGET_BITS + NOISE_LEVEL_BITS + 8
"""Bits the envelope must leave for the spectrum side fields plus one byte of range-coder flush
(and the pitch and TNS fields': :func:`reserve_bits`)."""


@dataclass(frozen=True)
class FrameReport:
    """What one frame spent and chose, for study tools (``hybridcodec info --frames``, the
    entropy study); ``steps`` are the rate loop's steps δ(f) (F,), inf where a bin is not coded,
    None in a frame below MIN_FRAME_BYTES."""

    frame_index: int
    budget_bits: int
    bits: Dict[str, int] = field(default_factory=dict)
    target_index: int = 0
    noise_level_index: int = 0
    envelope_shift: int = 0
    envelope_sd_db: float = float("nan")
    coded_bins: int = 0
    nonzero_bins: int = 0
    final_state: Tuple[int, int] = (0, 0)
    steps: Optional[np.ndarray] = field(default=None, compare=False, repr=False)


INTRA_PERIOD = 50
"""Frames of a file stream between forced intra envelopes (1 s): after damage (decoded with
``--conceal``) a predictive envelope's frames decode again within a second.  A packet stream,
built for loss, codes every frame's envelope on its own (``intra_period`` 1)."""


class EnvelopeHistory:
    """The envelope side of frame t − 1, for a predictive envelope (``components.envelope``).

    The encoder keeps every frame it codes; the decoder every frame it decodes intact, so after
    a lost or damaged frame it has no frame t − 1 and cannot decode a predicted frame t (nor the
    predicted frames after it) until the next intra frame.  Decoding frame t again (the
    encoder's own decoder does so for the redundant copy and the residual layers) predicts from
    the same frame as before.
    """

    def __init__(self):
        self._sides: list = []

    def before(self, frame_index: int):
        """The side of frame ``frame_index − 1``, or None when it was not kept."""
        return next((side for index, side in self._sides if index == frame_index - 1), None)

    def record(self, frame_index: int, side) -> None:
        """Keep ``side`` as frame ``frame_index``'s (and the frame before it)."""
        self._sides = [(i, s) for i, s in self._sides if i == frame_index - 1] + \
            [(frame_index, side)]


def uncoded_report(frame_index: int, budget_bits: int) -> FrameReport:
    """The report of a frame below MIN_FRAME_BYTES: all of its bits are padding."""
    return FrameReport(frame_index, budget_bits, {"padding": budget_bits})


class ReportOnDemand:
    """``last_report``: the report of the last frame coded, made when first asked for from what
    the coding left in ``_pending_report`` (a function of no argument): its bit accounting costs
    as much as a tenth of a frame's decoding and a sixth of its encoding (with the envelope's
    distortion), and a coder of files never asks."""

    _pending_report: Optional[Callable[[], FrameReport]] = None

    @property
    def last_report(self) -> FrameReport:
        if self._pending_report is not None:
            self._last_report = self._pending_report()
            self._pending_report = None
        return self._last_report

    @last_report.setter
    def last_report(self, report: FrameReport):
        self._last_report, self._pending_report = report, None


class FrameEncoder(ReportOnDemand):
    """Encodes one MDCT frame into a payload of a given number of bytes; every
    ``intra_period``-th frame's envelope is coded on its own (1: every frame)."""

    def __init__(self, pipeline: Pipeline, intra_period: int = INTRA_PERIOD):
        self.pipeline = pipeline
        self.intra_period = intra_period
        self.spectrum_encoder = pipeline.spectrum_quantizer.encoder()
        """The spectrum quantizer's encoder side for this stream (it may keep state, as
        e2e-ae's entropy control does)."""
        self.envelope_history = EnvelopeHistory()
        self.last_report = FrameReport(-1, 0)

    def encode_frame(self, spectrum: np.ndarray, frame_index: int, budget_bytes: int,
                     pitch: Optional[object] = None) -> Tuple[bytes, FrameReport]:
        """Payload of exactly ``budget_bytes`` bytes (zero-padded) and its report; ``pitch``:
        the pitch filter's parameters of this frame (``analyzer().parameters(t)``)."""
        payload = self.encode_payload(spectrum, frame_index, budget_bytes, pitch)
        return payload, self.last_report

    def encode_payload(self, spectrum: np.ndarray, frame_index: int, budget_bytes: int,
                       pitch: Optional[object] = None) -> bytes:
        """The payload of :meth:`encode_frame` alone; its report waits in ``last_report``."""
        if budget_bytes < MIN_FRAME_BYTES:
            self.last_report = uncoded_report(frame_index, 8 * budget_bytes)
            return bytes(budget_bytes)
        p = self.pipeline
        budget_bits = 8 * budget_bytes
        previous = None if frame_index % self.intra_period == 0 else \
            self.envelope_history.before(frame_index)
        coder, side = p.envelope.encode(spectrum, 2 * budget_bytes + 64,
                                        budget_bits - reserve_bits(p), previous)
        self.envelope_history.record(frame_index, side)
        marks = [_mark(coder)]
        p.pitch_filter.put(coder, pitch)
        marks.append(_mark(coder))
        envelope = p.envelope.synthesize(side)
        log2_weights = np.log2(p.perceptual.weights(envelope))
        w, tns = p.tns.put(coder, flatten(spectrum, envelope))
        marks.append(_mark(coder))
        spectrum_report = self.spectrum_encoder.encode(coder, w, log2_weights, budget_bits,
                                                       frame_index,
                                                       p.pitch_filter.harmonic_lag(pitch))
        marks.append(_mark(coder))
        payload = coder.finish()
        if len(payload) > budget_bytes:
            raise AssertionError(f"frame {frame_index} overran its budget of {budget_bytes} bytes")
        self._pending_report = partial(
            _report_from_marks, frame_index, budget_bits, marks, spectrum_report, side.shift,
            p, envelope_sd_db=partial(p.envelope.spectral_distortion_db, spectrum, side))
        return payload.ljust(budget_bytes, b"\0")


class FrameDecoder(ReportOnDemand):
    """Decodes payloads of :class:`FrameEncoder` back to MDCT frames."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.last_report = FrameReport(-1, 0)
        self.last_valid = True
        self.last_envelope: Optional[np.ndarray] = None
        self.last_pitch: Optional[object] = None
        self.last_choice: Optional[object] = None
        self.last_orphan = False
        self.envelope_history = EnvelopeHistory()

    def decode_frame(self, payload: bytes, frame_index: int) -> np.ndarray:
        """X̂ (320,) of one frame; frames below MIN_FRAME_BYTES decode to silence.

        Never raises on any payload.  ``last_envelope`` is the decoded envelope ŝ (None for a
        frame below MIN_FRAME_BYTES; the post-filter reads it).  ``last_valid`` then says whether
        the payload looked like one the encoder wrote (:func:`payload_is_consistent`); an invalid
        frame's X̂ is finite but meaningless, and the caller conceals it.  ``last_pitch`` holds
        the pitch filter's parameters read from the frame (None when off), and ``last_choice``
        what the rate loop chose for it (the spectrum quantizer's report: target index, noise
        level, steps δ(f); None with ``last_envelope``), which the post-filter may read too.
        ``last_orphan``: the frame's envelope is predicted from frame t − 1, which this decoder
        lost or found damaged, so it is not decoded (invalid, and concealed) either.
        """
        p = self.pipeline
        budget_bits = 8 * len(payload)
        self.last_envelope = self.last_pitch = self.last_choice = None
        self.last_orphan = False
        if len(payload) < MIN_FRAME_BYTES:
            self.last_report = uncoded_report(frame_index, budget_bits)
            self.last_valid = not any(payload)
            return np.zeros(p.transform.n_bins)
        coder = RangeCoder.decoder(payload)
        side = p.envelope.get(coder, self.envelope_history.before(frame_index))
        if side is None:
            self.last_orphan = True
            self.last_report = uncoded_report(frame_index, budget_bits)
            self.last_valid = False
            return np.zeros(p.transform.n_bins)
        marks = [_mark(coder)]
        pitch = self.last_pitch = p.pitch_filter.get(coder)
        marks.append(_mark(coder))
        envelope = self.last_envelope = p.envelope.synthesize(side)
        log2_weights = np.log2(p.perceptual.weights(envelope))
        tns = p.tns.get(coder)
        marks.append(_mark(coder))
        w_hat, spectrum = p.spectrum_quantizer.decode(coder, log2_weights, budget_bits,
                                                      frame_index,
                                                      p.pitch_filter.harmonic_lag(pitch))
        marks.append(_mark(coder))
        w_hat = p.tns.synthesize(w_hat, tns)
        self.last_choice = spectrum
        self._pending_report = partial(_report_from_marks, frame_index, budget_bits, marks,
                                       spectrum, side.shift, p)
        with np.errstate(all="ignore"):
            x_hat = unflatten(w_hat, envelope)
        finite = bool(np.isfinite(x_hat).all())
        self.last_valid = finite and payload_is_consistent(payload, coder)
        if self.last_valid:
            self.envelope_history.record(frame_index, side)
        return x_hat if finite else np.zeros(p.transform.n_bins)


def _report_from_marks(frame_index: int, budget_bits: int, marks, spectrum,
                       envelope_shift: int, pipeline: Pipeline,
                       envelope_sd_db: Callable[[], float] = lambda: float("nan")) -> FrameReport:
    """The report of a coded frame from the :func:`_mark` s after the envelope, the pitch
    field, the TNS field and the spectrum, the spectrum quantizer's report and the envelope's
    distortion (the encoder's; the decoder has no original)."""
    tells = [_tells(mark) for mark in marks]
    return FrameReport(frame_index, budget_bits, _bits_by_field(tells, budget_bits, pipeline),
                       spectrum.target_index, spectrum.noise_level_index, envelope_shift,
                       envelope_sd_db(), spectrum.coded_bins, spectrum.nonzero_bins,
                       marks[-1].final_state, spectrum.steps)


def with_layer_bits(report: FrameReport, bits, budgets) -> FrameReport:
    """``report`` of a base payload extended by residual layers of ``budgets`` bytes that
    wrote ``bits``: a field ``layer<k>`` each, their padding added to the frame's."""
    fields = dict(report.bits)
    padding = fields.pop("padding", 0) + sum(8 * int(b) for b in budgets) - sum(bits)
    fields.update({f"layer{k + 1}": int(b) for k, b in enumerate(bits)}, padding=padding)
    return replace(report, budget_bits=report.budget_bits + 8 * int(sum(budgets)), bits=fields)


def payload_is_consistent(payload: bytes, coder: RangeCoder) -> bool:
    """Whether a decoded payload ends as the encoder's do: read within its length, zero padding.

    The encoder's range coder writes exactly ``tell() / 8`` bytes and pads the budget with
    zeros, and the decoder's ``tell()`` follows the encoder's symbol by symbol; so in a frame
    the encoder wrote, the decoder stops inside the payload and every byte after is zero.  A
    damaged payload usually breaks one of the two (most reliably when the frame has padding);
    it is a check for locating damage, not a checksum.
    """
    used = coder.tell() // 8
    return not coder.overrun and used <= len(payload) and not any(payload[used:])


def reserve_bits(pipeline: Pipeline) -> int:
    """Bits the envelope must leave: the pitch and TNS fields at their largest, the spectrum's
    side fields and the range coder's flush."""
    return SPECTRUM_RESERVE_BITS + pipeline.pitch_filter.max_bits + pipeline.tns.max_bits


def _mark(coder: RangeCoder) -> RangeCoder:
    """A copy of the coder's state, whose ``_tells`` are the coder's now (read later, if ever)."""
    return RangeCoder(coder.state.copy(), coder.buf, coder.is_encoder)


def _tells(coder: RangeCoder) -> Tuple[int, float]:
    """``tell()`` (whole bytes, in bits) and ``tell_frac()`` (fractional bits) of the coder."""
    return coder.tell(), coder.tell_frac()


def _bits_by_field(tells, budget_bits: int, pipeline: Pipeline) -> Dict[str, int]:
    """Bits of each field of a frame from ``_tells`` after the envelope, the pitch field, the
    TNS field and the spectrum.  The pitch and TNS fields are a few bits, which ``tell()``
    (whole bytes) would show as 0 or 8: they are counted in fractional bits, rounded, and the
    spectrum gets the rest.  They are listed only when the pipeline's component has one
    (``max_bits`` > 0), in every frame, and the spectrum's side fields only when its quantizer
    has some (``side_bits`` > 0)."""
    (envelope, start), (_, after_pitch), (_, after_tns), (total, _) = tells
    side = pipeline.spectrum_quantizer.side_bits
    pitch, tns = round(after_pitch - start), round(after_tns - after_pitch)
    bits = {"envelope": envelope, "pitch": pitch, "tns": tns, "target+noise_level": side,
            "spectrum": total - envelope - pitch - tns - side, "padding": budget_bits - total}
    largest = {"pitch": pipeline.pitch_filter.max_bits, "tns": pipeline.tns.max_bits,
               "target+noise_level": side}
    return {name: value for name, value in bits.items() if largest.get(name, 1)}
