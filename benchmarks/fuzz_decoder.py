"""Fuzz the decoder: random, truncated, bit-flipped and re-checksummed inputs.

Every case feeds one input to ``container.read_hcb`` (for .hcb magic), to the full strict
decode (``api.decode``), to the concealing decode (``api.decode(conceal=True)``) and, now and
then, at another output rate.  The only exception allowed is ``BitstreamError``; anything else
is a crash, and a case that takes longer than ``--max-seconds`` counts as a hang.

Inputs are mutations of seed streams (plain .hcb at 6, 16.4 and 64 kbps, two configurations,
a streamed .hcb, packet streams with CRC-16, CRC-8 and none), by one of:

* ``random``    random bytes, 0 … 400 of them, sometimes behind a valid magic number;
* ``truncate``  the seed cut at a random point;
* ``flip``      1 … 16 random bits flipped;
* ``bytes``     1 … 8 random bytes overwritten, inserted or deleted;
* ``recrc``     payload bytes overwritten and the CRCs (file CRC-32, frame CRCs) recomputed,
                so the frame decoder itself sees garbage that passed every check;
* ``header``    a header field set to a random or extreme value, the file CRC (and, half
                the time, the header CRC-8) recomputed;
* ``drop``, ``duplicate``, ``reorder``  (packet streams, as a network delivers them) 1 … 8
                frame packets removed, sent twice, or swapped with the next one
                (``api.split_packets`` / ``api.join_packets``); an .hcb seed is swapped for a
                packet stream.

The generator is seeded (case i of seed s is always the same input), so a failure is
reproduced by ``--seed s --start i --cases 1``.  It is a plain mutation fuzzer rather than
hypothesis or atheris: its input grammar is the container's, and it runs ~1,000 cases/s.

Usage::

    python benchmarks/fuzz_decoder.py [--cases 100000] [--seed 0] [--max-seconds 2]
"""
import argparse
import struct
import sys
import time
import zlib
from collections import Counter
from typing import List, Tuple

import numpy as np

from hybridcodec import api
from hybridcodec.formats.audio import demo_clip_path, read_audio
from hybridcodec.formats.hcb import crc8, read_hcb
from hybridcodec.errors import BitstreamError
from hybridcodec.formats.packets import LossSimulator, frame_check
from hybridcodec.formats.streams import encode_streamed

MUTATIONS = ("random", "truncate", "flip", "bytes", "recrc", "header", "drop", "duplicate",
             "reorder")
PACKET_MUTATIONS = ("drop", "duplicate", "reorder")
PACKET_SEEDS = ((16, 0), (8, 0), (0, 0), (16, 6), (0, 6))
"""(CRC bits, redundancy bytes) of the packet-stream seeds, the last seeds of the list."""


def seed_streams() -> List[Tuple[str, bytes]]:
    """Valid inputs to mutate: (.hcb or packet stream) of 0.1-0.3 s of the demo clip."""
    x, _, _ = read_audio(demo_clip_path())
    seeds = []
    for bitrate, config, n in ((6000, "default", 4000), (16400, "default", 1600),
                               (64000, "default", 1200), (16400, "tcx-evs-weighting", 2400),
                               (9600, "tcx-laplacian", 3200)):
        seeds.append(("hcb", api.encode(x[20000:20000 + n], 16000, bitrate, config)))
    seeds.append(("hcb", encode_streamed(x[30000:33000], 13200)))
    for crc_bits, redundancy in PACKET_SEEDS:
        seeds.append((f"hcp{crc_bits}", api.encode_packets(x[24000:26400], 16000, 16400,
                                                           crc_bits=crc_bits,
                                                           redundancy_bytes=redundancy)))
    return seeds


def warm_up(seeds: List[Tuple[str, bytes]]) -> None:
    """Decode every seed once, losing frames, so that no case pays for loading compiled code
    (the concealment's first call loads its Numba functions)."""
    for _, data in seeds:
        api.decode(data, conceal=True, loss=LossSimulator(0.5, seed=1))


def _fix_hcb_crc(data: bytearray) -> bytes:
    if len(data) >= 8:
        data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
    return bytes(data)


def _header_end(data: bytearray) -> int:
    """Offset of the header's CRC-8 (after the name and the digests), or past the end."""
    end = 22 + data[21] if len(data) > 21 else len(data)
    return end + 1 + 8 * data[end] if end < len(data) else len(data)


def _fix_header_crc(data: bytearray) -> None:
    """Recompute the header's CRC-8, so that the checks of the fields behind it are reached."""
    end = _header_end(data)
    if end < len(data):
        data[end] = crc8(bytes(data[:end]))


def _fix_packet_crcs(data: bytearray, crc_bits: int) -> bytes:
    """Recompute every frame CRC of a packet stream (setup and end left as they are)."""
    setup = _header_end(data) + 1 + 2 + 4               # CRC-8, crc_bits, redundancy, CRC-32
    pos = setup
    check = crc_bits // 8
    while pos < len(data) and data[pos] != 0xFF:
        end = pos + 2 + data[pos]                         # length, sequence number, payload
        if end + check > len(data):
            break
        data[end:end + check] = frame_check(bytes(data[pos:end]), crc_bits)
        pos = end + check
    return bytes(data)


def _mutate_packets(rng: np.random.Generator, data: bytes, mutation: str) -> bytes:
    """Drop, duplicate or swap 1 … 8 frame packets of a packet stream."""
    packets = api.split_packets(data)
    for _ in range(int(rng.integers(1, 9))):
        if len(packets) < 4:                            # setup, end and one frame left
            break
        i = int(rng.integers(1, len(packets) - 2))      # a frame packet with one after it
        if mutation == "drop":
            del packets[i]
        elif mutation == "duplicate":
            packets.insert(i, packets[i])
        elif mutation == "reorder":
            packets[i], packets[i + 1] = packets[i + 1], packets[i]
    return api.join_packets(packets)


