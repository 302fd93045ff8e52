"""LC3 (Bluetooth LE Audio's codec) through Google's liblc3 command-line tools, ``elc3`` and ``dlc3``.

Debian's ``liblc3-tools`` installs both. Frames are 10 ms, LC3's main frame duration and
the one that reaches its lowest rate: a frame holds 20 to 400 bytes, so at 16 kHz LC3
runs at 16 to 320 kbps in steps of 0.8 kbps; :func:`lc3_rate` picks the highest rate not
above the one asked for, or none below 16 kbps (``elc3`` itself would silently raise such
a rate to 16 kbps).

``elc3`` writes liblc3's own file format: an 18-byte header, then each frame's length
(2 bytes, little-endian) and bytes. The payload counted in ``payload_bitrate_bps`` is the
frames' bytes, without the header and length fields. ``dlc3`` removes the codec delay and
writes as many samples as the input had, so the output is aligned with the input.
"""
import struct
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from hybridcodec.formats.audio import fit_length, resample

from ._external import missing_reason, require_tool, run_checked

LC3_SAMPLE_RATE_HZ = 16000
LC3_FRAME_DURATION_MS = 10
LC3_MIN_FRAME_BYTES = 20
LC3_MAX_FRAME_BYTES = 400
LC3_HEADER_BYTES = 18
LC3_TOOLS = ("elc3", "dlc3")
LC3_DEBIAN_PACKAGE = "liblc3-tools"


def lc3_missing():
    """Why LC3 cannot run, or None when it can.

    Returns
    -------
    str or None
    """
    return missing_reason(_require_tools)


def _require_tools():
    """ExternalToolError unless elc3 and dlc3 are on the PATH."""
    for tool in LC3_TOOLS:
        require_tool(tool, LC3_DEBIAN_PACKAGE)


def lc3_rate(bitrate_bps):
    """The highest LC3 rate (10 ms frames) not above ``bitrate_bps``.

    Parameters
    ----------
    bitrate_bps : int
        Requested bitrate, in bit/s.

    Returns
    -------
    int or None
        Whole bytes per frame × 8 / 10 ms, in bit/s; None below 16000 (20 bytes a frame).
    """
    frame_bytes = min(int(bitrate_bps * LC3_FRAME_DURATION_MS / 8000), LC3_MAX_FRAME_BYTES)
    return frame_bytes * 8000 // LC3_FRAME_DURATION_MS if frame_bytes >= LC3_MIN_FRAME_BYTES else None


def lc3_roundtrip(x, sample_rate_hz, bitrate_bps):
    """Encode and decode a signal with LC3 (``elc3`` and ``dlc3``, 10 ms frames).

    Processing steps: resample to 16 kHz, write a 16-bit WAV, encode with
    ``elc3 -m 10 -b <rate>``, count the frames' bytes, decode with ``dlc3``, resample back
    to ``sample_rate_hz`` and trim to the input length.

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)
        Mono input signal in [-1, 1].
    sample_rate_hz : int
        Sampling rate of ``x``, in Hz.
    bitrate_bps : int
        A rate :func:`lc3_rate` returns, in bit/s.

    Returns
    -------
    y : numpy.ndarray, shape (n,)
        Decoded signal, float64, aligned with ``x``.
    info : dict
        ``bitrate_bps``, ``payload_bitrate_bps`` (frame bytes over the duration of ``x``)
        and ``n_frames``.

    Raises
    ------
    ExternalToolError
        If ``elc3`` or ``dlc3`` is missing or fails.
    """
    if lc3_rate(bitrate_bps) != bitrate_bps:
        raise ValueError(f"LC3 does not run at {bitrate_bps} bps with {LC3_FRAME_DURATION_MS} ms frames")
    x16 = resample(np.asarray(x, dtype=np.float64), sample_rate_hz, LC3_SAMPLE_RATE_HZ)
    with tempfile.TemporaryDirectory(prefix="hybridcodec-lc3-") as tmp:
        wav_path, lc3_path, out_path = (Path(tmp) / name for name in ("in.wav", "x.lc3", "out.wav"))
        soundfile.write(str(wav_path), x16, LC3_SAMPLE_RATE_HZ, subtype="PCM_16")
        _lc3_tool("elc3", "-m", str(LC3_FRAME_DURATION_MS), "-b", str(int(bitrate_bps)), wav_path, lc3_path)
        frames = lc3_frames(lc3_path.read_bytes())
        _lc3_tool("dlc3", lc3_path, out_path)
        y16, _ = soundfile.read(str(out_path), dtype="float64")
    y = fit_length(resample(y16, LC3_SAMPLE_RATE_HZ, sample_rate_hz), x.shape[0])
    duration_s = x.shape[0] / sample_rate_hz
    return y, {"bitrate_bps": int(bitrate_bps), "n_frames": len(frames),
               "payload_bitrate_bps": 8 * sum(len(frame) for frame in frames) / duration_s}


def lc3_frames(lc3_bytes):
    """Split a liblc3 ``.lc3`` file into its frames.

    Parameters
    ----------
    lc3_bytes : bytes
        The whole file: a header whose size is its bytes 2-3, then frames, each
        preceded by its length (2 bytes, little-endian).

    Returns
    -------
    list[bytes]
        The frames, in order.
    """
    if len(lc3_bytes) < LC3_HEADER_BYTES or lc3_bytes[:2] != b"\x1c\xcc":
        raise ValueError("not a liblc3 .lc3 file (no 0xcc1c file identifier)")
    frames, pos = [], struct.unpack_from("<H", lc3_bytes, 2)[0]
    while pos + 2 <= len(lc3_bytes):
        n_bytes = struct.unpack_from("<H", lc3_bytes, pos)[0]
        frames.append(lc3_bytes[pos + 2:pos + 2 + n_bytes])
        pos += 2 + n_bytes
    return frames


def _lc3_tool(name, *args):
    """Run ``elc3`` or ``dlc3`` with ``args`` (paths allowed)."""
    require_tool(name, LC3_DEBIAN_PACKAGE)
    run_checked([name, *map(str, args)])
