"""Packet loss concealment: a spectrum for a frame that was lost or arrived damaged (decoder only).

Frames are coded independently (no inter-frame prediction), so a loss touches only the frame
itself and the 10 ms overlap it shares with each neighbour; the next good frame decodes exactly
as it would have without the loss, and the low-overlap window cross-fades into it.

Processing steps for lost frame t, the k-th in a row (k = 1, 2, ...):

1. voiced speech (the decoded output of the last 20 ms correlates with itself one pitch period
   earlier, normalized correlation ≥ ``VOICING_THRESHOLD``): the output is extended past its last
   final sample by repeating its last pitch period, with a gain that falls linearly over the
   frame, and the extension is MDCT-analysed into the frame's spectrum, so that the inverse MDCT
   and overlap-add cross-fade it with the neighbours as for a coded frame (time-domain
   extrapolation and re-analysis, as in the TCX concealment of EVS, TS 26.447 sec. 5.4.3);
2. otherwise: the last good frame's magnitudes |X̂(f)| (their ±2-bin RMS envelope for k ≥ 2)
   with random signs;
3. either way, ``first_gain`` for k = 1, × ``decay`` per further frame; silence after
   ``max_frames`` (a long gap fades out instead of droning).

On 16 training clips at 16.4 kbps with 5 % random loss, PESQ-WB is 2.87 with random signs
alone and 2.94 with the voiced extension at a threshold of 0.9 (2.91 at 0.8, 2.83 at 0.6: a
periodic extension of weakly periodic speech sounds worse than noise).

Random signs come from ``dsp.quantization.random_signs`` seeded by (seed, t): the same stream
and the same losses decode to the same samples on every machine.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dsp import mdct
from dsp.quantization import random_signs

FIRST_GAIN = 0.8
"""Gain of the first concealed frame relative to the last good one (about -2 dB)."""
DECAY = 0.6
"""Gain factor per further concealed frame (about -4.4 dB per 20 ms)."""
MAX_FRAMES = 8
"""Concealed frames in a row after which the output is silence (160 ms)."""
SMOOTHING_BINS = 2
"""Half-width of the moving average that turns |X̂| into an envelope for k ≥ 2 (unvoiced)."""
PITCH_LAGS = (40, 320)
"""Pitch periods searched, in samples at 16 kHz: 400 Hz down to 50 Hz."""
VOICING_THRESHOLD = 0.9
"""Normalized correlation at the pitch lag above which the waveform is extended periodically."""
HISTORY = PITCH_LAGS[1] + mdct.HOP
"""Decoded output samples kept for the pitch search: one longest period plus 20 ms."""


class Concealer:
    """Remembers the last good frame and makes replacement spectra for lost ones.

    Parameters
    ----------
    n_bins : int
        MDCT coefficients per frame (320).
    seed : int
        Mixed into the sign generator with the frame index; any int ≥ 0.
    """

    def __init__(self, n_bins: int, seed: int = 0, first_gain: float = FIRST_GAIN,
                 decay: float = DECAY, max_frames: int = MAX_FRAMES):
        self.n_bins = n_bins
        self.seed = int(seed)
        self.first_gain = first_gain
        self.decay = decay
        self.max_frames = max_frames
        self.last_magnitude = np.zeros(n_bins)
        self.history = np.zeros(HISTORY)
        self.n_lost = 0

    def output(self, samples: np.ndarray) -> None:
        """Record decoded output samples that became final (the pitch search reads them)."""
        self.history = np.concatenate([self.history, samples])[-HISTORY:]

    def good_frame(self, spectrum: np.ndarray) -> None:
        """Record a correctly decoded frame X̂ (320,)."""
        self.last_magnitude = np.abs(spectrum)
        self.n_lost = 0

    def conceal(self, frame_index: int) -> np.ndarray:
        """The replacement X̂ (320,) of lost frame ``frame_index``."""
        self.n_lost += 1
        if self.n_lost > self.max_frames:
            return np.zeros(self.n_bins)
        gain = self.first_gain * self.decay ** (self.n_lost - 1)
        lag, correlation = pitch_lag(self.history)
        if correlation >= VOICING_THRESHOLD:
            return self._extrapolated(lag, gain)
        magnitude = self.last_magnitude if self.n_lost == 1 else _smoothed(self.last_magnitude)
        signs = random_signs(_sign_seed(self.seed, frame_index), self.n_bins)
        return gain * magnitude * signs

    def _extrapolated(self, lag: int, gain: float) -> np.ndarray:
        """MDCT of the output extended by its last pitch period, fading from 1 to ``gain``."""
        n_new = mdct.BLOCK - mdct.HOP // 4            # samples after the last final one
        period = self.history[-lag:]
        extension = np.resize(period, n_new) * np.linspace(1.0, gain, n_new)
        block = np.concatenate([self.history[-(mdct.BLOCK - n_new):], extension])
        return mdct.mdct(block[None, :])[0]


def pitch_lag(history: np.ndarray):
    """The pitch lag: the shortest lag in PITCH_LAGS whose normalized correlation of the last
    20 ms of ``history`` with the 20 ms one lag earlier is within 5 % of the best (so that a
    multiple of the period is not taken for it); returns (lag, correlation in [-1, 1])."""
    lo, hi = PITCH_LAGS
    target = history[-mdct.HOP:]
    windows = sliding_window_view(history[-(mdct.HOP + hi):-lo], mdct.HOP)[::-1]  # lag lo … hi
    energy = np.einsum("ij,ij->i", windows, windows) * np.dot(target, target)
    correlation = windows @ target / np.sqrt(np.maximum(energy, 1e-30))
    peaks = np.flatnonzero((correlation[1:-1] >= correlation[:-2])
                           & (correlation[1:-1] >= correlation[2:])) + 1
    if peaks.size == 0:
        return lo, 0.0
    best = peaks[np.argmax(correlation[peaks] >= 0.95 * correlation[peaks].max())]
    return lo + int(best), float(correlation[best])


def _smoothed(magnitude: np.ndarray) -> np.ndarray:
    """RMS over ±SMOOTHING_BINS bins (edges use the bins that exist)."""
    width = 2 * SMOOTHING_BINS + 1
    energy = np.convolve(magnitude ** 2, np.ones(width), mode="same")
    count = np.convolve(np.ones_like(magnitude), np.ones(width), mode="same")
    return np.sqrt(energy / count)


def _sign_seed(seed: int, frame_index: int) -> int:
    """One 63-bit seed from (seed, frame index), distinct from the noise filler's seeds."""
    return ((seed * 0x9E3779B1 + frame_index * 0x85EBCA77 + 0x5EED) & ((1 << 63) - 1))
