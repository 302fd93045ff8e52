"""Packet loss concealment: a spectrum for a frame that was lost or arrived damaged (decoder only).

Frames are coded independently (no inter-frame prediction), so a loss touches only the frame
itself and the 10 ms overlap it shares with each neighbour; the next good frame decodes exactly
as it would have without the loss, and the low-overlap window cross-fades into it.

Processing steps for lost frame t, the k-th in a row (k = 1, 2, ...):

1. magnitude: the last good frame's |X̂(f)| for k = 1; for k ≥ 2 its envelope (RMS over ±2
   bins), so that a longer gap does not keep repeating one frame's harmonics;
2. signs: randomized (noise fill), so the frame does not repeat the previous waveform;
3. gain: ``first_gain`` for k = 1, then × ``decay`` per further frame; silence after
   ``max_frames`` (a long gap fades out instead of droning).

Tuned on 16 training clips at 16.4 kbps with 5 % random loss (PESQ-WB): random signs (2.84)
beat repeating the last frame as it is (2.83), muting (2.60) and a pitch-periodic extension of
the decoded output (2.52 … 2.76); first_gain 0.8 … 1.0 and decay 0.4 … 0.8 differ by < 0.03.

Random signs come from ``dsp.quantization.random_signs`` seeded by (seed, t): the same stream
and the same losses decode to the same samples on every machine.
"""
import numpy as np

from dsp.quantization import random_signs

FIRST_GAIN = 0.8
"""Gain of the first concealed frame relative to the last good one (about -2 dB)."""
DECAY = 0.6
"""Gain factor per further concealed frame (about -4.4 dB per 20 ms)."""
MAX_FRAMES = 8
"""Concealed frames in a row after which the output is silence (160 ms)."""
SMOOTHING_BINS = 2
"""Half-width of the moving average that turns |X̂| into an envelope for k ≥ 2 (unvoiced)."""


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
        self.n_lost = 0

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
        magnitude = self.last_magnitude if self.n_lost == 1 else _smoothed(self.last_magnitude)
        signs = random_signs(_sign_seed(self.seed, frame_index), self.n_bins)
        return gain * magnitude * signs


def _smoothed(magnitude: np.ndarray) -> np.ndarray:
    """RMS over ±SMOOTHING_BINS bins (edges use the bins that exist)."""
    width = 2 * SMOOTHING_BINS + 1
    energy = np.convolve(magnitude ** 2, np.ones(width), mode="same")
    count = np.convolve(np.ones_like(magnitude), np.ones(width), mode="same")
    return np.sqrt(energy / count)


def _sign_seed(seed: int, frame_index: int) -> int:
    """One 63-bit seed from (seed, frame index), distinct from the noise filler's seeds."""
    return ((seed * 0x9E3779B1 + frame_index * 0x85EBCA77 + 0x5EED) & ((1 << 63) - 1))
