"""Slots and the component registry.

A codec is a set of named slots, each filled by a component chosen by name.  Components
register themselves with ``@register(slot, name)``; third-party packages add theirs through the
entry-point group ``hybridcodec.components`` (each entry point is imported once, and importing
it runs its ``@register`` decorators).  The built-in components are listed in
``hybridcodec.components.BUILTIN`` and their modules are imported only when a component of
theirs is looked up (``lookup``) or all components are asked for (``components``).
"""
import importlib
from importlib import metadata
from typing import Callable, Dict, Tuple

from ..errors import ConfigError

SLOTS: Tuple[str, ...] = (
    "transform",
    "pitch_filter",
    "envelope",
    "perceptual",
    "source_model",
    "tns",
    "spectrum_quantizer",
    "residual",
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


def _check_slot(slot: str) -> None:
    if slot not in _REGISTRY:
        raise ConfigError(f"unknown slot {slot!r}; slots are: {', '.join(SLOTS)}")


def _import_builtin(module: str) -> None:
    """Import ``hybridcodec.components.<module>`` (its ``@register`` decorators run once)."""
    importlib.import_module(f"{__package__.rpartition('.')[0]}.components.{module}")


def component_names(slot: str) -> Tuple[str, ...]:
    """The names of the components of ``slot``, sorted, without importing built-in modules."""
    from ..components import BUILTIN

    _check_slot(slot)
    _load_entry_points()
    return tuple(sorted(set(BUILTIN[slot]) | set(_REGISTRY[slot])))


def components(slot: str) -> Dict[str, Callable]:
    """The components registered for ``slot``, by name (imports every built-in one)."""
    from ..components import BUILTIN

    _check_slot(slot)
    for module in sorted(set(BUILTIN[slot].values())):
        _import_builtin(module)
    _load_entry_points()
    return dict(_REGISTRY[slot])


def lookup(slot: str, name: str) -> Callable:
    """The factory registered as ``name`` in ``slot``, or a ConfigError listing the choices.

    Only the module of the component asked for is imported (``components.BUILTIN``).
    """
    from ..components import BUILTIN

    _check_slot(slot)
    if name not in _REGISTRY[slot] and name in BUILTIN[slot]:
        _import_builtin(BUILTIN[slot][name])
    _load_entry_points()
    if name not in _REGISTRY[slot]:
        raise ConfigError(f"no {slot} component named {name!r}; available: "
                          f"{', '.join(component_names(slot))}")
    return _REGISTRY[slot][name]
