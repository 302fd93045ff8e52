"""Packet mode: self-delimiting frames usable as network packets, and a loss simulator.

A packet stream (``hybridcodec encode --packets``) is a setup block, one packet per frame and
an end packet (little-endian)::

    setup     the .hcb header fields (container.Header) with magic b"HCP\\x1a" instead of
              b"HCB\\x1a" (n_samples 0 when the length is not known up front),
              crc_bits u8 (0, 8 or 16), redundancy_bytes u8 (R, 0 … a quarter of a frame),
              then a CRC-32 (u32) of the setup bytes before it
    frame     length u8 (payload bytes, 0 … 160), sequence u8 (frame index mod 256),
              payload, then the frame check: CRC-8 (poly 0x07, init 0) or CRC-16/CCITT-FALSE
              (poly 0x1021, init 0xFFFF), 1 or 2 bytes, over the length byte, the sequence
              number and the payload; nothing with crc_bits 0
    end       0xFF (never a valid length), n_samples u64, CRC-32 (u32) of those 9 bytes

With R = 0 the payloads are exactly the frames of the .hcb file of the same signal (same
budgets); with R > 0 each full payload is a frame of R bytes less followed by an R-byte copy of
the previous frame's low band (``hybridcodec.core.redundancy``).  Either way each payload fits
bitrate × 20 ms; the packet adds 1 byte of length, 1 of sequence number and 0, 1 or 2 bytes
of CRC per frame (0.8, 1.2 or 1.6 kbps at 50 frames/s) plus the setup block and the 13-byte end.

Reading (:class:`PacketReader`) never raises after the setup block: a packet whose length is
impossible or whose CRC fails is reported as damaged (``None``) and the reader assumes it had
the usual length (a flipped byte does not move the packets after it).  The sequence number
places every intact packet: a gap of up to ``255 - LATE_WINDOW`` frames is concealed where it
is, a packet up to ``LATE_WINDOW`` frames behind (duplicated or reordered) is dropped and
reported.  A stream cut short simply ends.  The setup block must be intact (it names the
configuration).  :func:`split_packets` cuts a stream into its packets (to send them one by
one), :func:`join_packets` puts received packets back together.

Layered configurations (``Header.layer_bytes``): a payload is the base followed by the residual
layers, and a relay may cut packets to the base and the first k layers (:func:`drop_layers`,
which recomputes each packet's CRC); the decoder uses the layers a packet carries.
"""
import binascii
import io
import struct
import zlib
from dataclasses import replace
from typing import BinaryIO, Iterator, List, Optional

import numpy as np

from .hcb import (FORMAT_VERSION, Header, check_redundancy, crc8, cut_to_frames, frame_bytes,
                  full_budgets, iter_layered_budgets, parse_header, with_length)
from ..errors import BitstreamError

STREAM_MAGIC = b"HCP\x1a"
CRC_CHOICES = (0, 8, 16)
DEFAULT_CRC_BITS = 16
END_MARKER = 0xFF
LATE_WINDOW = 32
"""A packet numbered up to this many frames behind the next one expected is late or a copy."""
_U32 = struct.Struct("<I")
_END = struct.Struct("<BQ")


def frame_check(data: bytes, crc_bits: int) -> bytes:
    """The CRC bytes appended to a frame packet (length byte + payload)."""
    if crc_bits == 16:
        return binascii.crc_hqx(data, 0xFFFF).to_bytes(2, "little")
    if crc_bits == 8:
        return bytes([crc8(data)])
    return b""


def check_crc_bits(crc_bits: int) -> int:
    if crc_bits not in CRC_CHOICES:
        raise BitstreamError(f"per-frame CRC of {crc_bits} bits is not supported; "
                             f"use one of {', '.join(map(str, CRC_CHOICES))}")
    return crc_bits


def setup_block(header: Header, crc_bits: int) -> bytes:
    """Setup bytes of a packet stream for ``header`` (streamed: n_samples written as 0)."""
    body = header.to_bytes(STREAM_MAGIC) + bytes([check_crc_bits(crc_bits),
                                                  header.redundancy_bytes])
    return body + _U32.pack(zlib.crc32(body))


def frame_packet(payload: bytes, crc_bits: int, index: int) -> bytes:
    """One self-delimiting packet: length, sequence number (``index`` mod 256), payload, CRC."""
    if len(payload) >= END_MARKER:
        raise ValueError(f"a frame payload has at most {END_MARKER - 1} bytes, got {len(payload)}")
    body = bytes([len(payload), index & 0xFF]) + payload
    return body + frame_check(body, crc_bits)


def end_packet(n_samples: int) -> bytes:
    body = _END.pack(END_MARKER, n_samples)
    return body + _U32.pack(zlib.crc32(body))


