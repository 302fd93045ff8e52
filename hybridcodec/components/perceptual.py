"""Perceptual models (the ``perceptual`` slot): weights W(f) of the bit allocation (TCX eq. 11)."""
import numpy as np

from hybridcodec.dsp.filters import PRE_EMPHASIS
from hybridcodec.dsp.perceptual import GAMMA1, low_band_emphasis, perceptual_weights

from ..core.registry import register


@register("perceptual", "evs-lpc")
class EvsLpcWeighting:
    """EVS-like weighting from the LPC fit of the quantized envelope (dsp.perceptual).

    ``gamma1`` is the weighting factor of A(z/γ1), ``beta`` the pre-emphasis whose inverse
    tilts the noise, ``strength`` scales log W (1 = EVS).  ``low_band_bits`` and
    ``low_band_bins`` are b and N of the low-band emphasis (W1) of dsp.perceptual; b = 0
    leaves it out.
    """

    def __init__(self, gamma1: float = GAMMA1, beta: float = PRE_EMPHASIS, strength: float = 1.0,
                 low_band_bits: float = 0.0, low_band_bins: int = 128):
        self.gamma1 = gamma1
        self.beta = beta
        self.strength = strength
        self.emphasis = (2.0 ** low_band_emphasis(low_band_bits, low_band_bins)
                         if low_band_bits else None)

    def weights(self, envelope: np.ndarray) -> np.ndarray:
        w = perceptual_weights(envelope, self.gamma1, self.beta) ** self.strength
        return w if self.emphasis is None else w * self.emphasis


@register("perceptual", "flat")
class FlatWeighting:
    """No perceptual shaping: W(f) = 1, so every bin gets the same accuracy (uniform SNR)."""

    def weights(self, envelope: np.ndarray) -> np.ndarray:
        return np.ones_like(envelope)
