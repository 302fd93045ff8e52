"""Streaming encoder and decoder at the codec rate (16 kHz): any chunk size in, frames out.

``Encoder.push`` returns the payloads of the frames its samples completed; ``Encoder.finish``
codes the tail once the length is known (the header decides the tail's budgets, see
``container.frame_budgets``).  ``Decoder.push`` takes payloads and returns the samples that
became final, ``Decoder.finish`` the rest; a payload of ``None`` marks a lost frame, which the
decoder conceals (``hybridcodec.core.concealment``), as it does a payload that fails the frame check
(``frame.payload_is_consistent``).  Whole-signal conveniences live in ``hybridcodec.api``.

Redundancy (packet streams, ``Header.redundancy_bytes`` = R > 0): every full-size payload ends
with R bytes that copy the previous frame's low band (``hybridcodec.core.redundancy``); the frame
itself is coded in the remaining bytes, so the bitrate stays the header's.

Residual layers (a configuration whose ``residual`` slot has layers, ``Header.layer_bytes``):
each payload is the core's payload at the base rate followed by one payload per layer.  The
encoder decodes its own base payload to X̂ and codes X − X̂ (normalized by ŝ and the steps, see
``dsp.residual_ae``) layer by layer; the decoder adds the first ``layers`` layers' output to X̂
before the inverse MDCT (and the pitch synthesis after it, which is linear).  The base's budgets
are those of the core's own file at the base rate, so ``Decoder(header, layers=0)`` gives the
core's output exactly.  A frame may carry fewer layers than the header (a relay dropped them,
``hybridcodec.api.drop_layers``): it decodes with those it has.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from hybridcodec.dsp.filters import HighPass50Hz
from hybridcodec.dsp.residual_ae import residual_scale

from .config import check_bitrate, get_config
from ..errors import BitstreamError, ConfigError
from . import redundancy
from .concealment import Concealer
from .geometry import SAMPLE_RATE_HZ
from ..formats.hcb import (MAX_HEADER_BYTES, MAX_STREAMED_HEADER_BYTES, Header,
                           check_redundancy, frame_bytes, full_budgets, iter_layered_budgets,
                           rate_without_layers)
from .frame import INTRA_PERIOD, FrameDecoder, FrameEncoder, FrameReport, with_layer_bits
from .pipeline import get_pipeline


class Encoder:
    """Streaming encoder: 16 kHz float samples in, fixed-budget frame payloads out.

    Parameters
    ----------
    bitrate_bps : int
        6000 … 64000; every frame gets floor(bitrate × 20 ms / 8) bytes.
    config : str
        Name of a configuration (``hybridcodec configs``).
    keep_reports : bool
        Keep every frame's report in ``reports`` (False for long streams: memory stays flat).
    redundancy_bytes : int
        R > 0: each full-size payload ends with an R-byte copy of the previous frame's low band
        (packet streams; the frame gets R bytes less).  At most a quarter of a frame and
        ``container.MAX_REDUNDANCY_BYTES``.
    packets : bool
        The frames go into a packet stream, built for loss: every frame's envelope is coded
        on its own (no inter-frame prediction), so a lost packet takes only its own frame.
    """

    def __init__(self, bitrate_bps: int, config: str = "default", keep_reports: bool = True,
                 redundancy_bytes: int = 0, packets: bool = False):
        self.bitrate_bps = check_bitrate(bitrate_bps)
        self.redundancy_bytes = check_redundancy(redundancy_bytes, self.bitrate_bps)
        self.pipeline = get_pipeline(config)
        self.config_name = self.pipeline.config.name
        lowest = self.pipeline.spectrum_quantizer.min_bitrate_bps
        if self.bitrate_bps < lowest:
            raise ConfigError(f"configuration {self.config_name!r} codes at {lowest} bps or more "
                              f"(its spectrum quantizer's lowest rate); got {self.bitrate_bps}")
        self.layer_bytes = self.pipeline.residual.layer_bytes(self.bitrate_bps)
        if self.layer_bytes and self.redundancy_bytes:
            raise ConfigError("residual layers and redundant copies do not combine")
        self.base_header_bytes = self._core_header_bytes()
        self.full_row = full_budgets(self.header(1))
        """(base, layer 1, …) bytes of a full frame."""
        self.previous_spectrum = np.zeros(self.pipeline.transform.n_bins)
        self.highpass = HighPass50Hz()
        self.pitch_analyzer = self.pipeline.pitch_filter.analyzer()
        self.analyzer = self.pipeline.transform.analyzer()
        self.frame_encoder = FrameEncoder(self.pipeline, 1 if packets else INTRA_PERIOD)
        self.frame_decoder = FrameDecoder(self.pipeline)
        self.reports: List[FrameReport] = []
        self.keep_reports = keep_reports
        self.n_frames = 0
        self.n_samples = 0
        if self.header(1).size > MAX_HEADER_BYTES:
            raise ConfigError(
                f"configuration {self.config_name!r} needs a {self.header(1).size}-byte header "
                f"(name and parameter digests); at most {MAX_HEADER_BYTES} fit the file format")

    def header(self, n_samples: int, original_rate_hz: int = SAMPLE_RATE_HZ,
               streamed: bool = False) -> Header:
        """The .hcb header of a signal of ``n_samples`` at ``original_rate_hz``.

        ``streamed``: the length is not known when the header is written and goes into the
        file's trailer (``container`` module doc); pass the real ``n_samples`` to ``finish``.
        A ConfigError when such a header leaves no byte of the file's allowance.
        """
        header = Header(SAMPLE_RATE_HZ, original_rate_hz, self.bitrate_bps, n_samples,
                        self.config_name, self.pipeline.parameter_digests(), streamed=streamed,
                        redundancy_bytes=self.redundancy_bytes, layer_bytes=self.layer_bytes,
                        base_header_bytes=self.base_header_bytes)
        if streamed and header.size > MAX_STREAMED_HEADER_BYTES:
            raise ConfigError(f"configuration {self.config_name!r} has a {header.size}-byte "
                              f"header; a stream of unknown length allows "
                              f"{MAX_STREAMED_HEADER_BYTES}: give the input as a file or a WAV "
                              "that states its length")
        return header

    def _core_header_bytes(self) -> int:
        """Size of the core configuration's own header (0 without layers): the base of a
        layered file gets the budgets of the core's file at the base rate."""
        core = self.pipeline.residual.core
        if not self.layer_bytes:
            return 0
        slots = dict(self.pipeline.config.slots(), residual=get_config(core).residual)
        if slots != get_config(core).slots():
            raise ConfigError(f"configuration {self.config_name!r} must equal its core {core!r} "
                              "apart from the residual layers")
        return Header(SAMPLE_RATE_HZ, SAMPLE_RATE_HZ,
                      rate_without_layers(self.bitrate_bps, self.layer_bytes), 1, core,
                      get_pipeline(core).parameter_digests()).size

    def _encode(self, frames: np.ndarray, rows) -> List[bytes]:
        payloads = []
        for spectrum, row in zip(frames, rows):
            budget = int(row[0])
            copy = redundancy.copy_bytes(self.redundancy_bytes, budget,
                                         frame_bytes(self.bitrate_bps))
            pitch = self.pitch_analyzer.parameters(self.n_frames)
            payload = self.frame_encoder.encode_payload(spectrum, self.n_frames, budget - copy,
                                                        pitch)
            if copy:
                decoded = self.frame_decoder.decode_frame(payload, self.n_frames)
                payload += redundancy.encode(self.previous_spectrum, decoded, copy)
            if len(row) > 1:
                layers, bits = self._encode_layers(spectrum, payload, row[1:])
                payload += b"".join(layers)
            if self.keep_reports:
                report = self.frame_encoder.last_report
                self.reports.append(report if len(row) == 1 else
                                    with_layer_bits(report, bits, row[1:]))
            self.previous_spectrum = spectrum
            payloads.append(payload)
            self.n_frames += 1
        return payloads

    def _encode_layers(self, spectrum: np.ndarray, base: bytes, budgets):
        """Payloads and bits of the residual layers of a frame whose base payload is ``base``."""
        r = normalized_residual(self.frame_decoder, spectrum, base, self.n_frames)
        if r is None:
            return [bytes(int(b)) for b in budgets], [0] * len(budgets)
        return self.pipeline.residual.encode(r, budgets)

    def push(self, samples: np.ndarray) -> List[bytes]:
        """Encode the frames completed by ``samples`` (16 kHz, float in [-1, 1])."""
        samples = np.asarray(samples, dtype=np.float64)
        self.n_samples += samples.shape[0]
        frames = self.analyzer.push(self.pitch_analyzer.push(self.highpass.push(samples)))
        return self._encode(frames, [self.full_row] * len(frames))

    def finish(self, header: Header) -> List[bytes]:
        """Encode the remaining frames with the budgets that ``header`` gives the file's tail."""
        held = self.analyzer.push(self.pitch_analyzer.flush())
        frames = np.concatenate([np.reshape(held, (-1, self.pipeline.transform.n_bins)),
                                 self.analyzer.flush()])
        all_rows = list(iter_layered_budgets(header))
        if any(row != self.full_row for row in all_rows[:self.n_frames]):
            raise ValueError("the header squeezes frames that were already coded at full size "
                             "(a streamed header too large for the file's 64-byte allowance)")
        budgets = all_rows[self.n_frames:]
        if len(budgets) != len(frames):
            raise ValueError(f"the header announces {self.n_frames + len(budgets)} frames, "
                             f"the signal has {self.n_frames + len(frames)}")
        return self._encode(frames, budgets)


