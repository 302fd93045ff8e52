"""Pitch-tools benchmark (issue 12): each tool's PESQ-WB and ViSQOL gain, alone and combined,
on held-out speakers, with AMR-WB (and Opus) coded in the same run on the same files.

One ``hybridcodec evaluate`` run (``hybridcodec.tools.evaluate``) over the first ``--max-files``
clips of the held-out split writes ``OUT/results.csv`` and ``OUT/summary.md``; this script then
prints two tables from its rows:

1. gains: each configuration's mean PESQ-WB and ViSQOL minus the reference configuration's
   (``tcx-laplacian``, no pitch tool) per bitrate;
2. ``tcx-dsp`` against AMR-WB at the mode AMR-WB runs at for each bitrate (8.85 kbps for 9.6,
   12.65 for 13.2, 15.85 for 16.4, 23.85 for 24.4): the difference per metric.

Usage::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/pitch_tools.py [--max-files 24]
        [--configs tcx-laplacian,tcx-ltpf,...] [--out benchmarks/results/pitch-tools] [--jobs 2]
"""
import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from hybridcodec.tools.evaluate import evaluate
from hybridcodec.training.corpus import corpus_files

BITRATES_BPS = (9600, 13200, 16400, 24400)
REFERENCE = "tcx-laplacian"
CONFIGS = (REFERENCE, "tcx-ltpf", "tcx-celt-pitch", "tcx-tns", "tcx-dsp", "default")
PEERS = ("amr-wb", "opus")
METRICS = ("pesq", "visqol")
COLUMNS = ("pesq_wb", "visqol")
"""Result columns of METRICS."""


def means(rows):
    """{(system, bitrate): {column: mean}} over the files."""
    groups = defaultdict(list)
    for row in rows:
        groups[row["system"], row["bitrate_bps"]].append(row)
    return {key: {column: float(np.nanmean([row[column] for row in group])) for column in COLUMNS}
            for key, group in groups.items()}


def difference_table(table, systems, reference, label):
    """Markdown: ``system − reference`` per bitrate as 'ΔPESQ-WB / ΔViSQOL'."""
    lines = [f"| {label} | " + " | ".join(f"{b / 1000:g} kbps" for b in BITRATES_BPS) + " |",
             "|---|" + "---:|" * len(BITRATES_BPS)]
    for system in systems:
        cells = []
        for bitrate in BITRATES_BPS:
            mine, theirs = table.get((system, bitrate)), table.get((reference, bitrate))
            cells.append("–" if mine is None or theirs is None else " / ".join(
                f"{mine[c] - theirs[c]:+.3f}" for c in COLUMNS))
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--max-files", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", default="benchmarks/results/pitch-tools")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    configs = [name for name in args.configs.split(",") if name]
    peers = [name for name in args.peers.split(",") if name]
    rows, _ = evaluate(corpus_files("heldout")[:args.max_files], Path(args.out),
                       list(BITRATES_BPS), configs, peers, list(METRICS),
                       n_jobs=args.jobs)
    table = means(rows)
    print((Path(args.out) / "summary.md").read_text())
    print(f"Gain over {REFERENCE} (held-out, {args.max_files} files), ΔPESQ-WB / ΔViSQOL:\n")
    print(difference_table(table, [c for c in configs if c != REFERENCE], REFERENCE, "configuration"))
    if "amr-wb" in peers and "tcx-dsp" in configs:
        print("\ntcx-dsp − AMR-WB (same files, AMR-WB at its mode below each rate):\n")
        print(difference_table(table, ["tcx-dsp"], "amr-wb", "configuration"))


if __name__ == "__main__":
    main()
