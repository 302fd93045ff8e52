"""Long-term (pitch) filters (the ``pitch_filter`` slot): the pitch tool of the TCX frame.

A pitch filter works on the time signal around the MDCT and codes its parameters in the frame,
after the envelope.  Its parameters for frame t belong to the output block that frame t makes
final, [320 t − 160, 320 t + 160) (``dsp.mdct``), and are decided from the input before sample
320 t, so the encoder knows them one frame ahead of the MDCT that needs them.

A component has

* ``max_bits``: the most bits its frame field takes (the envelope leaves them);
* ``analyzer()``: a per-encoder stream with ``push(samples)`` and ``flush()``, which return the
  (possibly pre-filtered) samples that the transform analyses, and ``parameters(t)``, frame t's
  parameters (None: the filter is off);
* ``put(coder, parameters)`` and ``get(coder)``: write and read the frame field;
* ``synthesizer()``: a per-decoder stream whose ``push(samples, parameters)`` filters the block
  that frame t's synthesis made final (parameters None: off, or a concealed frame);
* ``harmonic_lag(parameters)``: the pitch lag in samples that the spectrum coder may use as its
  harmonic spacing and the decoder hands to the post-filter (0: none).

The two comb filters here (``ltpf``, ``celt-prefilter``) share the encoder's pitch decision and
the frame field: frame t's lag T and gain index q come from the normalized correlation (P1 of
``dsp.pitch``) of the ``ANALYSIS_WINDOW`` high-passed input samples before 320 t,

    on  when rho(T) >= rho_on,   q = round(7 (rho - rho_on) / (1 - rho_on)),
    g = g_max (q + 1) / 8,                                                                (C1)

coded as 1 on/off bit, then T - 32 in 8 bits and q in 3 bits (12 bits; 1 when off), with
``RangeCoder.encode_bits``, as LC3 codes its LTPF field (ETSI TS 103 634 sec. 3.3.10).  Block t of the
comb is [320 t - 160, 320 t + 160) (the first 160 samples for t = 0); over its first
``FADE_LENGTH`` samples (the MDCT overlap) the comb of block t - 1 fades into block t's
(P5 of ``dsp.pitch``); an off frame, or a concealed one, fades the gain to 0 at the old lag.

The LTPF's decoder filter is pole-zero like LC3's (sec. 3.4.9): the zero is the comb's
low-pass taps h at lag 1 instead of T, the FIR (P4) of ``dsp.pitch`` with T = 1, so that
below a few kHz the harmonics keep their level and the valleys between them fall,

    H(z) = (1 - g sum_k h_k z^{-1+k}) / (1 - g sum_k h_k z^{-T+k}),                          (C2)

a gain near 1 at the low harmonics (the zero's one-sample delay turns its phase by 2 pi f /
16 kHz), about (1 - g) / (1 + g) midway between them, and 1 in the top band.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from hybridcodec.dsp.pitch import COMB_TAPS, MIN_LAG, OCTAVE_TOLERANCE, comb_kernel, pitch_kernel

from ..core.geometry import HOP, OVERLAP
from ..core.registry import register

LAG_BITS = 8
GAIN_BITS = 3
MAX_CODED_LAG = MIN_LAG + (1 << LAG_BITS) - 1   # 287: 55.7 Hz
ANALYSIS_WINDOW = HOP          # samples of (P1) before sample 320 t
FADE_LENGTH = OVERLAP          # L of (P5): the block's first 160 samples
HISTORY = MAX_CODED_LAG + 2    # samples before a block that the comb reads
_OFF = (MIN_LAG, 0.0)          # the comb's (T, g) before the first frame


@register("pitch_filter", "none")
class NoPitchFilter:
    """No pitch tool: samples pass unchanged and the frame has no pitch field."""

    max_bits = 0

    def analyzer(self) -> "NoPitchFilter":
        return self

    def synthesizer(self) -> "NoPitchFilter":
        return self

    def push(self, samples: np.ndarray, parameters: Optional[object] = None) -> np.ndarray:
        return samples

    def flush(self) -> np.ndarray:
        return np.zeros(0)

    def parameters(self, frame_index: int) -> None:
        return None

    def put(self, coder, parameters: None) -> None:
        pass

    def get(self, coder) -> None:
        return None

    def harmonic_lag(self, parameters: None) -> float:
        return 0.0


@dataclass(frozen=True)
class PitchParameters:
    """The pitch field of a frame whose filter is on: lag T (samples) and gain index q (C1)."""

    lag: int
    gain_index: int


def block_start(frame_index: int) -> int:
    """First sample of the comb's block t, [320 t - 160, 320 t + 160) (0 for t = 0)."""
    return max(0, HOP * frame_index - OVERLAP)


