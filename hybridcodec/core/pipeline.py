"""Build the components of a configuration, slot by slot, from the registry."""
import inspect
from functools import lru_cache
from typing import Any, Dict

from .config import CodecConfig, ComponentSpec, get_config
from ..errors import ConfigError
from .registry import SLOTS, lookup

BUILD_ORDER = ("source_model", "transform", "pitch_filter", "envelope", "perceptual", "tns",
               "spectrum_quantizer", "residual", "postfilter")
"""Slots in construction order: components may take earlier ones (e.g. ``source_model``)."""
assert set(BUILD_ORDER) == set(SLOTS)


def create(slot: str, spec: ComponentSpec, built: Dict[str, Any]) -> Any:
    """Instantiate ``spec`` for ``slot``, passing already-built components it asks for by name."""
    factory = lookup(slot, spec.name)
    accepted = inspect.signature(factory).parameters
    dependencies = {name: built[name] for name in built if name in accepted}
    try:
        return factory(**dependencies, **spec.kwargs())
    except TypeError as error:
        raise ConfigError(f"bad parameters for {slot} component {spec.name!r}: {error}") from None


class Pipeline:
    """The components of one configuration, one attribute per slot."""

    def __init__(self, config: CodecConfig):
        self.config = config
        built: Dict[str, Any] = {}
        for slot in BUILD_ORDER:
            built[slot] = create(slot, getattr(config, slot), built)
        for slot, component in built.items():
            setattr(self, slot, component)
        self._replacements: Dict[tuple, Any] = {}

    def component(self, slot: str, name: str) -> Any:
        """The ``name`` component for ``slot`` (default parameters) next to this pipeline's
        others: what a decoder uses to replace the configuration's post-filter.  Made on the
        first call and kept, like the pipeline's own: a component holds parameters (a learned
        post-filter's weights, read from disk), and each decoder's state lives in what its
        ``stream()`` returns."""
        key = (slot, name)
        if key not in self._replacements:
            built = {other: getattr(self, other)
                     for other in BUILD_ORDER[:BUILD_ORDER.index(slot)]}
            self._replacements[key] = create(slot, ComponentSpec.of(name), built)
        return self._replacements[key]

    def parameter_digests(self) -> tuple:
        """8-byte digests of every parameter file the components load (for the header)."""
        digests = []
        for slot in SLOTS:
            digests.extend(getattr(getattr(self, slot), "parameter_digests", lambda: ())())
        return tuple(digests)


@lru_cache(maxsize=16)
def get_pipeline(config_name: str) -> Pipeline:
    """The (cached) pipeline of a named configuration."""
    return Pipeline(get_config(config_name))
