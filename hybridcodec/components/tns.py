"""Temporal noise shaping (the ``tns`` slot): prediction across frequency on the flattened w.

A TNS component filters the flattened spectrum w before the rate loop and codes its filter in
the frame (after the pitch field, before the spectrum); the decoder reads the filter and applies
the inverse to the decoded ŵ, which shapes the quantization noise in time like the signal's
temporal envelope (LC3, ETSI TS 103 634 sec. 3.3.8; EVS TS 26.445 sec. 5.3.3.2.2).

A component has ``max_bits`` (the most bits its field takes), ``put(coder, w)`` → (filtered w,
side), ``get(coder)`` → side, and ``synthesize(w_hat, side)`` → ŵ after the inverse filter.
"""
import numpy as np

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
