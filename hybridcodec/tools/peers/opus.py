"""Opus, a peer: libopus through ffmpeg for round trips, opus-tools for timing.

:func:`opus_roundtrip` encodes with ffmpeg's libopus in the configuration closest to a
speech call (application ``voip``, 20 ms frames, hard CBR) and decodes with ffmpeg,
whose Ogg demuxer honours the stream's pre-skip (the encoder look-ahead, 6.5 ms) and
the final granule position. The decoded signal is as long as the input and aligned
with it to within two samples at 16 kHz (a residual phase shift of libopus's internal
resampling, which PESQ's own time alignment absorbs); no per-clip alignment is
applied, so Opus is measured exactly as a receiver would play it. It is decoded at
48 kHz and resampled back to the input rate.

Bitrates are measured two ways, in :func:`opus_roundtrip`'s ``info``:
``payload_bitrate_bps`` counts only the Opus audio packets (what a call would send,
comparable to a codec's raw bitstream) and ``file_bitrate_bps`` the whole ``.opus``
file, Ogg pages and the OpusHead/OpusTags headers included.
"""
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from hybridcodec.formats.audio import fit_length, resample

from ._external import require_tool, run, run_checked

OPUS_FRAME_DURATION_MS = 20
OPUS_DECODE_RATE_HZ = 48000
OGG_PAGE_HEADER_BYTES = 27
OPUS_HEADER_PACKETS = 2
"""OpusHead and OpusTags: the packets of an Ogg Opus stream that carry no audio."""


def ffmpeg_available():
    """Whether ``ffmpeg`` is on the PATH and has the libopus encoder.

    Returns
    -------
    bool
    """
    return "libopus" in _ffmpeg_encoders()


def opus_tools_available():
    """Whether ``opusenc`` and ``opusdec`` (opus-tools) are on the PATH.

    Returns
    -------
    bool
    """
    return shutil.which("opusenc") is not None and shutil.which("opusdec") is not None


def _ffmpeg_encoders():
    """Text of ``ffmpeg -encoders``, or an empty string when ffmpeg is missing."""
    if shutil.which("ffmpeg") is None:
        return ""
    return run(["ffmpeg", "-hide_banner", "-encoders"]).stdout


def opus_roundtrip(x, sample_rate_hz, bitrate_bps):
    """Encode and decode a signal with Opus (libopus through ffmpeg).

    Processing steps: write ``x`` as a 32-bit float WAV, encode it with
    ``ffmpeg -c:a libopus -application voip -frame_duration 20 -vbr off -b:a <rate>``,
    count the audio packet bytes in the Ogg stream, decode with ffmpeg to 48 kHz,
    resample to ``sample_rate_hz`` and trim (or zero-pad) to the input length.

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)
        Mono input signal in [-1, 1].
    sample_rate_hz : int
        Sampling rate of ``x``, in Hz.
    bitrate_bps : int
        Target bitrate, in bit/s (libopus accepts 6000 to 510000).

    Returns
    -------
    y : numpy.ndarray, shape (n,)
        Decoded signal, float64, aligned with ``x``.
    info : dict
        ``bitrate_bps`` (requested), ``payload_bitrate_bps`` (audio packets only),
        ``file_bitrate_bps`` (whole Ogg file), ``n_packets`` and ``pre_skip_samples``
        (at 48 kHz), bitrates over the duration of ``x``.

    Raises
    ------
    ExternalToolError
        If ffmpeg is missing or fails.
    """
    x = np.asarray(x, dtype=np.float64)
    duration_s = x.shape[0] / sample_rate_hz
    with tempfile.TemporaryDirectory(prefix="hybridcodec-opus-") as tmp:
        wav_path, opus_path, out_path = (Path(tmp) / name for name in ("in.wav", "x.opus", "out.wav"))
        soundfile.write(str(wav_path), x.astype(np.float32), sample_rate_hz, subtype="FLOAT")
        _ffmpeg(["-i", str(wav_path), *_opus_encoder_args(bitrate_bps), str(opus_path)])
        ogg_bytes = opus_path.read_bytes()
        _ffmpeg(["-i", str(opus_path), "-ar", str(OPUS_DECODE_RATE_HZ), "-c:a", "pcm_f32le", str(out_path)])
        decoded, decoded_rate_hz = soundfile.read(str(out_path), dtype="float64", always_2d=True)
    y = fit_length(resample(decoded.mean(axis=1), decoded_rate_hz, sample_rate_hz), x.shape[0])
    return y, _opus_info(ogg_bytes, bitrate_bps, duration_s)


def _opus_encoder_args(bitrate_bps):
    """ffmpeg output options for libopus in voip mode, 20 ms frames, hard CBR."""
    return ["-c:a", "libopus", "-application", "voip", "-frame_duration", str(OPUS_FRAME_DURATION_MS),
            "-vbr", "off", "-b:a", str(int(bitrate_bps))]


