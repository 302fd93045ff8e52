"""Which voices carry a lead? One system against the others, voice by voice.

A voice-balanced mean over eight voices can rest on one or two of them.  This reads the
``results.csv`` of a ``hybridcodec evaluate`` run and prints, for system A against every other
system B at each bitrate, the mean A − B of PESQ-WB and ViSQOL over each voice's files
(``hybridcodec.tools.comparison.voice_differences``), the voice-balanced mean, and how many
voices have A ahead by both metrics, behind by both, or split::

    python benchmarks/voices.py benchmarks/results/heldout --system default --against opus
"""
import argparse
import sys
from pathlib import Path

from hybridcodec.tools.comparison import CLAIM_COLUMNS, directed, voice_differences
from hybridcodec.tools.evaluate import read_results_csv


def voice_table(rows, system, against):
    """Markdown: per bitrate and voice, ``system`` − ``against`` by each claim metric."""
    differences = {column: voice_differences(rows, column) for column in CLAIM_COLUMNS}
    bitrates = sorted({bitrate for bitrate, *pair in differences["pesq_wb"]
                       if {system, against} == set(pair)})
    voices = sorted({voice for bitrate in bitrates
                     for voice in directed(differences["pesq_wb"], bitrate, system, against)})
    lines = [f"{system} − {against}, PESQ-WB / ViSQOL per voice (mean over the voice's files):", "",
             "| voice | " + " | ".join(f"{b / 1000:g} kbps" for b in bitrates) + " |",
             "|---|" + "---:|" * len(bitrates)]
    per_rate = [[directed(differences[c], b, system, against) for c in CLAIM_COLUMNS]
                for b in bitrates]
    for voice in voices:
        cells = [" / ".join(f"{d[voice]:+.2f}" for d in rate) for rate in per_rate]
        lines.append(f"| {voice} | " + " | ".join(cells) + " |")
    means = [" / ".join(f"{sum(d.values()) / len(d):+.3f}" for d in rate) for rate in per_rate]
    lines.append("| **voice-balanced mean** | " + " | ".join(means) + " |")
    lines.append("| ahead / behind / split | " + " | ".join(_counts(rate) for rate in per_rate)
                 + " |")
    return "\n".join(lines)


def _counts(rate):
    """'ahead / behind / split': voices with A ahead by every metric, behind by every, or mixed."""
    signs = [{d[voice] > 0 for d in rate} for voice in rate[0]]
    ahead = sum(s == {True} for s in signs)
    behind = sum(s == {False} for s in signs)
    return f"{ahead} / {behind} / {len(signs) - ahead - behind}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="folder with the results.csv of a run")
    parser.add_argument("--system", default="default", help="system A (default: default)")
    parser.add_argument("--against", default="opus,amr-wb",
                        help="comma-separated systems B (default: opus,amr-wb)")
    args = parser.parse_args()
    rows = read_results_csv(Path(args.results) / "results.csv")
    systems = {row["system"] for row in rows}
    missing = sorted({args.system, *args.against.split(",")} - systems)
    if missing:
        sys.exit(f"error: no rows of {', '.join(missing)} in {args.results}/results.csv "
                 f"(its systems: {', '.join(sorted(systems))})")
    for other in args.against.split(","):
        print(voice_table(rows, args.system, other), end="\n\n")


if __name__ == "__main__":
    main()