class CombFilter:
    """A comb filter's parameters, its frame field and its encoder decision (C1).

    ``voicing_threshold`` is rho_on of (C1), ``max_gain`` g_max.
    """

    max_bits = 1 + LAG_BITS + GAIN_BITS
    prefilter = False
    normalized = False

    def __init__(self, voicing_threshold: float, max_gain: float):
        if not 0.0 <= voicing_threshold < 1.0 or not 0.0 <= max_gain < 1.0:
            raise ValueError(f"need 0 <= voicing_threshold < 1 and 0 <= max_gain < 1, got "
                             f"{voicing_threshold}, {max_gain}")
        self.voicing_threshold = voicing_threshold
        self.max_gain = max_gain

    def analyzer(self) -> "PitchAnalyzer":
        return PitchAnalyzer(self)

    def synthesizer(self) -> "CombSynthesizer":
        return CombSynthesizer(self)

    def put(self, coder, parameters: Optional[PitchParameters]) -> None:
        coder.encode_bits(int(parameters is not None), 1)
        if parameters is not None:
            coder.encode_bits(parameters.lag - MIN_LAG, LAG_BITS)
            coder.encode_bits(parameters.gain_index, GAIN_BITS)

    def get(self, coder) -> Optional[PitchParameters]:
        if not coder.decode_bits(1):
            return None
        lag = MIN_LAG + coder.decode_bits(LAG_BITS)
        return PitchParameters(lag, coder.decode_bits(GAIN_BITS))

    def harmonic_lag(self, parameters: Optional[PitchParameters]) -> float:
        return 0.0 if parameters is None else float(parameters.lag)

    def decide(self, x: np.ndarray, end: int) -> Optional[PitchParameters]:
        """(C1) from x[end - ANALYSIS_WINDOW - MAX_CODED_LAG:end], x[end] being sample 320 t."""
        lag, rho = pitch_kernel(x, end, MIN_LAG, MAX_CODED_LAG, ANALYSIS_WINDOW,
                                OCTAVE_TOLERANCE)
        if rho < self.voicing_threshold:
            return None
        step = (1.0 - self.voicing_threshold) / ((1 << GAIN_BITS) - 1)
        return PitchParameters(int(lag), int(round((rho - self.voicing_threshold) / step)))

    def comb(self, previous: Tuple[int, float],
             parameters: Optional[PitchParameters]) -> Tuple[int, float]:
        """(T, g) of the comb in a frame's block; off (None): the previous lag with g = 0."""
        if parameters is None:
            return previous[0], 0.0
        return parameters.lag, self.max_gain * (parameters.gain_index + 1) / (1 << GAIN_BITS)