def _opus_info(ogg_bytes, bitrate_bps, duration_s):
    """Bitrates and header facts of an Ogg Opus file, as returned by opus_roundtrip."""
    packets = ogg_packets(ogg_bytes)
    audio_packets = packets[OPUS_HEADER_PACKETS:]
    return {
        "bitrate_bps": int(bitrate_bps),
        "payload_bitrate_bps": sum(len(packet) for packet in audio_packets) * 8 / duration_s,
        "file_bitrate_bps": len(ogg_bytes) * 8 / duration_s,
        "n_packets": len(audio_packets),
        "pre_skip_samples": opus_pre_skip(packets[0]),
    }


def ogg_packets(ogg_bytes):
    """Split an Ogg stream (one logical stream) into its packets.

    Parameters
    ----------
    ogg_bytes : bytes
        The whole Ogg file.

    Returns
    -------
    list[bytes]
        The packets, in order; a packet ends at a lacing value below 255.
    """
    packets, current, pos = [], bytearray(), 0
    while pos < len(ogg_bytes):
        if ogg_bytes[pos:pos + 4] != b"OggS":
            raise ValueError(f"no Ogg page at byte {pos}")
        n_segments = ogg_bytes[pos + OGG_PAGE_HEADER_BYTES - 1]
        lacing = ogg_bytes[pos + OGG_PAGE_HEADER_BYTES:pos + OGG_PAGE_HEADER_BYTES + n_segments]
        pos += OGG_PAGE_HEADER_BYTES + n_segments
        for segment_bytes in lacing:
            current += ogg_bytes[pos:pos + segment_bytes]
            pos += segment_bytes
            if segment_bytes < 255:
                packets.append(bytes(current))
                current = bytearray()
    return packets


def opus_pre_skip(opus_head):
    """Pre-skip of an Ogg Opus stream, from its OpusHead packet (RFC 7845, section 5.1).

    Parameters
    ----------
    opus_head : bytes
        The first packet of the stream.

    Returns
    -------
    int
        Samples at 48 kHz the decoder discards at the start.
    """
    if not opus_head.startswith(b"OpusHead"):
        raise ValueError("the first Ogg packet is not an OpusHead header")
    return struct.unpack_from("<H", opus_head, 10)[0]


def opusenc_time(wav_path, opus_path, bitrate_bps, repeats=3):
    """Wall-clock time of ``opusenc`` on one core (best of ``repeats`` runs).

    Runs ``taskset -c 0 opusenc --hard-cbr --bitrate <kbps> --framesize 20``
    (without ``taskset`` where it is missing). The time includes starting the
    process, a few milliseconds.

    Parameters
    ----------
    wav_path : pathlib.Path
        Input WAV file.
    opus_path : pathlib.Path
        Output ``.opus`` file.
    bitrate_bps : int
        Bitrate, in bit/s.
    repeats : int, optional
        Number of runs; the fastest counts (default 3).

    Returns
    -------
    float
        Encoding time, in seconds.
    """
    require_tool("opusenc", "opus-tools")
    command = ["opusenc", "--quiet", "--hard-cbr", "--bitrate", f"{bitrate_bps / 1000:g}",
               "--framesize", str(OPUS_FRAME_DURATION_MS), str(wav_path), str(opus_path)]
    return min(_timed_run(_one_core(command)) for _ in range(repeats))


def opusdec_time(opus_path, wav_path, sample_rate_hz=16000, repeats=3):
    """Wall-clock time of ``opusdec`` on one core (best of ``repeats`` runs).

    Runs ``taskset -c 0 opusdec --rate <rate>`` (without ``taskset`` where it is
    missing); the time includes starting the process.

    Parameters
    ----------
    opus_path : pathlib.Path
        Input ``.opus`` file.
    wav_path : pathlib.Path
        Output WAV file.
    sample_rate_hz : int, optional
        Output sampling rate, in Hz (default 16000).
    repeats : int, optional
        Number of runs; the fastest counts (default 3).

    Returns
    -------
    float
        Decoding time, in seconds.
    """
    require_tool("opusdec", "opus-tools")
    command = ["opusdec", "--quiet", "--rate", str(int(sample_rate_hz)), str(opus_path), str(wav_path)]
    return min(_timed_run(_one_core(command)) for _ in range(repeats))


def _one_core(command):
    """Prefix ``command`` with ``taskset -c 0`` when taskset exists."""
    return ["taskset", "-c", "0", *command] if shutil.which("taskset") else command


def _timed_run(command):
    """Run a command and return its wall-clock time, in seconds."""
    start_s = time.perf_counter()
    run_checked(command)
    return time.perf_counter() - start_s


def _ffmpeg(args):
    """Run ffmpeg quietly with ``args``, overwriting outputs."""
    require_tool("ffmpeg", "ffmpeg")
    run_checked(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args])
