"""AMR-WB (ITU-T G.722.2) at its nine modes, through Debian's shared libraries and ctypes.

The encoder is VisualOn's ``libvo-amrwbenc.so.0`` (Debian ``libvo-amrwbenc0``), the decoder
OpenCORE's ``libopencore-amrwb.so.0`` (Debian ``libopencore-amrwb0``); both export the
3GPP "interface" calls (``E_IF_init`` / ``E_IF_encode`` / ``E_IF_exit`` and
``D_IF_init`` / ``D_IF_decode`` / ``D_IF_exit``) and are called through :mod:`ctypes`,
so no compiler is needed. DTX is off.

Frames are 20 ms (320 samples at 16 kHz) in the RFC 4867 storage format: one
table-of-contents byte (frame type and quality bit), then the mode's speech bits padded to
whole bytes. The payload counted in ``payload_bitrate_bps`` is the speech bytes, without
the table-of-contents byte, so it is the mode's bit count rounded up to whole bytes (for
23.85 kbps: 477 bits in 60 bytes, 24.0 kbps). Enough frames are coded to cover the input
and the codec's delay (:data:`AMRWB_DELAY_SAMPLES`), and they all count.

The decoded signal lags the input by :data:`AMRWB_DELAY_SAMPLES`; :func:`amrwb_roundtrip`
drops that many samples at the start, so its output is aligned with its input.
"""
import ctypes
import ctypes.util
from functools import lru_cache

import numpy as np

from hybridcodec.errors import ExternalToolError
from hybridcodec.formats.audio import fit_length, resample

from ._external import missing_reason

AMRWB_SAMPLE_RATE_HZ = 16000
AMRWB_FRAME_SAMPLES = 320
AMRWB_MODES_BPS = (6600, 8850, 12650, 14250, 15850, 18250, 19850, 23050, 23850)
"""The nine speech modes, in bit/s; a mode's index is its frame type in the bitstream."""
AMRWB_DELAY_SAMPLES = 94
"""Lag of the decoded signal behind the input, at 16 kHz (5.875 ms: look-ahead and filters)."""
AMRWB_MAX_FRAME_BYTES = 64
"""Largest storage-format frame (61 bytes at 23.85 kbps), with room to spare."""
ENCODER_LIBRARY = ("libvo-amrwbenc.so.0", "vo-amrwbenc", "libvo-amrwbenc0")
DECODER_LIBRARY = ("libopencore-amrwb.so.0", "opencore-amrwb", "libopencore-amrwb0")


def amrwb_available():
    """Whether the AMR-WB encoder and decoder libraries load.

    Returns
    -------
    bool
    """
    return amrwb_missing() is None


def amrwb_missing():
    """Why AMR-WB cannot run, or None when it can.

    Returns
    -------
    str or None
        The library that does not load and the Debian package that installs it.
    """
    return missing_reason(_libraries)


def amrwb_mode(bitrate_bps):
    """The highest AMR-WB mode whose rate is not above ``bitrate_bps``.

    Parameters
    ----------
    bitrate_bps : int
        Requested bitrate, in bit/s.

    Returns
    -------
    int or None
        The mode's rate, in bit/s (one of :data:`AMRWB_MODES_BPS`); None below 6600.
    """
    fitting = [mode_bps for mode_bps in AMRWB_MODES_BPS if mode_bps <= bitrate_bps]
    return fitting[-1] if fitting else None


