"""Temporal noise shaping (the ``tns`` slot): prediction across frequency on the flattened w.

A TNS component filters the flattened spectrum w before the rate loop and codes its filter in
the frame (after the pitch field, before the spectrum); the decoder reads the filter and applies
the inverse to the decoded ŵ, which shapes the quantization noise in time like the signal's
temporal envelope (LC3, ETSI TS 103 634 sec. 3.3.8; EVS TS 26.445 sec. 5.3.3.2.2).

A component has ``max_bits`` (the most bits its field takes), ``put(coder, w)`` → (filtered w,
side), ``get(coder)`` → side, and ``synthesize(w_hat, side)`` → ŵ after the inverse filter.
"""
import numpy as np

from hybridcodec.dsp import tns

from ..core.registry import register


@register("tns", "none")
class NoTns:
    """No TNS: w is coded as it is and the frame has no TNS field."""

    max_bits = 0

    def put(self, coder, w: np.ndarray):
        return w, None

    def get(self, coder) -> None:
        return None

    def synthesize(self, w_hat: np.ndarray, side: None) -> np.ndarray:
        return w_hat


@register("tns", "lpc")
class LpcTns:
    """LC3's TNS (``dsp.tns``): one order-``max_order`` lattice filter across 600 Hz-8 kHz of w,
    switched on when its prediction gain exceeds ``gain_threshold`` (transient frames)."""

    max_bits = tns.MAX_FIELD_BITS

    def __init__(self, max_order: int = tns.MAX_ORDER,
                 gain_threshold: float = tns.GAIN_THRESHOLD):
        if not 1 <= max_order <= tns.MAX_ORDER:
            raise ValueError(f"max_order must be in 1 .. {tns.MAX_ORDER}, got {max_order}")
        self.max_order = int(max_order)
        self.gain_threshold = float(gain_threshold)

    def put(self, coder, w: np.ndarray):
        w, data = tns.analyze(w, self.max_order, self.gain_threshold)
        tns.put_data(coder, data)
        return w, data

    def get(self, coder) -> tns.TnsData:
        return tns.get_data(coder)

    def synthesize(self, w_hat: np.ndarray, side: tns.TnsData) -> np.ndarray:
        return tns.synthesize(w_hat, side)
