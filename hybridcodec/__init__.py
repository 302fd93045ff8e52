"""hybridcodec: a TCX-style speech codec with slots for learned components."""

from . import _moved

__version__ = "0.1.0"

_moved.install()
