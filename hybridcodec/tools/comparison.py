"""Paired comparison of two systems measured on the same files: which orderings a run resolves.

A difference of a few hundredths between two systems' means can be smaller than what another
sample of voices would change.  For systems A and B at one bitrate and one metric, the paired
difference A − B of each file both coded is averaged over each voice's files (each file is its
own voice where the rows name no speakers), so every voice weighs the same; the mean of those
per-voice differences d_v over the V voices is the voice-balanced difference, with the Student-t
interval

    mean(d) ± t_{V-1}(1 − (1 − CONFIDENCE) / 2) · std(d) / sqrt(V).

A is *ahead* where the interval lies above zero, *behind* where it lies below, and otherwise
the run cannot tell the two apart ("within noise").  One voice, or none, resolves nothing; V
equal differences resolve their sign.
"""
from collections import defaultdict
from itertools import combinations

import numpy as np
from scipy import stats

from hybridcodec.tools.metrics import METRIC_LABELS

CONFIDENCE = 0.95
CLAIM_COLUMNS = ("pesq_wb", "visqol")
"""The metrics a claim of 'ahead' needs to agree (PESQ-WB alone can be tuned against)."""
MARK = {1: "ahead", -1: "behind", 0: "within noise"}


def voice_differences(rows, column):
    """{(bitrate, A, B): {voice: mean A − B on ``column`` over that voice's files both coded}}
    for every pair of systems at a bitrate, A before B by name."""
    scores = defaultdict(dict)
    for row in rows:
        scores[row["bitrate_bps"], row["file"]][row["system"]] = (row["speaker"] or row["file"],
                                                                  row[column])
    by_voice = defaultdict(lambda: defaultdict(list))
    for (bitrate, _), systems in scores.items():
        for a, b in combinations(sorted(systems), 2):
            by_voice[bitrate, a, b][systems[a][0]].append(systems[a][1] - systems[b][1])
    return {key: {voice: float(np.mean(d)) for voice, d in voices.items()}
            for key, voices in by_voice.items()}


def paired_differences(rows, column):
    """{(bitrate, A, B): one mean A − B on ``column`` per voice} (:func:`voice_differences`)."""
    return {key: np.array(list(voices.values()))
            for key, voices in voice_differences(rows, column).items()}


def interval(differences):
    """(mean, low, high): the voice-balanced difference and its CONFIDENCE interval (module
    doc); NaN bounds for fewer than two voices."""
    mean = float(np.mean(differences))
    if len(differences) < 2:
        return mean, float("nan"), float("nan")
    if np.ptp(differences) == 0:                    # no spread: the value is exact
        return mean, mean, mean
    low, high = stats.ttest_1samp(differences, 0.0).confidence_interval(CONFIDENCE)
    return mean, float(low), float(high)


def ordering(differences):
    """(mean, +1 / -1 / 0): A ahead, behind, or within noise (module doc)."""
    mean, low, high = interval(differences)
    return mean, int(low > 0) - int(high < 0)


def interval_verdict(signs) -> str:
    """Over the claim metrics' orderings: 'ahead' or 'behind' by all, 'split' where resolved
    metrics disagree, else 'not resolved'."""
    if all(sign == 1 for sign in signs):
        return "ahead"
    if all(sign == -1 for sign in signs):
        return "behind"
    return "split" if {1, -1} <= set(signs) else "not resolved"


def directed(differences, bitrate, a, b):
    """{voice: A − B} from :func:`voice_differences`' (bitrate, A, B), which are keyed by name
    order."""
    if a < b:
        return differences[bitrate, a, b]
    return {voice: -d for voice, d in differences[bitrate, b, a].items()}


def comparison_markdown(rows, configs, columns):
    """Markdown lines: each configuration of this codec (A, in ``configs``) against every other
    system (B) at each bitrate, per claim metric in ``columns`` the voice-balanced difference
    with its interval, and the :func:`interval_verdict` where both claim metrics were measured;
    none where there is no such pair or no claim metric."""
    columns = [column for column in CLAIM_COLUMNS if column in columns]
    differences = {column: voice_differences(rows, column) for column in columns}
    pairs = sorted({(bitrate, *(pair if pair[0] in configs else pair[::-1]))
                    for by_pair in differences.values() for bitrate, *pair in by_pair
                    if configs & set(pair)})
    if not pairs:
        return []
    unit = "voices" if all(row["speaker"] for row in rows) else "files"
    lines = ["", f"Paired differences A − B, {'voice-balanced, ' * (unit == 'voices')}with the "
             f"{CONFIDENCE:.0%} Student-t interval over the {unit} "
             "(`hybridcodec.tools.comparison`); a verdict needs every metric's interval to "
             "exclude zero:", "",
             "| kbps | A | B | " + " | ".join(f"Δ{METRIC_LABELS[c]} [interval]" for c in columns)
             + f" | verdict | {unit} |", "|---:|---|---|" + "---|" * len(columns) + "---|---:|"]
    for bitrate, a, b in pairs:
        cells, signs = [], []
        for column in columns:
            d = np.array(list(directed(differences[column], bitrate, a, b).values()))
            mean, low, high = interval(d)
            bounds = f" [{low:+.3f}, {high:+.3f}]" if len(d) > 1 else " [–]"
            cells.append(f"{mean:+.3f}{bounds}")
            signs.append(ordering(d)[1])
        claim = interval_verdict(signs) if len(columns) == len(CLAIM_COLUMNS) else "needs both metrics"
        lines.append(f"| {bitrate / 1000:g} | {a} | {b} | " + " | ".join(cells)
                     + f" | {claim} | {len(d)} |")
    return lines