class PacketWriter:
    """Writes a packet stream to a binary file object as the frames come."""

    def __init__(self, stream: BinaryIO, header: Header, crc_bits: int = DEFAULT_CRC_BITS):
        self.stream = stream
        self.crc_bits = check_crc_bits(crc_bits)
        self.n_frames = 0
        stream.write(setup_block(header, crc_bits))

    def write_frames(self, payloads: List[bytes]) -> None:
        first, self.n_frames = self.n_frames, self.n_frames + len(payloads)
        self.stream.write(b"".join(frame_packet(p, self.crc_bits, first + i)
                                   for i, p in enumerate(payloads)))

    def finish(self, header: Header) -> None:
        self.stream.write(end_packet(header.n_samples))


class PacketReader:
    """Reads a packet stream: the header, then one payload (or ``None``: damaged) per frame.

    Attributes (valid once :meth:`frames` is exhausted)
    ----------
    header : Header
        With the length of the end packet (or the setup's, or the frames read, if it is missing).
    damaged : list of int
        Frames whose packet failed its length or CRC check, or is missing.
    problems : list of str
        What else was wrong (duplicated or late packets, no end packet, bytes after it, ...).
    """

    def __init__(self, stream: BinaryIO, size: Optional[int] = None):
        self.source = PushbackReader(stream)
        self.header, setup = _read_setup(self.source)
        self.crc_bits = setup[-2]
        self.full = frame_bytes(self.header.bitrate_bps)
        self.damaged: List[int] = []
        self.problems: List[str] = []
        self.n_frames = 0
        self.size = size
        if size is not None:
            self._bound_length(size)

    @property
    def length_known(self) -> bool:
        """Whether ``header`` holds the real length (not streamed, or its end packet read)."""
        return not self.header.streamed

    def _bound_length(self, size: int) -> None:
        """Distrust lengths (setup or end packet) announcing more frames than ``size`` bytes hold."""
        if not self.header.streamed:
            try:
                with_length(self.header, self.header.n_samples, size, "packet stream")
            except BitstreamError:
                self.problems.append(f"the packet stream is cut short: its setup announces "
                                     f"{self.header.n_frames} frames, {size} bytes cannot hold "
                                     "them")
                self.header = replace(self.header, streamed=True)   # decode what is there

    def size_problem(self) -> Optional[str]:
        """None: a size the setup cannot fit is a problem of ``problems`` (decoding goes on)."""
        return None

    def frames(self) -> Iterator[Optional[bytes]]:
        """Payloads in frame order; ``None`` for a damaged or missing packet.  Never raises."""
        while (packet := self._next_packet()) is not None:
            sequence, payload = packet
            if payload is None:   # damaged: its sequence number cannot be trusted
                yield from self._lost(1)
                continue
            behind = (self.n_frames - sequence) % 256
            if 0 < behind <= LATE_WINDOW:
                self.problems.append(f"duplicate or late packet of frame "
                                     f"{self.n_frames - behind} dropped")
                continue
            yield from self._lost((sequence - self.n_frames) % 256)
            self.n_frames += 1
            yield payload

    def _lost(self, n: int) -> Iterator[None]:
        """``None`` for each of the next ``n`` frames, whose packets are damaged or missing."""
        for _ in range(n):
            self.damaged.append(self.n_frames)
            self.n_frames += 1
            yield None

    def _next_packet(self):
        """(sequence number, payload or None if damaged) of the next packet; None at the end."""
        check = self.crc_bits // 8
        first = self.source.read(1)
        if not first:
            self._end_missing("no end packet (stream cut short)")
            return None
        if first[0] == END_MARKER and self._read_end(first):
            return None
        length = first[0] if first[0] <= self.full else self.full
        rest = self.source.read(1 + length + check)
        if len(rest) < 1 + length + check:
            self._end_missing(f"stream cut inside frame {self.n_frames}")
            return None
        body = first + rest[:1 + length]
        good = first[0] <= self.full and frame_check(body, self.crc_bits) == rest[1 + length:]
        return rest[0], (body[2:] if good else None)

    def _read_end(self, first: bytes) -> bool:
        """Parse an end packet; False (then 0xFF was a damaged length byte) if its CRC fails."""
        rest = self.source.read(_END.size - 1 + _U32.size)
        body = first + rest[:_END.size - 1]
        if len(rest) < _END.size - 1 + _U32.size or \
                _U32.unpack_from(rest, _END.size - 1)[0] != zlib.crc32(body):
            self.source.unread(rest)
            return False
        try:
            self.header = with_length(self.header, _END.unpack(body)[1], self.size,
                                      "packet stream")
        except BitstreamError as error:
            self._end_missing(str(error))
            return True
        if self.header.n_frames != self.n_frames:
            self.problems.append(f"{self.n_frames} frames where the end packet announces "
                                 f"{self.header.n_frames}")
        if self.source.read(1):
            self.problems.append("bytes after the end packet")
        return True

    def _end_missing(self, problem: str) -> None:
        """No usable end packet: the stream is as long as the frames that came."""
        self.problems.append(problem)
        self.header = cut_to_frames(self.header, self.n_frames, "packet stream")


