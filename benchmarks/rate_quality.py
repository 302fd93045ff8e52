"""Rate-quality benchmark: hybridcodec against Opus on the held-out speech.

For every bitrate, each held-out clip goes through hybridcodec (one configuration)
and through Opus (libopus via ffmpeg: voip, 20 ms frames, hard CBR). The table gives
the measured bitrate, mean PESQ-WB and mean STOI per codec and bitrate.

Measured bitrates are total bits over total duration: for hybridcodec the whole
``.hcb`` file (its header included), for Opus the audio packets of the Ogg stream
(no Ogg or OpusHead overhead).

The clips are a fixed selection: the longest ``--max-files`` held-out clips (ties by
name), so every run and machine sees the same ones.

Usage::

    python benchmarks/rate_quality.py [--config NAME] [--bitrates 9600,13200,16400,24400,32000]
                                      [--max-files 40] [--corpus DIR] [--out DIR] [--no-peers]
"""
import argparse
import csv
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hybridcodec.formats.audio import read_audio
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, clip_durations_s
from hybridcodec.tools.metrics import pesq_wb, stoi
from hybridcodec.tools.peers import opus_roundtrip

DEFAULT_BITRATES_BPS = (9600, 13200, 16400, 24400, 32000)
DEFAULT_MAX_FILES = 40
CODECS = ("hybridcodec", "opus")


def select_clips(corpus_dir, max_files):
    """The ``max_files`` longest held-out clips, as (path, signal) pairs sorted by name.

    Parameters
    ----------
    corpus_dir : pathlib.Path or None
        Corpus folder (None: the default one).
    max_files : int
        Number of clips.

    Returns
    -------
    list[tuple[pathlib.Path, numpy.ndarray]]
        16 kHz mono clips.
    """
    durations_s = clip_durations_s("heldout", corpus_dir)
    longest = sorted(durations_s, key=lambda path: (-durations_s[path], path.name))[:max_files]
    return [(path, read_audio(path)[0]) for path in sorted(longest)]


def hybridcodec_roundtrip(x, sample_rate_hz, bitrate_bps, config):
    """Encode and decode with hybridcodec.

    Returns
    -------
    y : numpy.ndarray, shape (n,)
        Decoded signal.
    n_bits : int
        Size of the ``.hcb`` file, in bits.
    """
    from hybridcodec.api import decode, encode

    data = encode(x, sample_rate_hz, bitrate_bps, config=config)
    y, _ = decode(data)
    return y, 8 * len(data)


def opus_bits(x, sample_rate_hz, bitrate_bps):
    """Encode and decode with Opus; returns (decoded signal, audio payload in bits)."""
    y, info = opus_roundtrip(x, sample_rate_hz, bitrate_bps)
    return y, info["payload_bitrate_bps"] * x.shape[0] / sample_rate_hz


def measure_clip(codec, x, bitrate_bps, config):
    """One row of results for one clip, codec and bitrate.

    Returns
    -------
    dict
        ``codec``, ``bitrate_bps``, ``duration_s``, ``bits``, ``pesq_wb``, ``stoi``.
    """
    if codec == "hybridcodec":
        y, n_bits = hybridcodec_roundtrip(x, SAMPLE_RATE_HZ, bitrate_bps, config)
    else:
        y, n_bits = opus_bits(x, SAMPLE_RATE_HZ, bitrate_bps)
    return {"codec": codec, "bitrate_bps": bitrate_bps, "duration_s": x.shape[0] / SAMPLE_RATE_HZ,
            "bits": n_bits, "pesq_wb": pesq_wb(x, y), "stoi": stoi(x, y, SAMPLE_RATE_HZ)}


def run(clips, bitrates_bps, config, codecs=CODECS):
    """Per-clip results for every codec and bitrate (a list of measure_clip rows)."""
    jobs = [(codec, bitrate, path, x) for codec in codecs for bitrate in bitrates_bps
            for path, x in clips]
    rows = []
    for codec, bitrate, path, x in tqdm(jobs, desc="coding clips", unit="clip"):
        rows.append({"clip": path.stem, **measure_clip(codec, x, bitrate, config)})
    return rows


def summarize(rows):
    """Mean results per (codec, bitrate): measured kbps, PESQ-WB, STOI, clip count."""
    summary = []
    for key in sorted({(row["codec"], row["bitrate_bps"]) for row in rows}, key=lambda k: (k[1], k[0])):
        group = [row for row in rows if (row["codec"], row["bitrate_bps"]) == key]
        total_s = sum(row["duration_s"] for row in group)
        summary.append({
            "codec": key[0], "target_kbps": key[1] / 1000,
            "measured_kbps": sum(row["bits"] for row in group) / total_s / 1000,
            "pesq_wb": float(np.nanmean([row["pesq_wb"] for row in group])),
            "stoi": float(np.mean([row["stoi"] for row in group])), "n_clips": len(group),
        })
    return summary


def markdown_table(summary, config):
    """The summary as a markdown table."""
    lines = ["| codec | target kbps | measured kbps | PESQ-WB | STOI | clips |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in summary:
        name = f"hybridcodec ({config})" if row["codec"] == "hybridcodec" else "Opus (voip, CBR, 20 ms)"
        lines.append(f"| {name} | {row['target_kbps']:.1f} | {row['measured_kbps']:.2f} | "
                     f"{row['pesq_wb']:.3f} | {row['stoi']:.3f} | {row['n_clips']} |")
    return "\n".join(lines)


def write_outputs(out_dir, rows, summary, config):
    """Write per-clip and summary CSV files and a PESQ-versus-bitrate plot to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "rate_quality_clips.csv", rows)
    _write_csv(out_dir / "rate_quality.csv", summary)
    _plot(out_dir / "rate_quality.png", summary, config)


def _write_csv(path, rows):
    """Write a list of dicts with the same keys as a CSV file."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _plot(path, summary, config):
    """Plot mean PESQ-WB against measured bitrate, one line per codec."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for codec, label in (("hybridcodec", f"hybridcodec ({config})"), ("opus", "Opus")):
        points = [(row["measured_kbps"], row["pesq_wb"]) for row in summary if row["codec"] == codec]
        if not points:
            continue
        axes.plot(*zip(*points), marker="o", label=label)
    axes.set(xlabel="measured bitrate (kbit/s)", ylabel="mean PESQ-WB (MOS-LQO)",
             title="Held-out Dutch speech, 16 kHz")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default", help="hybridcodec configuration name")
    parser.add_argument("--bitrates", default=",".join(map(str, DEFAULT_BITRATES_BPS)),
                        help="comma-separated bitrates in bit/s")
    parser.add_argument("--max-files", type=int, default=DEFAULT_MAX_FILES,
                        help="number of held-out clips (the longest ones)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: the fetched one)")
    parser.add_argument("--out", type=Path, default=None, help="folder for CSV files and a plot")
    parser.add_argument("--no-peers", action="store_true", help="hybridcodec only (skip Opus)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark and print the markdown table."""
    args = parse_args(argv)
    bitrates_bps = [int(value) for value in args.bitrates.split(",")]
    clips = select_clips(args.corpus, args.max_files)
    rows = run(clips, bitrates_bps, args.config, CODECS[:1] if args.no_peers else CODECS)
    summary = summarize(rows)
    total_s = sum(x.shape[0] for _, x in clips) / SAMPLE_RATE_HZ
    print(f"{len(clips)} held-out clips, {total_s:.1f} s of speech at {SAMPLE_RATE_HZ} Hz\n")
    print(markdown_table(summary, args.config))
    if args.out:
        write_outputs(args.out, rows, summary, args.config)


if __name__ == "__main__":
    main()
