"""Built-in components (DSP blocks wrapped for the slots) and the table of named configurations.

Importing this package registers the components; ``hybridcodec.core.registry`` does it on first
use.  The configurations are one table (``configurations.CONFIGURATIONS``) that
``hybridcodec.core.config`` reads.
"""
from . import envelope, perceptual, postfilter, source_model, spectrum_quantizer, transform
from . import configurations, learned_source_models, lsf_envelope

__all__ = ["envelope", "perceptual", "postfilter", "source_model", "spectrum_quantizer",
           "transform", "configurations", "learned_source_models", "lsf_envelope"]
