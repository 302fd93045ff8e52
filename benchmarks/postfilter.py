"""Post-filter benchmark: PESQ-WB, ViSQOL and STOI of the decoded held-out speech with each
post-filter chosen at decode time, decode speed with each, and one clean high-rate case.

Every clip is encoded once per bitrate and decoded once per post-filter (the bits are the
same: the post-filter is chosen at decode time).  Clips: the first ``--max-files`` held-out
clips taken from each voice in turn (``training.corpus.sample_files``; the default 32 is 4 of
each of the 8 held-out voices, the sample of the other held-out tables), so that no voice
outweighs the others in the means.  Metrics from ``hybridcodec.tools.metrics`` (ViSQOL v3 in
speech mode).  Speed: seconds of speech decoded per second (× real time), on one core (the
process is pinned to core 0), each clip's best of ``--repeats`` decodes.
The clean case is the bundled demo clip (studio speech) at ``--clean-bitrate``.

Usage::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/postfilter.py [--max-files 32]
        [--bitrates 9600,13200,16400,24400,32000] [--postfilters none,classical]
        [--config default] [--clean-bitrate 48000] [--repeats 3]
"""
import argparse
import os
import time

import numpy as np

from hybridcodec.api import decode, encode
from hybridcodec.core.registry import components
from hybridcodec.formats.audio import demo_clip_path, read_audio
from hybridcodec.tools.metrics import pesq_wb, stoi, visqol
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, sample_files

DEFAULT_BITRATES_BPS = (9600, 13200, 16400, 24400, 32000)


def measure(clips, bitrate_bps, postfilters, config, repeats):
    """Mean PESQ-WB, ViSQOL, STOI and × real time per post-filter at one bitrate."""
    coded = [encode(x, SAMPLE_RATE_HZ, bitrate_bps, config) for x in clips]
    speeds = decode_speeds(coded, sum(x.size for x in clips) / SAMPLE_RATE_HZ, postfilters,
                           repeats)
    rows = {}
    for name in postfilters:
        decoded = [decode(data, postfilter=name)[0] for data in coded]
        rows[name] = (np.nanmean([pesq_wb(x, y) for x, y in zip(clips, decoded)]),
                      np.mean([visqol(x, y, SAMPLE_RATE_HZ) for x, y in zip(clips, decoded)]),
                      np.mean([stoi(x, y, SAMPLE_RATE_HZ) for x, y in zip(clips, decoded)]),
                      speeds[name])
    return rows


def decode_speeds(coded, duration_s, postfilters, repeats):
    """× real time of decoding ``coded`` with each post-filter: each clip's best of ``repeats``
    decodes, summed over the clips.  The post-filters take turns clip by clip, and the best is
    kept per clip, so that a slower moment of a shared machine (they come and go within
    seconds here) counts against neither post-filter nor any one pass."""
    best = {name: np.full(len(coded), np.inf) for name in postfilters}
    for _ in range(repeats):
        for i, data in enumerate(coded):
            for name in postfilters:
                start = time.perf_counter()
                decode(data, postfilter=name)
                best[name][i] = min(best[name][i], time.perf_counter() - start)
    return {name: duration_s / seconds.sum() for name, seconds in best.items()}


def table(results):
    """Markdown table of {(label, post-filter): (pesq, visqol, stoi, speed)}."""
    lines = ["| case | post-filter | PESQ-WB | ViSQOL | STOI | decode × real time |",
             "|---|---|---:|---:|---:|---:|"]
    for (label, name), (p, v, s, speed) in results.items():
        lines.append(f"| {label} | {name} | {p:.3f} | {v:.3f} | {s:.3f} | {speed:.0f} |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default")
    parser.add_argument("--bitrates", default=",".join(map(str, DEFAULT_BITRATES_BPS)))
    parser.add_argument("--postfilters", default=",".join(sorted(components("postfilter"))))
    parser.add_argument("--max-files", type=int, default=32,
                        help="held-out clips, voices in turn")
    parser.add_argument("--clean-bitrate", type=int, default=48000)
    parser.add_argument("--repeats", type=int, default=3, help="decodes timed per clip and case")
    parser.add_argument("--corpus", default=None, help="corpus folder (default: the fetched one)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    postfilters = args.postfilters.split(",")
    clips = [read_audio(path)[0] for path in sample_files("heldout", args.max_files, args.corpus)]
    warm_up = encode(clips[0], SAMPLE_RATE_HZ, 16400)
    for name in postfilters:                 # Numba compilation is not timed
        decode(warm_up, postfilter=name)
    results = {}
    for bitrate in (int(b) for b in args.bitrates.split(",")):
        for name, row in measure(clips, bitrate, postfilters, args.config, args.repeats).items():
            results[(f"held-out {bitrate / 1000:g} kbps", name)] = row
    clean = read_audio(demo_clip_path())[0]
    for name, row in measure([clean], args.clean_bitrate, postfilters, args.config,
                             args.repeats).items():
        results[(f"clean demo clip {args.clean_bitrate / 1000:g} kbps", name)] = row
    total_s = sum(x.size for x in clips) / SAMPLE_RATE_HZ
    print(f"{len(clips)} held-out clips (voices in turn), {total_s:.1f} s; configuration "
          f"{args.config}\n")
    print(table(results))


if __name__ == "__main__":
    main()
