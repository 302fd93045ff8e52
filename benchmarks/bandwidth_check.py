"""Does a ranking turn on the recording's top band? The same files coded as they are and changed.

PESQ-WB's band ends near 7 kHz, ViSQOL's reaches 8 kHz, and AMR-WB codes up to 7 kHz where this
codec codes up to 8.  On bright recordings a codec that spends bits above 7 kHz can thus lose in
PESQ-WB what it gains in ViSQOL.  This script runs ``hybridcodec evaluate`` twice on the same
utterances of a corpus split (each voice in turn): once as they are, once changed before coding
(the changed signal is also the metrics' reference), and prints the mean scores and the paired
differences of both runs (``hybridcodec.tools.comparison``).  The change is a low-pass at
``--cutoff`` (10th-order Butterworth, zero phase), or with ``--tilt DB`` a spectral tilt
(:func:`tilt`: the band above 3 kHz raised by DB dB at the same power, as from a brighter
microphone).  Used on the out-of-corpus game voices and on held-out speakers::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/bandwidth_check.py --split out-of-corpus \\
        --max-files 35 --bitrates 16.4k,24.4k --configs default --peers amr-wb
    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/bandwidth_check.py --split heldout \\
        --max-files 32 --tilt 12 --bitrates 9.6k,13.2k,16.4k,24.4k --configs default \\
        --peers opus,amr-wb
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import butter, sosfilt, sosfiltfilt

from hybridcodec.core.config import parse_bitrate
from hybridcodec.formats.audio import read_audio
from hybridcodec.tools.evaluate import evaluate, parse_names, summary_markdown
from hybridcodec.tools.peers import PEERS
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, SPLITS, file_speakers, sample_files


def lowpass(x, cutoff_hz):
    """x through a 10th-order Butterworth low-pass at ``cutoff_hz``, forwards and backwards."""
    return sosfiltfilt(butter(10, cutoff_hz, fs=SAMPLE_RATE_HZ, output="sos"), x)


TILT_CORNER_HZ = 3000.0


def tilt(x, gain_db, corner_hz=TILT_CORNER_HZ):
    """x with the band above ``corner_hz`` raised by ``gain_db`` (below 0: lowered), at the same
    power: y = x + (10^(G/20) - 1) HP(x), HP a 2nd-order Butterworth high-pass, then scaled."""
    high = sosfilt(butter(2, corner_hz, "highpass", fs=SAMPLE_RATE_HZ, output="sos"), x)
    y = x + (10.0 ** (gain_db / 20.0) - 1.0) * high
    return y * np.sqrt(np.mean(x * x) / max(np.mean(y * y), 1e-30))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="out-of-corpus", choices=SPLITS)
    parser.add_argument("--max-files", type=int, default=35)
    parser.add_argument("--cutoff", type=float, default=7000.0, help="Hz")
    parser.add_argument("--tilt", type=float, default=None,
                        help=f"dB above {TILT_CORNER_HZ / 1000:g} kHz, instead of the low-pass")
    parser.add_argument("--bitrates", default="16.4k,24.4k")
    parser.add_argument("--configs", default="default")
    parser.add_argument("--peers", default="amr-wb")
    args = parser.parse_args(argv)
    files = sample_files(args.split, args.max_files)
    speakers = file_speakers(files)
    bitrates = [parse_bitrate(b) for b in args.bitrates.split(",")]
    configs = args.configs.split(",")
    peers = parse_names(args.peers, list(PEERS), "peer")
    with tempfile.TemporaryDirectory(prefix="hybridcodec-bandwidth-") as tmp:
        if args.tilt is None:
            change = (f"low-passed at {args.cutoff:g} Hz", lambda x: lowpass(x, args.cutoff))
        else:
            change = (f"tilted by {args.tilt:+g} dB above {TILT_CORNER_HZ / 1000:g} kHz",
                      lambda x: tilt(x, args.tilt))
        for label, shape in (("as they are", lambda x: x), change):
            folder = Path(tmp) / label.replace(" ", "-")
            folder.mkdir()
            copies = {}
            for path in files:
                copy = folder / path.name
                soundfile.write(copy, shape(read_audio(path)[0]), SAMPLE_RATE_HZ, subtype="FLOAT")
                copies[copy] = speakers[path]
            rows, _ = evaluate(list(copies), folder / "out", bitrates, configs,
                               peers, ["pesq", "visqol"], root=folder, progress=False,
                               speakers=copies)
            print(f"{args.split}, {len(files)} files {label}:")
            print(summary_markdown(rows, ["pesq_wb", "visqol"], configs=configs))
            print()


if __name__ == "__main__":
    main()
