"""Post-filters (the ``postfilter`` slot): applied to the decoded 16 kHz signal."""
import numpy as np

from ..core.registry import register


@register("postfilter", "none")
class NoPostfilter:
    """The decoded signal as it is."""

    def process(self, samples: np.ndarray) -> np.ndarray:
        return samples
