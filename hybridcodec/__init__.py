"""hybridcodec: a TCX-style speech codec with slots for learned components."""

__version__ = "0.1.0"
