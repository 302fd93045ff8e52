"""Where does the codec lose quality, in the band it codes or in the band it fills with noise?

Each utterance is coded and decoded; the output is then scored three times against the input:
as it is, with the input's band above a split frequency put in place of its own ("input above"),
and with the input's band below it put in place of its own ("input below").  The band split is
complementary and zero-phase (a linear-phase FIR low-pass run forwards and backwards, the high
band the rest), so the two patched signals differ from the output in one band only.  What a
patch raises a metric by is what that band costs it.  At 9.6 kbps the default's rate loop leaves
no bin nonzero above about 2 kHz (README, "Configurations and results"), so a 2 kHz split
separates the coded band from the noise-filled one there.

Usage::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/band_oracle.py [--split heldout]
        [--max-files 32] [--config default] [--cases 9.6k@2000,13.2k@2000,13.2k@3000,24.4k@3000]
"""
import argparse

import numpy as np
from joblib import Parallel, delayed
from scipy.signal import filtfilt, firwin
from tqdm import tqdm

from hybridcodec.api import decode, encode
from hybridcodec.core.config import parse_bitrate
from hybridcodec.tools.metrics import pesq_wb, visqol
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, load_clips

SPLIT_FILTER_TAPS = 255
CONDITIONS = ("decoded", "input above split", "input below split")


def band_split(x: np.ndarray, split_hz: float):
    """(low, high) with low + high = x: low is x through a zero-phase linear-phase low-pass."""
    low = filtfilt(firwin(SPLIT_FILTER_TAPS, split_hz, fs=SAMPLE_RATE_HZ), [1.0], x)
    return low, x - low


def patched_scores(x: np.ndarray, config: str, bitrate_bps: int, split_hz: float) -> np.ndarray:
    """PESQ-WB and ViSQOL of the decoded output and of its two patched versions, (3, 2)."""
    y, _ = decode(encode(x, SAMPLE_RATE_HZ, bitrate_bps, config))
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    (x_low, x_high), (y_low, y_high) = band_split(x, split_hz), band_split(y, split_hz)
    return np.array([[pesq_wb(x, z, SAMPLE_RATE_HZ), visqol(x, z, SAMPLE_RATE_HZ)]
                     for z in (y, y_low + x_high, x_low + y_high)])


def parse_cases(text: str):
    """'9.6k@2000,13.2k@3000' → [(9600, 2000.0), (13200, 3000.0)]."""
    cases = []
    for item in text.split(","):
        rate, _, split_hz = item.partition("@")
        cases.append((parse_bitrate(rate), float(split_hz)))
    return cases


def markdown_table(rows) -> str:
    """rows: (bitrate, split_hz, mean scores (3, 2)) → a table of PESQ-WB / ViSQOL per condition
    and what each patch adds."""
    lines = ["| kbps | split | " + " | ".join(CONDITIONS) + " | above adds | below adds |",
             "|---:|---:|" + "---|" * (len(CONDITIONS) + 2)]
    for bitrate, split_hz, s in rows:
        cells = [f"{p:.3f} / {v:.3f}" for p, v in s]
        cells += [f"{s[k, 0] - s[0, 0]:+.3f} / {s[k, 1] - s[0, 1]:+.3f}" for k in (1, 2)]
        lines.append(f"| {bitrate / 1000:g} | {split_hz / 1000:g} kHz | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="heldout", help="corpus split (default heldout)")
    parser.add_argument("--max-files", type=int, default=32)
    parser.add_argument("--config", default="default")
    parser.add_argument("--cases", default="9.6k@2000,13.2k@2000,13.2k@3000,24.4k@3000",
                        help="BITRATE@SPLIT_HZ, comma-separated")
    parser.add_argument("--jobs", type=int, default=-1)
    args = parser.parse_args(argv)
    clips = load_clips(args.split, None, args.max_files, 3.0, voice_balanced=True)
    rows = []
    for bitrate, split_hz in parse_cases(args.cases):
        scores = Parallel(n_jobs=args.jobs)(
            delayed(patched_scores)(x, args.config, bitrate, split_hz)
            for x in tqdm(clips, desc=f"{bitrate / 1000:g} kbps, split {split_hz:g} Hz"))
        rows.append((bitrate, split_hz, np.mean(scores, axis=0)))
    print(f"{args.config}, {len(clips)} {args.split} utterances (voices in turn), PESQ-WB / ViSQOL, "
          "means over the utterances\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
