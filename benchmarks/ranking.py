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
would change, so a second table asks, per metric, which orderings each run can tell apart: the
paired difference A − B is averaged over each voice's files (each file is its own voice where
the rows name no speakers), and A is *ahead* where the 95 % Student-t interval of the mean over
the voices lies above zero, *behind* where it lies below, else *within noise*. The rankings
contradict each other only where one run has A ahead and the other behind on the same metric.
"""
import argparse
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import stats

from hybridcodec.tools.evaluate import (mean_scores, pairwise_verdicts, read_results_csv,
                                        voice_balanced_scores)

COLUMNS = ("pesq_wb", "visqol")
CONFIDENCE = 0.95


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


def voice_differences(rows, column):
    """{(bitrate, A, B): the mean of A − B on ``column`` over each voice's files, one value per
    voice} for every pair of systems, A before B by name, over the files both coded."""
    scores = defaultdict(dict)
    for row in rows:
        scores[row["bitrate_bps"], row["file"]][row["system"]] = (row["speaker"] or row["file"],
                                                                  row[column])
    by_voice = defaultdict(lambda: defaultdict(list))
    for (bitrate, _), systems in scores.items():
        for a, b in combinations(sorted(systems), 2):
            voice = systems[a][0]
            by_voice[bitrate, a, b][voice].append(systems[a][1] - systems[b][1])
    return {key: np.array([np.mean(d) for d in voices.values()]) for key, voices in by_voice.items()}


def ordering(differences):
    """(mean difference, +1 / -1 / 0): ahead, behind, or within noise, where the CONFIDENCE
    Student-t interval of the mean over the voices lies above zero, below it, or around it."""
    mean = float(np.mean(differences))
    if len(differences) < 2:
        return mean, 0
    if np.ptp(differences) == 0:                    # no spread: the sign is exact
        return mean, int(np.sign(mean))
    low, high = stats.ttest_1samp(differences, 0.0).confidence_interval(CONFIDENCE)
    return mean, int(low > 0) - int(high < 0)


def orderings(results_dir):
    """{(bitrate, A, B, column): :func:`ordering`} of one run, for every metric in COLUMNS."""
    rows = read_results_csv(Path(results_dir) / "results.csv")
    return {(*key, column): ordering(differences) for column in COLUMNS
            for key, differences in voice_differences(rows, column).items()}


MARK = {1: "ahead", -1: "behind", 0: "within noise"}


def significance_table(first, second, names):
    """Markdown: per pair and metric, A − B in each run with its :func:`ordering`, and how many
    orderings both runs resolve, agree on, or contradict."""
    labels = {"pesq_wb": "PESQ-WB", "visqol": "ViSQOL"}
    lines = [f"| kbps | A | B | metric | A − B, {names[0]} | {names[1]} | same |",
             "|---:|---|---|---|---|---|:---:|"]
    counts = Counter()
    for bitrate, a, b, column in sorted(set(first) & set(second)):
        (d1, o1), (d2, o2) = first[bitrate, a, b, column], second[bitrate, a, b, column]
        same = "–" if 0 in (o1, o2) else ("yes" if o1 == o2 else "reversed")
        counts[same] += 1
        lines.append(f"| {bitrate / 1000:g} | {a} | {b} | {labels.get(column, column)} | "
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
