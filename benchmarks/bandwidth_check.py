"""Does a ranking turn on content above 7 kHz? The same files coded as they are and low-passed.

PESQ-WB's band ends near 7 kHz, ViSQOL's reaches 8 kHz, and AMR-WB codes up to 7 kHz where this
codec codes up to 8.  On bright recordings a codec that spends bits above 7 kHz can thus lose in
PESQ-WB what it gains in ViSQOL.  This script runs ``hybridcodec evaluate`` twice on the same
utterances of a corpus split (each voice in turn): once as they are, once low-passed at
``--cutoff`` (10th-order Butterworth, zero phase, applied before coding; the low-passed signal
is also the metrics' reference), and prints the paired differences of both runs
(``hybridcodec.tools.comparison``).  Used on the out-of-corpus game voices::

    HYBRIDCODEC_CACHE=/tmp/hccache python benchmarks/bandwidth_check.py --split out-of-corpus \\
        --max-files 35 --bitrates 16.4k,24.4k --configs default --peers amr-wb
"""
import argparse
import tempfile
from pathlib import Path

import soundfile
from scipy.signal import butter, sosfiltfilt

from hybridcodec.core.config import parse_bitrate
from hybridcodec.formats.audio import read_audio
from hybridcodec.tools.comparison import comparison_markdown
from hybridcodec.tools.evaluate import evaluate
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, SPLITS, file_speakers, sample_files


def lowpass(x, cutoff_hz):
    """x through a 10th-order Butterworth low-pass at ``cutoff_hz``, forwards and backwards."""
    return sosfiltfilt(butter(10, cutoff_hz, fs=SAMPLE_RATE_HZ, output="sos"), x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="out-of-corpus", choices=SPLITS)
    parser.add_argument("--max-files", type=int, default=35)
    parser.add_argument("--cutoff", type=float, default=7000.0, help="Hz")
    parser.add_argument("--bitrates", default="16.4k,24.4k")
    parser.add_argument("--configs", default="default")
    parser.add_argument("--peers", default="amr-wb")
    args = parser.parse_args(argv)
    files = sample_files(args.split, args.max_files)
    speakers = file_speakers(files)
    bitrates = [parse_bitrate(b) for b in args.bitrates.split(",")]
    configs = args.configs.split(",")
    with tempfile.TemporaryDirectory(prefix="hybridcodec-bandwidth-") as tmp:
        for label, shape in (("as they are", lambda x: x),
                             (f"low-passed at {args.cutoff:g} Hz",
                              lambda x: lowpass(x, args.cutoff))):
            folder = Path(tmp) / label.replace(" ", "-")
            folder.mkdir()
            copies = {}
            for path in files:
                copy = folder / path.name
                soundfile.write(copy, shape(read_audio(path)[0]), SAMPLE_RATE_HZ, subtype="FLOAT")
                copies[copy] = speakers[path]
            rows, _ = evaluate(list(copies), folder / "out", bitrates, configs,
                               args.peers.split(","), ["pesq", "visqol"], root=folder,
                               progress=False, speakers=copies)
            print(f"{args.split}, {len(files)} files {label}:")
            print("\n".join(comparison_markdown(rows, set(configs), ["pesq_wb", "visqol"])))
            print()


if __name__ == "__main__":
    main()
