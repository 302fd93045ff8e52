"""Does the ranking of systems on held-out speakers carry over to the out-of-corpus sources?

Reads the ``results.csv`` of two ``hybridcodec evaluate`` runs with the same systems, for
example::

    hybridcodec evaluate --split heldout --max-files 32 --out benchmarks/results/heldout
    hybridcodec evaluate --split out-of-corpus --max-files 35 --out benchmarks/results/out-of-corpus
    python benchmarks/ranking.py benchmarks/results/heldout benchmarks/results/out-of-corpus

and prints, for every bitrate and pair of systems measured in both, the verdict of A against B
in each run (``evaluate.verdict``: *wins* where A is ahead by PESQ-WB and by ViSQOL, *loses*
where it is behind by both, *split* where the metrics disagree) and whether the two runs agree
(*reversed* where one run has A ahead by both metrics and the other behind by both).
The means are voice-balanced (``evaluate.voice_balanced_scores``: the mean of each voice's
files, then the mean over the voices) where the rows name their speakers, else means over files.

A difference of a few hundredths between two systems is within what another sample of voices
would change, so a second table asks, per metric, which orderings each run can tell apart
(``hybridcodec.tools.comparison``: A is *ahead* where the 95 % Student-t interval of the
voice-balanced paired difference lies above zero, *behind* where it lies below, else *within
noise*). The rankings contradict each other only where one run has A ahead and the other behind
on the same metric.
"""
import argparse
from collections import Counter
from pathlib import Path

from hybridcodec.tools.comparison import CONFIDENCE, MARK, ordering, paired_differences
from hybridcodec.tools.evaluate import (mean_scores, pairwise_verdicts, read_results_csv,
                                        voice_balanced_scores)
from hybridcodec.tools.metrics import METRIC_LABELS

COLUMNS = ("pesq_wb", "visqol")


def verdicts(results_dir):
    """:func:`evaluate.pairwise_verdicts` of one run's means (module doc)."""
    rows = read_results_csv(Path(results_dir) / "results.csv")
    if all(row["speaker"] for row in rows):
        return pairwise_verdicts(voice_balanced_scores(rows, COLUMNS), COLUMNS), "voice-balanced"
    return pairwise_verdicts(mean_scores(rows, COLUMNS), COLUMNS), "over files"


REVERSED = {("wins", "loses"), ("loses", "wins")}


def agreement(first_verdict, second_verdict):
    """'yes' where two verdicts are the same, 'reversed' where A is ahead by both metrics in one
    run and behind by both in the other, 'no' where one run's metrics split."""
    if first_verdict == second_verdict:
        return "yes"
    return "reversed" if (first_verdict, second_verdict) in REVERSED else "no"


def ranking_table(first, second, names):
    """Markdown table of the pairs measured in both runs, and how many agree or are reversed."""
    lines = [f"| kbps | A | B | A against B, {names[0]} | {names[1]} | same |",
             "|---:|---|---|---|---|:---:|"]
    common = sorted(set(first) & set(second))
    counts = Counter()
    for bitrate, a, b in common:
        same = agreement(first[bitrate, a, b], second[bitrate, a, b])
        counts[same] += 1
        lines.append(f"| {bitrate / 1000:g} | {a} | {b} | {first[bitrate, a, b]} | "
                     f"{second[bitrate, a, b]} | {same} |")
    return "\n".join(lines) + (
        f"\n\n{counts['yes']} of {len(common)} pairs agree, {counts['reversed']} reversed (ahead by "
        f"both metrics in one run, behind by both in the other), {counts['no']} differ where one "
        f"run's metrics split.\n")


def orderings(results_dir):
    """{(bitrate, A, B, column): :func:`ordering`} of one run, for every metric in COLUMNS."""
    rows = read_results_csv(Path(results_dir) / "results.csv")
    return {(*key, column): ordering(differences) for column in COLUMNS
            for key, differences in paired_differences(rows, column).items()}


def significance_table(first, second, names):
    """Markdown: per pair and metric, A − B in each run with its :func:`ordering`, and how many
    orderings both runs resolve, agree on, or contradict."""
    lines = [f"| kbps | A | B | metric | A − B, {names[0]} | {names[1]} | same |",
             "|---:|---|---|---|---|---|:---:|"]
    counts = Counter()
    for bitrate, a, b, column in sorted(set(first) & set(second)):
        (d1, o1), (d2, o2) = first[bitrate, a, b, column], second[bitrate, a, b, column]
        same = "–" if 0 in (o1, o2) else ("yes" if o1 == o2 else "reversed")
        counts[same] += 1
        lines.append(f"| {bitrate / 1000:g} | {a} | {b} | {METRIC_LABELS[column]} | "
                     f"{d1:+.3f} {MARK[o1]} | {d2:+.3f} {MARK[o2]} | {same} |")
    total = sum(counts.values())
    return "\n".join(lines) + (
        f"\n\nOf {total} orderings (pair, rate and metric), both runs resolve "
        f"{counts['yes'] + counts['reversed']}: {counts['yes']} agree and {counts['reversed']} reversed; "
        f"in the other {counts['–']} at least one run cannot tell the two systems apart "
        f"({CONFIDENCE:.0%} interval over voices).\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", help="folder with the results.csv of the first run (held-out)")
    parser.add_argument("second", help="folder with the results.csv of the second run")
    args = parser.parse_args()
    first, how_first = verdicts(args.first)
    second, how_second = verdicts(args.second)
    print(f"Means: {how_first} ({args.first}), {how_second} ({args.second}).\n")
    names = (Path(args.first).name, Path(args.second).name)
    print(ranking_table(first, second, names))
    print(significance_table(orderings(args.first), orderings(args.second), names))


if __name__ == "__main__":
    main()
