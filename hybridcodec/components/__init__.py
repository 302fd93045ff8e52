"""Built-in components (DSP blocks wrapped for the slots) and the table of named configurations.

``BUILTIN`` is the one table of the built-in components: slot → component name → the module of
this package that defines (and ``@register``s) it.  Nothing here imports those modules:
``hybridcodec.core.registry`` imports a component's module when the component is looked up, so
``hybridcodec configs`` and ``hybridcodec components`` start without NumPy kernels, Numba or
SciPy.  ``tests/test_registry.py`` checks that the table and the decorators agree.  The
configurations are one table (``configurations.CONFIGURATIONS``) that
``hybridcodec.core.config`` reads.
"""
from typing import Dict

BUILTIN: Dict[str, Dict[str, str]] = {
    "transform": {"mdct": "transform", "folded-time": "transform"},
    "pitch_filter": {"none": "pitch_filter", "ltpf": "pitch_filter",
                     "celt-prefilter": "pitch_filter"},
    "envelope": {"cepstral": "envelope", "none": "envelope", "lsf-vq": "lsf_envelope", "lsf-softmax": "lsf_envelope"},
    "perceptual": {"evs-lpc": "perceptual", "flat": "perceptual"},
    "source_model": {"laplacian": "source_model", "logistic-mixture": "learned_source_models",
                     "gaussian": "learned_source_models", "gmm": "learned_source_models"},
    "tns": {"none": "tns", "lpc": "tns"},
    "spectrum_quantizer": {"uniform": "spectrum_quantizer", "psq": "psq", "e2e-ae": "e2e_ae"},
    "residual": {"none": "residual", "cmrl": "residual"},
    "postfilter": {"none": "postfilter", "classical": "postfilter", "lace": "lace"},
}
"""slot → name → module (under ``hybridcodec.components``) of every built-in component."""