class PitchAnalyzer:
    """Encoder stream: decides frame t's parameters once sample 320 t - 1 is in and returns the
    input (pre-filtered by (P4) when the tool is a pre-filter) as far as they are known: up to
    320 t + 160, so at most 160 samples wait, and frame t's MDCT is never delayed."""

    def __init__(self, tool: CombFilter):
        self.tool = tool
        self.start = -(ANALYSIS_WINDOW + MAX_CODED_LAG)    # sample index of signal[0]
        self.signal = np.zeros(-self.start)
        self.n_out = 0
        self.n_decided = 0
        self.decided: Dict[int, Optional[PitchParameters]] = {}
        self.n_forgotten = 0       # decisions before this frame are no longer asked for
        self.combs: Dict[int, Tuple[int, float]] = {-1: _OFF}

    @property
    def n_in(self) -> int:
        return self.start + self.signal.size

    def push(self, samples: np.ndarray) -> np.ndarray:
        self.signal = np.concatenate((self.signal, samples))
        while HOP * self.n_decided <= self.n_in:
            self._decide(self.tool.decide(self.signal, HOP * self.n_decided - self.start))
        return self._filter(min(self.n_in, block_start(self.n_decided)))

    def flush(self) -> np.ndarray:
        """The samples held back; the frames whose window the signal does not fill are off."""
        while block_start(self.n_decided) < self.n_in:
            self._decide(None)
        return self._filter(self.n_in)

    def parameters(self, frame_index: int) -> Optional[PitchParameters]:
        while self.n_forgotten < frame_index - 1:
            self.decided.pop(self.n_forgotten, None)
            self.n_forgotten += 1
        return self.decided.get(frame_index)

    def _decide(self, parameters: Optional[PitchParameters]) -> None:
        t = self.n_decided
        self.decided[t] = parameters
        self.combs[t] = self.tool.comb(self.combs[t - 1], parameters)
        self.n_decided += 1

    def _filter(self, stop: int) -> np.ndarray:
        """The input [n_out, stop) through (P4), block by block."""
        out = [np.zeros(0)]
        while self.n_out < stop:
            t = (self.n_out + OVERLAP) // HOP
            end = min(stop, HOP * t + OVERLAP)
            i = self.n_out - self.start
            x = self.signal[i:end - self.start]
            if self.tool.prefilter:
                x = comb_kernel(x, self.signal[i - HISTORY:i], self.n_out - block_start(t),
                                FADE_LENGTH, *self.combs[t - 1], *self.combs[t], COMB_TAPS, False)
            out.append(x)
            self.n_out = end
            self.combs.pop(t - 2, None)     # blocks are filtered in order: t - 1 is the oldest used
        self._trim()
        return np.concatenate(out)

    def _trim(self) -> None:
        """Keep the comb's history and the next decision's window."""
        keep = min(self.n_out - HISTORY,
                   HOP * self.n_decided - ANALYSIS_WINDOW - MAX_CODED_LAG) - self.start
        if keep > 0:
            self.signal = self.signal[keep:]
            self.start += keep


class CombSynthesizer:
    """Decoder stream: the IIR comb (P3) on each block with its frame's (T, g), cross-faded
    from the previous block's (P5); for a normalized tool after the low-pass zero (C2) with
    the same g and fades."""

    def __init__(self, tool: CombFilter):
        self.tool = tool
        self.history = np.zeros(HISTORY)
        self.input_history = np.zeros(COMB_TAPS.size)
        self.comb = _OFF

    def push(self, samples: np.ndarray, parameters: Optional[PitchParameters]) -> np.ndarray:
        comb = self.tool.comb(self.comb, parameters)
        x = samples
        if self.tool.normalized:
            x = comb_kernel(samples, self.input_history, 0, FADE_LENGTH, 1, self.comb[1], 1,
                            comb[1], COMB_TAPS, False)
            self.input_history = np.concatenate((self.input_history, samples))[-COMB_TAPS.size:]
        y = comb_kernel(x, self.history, 0, FADE_LENGTH, *self.comb, *comb, COMB_TAPS, True)
        self.history = np.concatenate((self.history, y))[-HISTORY:]
        self.comb = comb
        return y


@register("pitch_filter", "ltpf")
class Ltpf(CombFilter):
    """LTPF in the LC3 manner (ETSI TS 103 634 sec. 3.4.9): the encoder codes (T, q) and does
    not filter; the decoder's pole-zero comb (C2) lowers the noise between the harmonics of
    the decoded signal and keeps the harmonics' level."""

    normalized = True

    def __init__(self, voicing_threshold: float = 0.5, max_gain: float = 0.2):
        super().__init__(voicing_threshold, max_gain)


@register("pitch_filter", "celt-prefilter")
class CeltPrefilter(CombFilter):
    """CELT's pitch pre-filter (RFC 6716 sec. 4.3.7.1, ``run_prefilter`` in
    ``celt/celt_encoder.c``): the FIR comb (P4) on the input before the MDCT, and its inverse,
    the IIR comb (P3), after the inverse MDCT; without quantization post(pre(x)) = x."""

    prefilter = True

    def __init__(self, voicing_threshold: float = 0.8, max_gain: float = 0.7):
        super().__init__(voicing_threshold, max_gain)
