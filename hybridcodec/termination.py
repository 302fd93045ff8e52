"""SIGTERM as an orderly stop of the command line: outputs are abandoned, temporary files removed.

The handler raises :class:`Terminated`, so that the stack unwinds through the ``with`` blocks that
own temporary files, and it also remembers the signal. The memory matters because an exception
raised while C code calls back into Python (llvmlite's object-cache callback, while Numba compiles
a kernel) is printed as "Exception ignored" and dropped, and the command would carry on and write
its output. :func:`check` turns a remembered signal back into the exception at the points where an
output is committed.
"""
import signal
import sys
from contextlib import contextmanager

_received = False


class Terminated(Exception):
    """SIGTERM arrived."""


def _handler(signum, frame):
    global _received
    _received = True
    raise Terminated()


def received() -> bool:
    """Whether SIGTERM arrived since :func:`on_sigterm` was entered."""
    return _received


def check() -> None:
    """Raise :class:`Terminated` if SIGTERM arrived, even if its first raise was dropped."""
    if _received:
        raise Terminated()


@contextmanager
def on_sigterm():
    """Within the block, SIGTERM raises :class:`Terminated`, and a dropped Terminated prints no
    traceback; the previous signal handler and unraisable hook come back afterwards."""
    global _received
    _received = False
    previous_handler = signal.signal(signal.SIGTERM, _handler)
    previous_hook = sys.unraisablehook

    def quiet_hook(unraisable):
        if not isinstance(unraisable.exc_value, Terminated):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_hook
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        sys.unraisablehook = previous_hook
