"""Built-in components (DSP blocks wrapped for the slots) and the named configurations.

Importing this package registers them; ``hybridcodec.core.registry`` does it on first use.
"""
from . import envelope, perceptual, postfilter, source_model, spectrum_quantizer, transform
from . import configurations, learned_source_models, lsf_envelope

__all__ = ["envelope", "perceptual", "postfilter", "source_model", "spectrum_quantizer",
           "transform", "configurations", "learned_source_models", "lsf_envelope"]
