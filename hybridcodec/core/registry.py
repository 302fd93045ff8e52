"""Slots and the component registry.

A codec is a set of named slots, each filled by a component chosen by name.  Components
register themselves with ``@register(slot, name)``; third-party packages add theirs through the
entry-point group ``hybridcodec.components`` (each entry point is imported once, and importing
it runs its ``@register`` decorators).
"""
from importlib import metadata
from typing import Callable, Dict, Tuple

from ..errors import ConfigError

SLOTS: Tuple[str, ...] = (
    "transform",
    "envelope",
    "perceptual",
    "source_model",
    "spectrum_quantizer",
    "postfilter",
)
"""The slots of the frame path, in the order the encoder visits them."""

ENTRY_POINT_GROUP = "hybridcodec.components"

_REGISTRY: Dict[str, Dict[str, Callable]] = {slot: {} for slot in SLOTS}
_entry_points_loaded = False


def register(slot: str, name: str) -> Callable:
    """Class decorator: make ``cls`` the component ``name`` of ``slot``."""
    if slot not in _REGISTRY:
        raise ConfigError(f"unknown slot {slot!r}; slots are: {', '.join(SLOTS)}")

    def decorator(factory: Callable) -> Callable:
        _REGISTRY[slot][name] = factory
        return factory

    return decorator


def _load_entry_points() -> None:
    """Import every module of the entry-point group once (third-party components)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()


def components(slot: str) -> Dict[str, Callable]:
    """The components registered for ``slot``, by name."""
    from .. import components as _builtin  # noqa: F401  (registers the built-in components)

    _load_entry_points()
    if slot not in _REGISTRY:
        raise ConfigError(f"unknown slot {slot!r}; slots are: {', '.join(SLOTS)}")
    return dict(_REGISTRY[slot])


def lookup(slot: str, name: str) -> Callable:
    """The factory registered as ``name`` in ``slot``, or a ConfigError listing the choices."""
    available = components(slot)
    if name not in available:
        raise ConfigError(
            f"no {slot} component named {name!r}; available: {', '.join(sorted(available))}")
    return available[name]
