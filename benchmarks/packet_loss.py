"""PESQ-WB under frame loss: the held-out split at 16.4 kbps with random and bursty loss.

Each held-out clip is encoded once; then, per condition, frames are dropped by
``packets.LossSimulator`` (seeded by the clip's index, so every run drops the same frames) and
the decoder conceals them (``hybridcodec.concealment``).  The table gives mean PESQ-WB, the
drop from the loss-free decode, and the fraction of frames actually lost.

Usage::

    python benchmarks/packet_loss.py [--bitrate 16400] [--config default] [--max-files N]
"""
import argparse
import sys
import time

import numpy as np

from hybridcodec import api
from hybridcodec.corpus import load_clips
from hybridcodec.evaluation import pesq_wb
from hybridcodec.packets import LossSimulator

CONDITIONS = (("no loss", 0.0, 1), ("3 % random", 0.03, 1), ("5 % random", 0.05, 1),
              ("10 % random", 0.10, 1), ("5 % in bursts of 3", 0.05, 3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bitrate", type=int, default=16400)
    parser.add_argument("--config", default="default")
    parser.add_argument("--max-files", type=int, default=None)
    parser.add_argument("--corpus", default=None)
    args = parser.parse_args()
    began = time.monotonic()
    clips = load_clips("heldout", args.corpus, max_files=args.max_files)
    scores = {name: [] for name, _, _ in CONDITIONS}
    lost = {name: [0, 0] for name, _, _ in CONDITIONS}
    for index, x in enumerate(clips):
        data = api.encode(x, 16000, args.bitrate, args.config)
        for name, rate, burst in CONDITIONS:
            loss = LossSimulator(rate, burst, seed=index) if rate else None
            y, _ = api.decode(data, loss=loss, seed=index)
            scores[name].append(pesq_wb(x, y))
            if loss is not None:
                n_frames = api.read_header(data).n_frames
                probe = LossSimulator(rate, burst, seed=index)
                lost[name][0] += sum(probe.lost() for _ in range(n_frames))
                lost[name][1] += n_frames
    config = api.read_header(data).config_name
    print(f"PESQ-WB on {len(clips)} held-out clips, {args.bitrate / 1000:g} kbps, configuration "
          f"{config} ({time.monotonic() - began:.0f} s)\n")
    print(f"{'condition':<20} {'frames lost':>11} {'PESQ-WB':>8} {'change':>7}")
    base = float(np.mean(scores["no loss"]))
    for name, _, _ in CONDITIONS:
        mean = float(np.mean(scores[name]))
        frac = f"{100 * lost[name][0] / lost[name][1]:.1f} %" if lost[name][1] else "0 %"
        print(f"{name:<20} {frac:>11} {mean:8.3f} {mean - base:+7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
