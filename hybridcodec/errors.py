"""Exceptions raised by hybridcodec for problems the user can fix.

Every user-facing error is a :class:`HybridCodecError` whose message is one line,
so the command-line tool can print it as ``error: <message>`` without a traceback.
"""


class HybridCodecError(Exception):
    """Base class of every error hybridcodec reports to its user."""


class AudioInputError(HybridCodecError):
    """The input audio is missing, unreadable, empty or holds non-finite samples."""


class BitstreamError(HybridCodecError):
    """A ``.hcb`` bitstream is malformed, truncated or of an unknown version."""


class CorpusError(HybridCodecError):
    """The speech corpus cannot be fetched, converted or found."""


class ConfigError(HybridCodecError):
    """An unknown configuration, slot or component, or a parameter out of range."""


class ExternalToolError(HybridCodecError):
    """An external program (ffmpeg, opusenc, opusdec) is missing or failed."""
