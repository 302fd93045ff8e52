"""PESQ-WB under frame loss: the held-out split at 16.4 kbps with random and bursty loss.

Each held-out clip is encoded twice, as packet streams (``--packets``: every frame's envelope is
coded on its own, so a loss takes only its frame): plain, and with packets that end with a
``--redundancy`` copy of the previous frame's low band (``hybridcodec.core.redundancy``; the
frames get that many bytes less, the bitrate stays the same).  Then, per condition, frames are dropped by ``packets.LossSimulator`` (seeded
by the clip's index, so every run drops the same frames in both streams) and the decoder
conceals them (``hybridcodec.core.concealment``, with one frame of lookahead).  The table gives mean
PESQ-WB, the drop from the same stream without loss, and for the redundant stream also the drop
from the plain stream without loss.

Usage::

    python benchmarks/packet_loss.py [--bitrate 16400] [--redundancy 6] [--config default]
                                     [--max-files N]
"""
import argparse
import sys
import time

import numpy as np

from hybridcodec import api
from hybridcodec.training.corpus import load_clips
from hybridcodec.tools.metrics import pesq_wb
from hybridcodec.formats.packets import LossSimulator

CONDITIONS = (("no loss", 0.0, 1), ("3 % random", 0.03, 1), ("5 % random", 0.05, 1),
              ("10 % random", 0.10, 1), ("5 % in bursts of 3", 0.05, 3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bitrate", type=int, default=16400)
    parser.add_argument("--redundancy", type=int, default=6, help="bytes per packet")
    parser.add_argument("--config", default="default")
    parser.add_argument("--max-files", type=int, default=None)
    parser.add_argument("--corpus", default=None)
    args = parser.parse_args()
    began = time.monotonic()
    clips = load_clips("heldout", args.corpus, max_files=args.max_files)
    streams = ("plain", "redundant")
    scores = {(s, name): [] for s in streams for name, _, _ in CONDITIONS}
    lost = {name: [0, 0] for name, _, _ in CONDITIONS}
    for index, x in enumerate(clips):
        coded = {"plain": api.encode_packets(x, 16000, args.bitrate, args.config),
                 "redundant": api.encode_packets(x, 16000, args.bitrate, args.config,
                                                 redundancy_bytes=args.redundancy)}
        n_frames = api.read_header(coded["plain"]).n_frames
        for name, rate, burst in CONDITIONS:
            for stream in streams:
                loss = LossSimulator(rate, burst, seed=index) if rate else None
                y, _ = api.decode(coded[stream], loss=loss, seed=index)
                scores[stream, name].append(pesq_wb(x, y))
            if rate:
                probe = LossSimulator(rate, burst, seed=index)
                lost[name][0] += sum(probe.lost() for _ in range(n_frames))
                lost[name][1] += n_frames
    mean = {key: float(np.mean(value)) for key, value in scores.items()}
    print(f"PESQ-WB on {len(clips)} held-out clips, {args.bitrate / 1000:g} kbps, configuration "
          f"{args.config}, redundancy {args.redundancy} bytes/packet "
          f"({time.monotonic() - began:.0f} s)\n")
    print(f"{'condition':<20} {'frames lost':>11} | {'plain':>6} {'change':>7} | "
          f"{'redundant':>9} {'change':>7} {'vs plain':>8}")
    for name, _, _ in CONDITIONS:
        frac = f"{100 * lost[name][0] / lost[name][1]:.1f} %" if lost[name][1] else "0 %"
        plain, redundant = mean["plain", name], mean["redundant", name]
        print(f"{name:<20} {frac:>11} | {plain:6.3f} {plain - mean['plain', 'no loss']:+7.3f} | "
              f"{redundant:9.3f} {redundant - mean['redundant', 'no loss']:+7.3f} "
              f"{redundant - mean['plain', 'no loss']:+8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
