"""The codecs hybridcodec is compared against ("peers"), each behind the same small interface.

Every peer module has a round trip ``roundtrip(x, sample_rate_hz, bitrate_bps) -> (y, info)``
whose output is as long as the input and aligned with it, with ``info["payload_bitrate_bps"]``
counting only the coded audio frames (no container, no headers, no per-frame length fields)
over the duration of the input. :data:`PEERS` lists them by the name the ``evaluate``
command uses:

- ``opus``: libopus through ffmpeg, voip, 20 ms frames, hard CBR (:mod:`.opus`);
- ``amr-wb``: AMR-WB at its nine modes through Debian's libraries and ctypes (:mod:`.amrwb`);
- ``lc3``: LC3 with 10 ms frames through liblc3's ``elc3`` / ``dlc3`` (:mod:`.lc3`).
"""
from dataclasses import dataclass
from typing import Callable, Optional

from hybridcodec.errors import HybridCodecError

from .amrwb import AMRWB_MODES_BPS, amrwb_available, amrwb_missing, amrwb_mode, amrwb_roundtrip
from .lc3 import lc3_frames, lc3_missing, lc3_rate, lc3_roundtrip
from .opus import (ffmpeg_available, ogg_packets, opus_pre_skip, opus_roundtrip, opus_tools_available,
                   opusdec_time, opusenc_time)

OPUS_MIN_BITRATE_BPS = 6000
OPUS_MAX_BITRATE_BPS = 510000


@dataclass(frozen=True)
class Peer:
    """A peer codec: how to tell it is installed, the rate it runs at, and its round trip.

    Attributes
    ----------
    name : str
        The name in ``--peers`` and in the ``system`` column.
    missing : callable
        ``missing() -> str or None``: why the peer cannot run (None when it can).
    operating_rate : callable
        ``operating_rate(bitrate_bps) -> int or None``: the rate the peer runs at when
        ``bitrate_bps`` is asked for (the highest it has not above it), None if it has none.
    roundtrip : callable
        ``roundtrip(x, sample_rate_hz, bitrate_bps) -> (y, info)`` at an operating rate.
    """

    name: str
    missing: Callable[[], Optional[str]]
    operating_rate: Callable[[int], Optional[int]]
    roundtrip: Callable


def _opus_missing():
    """Why Opus cannot run (ffmpeg or its libopus encoder absent), or None."""
    return None if ffmpeg_available() else "ffmpeg with the libopus encoder not found (Debian: ffmpeg)"


def _opus_rate(bitrate_bps):
    """libopus runs at any rate from 6 to 510 kbps."""
    return bitrate_bps if OPUS_MIN_BITRATE_BPS <= bitrate_bps <= OPUS_MAX_BITRATE_BPS else None


PEERS = {
    "opus": Peer("opus", _opus_missing, _opus_rate, opus_roundtrip),
    "amr-wb": Peer("amr-wb", amrwb_missing, amrwb_mode, amrwb_roundtrip),
    "lc3": Peer("lc3", lc3_missing, lc3_rate, lc3_roundtrip),
}


def get_peer(name):
    """The peer called ``name``.

    Raises
    ------
    HybridCodecError
        If there is no such peer; the message lists the peers.
    """
    if name not in PEERS:
        raise HybridCodecError(f"unknown peer {name!r}; available: {', '.join(PEERS)}")
    return PEERS[name]


__all__ = ["PEERS", "Peer", "get_peer", "AMRWB_MODES_BPS", "amrwb_available", "amrwb_missing",
           "amrwb_mode", "amrwb_roundtrip", "lc3_frames", "lc3_missing", "lc3_rate", "lc3_roundtrip",
           "ffmpeg_available", "ogg_packets", "opus_pre_skip", "opus_roundtrip",
           "opus_tools_available", "opusdec_time", "opusenc_time"]
