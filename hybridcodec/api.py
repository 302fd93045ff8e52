"""Whole-signal conveniences around the streaming Encoder and Decoder.

Files and pipes (``encode_file`` / ``decode_file``, used by the CLI) live in
:mod:`hybridcodec.formats.streams` and are re-exported here.
"""
import io
import sys
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

from .formats.audio import resample, write_audio
from .core.codec import Decoder, Encoder
from .core.geometry import SAMPLE_RATE_HZ
from .formats.hcb import Header, check_original_rate, read_hcb, write_hcb
from .errors import AudioInputError, HybridCodecError
from .core.frame import FrameReport
from .formats import packets
from .formats.packets import (DEFAULT_CRC_BITS, STREAM_MAGIC, LossSimulator, PacketReader,
                              PacketWriter, join_packets, split_packets)
from .formats.streams import (MIN_DURATION_S, decode_file, decode_stream, encode_file,
                              raise_problems, stream_problems)

__all__ = ["encode", "encode_with_reports", "encode_packets", "split_packets", "join_packets",
           "drop_layers",
           "decode", "frame_reports",
           "read_frames", "read_header", "inspect",
           "read_bytes", "encode_file", "decode_file", "decode_stream", "resample",
           "write_audio"]


def _check_signal(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """``x`` as a float64 mono signal, or an AudioInputError saying what is wrong with it."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise AudioInputError(f"expected a mono or (samples, channels) signal, got shape {x.shape}")
    check_original_rate(sample_rate_hz, AudioInputError)
    if x.shape[0] == 0:
        raise AudioInputError("the signal is empty (0 samples)")
    if x.shape[0] < MIN_DURATION_S * sample_rate_hz:
        raise AudioInputError(f"the signal is too short: {x.shape[0]} samples at {sample_rate_hz} "
                              f"Hz; at least {MIN_DURATION_S * 1000:g} ms is needed")
    if not np.all(np.isfinite(x)):
        raise AudioInputError("the signal holds NaN or infinite samples")
    return x


def _coded_frames(encoder: Encoder, x: np.ndarray, sample_rate_hz: int):
    """(header, frame payloads) of a whole signal through ``encoder``."""
    x = _check_signal(x, sample_rate_hz)
    header = encoder.header(x.shape[0], int(sample_rate_hz))
    x16 = resample(x, sample_rate_hz, SAMPLE_RATE_HZ)
    return header, encoder.push(x16) + encoder.finish(header)


def encode_with_reports(x: np.ndarray, sample_rate_hz: int, bitrate_bps: int,
                        config: str = "default") -> Tuple[bytes, List[FrameReport]]:
    """The .hcb bytes of ``x`` and the encoder's per-frame reports."""
    encoder = Encoder(bitrate_bps, config)
    header, frames = _coded_frames(encoder, x, sample_rate_hz)
    return write_hcb(header, frames), encoder.reports


def encode(x: np.ndarray, sample_rate_hz: int, bitrate_bps: int, config: str = "default") -> bytes:
    """Encode a signal (float in [-1, 1], mono or (n, channels)) to the bytes of a .hcb file."""
    encoder = Encoder(bitrate_bps, config, keep_reports=False)
    return write_hcb(*_coded_frames(encoder, x, sample_rate_hz))


def encode_packets(x: np.ndarray, sample_rate_hz: int, bitrate_bps: int,
                   config: str = "default", crc_bits: int = DEFAULT_CRC_BITS,
                   redundancy_bytes: int = 0) -> bytes:
    """Encode a signal to a packet stream (``packets`` module): per-frame packets with a CRC of
    ``crc_bits``, each ending with a ``redundancy_bytes``-byte copy of the previous frame's low
    band (0: none; see ``hybridcodec.core.redundancy``)."""
    encoder = Encoder(bitrate_bps, config, keep_reports=False, redundancy_bytes=redundancy_bytes,
                      packets=True)
    header, frames = _coded_frames(encoder, x, sample_rate_hz)
    out = io.BytesIO()
    writer = PacketWriter(out, header, crc_bits)
    writer.write_frames(frames)
    writer.finish(header)
    return out.getvalue()


def decode(data: bytes, sample_rate_hz: Optional[int] = None, *, conceal: bool = False,
           loss: Optional[LossSimulator] = None, seed: int = 0,
           postfilter: Optional[str] = None,
           layers: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Decode .hcb bytes (or a packet stream) to (signal, rate): the original rate and length
    unless a rate is given.  This is :func:`decode_stream` over the bytes, the decoder of files
    and pipes too.

    ``conceal``: damaged or missing frames are concealed instead of raising BitstreamError
    (see :func:`decode_stream` for the report).  ``loss`` drops frames as a channel would;
    the decoder conceals them (``seed`` seeds the concealment).  ``postfilter`` names a
    post-filter to use instead of the configuration's (``hybridcodec components``).
    ``layers``: residual layers to decode (a layered stream; 0 = the base alone, None = all).
    """
    chunks: List[np.ndarray] = []
    summary = decode_stream(io.BytesIO(data), chunks.append, sample_rate_hz, conceal=conceal,
                            loss=loss, seed=seed, size=len(data), postfilter=postfilter,
                            layers=layers)
    return np.concatenate(chunks), summary.rate_hz


def drop_layers(data_or_packets: Union[bytes, List[bytes]],
                n_layers: int) -> Union[bytes, List[bytes]]:
    """A layered packet stream (bytes, or its packets from :func:`split_packets`) with every
    frame cut to the base and its first ``n_layers`` residual layers, as a relay would forward
    it; it decodes as ``decode(..., layers=n_layers)`` of the whole stream."""
    if isinstance(data_or_packets, (bytes, bytearray)):
        return join_packets(packets.drop_layers(split_packets(bytes(data_or_packets)), n_layers))
    return packets.drop_layers(list(data_or_packets), n_layers)


def frame_reports(data: bytes) -> List[FrameReport]:
    """Per-frame reports (bits by field, target index, ...) read back from .hcb bytes or a
    packet stream (the frames without their redundant copies)."""
    header, frames = read_frames(data)
    decoder = Decoder(header)
    decoder.push(frames)
    decoder.finish()
    return decoder.reports


def read_frames(data: bytes) -> Tuple[Header, List[bytes]]:
    """Header and frame payloads of .hcb bytes or a packet stream; BitstreamError on damage."""
    if data[:4] != STREAM_MAGIC:
        return read_hcb(data)
    reader = PacketReader(io.BytesIO(data), len(data))
    frames = list(reader.frames())
    raise_problems(reader)
    return reader.header, frames


def read_header(data: bytes) -> Header:
    """The header of .hcb bytes or a packet stream (after checking all of it)."""
    return read_frames(data)[0]


def inspect(data: bytes) -> Tuple[Header, List[str]]:
    """The header of .hcb bytes or a packet stream, and what is wrong with the rest (a damaged
    header is a BitstreamError)."""
    return stream_problems(io.BytesIO(data), len(data))


def read_bytes(path: Path) -> bytes:
    """The bytes of a file (``-``: standard input), or a HybridCodecError saying why it cannot
    be read."""
    try:
        return sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as error:
        raise HybridCodecError(f"cannot read {path}: {error.strerror or error}") from None
