"""One reader interface for both stream formats, and the function that opens the right one.

``HcbStreamReader`` (.hcb files, ``hcb``) and ``PacketReader`` (packet streams, ``packets``) both
implement :class:`FrameReader`, so the decoder (``streams.decode_stream``) reads either without
asking which it has.
"""
from typing import BinaryIO, Iterator, List, Optional, Protocol

from .hcb import Header, HcbStreamReader
from .packets import STREAM_MAGIC, PacketReader, PushbackReader


class FrameReader(Protocol):
    """Reads one stream: its header, then a payload (``None``: damaged or missing) per frame.

    ``frames`` never raises: what is wrong lands in ``problems`` (and, for frames whose own
    check failed, in ``damaged``), so a strict caller raises the first and a concealing one
    reports them.  ``header`` and ``length_known`` may change while the frames are read (a
    streamed file's length arrives at its end).
    """

    header: Header
    length_known: bool
    problems: List[str]
    damaged: List[int]

    def frames(self) -> Iterator[Optional[bytes]]: ...

    def size_problem(self) -> Optional[str]:
        """What is wrong with the stream's byte size (given when opened), before any frame."""


def open_stream(stream: BinaryIO, size: Optional[int] = None) -> FrameReader:
    """A reader for a .hcb file or a packet stream (by its magic number) on ``stream``.

    ``stream`` must be positioned at the start; the magic is peeked without consuming it.
    ``size``: the stream's length in bytes when known (a file), checked against its header.
    """
    if stream.seekable():
        position = stream.tell()
        magic = stream.read(4)
        stream.seek(position)
    else:   # a pipe: read the magic and give it back
        magic = stream.read(4)
        stream = PushbackReader(stream)
        stream.unread(magic)
    if magic == STREAM_MAGIC:
        return PacketReader(stream, size)
    return HcbStreamReader(stream, size)
