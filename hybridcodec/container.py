"""The .hcb file: header, fixed-budget frame payloads, CRC-32 trailer.

Layout (little-endian)::

    magic            4 bytes  b"HCB\\x1a"
    format_version   u8
    codec_rate_hz    u16
    original_rate_hz u32
    bitrate_bps      u16      6000 … 64000
    n_samples        u64      samples of the original signal, at original_rate_hz
    config_name      u8 length + ASCII
    n_digests        u8, then 8 bytes each: sha256 prefix of every parameter file used
    payload          the frames, back to back; frame t has exactly frame_budgets(...)[t] bytes
    crc32            u32 over everything before it

Frame sizes are not stored: both sides derive them from the header (:func:`frame_budgets`), so
each frame fits bitrate × 20 ms and the whole file fits bitrate × duration / 8 + 64 bytes.
"""
import struct
import zlib
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from .audio import resampled_length
from .config import MAX_BITRATE_BPS, MIN_BITRATE_BPS
from .errors import BitstreamError

MAGIC = b"HCB\x1a"
FORMAT_VERSION = 1
FILE_SLACK_BYTES = 64
"""A file may exceed bitrate × duration / 8 by at most this many bytes (header and CRC)."""
CRC_BYTES = 4
MAX_HEADER_BYTES = FILE_SLACK_BYTES - CRC_BYTES - 1
"""Header + CRC must leave at least one byte of the allowance, so that the frames a streaming
encoder emits before it knows the length are never squeezed (see :func:`frame_budgets`)."""
MIN_FRAME_BYTES = 8
"""Frames given fewer bytes than this (only the tail of a file can be) are not coded: 64 bits
always hold the coarsest envelope (~16 bits), the spectrum side fields (11) and the flush."""
_FIXED = struct.Struct("<4sBHIHQ")
_CRC = struct.Struct("<I")
assert _CRC.size == CRC_BYTES
DIGEST_BYTES = 8
FRAME_HOP = 320
CODEC_DELAY = 160


@dataclass(frozen=True)
class Header:
    """What a decoder must know before the first frame."""

    codec_rate_hz: int
    original_rate_hz: int
    bitrate_bps: int
    n_samples: int
    config_name: str
    parameter_digests: Tuple[bytes, ...] = ()
    format_version: int = FORMAT_VERSION

    def to_bytes(self) -> bytes:
        name = self.config_name.encode("ascii")
        fixed = _FIXED.pack(MAGIC, self.format_version, self.codec_rate_hz,
                            self.original_rate_hz, self.bitrate_bps, self.n_samples)
        digests = b"".join(self.parameter_digests)
        return (fixed + bytes([len(name)]) + name
                + bytes([len(self.parameter_digests)]) + digests)

    @property
    def size(self) -> int:
        return len(self.to_bytes())

    @property
    def n_codec_samples(self) -> int:
        """Samples at the codec rate (``audio.resampled_length`` of the original length)."""
        return resampled_length(self.n_samples, self.original_rate_hz, self.codec_rate_hz)

    @property
    def n_frames(self) -> int:
        """T = ceil((n - 160) / 320) + 1 frames of the low-overlap MDCT (dsp.mdct framing)."""
        n = self.n_codec_samples
        return max(0, -(-(n - CODEC_DELAY) // FRAME_HOP)) + 1


def frame_bytes(bitrate_bps: int) -> int:
    """Bytes of a full frame: floor(bitrate × 20 ms / 8)."""
    return bitrate_bps * FRAME_HOP // (8 * 16000)


def frame_budgets(header: Header) -> np.ndarray:
    """Bytes of every frame: full frames, the file's tail squeezed to the file-size bound.

    b_t = min(frame_bytes, P - Σ_{s<t} b_s) with P = floor(bitrate · duration / 8) + 64 minus
    header and CRC.  Only frames that need samples past the end of the input can be
    squeezed, so a streaming encoder knows every earlier budget before it knows the length.
    """
    full = frame_bytes(header.bitrate_bps)
    total = (header.bitrate_bps * header.n_samples // (8 * header.original_rate_hz)
             + FILE_SLACK_BYTES - header.size - _CRC.size)
    budgets = np.empty(header.n_frames, dtype=np.int64)
    for t in range(header.n_frames):
        budgets[t] = max(0, min(full, total))
        total -= budgets[t]
    return budgets


def write_hcb(header: Header, frames: List[bytes]) -> bytes:
    """Header + frames + CRC-32; each frame must already have its budget's length."""
    budgets = frame_budgets(header)
    if len(frames) != len(budgets) or any(len(f) != b for f, b in zip(frames, budgets)):
        raise ValueError("frame payloads do not match the frame budgets of the header")
    body = header.to_bytes() + b"".join(frames)
    return body + _CRC.pack(zlib.crc32(body))


def _read_header(data: bytes) -> Header:
    if len(data) < _FIXED.size + 2 + _CRC.size:
        raise BitstreamError(f"not a .hcb file: only {len(data)} bytes")
    magic, version, codec_rate, original_rate, bitrate, n_samples = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise BitstreamError("not a .hcb file: bad magic number")
    if version != FORMAT_VERSION:
        raise BitstreamError(
            f"unsupported .hcb format version {version} (this decoder reads {FORMAT_VERSION})")
    pos = _FIXED.size
    name_len = data[pos]
    name = data[pos + 1:pos + 1 + name_len]
    pos += 1 + name_len
    if pos >= len(data):
        raise BitstreamError("truncated .hcb header")
    n_digests = data[pos]
    digests = tuple(data[pos + 1 + i * DIGEST_BYTES:pos + 1 + (i + 1) * DIGEST_BYTES]
                    for i in range(n_digests))
    if pos + 1 + n_digests * DIGEST_BYTES > len(data):
        raise BitstreamError("truncated .hcb header")
    try:
        config_name = name.decode("ascii")
    except UnicodeDecodeError:
        raise BitstreamError("corrupted .hcb header: configuration name is not ASCII") from None
    if codec_rate != 16000 or not 1 <= original_rate <= 1_000_000:
        raise BitstreamError("corrupted .hcb header: impossible sample rates")
    if not MIN_BITRATE_BPS <= bitrate <= MAX_BITRATE_BPS or n_samples == 0:
        raise BitstreamError("corrupted .hcb header: impossible bitrate or length")
    header = Header(codec_rate, original_rate, bitrate, n_samples, config_name, digests, version)
    if header.n_frames > len(data) // frame_bytes(bitrate) + 2:
        raise BitstreamError("corrupted .hcb header: more frames announced than the file holds")
    return header


def read_hcb(data: bytes) -> Tuple[Header, List[bytes]]:
    """Parse and verify a .hcb file; BitstreamError says what is wrong with a bad one."""
    header = _read_header(data)
    if zlib.crc32(data[:-_CRC.size]) != _CRC.unpack_from(data, len(data) - _CRC.size)[0]:
        raise BitstreamError("the .hcb file is corrupted or truncated (CRC-32 mismatch)")
    budgets = frame_budgets(header)
    start = header.size
    if start + int(budgets.sum()) + _CRC.size != len(data):
        raise BitstreamError(
            f"the .hcb file has {len(data)} bytes but its header announces "
            f"{start + int(budgets.sum()) + _CRC.size}")
    offsets = start + np.concatenate([[0], np.cumsum(budgets)])
    frames = [data[offsets[t]:offsets[t + 1]] for t in range(len(budgets))]
    return header, frames
