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
  harmonic spacing (0: none).
"""
from typing import Optional

import numpy as np

from ..core.registry import register


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
