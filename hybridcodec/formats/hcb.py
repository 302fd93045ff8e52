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
    n_layers         u8       residual layers of a layered configuration (0: none), then, if
                              any, base_header u8 (bytes of the core's own header at the base
                              rate) and one u8 per layer: its bytes per full frame
    header_check     u8       CRC-8 (:func:`crc8`) of the header bytes before it, so that a
                              damaged header is refused even by a concealing decoder
    payload          the frames, back to back; frame t has exactly frame_budgets(...)[t] bytes
    n_samples        u64, only in a *streamed* file (header n_samples = 0, see below)
    crc32            u32 over everything before it

Layered files (``hybridcodec.core.codec``, the ``residual`` slot): each frame is the base
payload followed by one payload per residual layer.  The base rate is the bitrate less the
layers' (400 bps per byte per frame); the base's budgets are exactly those of the core's own file
at the base rate (the same pool rule with the core's header size), so the base decodes as the
core alone.  The layers share what the file's own pool leaves after the base, frame by frame,
in layer order (:func:`iter_layered_budgets`); such a file can pass the bound below by a few
bytes (the core's tail keeps its budgets and the frames streamed keep their layers).

Frame sizes are not stored: both sides derive them from the header (:func:`frame_budgets`), so
each frame fits bitrate × 20 ms and the whole file fits bitrate × duration / 8 + 72 bytes.

Streamed variant (an encoder that does not know the length up front, e.g. a WAV from a pipe
that does not say): the header's n_samples field is 0 and the real count follows the frames, just
before the CRC.  The budgets are those of a file of that length whose trailer is 12 bytes instead
of 4, so the 64-byte allowance still holds.  Only the last two frames (those that need samples
past the end) can be shorter than a full frame, so a reader of a pipe decodes every frame that
lies more than two full frames + 12 bytes before the end of what it has read, and learns the
budgets of the rest from the trailer (:class:`HcbStreamReader`).
"""
import io
import itertools
import struct
import zlib
from dataclasses import dataclass, replace
from functools import cached_property
from typing import BinaryIO, Iterator, List, Optional, Tuple

import numpy as np

from .audio import resampled_length
from ..core.config import MAX_BITRATE_BPS, MIN_BITRATE_BPS
from ..core.geometry import DELAY_SAMPLES, HOP, SAMPLE_RATE_HZ, num_frames
from ..errors import BitstreamError, ConfigError

MAGIC = b"HCB\x1a"
FORMAT_VERSION = 11
"""2: packet streams name their redundancy (bytes per packet copying the previous frame).
3: the header ends with a CRC-8; frame packets carry a sequence number; the parameters are
re-fitted on the many-speaker corpus (every configuration decodes differently).
4: frames may carry a pitch field (lag, gain) and a TNS field after the envelope, and the
spectrum coder's tables may follow the coded lag (harmonic model); the default configuration
uses all three.
5: the header names residual layers (their bytes per frame, the core's header size); every header
has one byte more (n_layers), which moves the budgets of a file's last frames by up to a byte.
6: the configurations with the pitch tools (the default, tcx-dsp) fill zeroed bins with a
noise-fill gain of 0.6 instead of 0.7, so their files decode differently.
7: the speech configurations (the default, tcx-dsp and those built on them) lean the perceptual
weights towards the low band (W1 of dsp.perceptual), so their bit allocation differs.
8: tcx-dsp weights with γ1 = 0.92 and 4.5 bits of low-band emphasis (0.1 and 1.5
before), so its bit allocation differs.
9: the default's core, tcx-mixture-pitch, and tcx-residual weight as tcx-dsp does (γ1 = 0.92,
b = 4.5), and lace and the residual layers are retrained on that core's output.
10: the rate loop fills the frame to less than a byte (``spectrum_coder._code_best_index``); the
fields read as before, but lace and the residual layers are retrained on the new output.
11: the speech configurations predict the cepstral envelope from the frame before (E2 of
``dsp.envelope``): their envelope field starts with a flag (predicted or intra), and lace and
the residual layers are retrained on the new output.  A file may exceed bitrate × duration / 8
by 72 bytes instead of 64, so that the default's streamed header holds a third parameter
digest (the prediction's)."""
FILE_SLACK_BYTES = 72
"""A file may exceed bitrate × duration / 8 by at most this many bytes (header and CRC)."""
CRC_BYTES = 4
LENGTH_TRAILER_BYTES = 8
"""The u64 sample count a streamed file carries after its frames."""
MAX_HEADER_BYTES = FILE_SLACK_BYTES - CRC_BYTES - 1
"""Header + CRC must leave at least one byte of the allowance, so that the frames a streaming
encoder emits before it knows the length are never squeezed (see :func:`frame_budgets`)."""
MIN_FRAME_BYTES = 8
"""Frames given fewer bytes than this (only the tail of a file can be) are not coded: 64 bits
always hold the coarsest envelope (~16 bits), the spectrum side fields (11) and the flush."""
_FIXED = struct.Struct("<4sBHIHQ")
_CRC = struct.Struct("<I")
assert _CRC.size == CRC_BYTES
_COUNT = struct.Struct("<Q")
DIGEST_BYTES = 8
MAX_STREAMED_HEADER_BYTES = MAX_HEADER_BYTES - LENGTH_TRAILER_BYTES
"""Largest header of a streamed file (its trailer holds the length too, see the module doc)."""
MIN_ORIGINAL_RATE_HZ = 1_000
MAX_ORIGINAL_RATE_HZ = 384_000
"""Lowest and highest original sample rate a header may name (bounds what a decoder allocates
per byte, and the resampling ratio)."""


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
    streamed: bool = False
    """The length is written after the frames (the header's n_samples field holds 0)."""
    redundancy_bytes: int = 0
    """Packet streams only: bytes at the end of each full payload that copy the previous
    frame's low band (``hybridcodec.core.redundancy``); .hcb files have none."""
    layer_bytes: Tuple[int, ...] = ()
    """Layered configurations: bytes per full frame of each residual layer, in order."""
    base_header_bytes: int = 0
    """Layered configurations: bytes of the core's own header at the base rate, which fixes the
    base's frame budgets (those of the core's file at that rate, tail included)."""

    def to_bytes(self, magic: bytes = MAGIC) -> bytes:
        name = self.config_name.encode("ascii")
        fixed = _FIXED.pack(magic, self.format_version, self.codec_rate_hz,
                            self.original_rate_hz, self.bitrate_bps,
                            0 if self.streamed else self.n_samples)
        digests = b"".join(self.parameter_digests)
        body = (fixed + bytes([len(name)]) + name + bytes([len(self.parameter_digests)]) + digests
                + self._layer_field())
        return body + bytes([crc8(body)])

    def _layer_field(self) -> bytes:
        if not self.layer_bytes:
            return bytes([0])
        return bytes([len(self.layer_bytes), self.base_header_bytes, *self.layer_bytes])

    @property
    def base_bitrate_bps(self) -> int:
        """The rate of the base payloads: the bitrate less the residual layers'."""
        return rate_without_layers(self.bitrate_bps, self.layer_bytes)

    @property
    def size(self) -> int:
        return len(self.to_bytes())

    @property
    def trailer_size(self) -> int:
        """Bytes after the frames: the CRC-32, preceded by the length in a streamed file."""
        return CRC_BYTES + (LENGTH_TRAILER_BYTES if self.streamed else 0)

    @cached_property
    def n_codec_samples(self) -> int:
        """Samples at the codec rate (``audio.resampled_length`` of the original length; cached,
        the stream decoder asks for it at every frame)."""
        return resampled_length(self.n_samples, self.original_rate_hz, self.codec_rate_hz)

    @cached_property
    def n_frames(self) -> int:
        """Frames of the low-overlap MDCT that code the signal (``geometry.num_frames``)."""
        return max(1, num_frames(self.n_codec_samples))


def _crc8_table() -> List[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


_CRC8_TABLE = _crc8_table()


def crc8(data: bytes) -> int:
    """CRC-8 (poly x^8 + x^2 + x + 1, init 0, no reflection; "CRC-8/SMBUS")."""
    crc = 0
    for byte in data:
        crc = _CRC8_TABLE[crc ^ byte]
    return crc


def check_original_rate(rate_hz: int, error=ConfigError) -> int:
    """``rate_hz`` if a header can name it as the original rate, else ``error``."""
    if not MIN_ORIGINAL_RATE_HZ <= rate_hz <= MAX_ORIGINAL_RATE_HZ:
        raise error(f"invalid sample rate {rate_hz} Hz: the .hcb format holds "
                    f"{MIN_ORIGINAL_RATE_HZ} ... {MAX_ORIGINAL_RATE_HZ} Hz")
    return int(rate_hz)


LAYER_RATE_BPS_PER_BYTE = 8 * SAMPLE_RATE_HZ // HOP
"""A byte per 20 ms frame is 400 bps."""
MAX_LAYERS = 8


def frame_bytes(bitrate_bps: int) -> int:
    """Bytes of a full frame: floor(bitrate × 20 ms / 8)."""
    return bitrate_bps * HOP // (8 * SAMPLE_RATE_HZ)


MAX_REDUNDANCY_BYTES = 16


def check_redundancy(redundancy_bytes: int, bitrate_bps: int, error=ConfigError) -> int:
    """``redundancy_bytes`` if it is 0 … min(16, a quarter of a frame), else ``error``."""
    limit = min(MAX_REDUNDANCY_BYTES, frame_bytes(bitrate_bps) // 4)
    if not 0 <= redundancy_bytes <= limit:
        raise error(f"{redundancy_bytes} redundancy bytes per packet are out of range at "
                             f"{bitrate_bps} bps: use 0 ... {limit} (a quarter of a frame at "
                             f"most)")
    return int(redundancy_bytes)


def frame_budgets(header: Header) -> np.ndarray:
    """Bytes of every frame: full frames, the file's tail squeezed to the file-size bound.

    b_t = min(frame_bytes, P - Σ_{s<t} b_s) with P = floor(bitrate · duration / 8) + 72 minus
    header and CRC.  Only frames that need samples past the end of the input can be
    squeezed, so a streaming encoder knows every earlier budget before it knows the length.
    """
    return np.fromiter(iter_budgets(header), dtype=np.int64, count=header.n_frames)


def iter_budgets(header: Header) -> Iterator[int]:
    """The budgets of :func:`frame_budgets` one at a time (no array sized by the header)."""
    return (sum(row) for row in iter_layered_budgets(header))


def iter_layered_budgets(header: Header) -> Iterator[Tuple[int, ...]]:
    """(base, layer 1, …) bytes of every frame, one frame at a time.

    The base gets b_t = min(frame_bytes(base rate), P_base − Σ_{s<t} b_s), P_base as in
    :func:`frame_budgets` with the core's header size (``base_header_bytes``; the header's own
    size when there are no layers), so its budgets are the core's file's.  Layer k then gets
    min(its bytes, what the file's pool P of :func:`frame_budgets` has left).  As P holds every
    full frame that does not need samples past the end, only those can be short (a streaming
    encoder has sent the others).  The core's tail keeps its own budgets, so a layered file can
    pass bitrate × duration / 8 + 72 by a few bytes: at most its header's excess over the
    core's plus one layer's bytes.
    """
    base_left = _pool(header, header.base_bitrate_bps,
                      header.base_header_bytes if header.layer_bytes else header.size)
    left = _pool(header, header.bitrate_bps, header.size)
    full = full_budgets(header)[0]
    for _ in range(header.n_frames):
        row = [max(0, min(full, base_left))]
        base_left -= row[0]
        left -= row[0]
        for size in header.layer_bytes:
            row.append(max(0, min(size, left)))
            left -= row[-1]
        yield tuple(row)


def rate_without_layers(bitrate_bps: int, layer_bytes: Tuple[int, ...]) -> int:
    """``bitrate_bps`` less the rate of residual layers of ``layer_bytes`` bytes per frame."""
    return bitrate_bps - LAYER_RATE_BPS_PER_BYTE * sum(layer_bytes)


def full_budgets(header: Header) -> Tuple[int, ...]:
    """(base, layer 1, …) bytes of a full frame (the base alone without layers)."""
    return (frame_bytes(header.base_bitrate_bps),) + header.layer_bytes


def _pool(header: Header, bitrate_bps: int, header_bytes: int) -> int:
    """P = floor(bitrate · duration / 8) + 72 − header − trailer: the bytes of all frames."""
    return (bitrate_bps * header.n_samples // (8 * header.original_rate_hz)
            + FILE_SLACK_BYTES - header_bytes - header.trailer_size)


def write_hcb(header: Header, frames: List[bytes]) -> bytes:
    """Header + frames + CRC-32; each frame must already have its budget's length."""
    if header.redundancy_bytes:
        raise ValueError("redundant copies belong to packet streams, not .hcb files")
    budgets = frame_budgets(header)
    if len(frames) != len(budgets) or any(len(f) != b for f, b in zip(frames, budgets)):
        raise ValueError("frame payloads do not match the frame budgets of the header")
    body = header.to_bytes() + b"".join(frames)
    if header.streamed:
        body += _COUNT.pack(header.n_samples)
    return body + _CRC.pack(zlib.crc32(body))


def parse_header(stream: BinaryIO, magic: bytes = MAGIC, what: str = ".hcb") -> Header:
    """Read and check a header from ``stream``; a streamed header gets ``n_samples`` = 0.

    Reads only the header's own bytes (at most 22 + 256 + 256 × 8 + 257), so it serves files in
    memory and pipes alike; every malformed field is a BitstreamError naming it.
    """
    fixed = stream.read(_FIXED.size + 1)
    if len(fixed) < _FIXED.size + 1:
        raise BitstreamError(f"not a {what} file: only {len(fixed)} bytes")
    found, version, codec_rate, original_rate, bitrate, n_samples = _FIXED.unpack_from(fixed)
    if found != magic:
        raise BitstreamError(f"not a {what} file: bad magic number")
    if version != FORMAT_VERSION:
        raise BitstreamError(f"unsupported {what} format version {version} "
                             f"(this decoder reads {FORMAT_VERSION})")
    name = stream.read(fixed[-1])
    count = stream.read(1)
    if len(name) < fixed[-1] or not count:
        raise BitstreamError(f"truncated {what} header")
    digests = stream.read(count[0] * DIGEST_BYTES)
    layers = stream.read(1)
    if len(digests) < count[0] * DIGEST_BYTES or not layers:
        raise BitstreamError(f"truncated {what} header")
    layers += stream.read(layers[0] + 1 if layers[0] else 0)
    check = stream.read(1)
    if len(layers) < (layers[0] + 2 if layers[0] else 1) or not check:
        raise BitstreamError(f"truncated {what} header")
    if crc8(fixed + name + count + digests + layers) != check[0]:
        raise BitstreamError(f"the {what} header is damaged (its CRC-8 fails); a damaged header "
                             "cannot be concealed")
    try:
        config_name = name.decode("ascii")
    except UnicodeDecodeError:
        raise BitstreamError(f"corrupted {what} header: configuration name is not ASCII") from None
    if codec_rate != SAMPLE_RATE_HZ:
        raise BitstreamError(f"corrupted {what} header: impossible codec sample rate "
                             f"{codec_rate} Hz")
    check_original_rate(original_rate, BitstreamError)
    if not MIN_BITRATE_BPS <= bitrate <= MAX_BITRATE_BPS:
        raise BitstreamError(f"corrupted {what} header: impossible bitrate or length")
    header = Header(codec_rate, original_rate, bitrate, n_samples, config_name,
                    tuple(digests[i:i + DIGEST_BYTES]
                          for i in range(0, len(digests), DIGEST_BYTES)),
                    version, streamed=n_samples == 0, layer_bytes=tuple(layers[2:]),
                    base_header_bytes=layers[1] if layers[0] else 0)
    _check_layers(header, what)
    return header


def _check_layers(header: Header, what: str) -> None:
    """BitstreamError unless the layer field can be right: at most MAX_LAYERS layers of 1 byte
    or more, a base rate in the codec's range and a core header that fits the allowance."""
    if header.layer_bytes and (len(header.layer_bytes) > MAX_LAYERS
                               or min(header.layer_bytes) < 1
                               or header.base_bitrate_bps < MIN_BITRATE_BPS
                               or header.base_header_bytes > MAX_HEADER_BYTES):
        raise BitstreamError(f"corrupted {what} header: impossible residual layers "
                             f"{list(header.layer_bytes)} (base header "
                             f"{header.base_header_bytes} bytes)")


def with_length(header: Header, n_samples: int, data_bytes: Optional[int] = None,
                what: str = ".hcb") -> Header:
    """``header`` with its length set (a streamed file's trailer), checked for plausibility.

    ``data_bytes``, when the size of the whole input is known, bounds the frames announced: a
    corrupted length must never make a decoder allocate or loop for frames that are not there.
    """
    if n_samples == 0:
        raise BitstreamError(f"corrupted {what} file: impossible bitrate or length (0 samples)")
    header = replace(header, n_samples=n_samples)
    most = None if data_bytes is None else data_bytes // frame_bytes(header.base_bitrate_bps) + 2
    if most is not None and header.n_frames > most:
        raise BitstreamError(f"the {what} input is cut short: {header.n_frames} frames are "
                             f"announced, its {data_bytes} bytes hold at most {most}")
    return header


def cut_to_frames(header: Header, n_frames: int, what: str = ".hcb") -> Header:
    """``header`` with the length of its first ``n_frames`` frames: a cut input is decoded as
    far as it goes (never padded to a length that may be damaged)."""
    n_codec = max(1, HOP * n_frames - DELAY_SAMPLES)
    rate = header.original_rate_hz
    n_samples = max(1, -(-n_codec * rate // SAMPLE_RATE_HZ))
    if not header.streamed:   # all frames came but not the end: the length stands
        n_samples = min(n_samples, header.n_samples)
    return with_length(header, n_samples, what=what)


def _read_header(data: bytes) -> Header:
    if len(data) < _FIXED.size + 2 + _CRC.size:
        raise BitstreamError(f"not a .hcb file: only {len(data)} bytes")
    header = parse_header(io.BytesIO(data))
    n_samples = header.n_samples
    if header.streamed:
        if len(data) < header.size + header.trailer_size:
            raise BitstreamError("truncated .hcb file: no room for the length trailer")
        n_samples = _COUNT.unpack_from(data, len(data) - header.trailer_size)[0]
    return with_length(header, n_samples, len(data))


def read_hcb(data: bytes) -> Tuple[Header, List[bytes]]:
    """Parse and verify a .hcb file; BitstreamError says what is wrong with a bad one."""
    header = _read_header(data)
    if zlib.crc32(data[:-_CRC.size]) != _CRC.unpack_from(data, len(data) - _CRC.size)[0]:
        raise BitstreamError("the .hcb file is corrupted or truncated (CRC-32 mismatch)")
    budgets = frame_budgets(header)
    start = header.size
    expected = start + int(budgets.sum()) + header.trailer_size
    if expected != len(data):
        raise BitstreamError(
            f"the .hcb file has {len(data)} bytes but its header announces {expected}")
    offsets = start + np.concatenate([[0], np.cumsum(budgets)])
    frames = [data[offsets[t]:offsets[t + 1]] for t in range(len(budgets))]
    return header, frames


class HcbWriter:
    """Writes a .hcb file to a binary file object as the frames come (CRC-32 kept running)."""

    def __init__(self, stream: BinaryIO, header: Header):
        self.stream = stream
        self.crc = 0
        self._write(header.to_bytes())

    def _write(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.stream.write(data)

    def write_frames(self, payloads: List[bytes]) -> None:
        self._write(b"".join(payloads))

    def finish(self, header: Header) -> None:
        """The trailer: the length (streamed header) and the CRC-32."""
        if header.streamed:
            self._write(_COUNT.pack(header.n_samples))
        self.stream.write(_CRC.pack(self.crc))


class HcbStreamReader:
    """Reads a .hcb file frame by frame from a binary stream, in constant memory.

    ``size`` (bytes of the whole input, when it is a file) lets the reader check the header's
    length against the file before any frame (:meth:`size_problem`) and read a streamed file's
    trailer up front.  From a pipe (``size`` None) it reads a streamed file with a look-ahead of
    two full frames + 12 bytes (module doc).  A cut file, from a file or a pipe alike, ends
    where its bytes end: ``header`` takes the length of the frames it holds.

    :meth:`frames` never raises; what is wrong lands in ``problems`` (CRC mismatch, cut file,
    extra bytes): a strict caller raises the first one, a concealing one reports them.
    """

    def __init__(self, stream: BinaryIO, size: Optional[int] = None):
        self.stream = stream
        self.size = size
        if size is not None and size < _FIXED.size + 2 + _CRC.size:
            raise BitstreamError(f"not a .hcb file: only {size} bytes")
        header = parse_header(stream)
        self.header_bytes = header.to_bytes()
        self.length_known = not header.streamed
        if header.streamed and size is not None:
            header = self._length_from_trailer(header)
        self.header = header
        self.problems: List[str] = []
        self.damaged: List[int] = []    # a .hcb file has no per-frame check to fail
        self.crc = zlib.crc32(self.header_bytes)

    def _length_from_trailer(self, header: Header) -> Header:
        """The length a streamed file of known size states in its trailer.  A trailer that
        cannot be right (a cut file) leaves it unknown: the file is read as from a pipe."""
        if self.size < header.size + header.trailer_size:
            return header
        position = self.stream.tell()
        self.stream.seek(self.size - header.trailer_size)
        n_samples = _COUNT.unpack(self.stream.read(LENGTH_TRAILER_BYTES))[0]
        self.stream.seek(position)
        try:
            header = with_length(header, n_samples, self.size)
        except BitstreamError:
            return header
        self.length_known = True
        return header

    def size_problem(self) -> Optional[str]:
        """What is wrong with the file's size against its header, if it is known."""
        if self.size is None:
            return None
        if not self.length_known:
            return "the .hcb file is cut short: its length trailer is missing"
        try:   # bounds the frames before they are counted
            with_length(self.header, self.header.n_samples, self.size)
        except BitstreamError as error:
            return str(error)
        expected = self.header.size + sum(iter_budgets(self.header)) + self.header.trailer_size
        if expected == self.size:
            return None
        state = "is cut short" if self.size < expected else "has bytes added"
        return f"the .hcb file {state}: it has {self.size} bytes, its header announces {expected}"

    def frames(self) -> Iterator[Optional[bytes]]:
        """Payloads in order, as far as the file goes."""
        if self.length_known:
            yield from self._frames_of_known_length()
        else:
            yield from self._frames_with_lookahead()

    def _frames_of_known_length(self) -> Iterator[Optional[bytes]]:
        budgets = iter_budgets(self.header)
        for t, budget in enumerate(budgets):
            payload = self.stream.read(budget)
            self.crc = zlib.crc32(payload, self.crc)
            if len(payload) < budget:
                self.problems.append(f"the .hcb file is cut short: it holds {t} of its "
                                     f"{self.header.n_frames} frames")
                self.header = cut_to_frames(self.header, t)
                return
            yield payload
        self._check_trailer(self.stream.read(self.header.trailer_size + 1))

    def _check_trailer(self, trailer: bytes) -> None:
        body, crc, extra = (trailer[:-_CRC.size - 1], trailer[-_CRC.size - 1:-1], trailer[-1:])
        if len(trailer) < self.header.trailer_size:
            self.problems.append("the .hcb file is truncated (no CRC-32)")
            return
        if len(trailer) == self.header.trailer_size:
            body, crc, extra = trailer[:-_CRC.size], trailer[-_CRC.size:], b""
        if _CRC.unpack(crc)[0] != zlib.crc32(body, self.crc):
            self.problems.append("the .hcb file is corrupted or truncated (CRC-32 mismatch)")
        elif extra:
            self.problems.append("the .hcb file has bytes after its CRC-32")

    def _frames_with_lookahead(self) -> Iterator[Optional[bytes]]:
        """A streamed file from a pipe: full frames while more than the tail's bytes follow."""
        full = frame_bytes(self.header.bitrate_bps)
        lookahead = 2 * full + self.header.trailer_size
        buffer = b""
        n_full = 0
        while True:
            chunk = self.stream.read(1 << 14)
            buffer += chunk
            start = 0
            while len(buffer) - start > lookahead + full:
                payload = buffer[start:start + full]
                start += full
                self.crc = zlib.crc32(payload, self.crc)
                n_full += 1
                yield payload
            buffer = buffer[start:]
            if not chunk:
                break
        yield from self._tail(buffer, n_full)

    def _tail(self, buffer: bytes, n_full: int) -> Iterator[Optional[bytes]]:
        """The last frames of a streamed file, once its trailer is known."""
        if len(buffer) < self.header.trailer_size:
            self.problems.append("the .hcb file is truncated (no length trailer)")
            return
        count = buffer[-self.header.trailer_size:-_CRC.size]
        try:
            read = self.header.size + n_full * frame_bytes(self.header.bitrate_bps) + len(buffer)
            header = with_length(self.header, _COUNT.unpack(count)[0], read)
        except BitstreamError as error:
            self.problems.append(str(error))
            return
        budgets = list(itertools.islice(iter_budgets(header), n_full, None))
        full = frame_bytes(header.bitrate_bps)
        if (header.n_frames < n_full or any(b != full for b in
                                            itertools.islice(iter_budgets(header), n_full))
                or sum(budgets) + header.trailer_size != len(buffer)):
            self.problems.append("the .hcb file's length trailer does not match its frames "
                                 "(corrupted or truncated)")
            return
        self.header, self.length_known = header, True
        offset = 0
        for budget in budgets:
            payload = buffer[offset:offset + budget]
            self.crc = zlib.crc32(payload, self.crc)
            offset += budget
            yield payload
        self._check_trailer(buffer[offset:])

