"""Pitch-tools benchmark (issue 12): each tool's PESQ-WB and ViSQOL gain, alone and combined,
on held-out speakers, with AMR-WB (and Opus) coded in the same run on the same files.

One ``hybridcodec evaluate`` run (``hybridcodec.tools.evaluate``) over the first ``--max-files``
clips of the held-out split, taken from each voice in turn (``training.corpus.sample_files``),
writes ``OUT/results.csv`` and ``OUT/summary.md``; this script then prints two tables from its
rows:

1. gains: each configuration's voice-balanced mean PESQ-WB and ViSQOL (the mean of each held-out
   voice's files, then the mean over the voices: ``evaluate.voice_balanced_scores``) minus its
   reference's per bitrate: the
   DSP configurations against ``tcx-laplacian`` (no pitch tool), ``tcx-mixture-pitch`` (the
   default) against ``tcx-mixture``;
2. ``tcx-dsp`` against AMR-WB at the mode AMR-WB runs at for each bitrate (8.85 kbps for 9.6,
   12.65 for 13.2, 15.85 for 16.4, 23.85 for 24.4): the difference per metric.

Usage::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/pitch_tools.py [--max-files 32]
        [--configs tcx-laplacian,tcx-ltpf,...] [--out benchmarks/results/pitch-tools] [--jobs 2]
"""
import argparse
from pathlib import Path

from hybridcodec.tools.evaluate import evaluate, voice_balanced_scores
from hybridcodec.tools.metrics import METRICS as METRIC_COLUMNS
from hybridcodec.training.corpus import file_speakers, sample_files

BITRATES_BPS = (9600, 13200, 16400, 24400)
REFERENCE = "tcx-laplacian"
REFERENCES = {"tcx-ltpf": REFERENCE, "tcx-celt-pitch": REFERENCE, "tcx-celt-harmonic": REFERENCE,
              "tcx-tns": REFERENCE, "tcx-dsp": REFERENCE, "tcx-mixture-pitch": "tcx-mixture"}
"""Each configuration with a pitch tool → the same configuration without any."""
CONFIGS = (REFERENCE, "tcx-ltpf", "tcx-celt-pitch", "tcx-celt-harmonic", "tcx-tns", "tcx-dsp",
           "tcx-mixture", "tcx-mixture-pitch")
PEERS = ("amr-wb", "opus")
METRICS = ("pesq", "visqol")
COLUMNS = tuple(METRIC_COLUMNS[name].column for name in METRICS)
"""Result columns of METRICS."""


def difference_table(table, pairs):
    """Markdown: ``system − reference`` per bitrate as 'ΔPESQ-WB / ΔViSQOL', one row per
    (system, reference) pair."""
    lines = ["| system − reference | " + " | ".join(f"{b / 1000:g} kbps" for b in BITRATES_BPS)
             + " |", "|---|" + "---:|" * len(BITRATES_BPS)]
    for system, reference in pairs:
        cells = []
        for bitrate in BITRATES_BPS:
            mine, theirs = table.get((system, bitrate)), table.get((reference, bitrate))
            cells.append("–" if mine is None or theirs is None else " / ".join(
                f"{mine[c] - theirs[c]:+.3f}" for c in COLUMNS))
        lines.append(f"| {system} − {reference} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--max-files", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", default="benchmarks/results/pitch-tools")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    configs = [name for name in args.configs.split(",") if name]
    peers = [name for name in args.peers.split(",") if name]
    files = sample_files("heldout", args.max_files)
    rows, _ = evaluate(files, Path(args.out), list(BITRATES_BPS), configs, peers, list(METRICS),
                       n_jobs=args.jobs, speakers=file_speakers(files))
    table = voice_balanced_scores(rows, COLUMNS)
    print((Path(args.out) / "summary.md").read_text())
    print(f"Gains of the pitch tools (held-out, {args.max_files} files, voice-balanced), "
          "ΔPESQ-WB / ΔViSQOL:\n")
    print(difference_table(table, [(c, REFERENCES[c]) for c in configs if c in REFERENCES]))
    print("\nAgainst the peers (AMR-WB at its mode below each rate; voice-balanced), "
          "ΔPESQ-WB / ΔViSQOL:\n")
    print(difference_table(table, [(c, peer) for peer in peers
                                   for c in ("tcx-dsp", "tcx-mixture-pitch") if c in configs]))


if __name__ == "__main__":
    main()