def mutate(rng: np.random.Generator, kind: str, data: bytes, mutation: str) -> bytes:
    """One fuzz input from seed ``data`` (of ``kind`` 'hcb' or 'hcpN')."""
    if mutation in PACKET_MUTATIONS:
        return _mutate_packets(rng, data, mutation)
    d = bytearray(data)
    if mutation == "random":
        out = rng.bytes(int(rng.integers(0, 400)))
        return (data[:4] + out) if rng.random() < 0.5 else out
    if mutation == "truncate":
        return data[:int(rng.integers(0, len(data)))]
    if mutation == "flip":
        for _ in range(int(rng.integers(1, 17))):
            bit = int(rng.integers(0, 8 * len(d)))
            d[bit // 8] ^= 1 << (bit % 8)
        return bytes(d)
    if mutation == "bytes":
        for _ in range(int(rng.integers(1, 9))):
            pos = int(rng.integers(0, len(d) + 1))
            choice = rng.integers(3)
            if choice == 0 and pos < len(d):
                d[pos] = int(rng.integers(256))
            elif choice == 1:
                d[pos:pos] = rng.bytes(int(rng.integers(1, 5)))
            else:
                del d[pos:pos + int(rng.integers(1, 5))]
        return bytes(d)
    if mutation == "recrc":
        start = 60 if kind == "hcb" else 64
        for _ in range(int(rng.integers(1, 40))):
            pos = int(rng.integers(min(start, len(d) - 5), len(d) - 4))
            d[pos] = int(rng.integers(256))
        if kind == "hcb":
            return _fix_hcb_crc(d)
        return _fix_packet_crcs(d, int(kind[3:]))
    # header: one field of the fixed part set to a random or extreme value
    offsets = {"version": (4, 1), "codec_rate": (5, 2), "original_rate": (7, 4),
               "bitrate": (11, 2), "n_samples": (13, 8), "name_len": (21, 1)}
    offset, width = list(offsets.values())[int(rng.integers(len(offsets)))]
    random_value = int(rng.integers(0, 2 ** min(62, 8 * width)))
    value = int(rng.choice([0, 1, 2 ** (8 * width) - 1, random_value]))
    d[offset:offset + width] = (value % 2 ** (8 * width)).to_bytes(width, "little")
    if rng.random() < 0.5:
        _fix_header_crc(d)
    return _fix_hcb_crc(d) if kind == "hcb" else bytes(d)


def run_case(data: bytes, rng: np.random.Generator) -> str:
    """Decode ``data`` every way; returns 'ok', 'rejected' or raises what is not BitstreamError."""
    outcome = "ok"
    targets = [lambda: api.decode(data), lambda: api.decode(data, conceal=True)]
    if data[:4] == b"HCB\x1a":
        targets.insert(0, lambda: read_hcb(data))
    if rng.random() < 0.05:
        rate = int(rng.choice([8000, 44100, 384000]))
        targets.append(lambda: api.decode(data, rate, conceal=True))
    for target in targets:
        try:
            target()
        except BitstreamError as error:
            if not str(error) or "\n" in str(error):
                raise AssertionError(f"unclear message: {error!r}") from None
            outcome = "rejected"
    return outcome


def fuzz(n_cases: int, seed: int = 0, start: int = 0, max_seconds: float = 2.0,
         progress: bool = False) -> dict:
    """Run cases ``start`` … ``start + n_cases - 1``; a summary with every failure."""
    seeds = seed_streams()
    warm_up(seeds)
    counts: Counter = Counter()
    failures = []
    slowest = 0.0
    began = time.monotonic()
    for case in range(start, start + n_cases):
        rng = np.random.default_rng([seed, case])
        kind, data = seeds[int(rng.integers(len(seeds)))]
        mutation = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        if mutation in PACKET_MUTATIONS and kind == "hcb":
            kind, data = seeds[int(rng.integers(len(seeds) - len(PACKET_SEEDS), len(seeds)))]
        fuzzed = mutate(rng, kind, data, mutation)
        t0 = time.monotonic()
        try:
            outcome = run_case(fuzzed, rng)
        except Exception as error:  # noqa: BLE001 - any other exception is what we look for
            outcome = "crash"
            failures.append((case, mutation, f"{type(error).__name__}: {error}"))
        elapsed = time.monotonic() - t0
        slowest = max(slowest, elapsed)
        if elapsed > max_seconds:
            outcome = "hang"
            failures.append((case, mutation, f"took {elapsed:.2f} s"))
        counts[outcome] += 1
        counts[mutation] += 1
        if progress and (case - start + 1) % 10000 == 0:
            print(f"  {case - start + 1} cases, {time.monotonic() - began:.0f} s, "
                  f"{len(failures)} failures", file=sys.stderr, flush=True)
    return {"cases": n_cases, "counts": counts, "failures": failures, "slowest_s": slowest,
            "seconds": time.monotonic() - began}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=2.0)
    args = parser.parse_args()
    result = fuzz(args.cases, args.seed, args.start, args.max_seconds, progress=True)
    counts = result["counts"]
    print(f"cases        {result['cases']} ({result['seconds']:.0f} s, slowest case "
          f"{result['slowest_s'] * 1000:.0f} ms)")
    print("mutations    " + ", ".join(f"{m} {counts[m]}" for m in MUTATIONS))
    print(f"outcomes     decoded {counts['ok']}, rejected with BitstreamError "
          f"{counts['rejected']}, crashes {counts['crash']}, hangs {counts['hang']}")
    for case, mutation, what in result["failures"][:20]:
        print(f"  case {case} ({mutation}): {what}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
