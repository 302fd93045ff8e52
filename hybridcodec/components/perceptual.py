"""Perceptual models (the ``perceptual`` slot): weights W(f) of the bit allocation (TCX eq. 11)."""
import numpy as np

from hybridcodec.dsp.filters import PRE_EMPHASIS
from hybridcodec.dsp.perceptual import GAMMA1, perceptual_weights

from ..core.registry import register


@register("perceptual", "evs-lpc")
class EvsLpcWeighting:
    """EVS-like weighting from the LPC fit of the quantized envelope (dsp.perceptual).

    ``gamma1`` is the weighting factor of A(z/γ1), ``beta`` the pre-emphasis whose inverse
    tilts the noise, ``strength`` scales log W (1 = EVS).
    """

    def __init__(self, gamma1: float = GAMMA1, beta: float = PRE_EMPHASIS, strength: float = 1.0):
        self.gamma1 = gamma1
        self.beta = beta
        self.strength = strength

    def weights(self, envelope: np.ndarray) -> np.ndarray:
        return perceptual_weights(envelope, self.gamma1, self.beta) ** self.strength


@register("perceptual", "flat")
class FlatWeighting:
    """No perceptual shaping: W(f) = 1, so every bin gets the same accuracy (uniform SNR)."""

    def weights(self, envelope: np.ndarray) -> np.ndarray:
        return np.ones_like(envelope)