def normalized_residual(frame_decoder: FrameDecoder, spectrum: np.ndarray, base: bytes,
                        frame_index: int) -> Optional[np.ndarray]:
    """r of ``dsp.residual_ae`` (R1): what the base payload ``base`` left of ``spectrum``,
    made scale-free by the decoded envelope and steps; None for a base below MIN_FRAME_BYTES
    (silence: no layers either)."""
    x_hat = frame_decoder.decode_frame(base, frame_index)
    envelope = frame_decoder.last_envelope
    if envelope is None:
        return None
    return (spectrum - x_hat) / residual_scale(envelope, frame_decoder.last_report.steps)


class Decoder:
    """Streaming decoder: frame payloads in, 16 kHz samples out; conceals lost frames.

    Parameters
    ----------
    header : Header
        Names the configuration; the output stops at its length (unless it is streamed: then
        the caller, which learns the length at the end, trims).
    keep_reports : bool
        Keep every frame's report in ``reports`` (False for long streams).
    seed : int
        Seed of the concealment's random signs (the same seed and losses give the same output).
    lookahead : bool
        Hold each frame until the next payload arrives (20 ms more delay; better concealment
        and the use of redundant copies).  Call :meth:`finish` after the last payload.
    postfilter : str or None
        A registered post-filter (``hybridcodec components``) instead of the configuration's:
        chosen at decode time, as it costs no bits and reads none (None: the configuration's).
    layers : int or None
        Residual layers to decode (a layered configuration): 0 = the base alone, exactly the
        core's output at the base rate; None = all the header names.

    Attributes
    ----------
    concealed : list of int
        Indices of the frames concealed: lost (``None``) or failing the frame check.
    damaged : list of int
        The subset whose payload was present but failed the frame check.
    """

    def __init__(self, header: Header, keep_reports: bool = True, seed: int = 0,
                 lookahead: bool = True, postfilter: Optional[str] = None,
                 layers: Optional[int] = None):
        self.header = header
        self.layers = len(header.layer_bytes) if layers is None else int(layers)
        if not 0 <= self.layers <= len(header.layer_bytes):
            raise ConfigError(f"cannot decode {layers} residual layers: the stream has "
                              f"{len(header.layer_bytes)}")
        try:
            self.pipeline = get_pipeline(header.config_name)
        except ConfigError as error:   # a file names it: one exception type for bad input
            raise BitstreamError(f"cannot decode: {error}") from None
        if header.parameter_digests != self.pipeline.parameter_digests():
            raise BitstreamError(
                f"the file was encoded with other parameter files for configuration "
                f"{header.config_name!r} than this installation has (digests differ)")
        self.frame_decoder = FrameDecoder(self.pipeline)
        self.synthesizer = self.pipeline.transform.synthesizer()
        self.pitch_synthesizer = self.pipeline.pitch_filter.synthesizer()
        self.last_pitch = None
        self.concealer = Concealer(self.pipeline.transform, seed)
        self.postfilter = self._postfilter(postfilter).stream(
            rate_without_layers(header.bitrate_bps, header.layer_bytes[self.layers:]))
        self.budget_rows = iter_layered_budgets(header)
        self.keep_reports = keep_reports
        self.lookahead = lookahead
        self.full_bytes = frame_bytes(header.bitrate_bps)
        self.n_frames = 0
        self.n_synthesized = 0
        self.n_returned = 0
        self.held: List[Tuple[Optional[np.ndarray], ...]] = []
        self.reports: List[FrameReport] = []
        self.concealed: List[int] = []
        self.damaged: List[int] = []

    def _postfilter(self, name: Optional[str]):
        """The configuration's post-filter, or the one called ``name`` (its default parameters
        unless the configuration names the same one)."""
        if name is None or name == self.pipeline.config.postfilter.name:
            return self.pipeline.postfilter
        return self.pipeline.component("postfilter", name)

    def _split(self, payload: bytes):
        """(frame payload, redundant copy of the previous frame or None)."""
        copy = redundancy.copy_bytes(self.header.redundancy_bytes, len(payload), self.full_bytes)
        if copy:
            return payload[:-copy], payload[-copy:]
        return payload, None

    def _decoded(self, payload: Optional[bytes]):
        """((X̂, ŝ, pitch parameters, the rate loop's choice) of the next frame, or (None, None,
        the last good frame's pitch parameters, None) when it is lost or invalid; the copy it
        carries.  A concealed frame keeps the pitch filter of the frame before it, as CELT's
        concealment keeps its post-filter: the concealment continues a signal that the filter
        shapes."""
        t = self.n_frames
        self.n_frames += 1
        row = next(self.budget_rows, None)
        if payload is not None:
            payload, copy = self._split(payload)
            payload, layers = self._layers(payload, row)
            spectrum = self.frame_decoder.decode_frame(payload, t)
            if layers and self.frame_decoder.last_valid:
                spectrum = self._add_layers(spectrum, layers, row[1:])
            if self.keep_reports:
                self.reports.append(self.frame_decoder.last_report)
            if self.frame_decoder.last_valid and layers is not None:
                self.last_pitch = self.frame_decoder.last_pitch
                return (spectrum, self.frame_decoder.last_envelope, self.last_pitch,
                        self.frame_decoder.last_choice), copy
            if not (self.frame_decoder.last_orphan and self.concealed[-1:] == [t - 1]):
                self.damaged.append(t)   # an orphan after a concealed frame is not damage
        elif self.keep_reports:
            self.reports.append(FrameReport(t, 0))
        self.concealed.append(t)
        return (None, None, self.last_pitch, None), None

    def _layers(self, payload: bytes, row):
        """(base payload, the first ``layers`` layer payloads it carries); None for the layers
        when the payload's length is not the base's plus whole layers (damaged)."""
        if not self.header.layer_bytes:
            return payload, []
        if row is None:     # past a streamed header's frames: the full row
            row = full_budgets(self.header)
        ends = np.cumsum(row)
        if len(payload) not in ends:
            return payload[:row[0]], None
        chunks = [payload[a:b] for a, b in zip(ends[:-1], ends[1:]) if b <= len(payload)]
        return payload[:row[0]], chunks[:self.layers]

    def _add_layers(self, spectrum: np.ndarray, layers: List[bytes], budgets) -> np.ndarray:
        """X̂ plus the layers' output (dsp.residual_ae (R1)); their bits go into the report."""
        envelope = self.frame_decoder.last_envelope
        report = self.frame_decoder.last_report
        if envelope is None:
            correction, bits = 0.0, [0] * len(layers)
        else:
            correction, bits = self.pipeline.residual.decode(layers)
            correction = correction * residual_scale(envelope, report.steps)
        self.frame_decoder.last_report = with_layer_bits(report, bits, budgets[:len(layers)])
        return spectrum + correction

    def _emit(self, decoded, next_spectrum: Optional[np.ndarray] = None,
              copy: Optional[bytes] = None) -> np.ndarray:
        """Synthesize, pitch-filter and post-filter the next frame, ``decoded`` = (X̂, ŝ,
        pitch parameters, the rate loop's choice): X̂, or its concealment from the neighbours
        and the copy when X̂ is None."""
        spectrum, envelope, pitch, choice = decoded
        if spectrum is None:
            low_band = None
            if copy is not None and next_spectrum is not None:
                try:
                    low_band = redundancy.decode(copy, next_spectrum)
                except BitstreamError:   # a damaged copy (no CRC): conceal without it
                    pass
            spectrum = self.concealer.conceal(self.n_synthesized, next_spectrum, low_band)
        else:
            self.concealer.good_frame(spectrum)
        self.n_synthesized += 1
        n_bins = self.pipeline.transform.n_bins
        samples = self.synthesizer.push(np.reshape(spectrum, (1, n_bins)))
        self.concealer.output(samples)
        return self.postfilter.push(self.pitch_synthesizer.push(samples, pitch), envelope,
                                    int(self.pipeline.pitch_filter.harmonic_lag(pitch)), choice)

    def push(self, payloads: Sequence[Optional[bytes]]) -> np.ndarray:
        """Decode payloads (``None``: lost); return the samples that became final (16 kHz).

        Each lost or invalid frame is replaced by the concealment's spectrum; the frames after
        it decode exactly as without the loss.  With ``lookahead`` a frame is synthesized when
        the next payload has arrived (20 ms more delay), so that a lost frame can be concealed
        towards the next one and restored from the copy the next packet carries.
        """
        outputs = []
        for payload in payloads:
            decoded, copy = self._decoded(payload)
            if not self.lookahead:
                outputs.append(self._emit(decoded))
                continue
            if self.held:
                outputs.append(self._emit(self.held.pop(), decoded[0], copy))
            self.held.append(decoded)
        return self._trimmed(_joined(outputs))

    def finish(self) -> np.ndarray:
        """The samples of the frame held for lookahead (call after the last payload)."""
        return self._trimmed(_joined([self._emit(self.held.pop())] if self.held else []))

    def _trimmed(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` cut at the header's length (unless it is streamed)."""
        if not self.header.streamed:
            samples = samples[:max(0, self.header.n_codec_samples - self.n_returned)]
        self.n_returned += samples.shape[0]
        return samples

    def decode_frame(self, payload: Optional[bytes]) -> np.ndarray:
        """One frame (``None`` marks a loss); the samples that became final (16 kHz)."""
        return self.push([payload])


def _joined(outputs: List[np.ndarray]) -> np.ndarray:
    return np.concatenate(outputs) if outputs else np.zeros(0)