class PushbackReader:
    """A binary stream with ``unread``: bytes given back are read again first."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.pending = b""

    def read(self, n: int) -> bytes:
        data, self.pending = self.pending[:n], self.pending[n:]
        if len(data) < n:
            data += self.stream.read(n - len(data))
        return data

    def unread(self, data: bytes) -> None:
        self.pending = data + self.pending


def _read_setup(stream: BinaryIO):
    header = parse_header(stream, STREAM_MAGIC, "packet stream")
    setup = header.to_bytes(STREAM_MAGIC)
    tail = stream.read(2 + _U32.size)
    if len(tail) < 2 + _U32.size:
        raise BitstreamError("truncated packet stream header")
    body = setup + tail[:2]
    if _U32.unpack_from(tail, 2)[0] != zlib.crc32(body):
        raise BitstreamError("the packet stream header is corrupted (CRC-32 mismatch)")
    check_crc_bits(tail[0])
    if header.format_version != FORMAT_VERSION:
        raise BitstreamError(f"unsupported packet stream version {header.format_version}")
    header = replace(header, redundancy_bytes=check_redundancy(tail[1], header.bitrate_bps,
                                                                 BitstreamError))
    return header, body


class LossSimulator:
    """Which frames a channel loses: independent losses, or bursts of ``burst`` frames.

    A frame outside a burst starts one with probability q = P / (N (1 − P) + P), so that the
    long-run fraction of lost frames is P for bursts of exactly N frames (N = 1: independent
    losses with probability P).  Seeded: the same (P, N, seed) loses the same frames.
    """

    def __init__(self, loss_rate: float, burst: int = 1, seed: int = 0):
        if not 0.0 <= loss_rate < 1.0:
            raise BitstreamError(f"loss rate {loss_rate} is out of range: use 0 <= P < 1 "
                                 "(e.g. 0.05 for 5 %)")
        if not 1 <= burst <= 1000:
            raise BitstreamError(f"burst length {burst} is out of range: use 1 ... 1000 frames")
        self.start_probability = loss_rate / (burst * (1.0 - loss_rate) + loss_rate)
        self.burst = burst
        self.rng = np.random.default_rng(seed)
        self.left = 0

    def lost(self) -> bool:
        """Whether the next frame is lost."""
        if self.left == 0 and self.rng.random() < self.start_probability:
            self.left = self.burst
        if self.left:
            self.left -= 1
            return True
        return False


def split_packets(data: bytes) -> List[bytes]:
    """The packets of a packet stream, to send one by one: setup, one per frame, end.

    :func:`join_packets` is its inverse.  BitstreamError if the setup is damaged or the stream
    is cut short (a damaged frame packet is kept as it is: the receiver's CRC finds it).
    """
    stream = io.BytesIO(data)
    header, setup = _read_setup(stream)
    check = setup[-2] // 8
    packets = [data[:stream.tell()]]
    position = stream.tell()
    while position < len(data) and data[position] != END_MARKER:
        size = 2 + min(data[position], frame_bytes(header.bitrate_bps)) + check
        packets.append(data[position:position + size])
        position += size
    packets.append(data[position:position + _END.size + _U32.size])
    if len(packets[-1]) < _END.size + _U32.size or position + len(packets[-1]) != len(data):
        raise BitstreamError("the packet stream is cut short or has bytes after its end packet")
    return packets


def join_packets(packets: List[bytes]) -> bytes:
    """The packet stream of ``packets`` as received: missing, duplicated or reordered frame
    packets are found by their sequence numbers when it is decoded."""
    return b"".join(packets)


def drop_layers(packets: List[bytes], n_layers: int) -> List[bytes]:
    """``packets`` (setup, frames in order, end: :func:`split_packets`) with every frame cut to
    the base and its first ``n_layers`` residual layers, its CRC recomputed: what a relay
    forwards on a narrower link.  Damaged packets and packets already as short pass as they are.
    """
    header, setup = _read_setup(io.BytesIO(packets[0]))
    crc_bits = setup[-2]
    check = crc_bits // 8
    if not 0 <= n_layers <= len(header.layer_bytes):
        raise BitstreamError(f"cannot keep {n_layers} residual layers: the stream has "
                             f"{len(header.layer_bytes)}")
    full = full_budgets(header)
    rows = iter(()) if header.streamed else iter_layered_budgets(header)
    kept = [packets[0]]
    for packet in packets[1:-1]:
        body = packet[:len(packet) - check]
        size = sum(next(rows, full)[:1 + n_layers])
        if frame_check(body, crc_bits) != packet[len(body):] or len(body) - 2 <= size:
            kept.append(packet)
        else:
            kept.append(frame_packet(body[2:2 + size], crc_bits, body[1]))
    return kept + packets[-1:]
