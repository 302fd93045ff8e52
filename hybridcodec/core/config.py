"""Typed codec configurations: which component fills each slot, with its parameters.

A configuration is a frozen base plus small overrides (``BASE.override(...)``).  The built-in
named configurations are one table, ``hybridcodec.components.configurations.CONFIGURATIONS``, which
declares the one that the alias ``default`` stands for; ``register_config`` adds a user's own.
``hybridcodec configs`` lists them all.  The configuration's name travels in the bitstream header, so the decoder rebuilds
the same pipeline.
"""
import hashlib
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Mapping, Tuple

from ..errors import ConfigError

MIN_BITRATE_BPS = 6000
MAX_BITRATE_BPS = 64000


def _frozen(params: Mapping[str, Any]) -> Tuple[Tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


@dataclass(frozen=True)
class ComponentSpec:
    """One slot's choice: a registered component ``name`` and its keyword ``params``."""

    name: str
    params: Tuple[Tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, **params: Any) -> "ComponentSpec":
        return cls(name, _frozen(params))

    def kwargs(self) -> Dict[str, Any]:
        return dict(self.params)

    def with_params(self, **params: Any) -> "ComponentSpec":
        merged = {**self.kwargs(), **params}
        return ComponentSpec(self.name, _frozen(merged))


@dataclass(frozen=True)
class CodecConfig:
    """A complete codec: one component per slot (see :data:`hybridcodec.core.registry.SLOTS`)."""

    name: str
    description: str
    transform: ComponentSpec = ComponentSpec.of("mdct")
    pitch_filter: ComponentSpec = ComponentSpec.of("none")
    envelope: ComponentSpec = ComponentSpec.of("cepstral")
    perceptual: ComponentSpec = ComponentSpec.of("evs-lpc")
    source_model: ComponentSpec = ComponentSpec.of("laplacian")
    tns: ComponentSpec = ComponentSpec.of("none")
    spectrum_quantizer: ComponentSpec = ComponentSpec.of("uniform")
    residual: ComponentSpec = ComponentSpec.of("none")
    postfilter: ComponentSpec = ComponentSpec.of("none")

    def override(self, name: str, description: str, **slots: ComponentSpec) -> "CodecConfig":
        """A new configuration: this one with some slots replaced."""
        return replace(self, name=name, description=description, **slots)

    def slots(self) -> Dict[str, ComponentSpec]:
        from .registry import SLOTS

        return {slot: getattr(self, slot) for slot in SLOTS}

    def digest(self) -> str:
        """12 hex digits of what the slots hold and of the format version, whatever the name:
        configurations with equal digests code alike (a change in decoded output bumps the
        format), so whatever is cached from a configuration's output keys on this."""
        from ..formats.hcb import FORMAT_VERSION      # hcb imports this module

        return hashlib.sha256(repr((FORMAT_VERSION, self.slots())).encode()).hexdigest()[:12]


_CONFIGS: Dict[str, CodecConfig] = {}
DEFAULT_ALIAS = "default"
_default_name = ""
_builtin_registered = False


CONFIG_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,18}")
"""Configuration names travel in the .hcb header as ASCII: at most 19 characters from lower-case
letters, digits, '.', '_', '-' (the header must stay within the file's 64-byte allowance)."""


def register_config(config: CodecConfig, default: bool = False) -> CodecConfig:
    """Add ``config`` to the named configurations (and make it the default if asked)."""
    global _default_name
    if not CONFIG_NAME_PATTERN.fullmatch(config.name) or config.name == DEFAULT_ALIAS:
        raise ConfigError(f"invalid configuration name {config.name!r}: use 1-19 characters "
                          "from a-z, 0-9, '.', '_', '-' (and not 'default')")
    _CONFIGS[config.name] = config
    if default:
        _default_name = config.name
    return config


def configs() -> Dict[str, CodecConfig]:
    """All named configurations, by name: the built-in table, then those registered since."""
    global _builtin_registered
    if not _builtin_registered:
        from ..components.configurations import CONFIGURATIONS, DEFAULT

        _builtin_registered = True
        for builtin in CONFIGURATIONS:
            register_config(builtin, default=builtin.name == DEFAULT and not _default_name)
    return dict(_CONFIGS)


def default_config_name() -> str:
    configs()
    return _default_name


def get_config(name: str) -> CodecConfig:
    """The configuration called ``name`` ('default' means the best one)."""
    available = configs()
    resolved = _default_name if name == DEFAULT_ALIAS else name
    if resolved not in available:
        raise ConfigError(
            f"unknown configuration {name!r}; available: "
            f"{', '.join([DEFAULT_ALIAS] + sorted(available))}")
    return available[resolved]


def check_bitrate(bitrate_bps: int) -> int:
    """``bitrate_bps`` if it lies in the supported range, else a ConfigError saying the range."""
    if not MIN_BITRATE_BPS <= bitrate_bps <= MAX_BITRATE_BPS:
        raise ConfigError(
            f"bitrate {bitrate_bps} bps is out of range: use {MIN_BITRATE_BPS}"
            f"-{MAX_BITRATE_BPS} bps (e.g. 16400 or 16.4k)")
    return int(bitrate_bps)


def parse_kilo(text: str, what: str, example: str) -> int:
    """'16400' or '16.4k' → 16400: a whole number, with an optional k for thousands."""
    value = text.strip().lower()
    scale = Decimal(1000) if value.endswith("k") else Decimal(1)
    try:
        number = Decimal(value[:-1] if value.endswith("k") else value) * scale
    except InvalidOperation:
        raise ConfigError(f"cannot read {what} {text!r}: write e.g. {example}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ConfigError(f"{what} {text!r} is not a whole number (e.g. {example})")
    return int(number)


def parse_bitrate(text: str) -> int:
    """'16400' or '16.4k' → 16400 (integer bits per second), range-checked."""
    return check_bitrate(parse_kilo(text, "bitrate", "16400 or 16.4k"))