def amrwb_roundtrip(x, sample_rate_hz, bitrate_bps):
    """Encode and decode a signal with AMR-WB at one of its modes.

    Processing steps: resample to 16 kHz, round to 16-bit integers, pad with zeros to
    whole 20 ms frames covering the input and the codec delay, encode and decode frame
    by frame, drop the first :data:`AMRWB_DELAY_SAMPLES` samples, resample back to
    ``sample_rate_hz`` and trim to the input length.

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)
        Mono input signal in [-1, 1].
    sample_rate_hz : int
        Sampling rate of ``x``, in Hz.
    bitrate_bps : int
        A mode's rate, in bit/s: one of :data:`AMRWB_MODES_BPS`.

    Returns
    -------
    y : numpy.ndarray, shape (n,)
        Decoded signal, float64, aligned with ``x``.
    info : dict
        ``bitrate_bps`` (the mode), ``payload_bitrate_bps`` (speech bytes over the
        duration of ``x``), ``n_frames`` and ``frame_bytes`` (speech bytes per frame).

    Raises
    ------
    ExternalToolError
        If a library is missing.
    ValueError
        If ``bitrate_bps`` is not a mode's rate.
    """
    if bitrate_bps not in AMRWB_MODES_BPS:
        raise ValueError(f"AMR-WB has no {bitrate_bps} bps mode; modes: {AMRWB_MODES_BPS}")
    x16 = resample(np.asarray(x, dtype=np.float64), sample_rate_hz, AMRWB_SAMPLE_RATE_HZ)
    frames = _pcm_frames(x16, AMRWB_DELAY_SAMPLES)
    decoded, speech_bytes = _code_frames(frames, AMRWB_MODES_BPS.index(bitrate_bps))
    y16 = decoded.reshape(-1)[AMRWB_DELAY_SAMPLES:] / 32768.0
    y = fit_length(resample(y16, AMRWB_SAMPLE_RATE_HZ, sample_rate_hz), x.shape[0])
    duration_s = x.shape[0] / sample_rate_hz
    return y, {"bitrate_bps": int(bitrate_bps), "payload_bitrate_bps": 8 * sum(speech_bytes) / duration_s,
               "n_frames": len(speech_bytes), "frame_bytes": max(speech_bytes)}


def _pcm_frames(x16, delay_samples):
    """16-bit frames of 320 samples covering ``x16`` and ``delay_samples`` more, zero-padded."""
    n_frames = -(-(x16.shape[0] + delay_samples) // AMRWB_FRAME_SAMPLES)
    pcm = np.zeros(n_frames * AMRWB_FRAME_SAMPLES, dtype=np.int16)
    pcm[:x16.shape[0]] = np.clip(np.round(x16 * 32768.0), -32768, 32767)
    return pcm.reshape(n_frames, AMRWB_FRAME_SAMPLES)


def _code_frames(frames, mode_index):
    """Encode and decode int16 frames at ``mode_index``: (decoded frames, speech bytes per frame)."""
    encoder_lib, decoder_lib = _libraries()
    encoder, decoder = encoder_lib.E_IF_init(), decoder_lib.D_IF_init()
    decoded = np.zeros_like(frames)
    packet = (ctypes.c_ubyte * AMRWB_MAX_FRAME_BYTES)()
    speech_bytes = []
    try:
        for frame, out in zip(frames, decoded):
            n_bytes = encoder_lib.E_IF_encode(encoder, mode_index, _samples(frame), packet, 0)
            decoder_lib.D_IF_decode(decoder, packet, _samples(out), 0)
            speech_bytes.append(n_bytes - 1)  # without the table-of-contents byte
    finally:
        encoder_lib.E_IF_exit(encoder)
        decoder_lib.D_IF_exit(decoder)
    return decoded, speech_bytes


def _samples(frame):
    """A ctypes pointer to a C-contiguous int16 frame's samples."""
    return frame.ctypes.data_as(ctypes.POINTER(ctypes.c_short))


@lru_cache(maxsize=1)
def _libraries():
    """The encoder and decoder libraries, with their functions' signatures declared."""
    encoder, decoder = _load(*ENCODER_LIBRARY), _load(*DECODER_LIBRARY)
    state, pcm, packet = ctypes.c_void_p, ctypes.POINTER(ctypes.c_short), ctypes.POINTER(ctypes.c_ubyte)
    _declare(encoder.E_IF_init, state, [])
    _declare(encoder.E_IF_encode, ctypes.c_int, [state, ctypes.c_int, pcm, packet, ctypes.c_int])
    _declare(encoder.E_IF_exit, None, [state])
    _declare(decoder.D_IF_init, state, [])
    _declare(decoder.D_IF_decode, None, [state, packet, pcm, ctypes.c_int])
    _declare(decoder.D_IF_exit, None, [state])
    return encoder, decoder


def _declare(function, restype, argtypes):
    """Set a ctypes function's return and argument types."""
    function.restype, function.argtypes = restype, argtypes


def _load(soname, short_name, debian_package):
    """Load a shared library by its soname (or as ctypes.util finds it); ExternalToolError if absent."""
    for name in filter(None, (soname, ctypes.util.find_library(short_name))):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise ExternalToolError(f"{soname} not found; install it (Debian: {debian_package})")
