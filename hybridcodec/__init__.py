"""hybridcodec: a TCX-style speech codec with slots for learned components."""

from . import _moved, kernel_cache

__version__ = "0.1.0"

_moved.install()
kernel_cache.refresh_installed()
