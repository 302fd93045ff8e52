"""Which of ViSQOL's features a difference of scores between this codec and a peer comes from.

ViSQOL v3's speech mapper (the deep-lattice model of the C++ tool) reads four features per
gammatone band (``hybridcodec.tools.metrics.VISQOL_FEATURES``): the mean, 10th percentile and
spread of the band's NSIM against the reference, and the energy of the degraded signal in the
band, which does not involve the reference at all. This script codes the same utterances of a
corpus split with a configuration of this codec (A) and a peer (B). For each utterance it maps
A's features with one group of B's swapped in (``visqol_mos``), so that each column shows how
much of B's lead that group alone would give A. It also prints the three similarity features
averaged over the bands for both systems, so that a swap's sign can be read against which system
is actually closer (the mapper is not monotonic in every feature), and each output's level
against the input per band: the spectral balance that the energy feature sees. Means are
voice-balanced::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/visqol_attribution.py --split heldout \\
        --max-files 32 --config tcx-dsp --peer amr-wb --bitrates 9.6k,13.2k,16.4k
"""
import argparse
from collections import defaultdict

import numpy as np
from joblib import Parallel, delayed
from scipy.signal import welch

from hybridcodec.core.config import parse_bitrate
from hybridcodec.tools.evaluate import coded_output, plan_jobs, voice_balanced_scores
from hybridcodec.tools.metrics import VISQOL_FEATURES, visqol_features, visqol_mos
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, SPLITS, file_speakers, sample_files

SWAPS = {name: (name,) for name in VISQOL_FEATURES}
SWAPS["similarity"] = ("fvnsim", "fvnsim10", "fstdnsim")
"""The feature groups swapped from B into A: each feature alone, and the three that compare
with the reference together."""
SIMILARITY = SWAPS["similarity"]
BAND_EDGES_HZ = (50, 150, 500, 1000, 2000, 4000, 6000, 7000, 8000)


def band_levels_db(x, y):
    """Level of ``y`` against ``x`` in each band of :data:`BAND_EDGES_HZ`, in dB (Welch power
    spectra, 40 ms segments)."""
    f, px = welch(x, SAMPLE_RATE_HZ, nperseg=640)
    _, py = welch(y, SAMPLE_RATE_HZ, nperseg=640)
    levels = {}
    for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:]):
        band = (f >= lo) & (f < hi)
        levels[f"level_{lo}"] = 10.0 * np.log10(py[band].sum() / px[band].sum())
    return levels


def pair_rows(job_a, job_b):
    """The rows of A's and B's round trips of one file at one bitrate (``evaluate.Job``s):
    ViSQOL, the band levels and, for A, the swapped scores."""
    rows, features = [], []
    for job in (job_a, job_b):
        x, y, payload_bps, _ = coded_output(job)
        features.append(visqol_features(x, y, SAMPLE_RATE_HZ))
        rows.append({"system": job.system, "bitrate_bps": job.bitrate_bps,
                     "operating_bps": job.operating_bps, "speaker": job.speaker,
                     "measured_bps": payload_bps, "visqol": features[-1].moslqo,
                     **{name: float(np.mean(getattr(features[-1], name))) for name in SIMILARITY},
                     **band_levels_db(x, y)})
    a, b = features
    rows[0].update({f"swap_{group}": visqol_mos(a.swapped(b, names)) - a.moslqo
                    for group, names in SWAPS.items()})
    return rows


def attribution_table(means, bitrates_bps, config, peer_name):
    """Markdown: ViSQOL of A and B and what each swapped group adds to A, per bitrate."""
    groups = list(SWAPS)
    lines = [f"| kbps | {config} | {peer_name} | {peer_name} − {config} | " +
             " | ".join(f"+ {peer_name}'s {group}" for group in groups) + " | voices |",
             "|---:|" + "---:|" * (len(groups) + 4)]
    for bitrate_bps in bitrates_bps:
        a, b = means[config, bitrate_bps], means[peer_name, bitrate_bps]
        swaps = " | ".join(f"{a[f'swap_{group}']:+.3f}" for group in groups)
        lines.append(f"| {bitrate_bps / 1000:g} | {a['visqol']:.3f} | {b['visqol']:.3f} | "
                     f"{b['visqol'] - a['visqol']:+.3f} | {swaps} | {a['n_voices']} |")
    return "\n".join(lines)


def similarity_table(means, bitrates_bps, config, peer_name):
    """Markdown: each system's similarity features, averaged over the bands."""
    lines = ["| kbps | system | " + " | ".join(SIMILARITY) + " |",
             "|---:|---|" + "---:|" * len(SIMILARITY)]
    for bitrate_bps in bitrates_bps:
        for name in (config, peer_name):
            values = " | ".join(f"{means[name, bitrate_bps][f]:.3f}" for f in SIMILARITY)
            lines.append(f"| {bitrate_bps / 1000:g} | {name} | {values} |")
    return "\n".join(lines)


def level_table(means, bitrates_bps, config, peer_name):
    """Markdown: each system's output level against the input per band, in dB."""
    edges = BAND_EDGES_HZ
    bands = " | ".join(f"{lo}-{hi} Hz" for lo, hi in zip(edges[:-1], edges[1:]))
    lines = [f"| kbps | system | {bands} |", "|---:|---|" + "---:|" * (len(edges) - 1)]
    for bitrate_bps in bitrates_bps:
        for name in (config, peer_name):
            row = means[name, bitrate_bps]
            levels = " | ".join(f"{row[f'level_{lo}']:+.1f}" for lo in edges[:-1])
            lines.append(f"| {bitrate_bps / 1000:g} | {name} | {levels} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="heldout", choices=SPLITS)
    parser.add_argument("--max-files", type=int, default=32)
    parser.add_argument("--bitrates", default="9.6k,13.2k,16.4k")
    parser.add_argument("--config", default="tcx-dsp")
    parser.add_argument("--peer", default="amr-wb")
    args = parser.parse_args(argv)
    bitrates = [parse_bitrate(b) for b in args.bitrates.split(",")]
    files = sample_files(args.split, args.max_files)
    jobs, notes = plan_jobs(files, None, bitrates, [args.config], [args.peer],
                            file_speakers(files))
    if notes:
        parser.error("; ".join(notes))
    pairs = defaultdict(list)                  # (file, bitrate) → [A's job, B's job]
    for job in jobs:
        pairs[job.path, job.bitrate_bps].append(job)
    results = Parallel(n_jobs=-1)(delayed(pair_rows)(*pair) for pair in pairs.values())
    rows = [row for both in results for row in both]
    both = [*(f"level_{lo}" for lo in BAND_EDGES_HZ[:-1]), *SIMILARITY]   # of A and of B
    means = {}
    for system, columns in ((args.config, [*both, *(f"swap_{group}" for group in SWAPS)]),
                            (args.peer, both)):
        means.update(voice_balanced_scores([row for row in rows if row["system"] == system],
                                           ["visqol", *columns]))
    print(f"{args.split}, {len(files)} files, voice-balanced means. ViSQOL v3 speech mode; "
          f"'+ {args.peer}'s X' = {args.config}'s score with its X replaced by {args.peer}'s, "
          f"minus {args.config}'s score:\n")
    print(attribution_table(means, bitrates, args.config, args.peer))
    print("\nSimilarity features, mean over the bands (NSIM against the input: its mean, 10th "
          "percentile and spread over the patches):\n")
    print(similarity_table(means, bitrates, args.config, args.peer))
    print("\nOutput level against the input per band, dB:\n")
    print(level_table(means, bitrates, args.config, args.peer))


if __name__ == "__main__":
    main()
