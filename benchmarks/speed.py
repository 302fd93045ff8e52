"""Speed benchmark: hybridcodec against opusenc/opusdec on one CPU core.

Codes the same 60 s of held-out speech (held-out clips in name order, concatenated
and cut to 60 s) with hybridcodec's Python API and with the opusenc/opusdec programs
(``--hard-cbr --framesize 20``, pinned to core 0 with taskset), at the same bitrate,
in the same run. Speeds are "times real time" (×RT: seconds of audio per second of
wall-clock time, higher is faster), the best of ``--repeats`` runs. hybridcodec is
timed after a warm-up call, so Numba compilation is excluded; the Opus times include
starting the processes (a few milliseconds).

Usage::

    python benchmarks/speed.py [--config NAME] [--bitrate 16400] [--seconds 60]
                               [--repeats 3] [--corpus DIR]
"""
import os

# One core and one thread, set before NumPy and Numba are imported so that they apply.
for _variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hybridcodec.formats.audio import read_audio, write_audio  # noqa: E402
from hybridcodec.training.corpus import SAMPLE_RATE_HZ, corpus_files  # noqa: E402
from hybridcodec.tools.peers import opusdec_time, opusenc_time  # noqa: E402

WARM_UP_SECONDS = 1.0


def held_out_speech(duration_s, corpus_dir=None):
    """Held-out clips in name order, concatenated and cut to ``duration_s`` seconds.

    Returns
    -------
    numpy.ndarray, shape (n,)
        16 kHz mono speech.
    """
    n_wanted = int(round(duration_s * SAMPLE_RATE_HZ))
    pieces, n_samples = [], 0
    for path in corpus_files("heldout", corpus_dir):
        pieces.append(read_audio(path)[0])
        n_samples += pieces[-1].shape[0]
        if n_samples >= n_wanted:
            return np.concatenate(pieces)[:n_wanted]
    raise ValueError(f"the held-out split holds only {n_samples / SAMPLE_RATE_HZ:.1f} s of speech")


def best_time_s(function, repeats):
    """Fastest wall-clock time of ``function()`` over ``repeats`` calls, and its last result."""
    times_s, result = [], None
    for _ in range(repeats):
        start_s = time.perf_counter()
        result = function()
        times_s.append(time.perf_counter() - start_s)
    return min(times_s), result


def time_hybridcodec(x, bitrate_bps, config, repeats):
    """Encode and decode times of hybridcodec, in seconds, after a warm-up call."""
    from hybridcodec.api import decode, encode

    warm_up = x[:int(WARM_UP_SECONDS * SAMPLE_RATE_HZ)]
    decode(encode(warm_up, SAMPLE_RATE_HZ, bitrate_bps, config=config))
    encode_s, data = best_time_s(lambda: encode(x, SAMPLE_RATE_HZ, bitrate_bps, config=config), repeats)
    decode_s, _ = best_time_s(lambda: decode(data), repeats)
    return encode_s, decode_s


def time_opus(x, bitrate_bps, repeats):
    """Encode and decode times of opusenc and opusdec processes, in seconds."""
    with tempfile.TemporaryDirectory(prefix="hybridcodec-speed-") as tmp:
        wav_path, opus_path = Path(tmp) / "in.wav", Path(tmp) / "x.opus"
        write_audio(wav_path, x, SAMPLE_RATE_HZ)
        encode_s = opusenc_time(wav_path, opus_path, bitrate_bps, repeats=repeats)
        decode_s = opusdec_time(opus_path, Path(tmp) / "out.wav", SAMPLE_RATE_HZ, repeats=repeats)
    return encode_s, decode_s


def markdown_table(duration_s, times_s, bitrate_bps):
    """Table of ×RT per codec and the time of each relative to Opus.

    Parameters
    ----------
    duration_s : float
        Length of the coded speech, in seconds.
    times_s : dict[str, tuple[float, float]]
        Codec label to (encode, decode) seconds; must hold "Opus".
    bitrate_bps : int
        Bitrate of both codecs, in bit/s.
    """
    opus_total_s = sum(times_s["Opus"])
    lines = [f"| codec ({bitrate_bps / 1000:g} kbit/s, 1 core) | encode ×RT | decode ×RT | total ×RT | "
             "time ÷ Opus time |", "|---|---:|---:|---:|---:|"]
    for label, (encode_s, decode_s) in times_s.items():
        total_s = encode_s + decode_s
        lines.append(f"| {label} | {duration_s / encode_s:.1f} | {duration_s / decode_s:.1f} | "
                     f"{duration_s / total_s:.1f} | {total_s / opus_total_s:.1f} |")
    return "\n".join(lines)


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default", help="hybridcodec configuration name")
    parser.add_argument("--bitrate", type=int, default=16400, help="bitrate in bit/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of speech to code")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (the fastest counts)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: the fetched one)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark and print the markdown table."""
    args = parse_args(argv)
    x = held_out_speech(args.seconds, args.corpus)
    times_s = {
        f"hybridcodec ({args.config})": time_hybridcodec(x, args.bitrate, args.config, args.repeats),
        "Opus": time_opus(x, args.bitrate, args.repeats),
    }
    print(f"{args.seconds:g} s of held-out speech, 16 kHz; CPU affinity {sorted(os.sched_getaffinity(0))}\n")
    print(markdown_table(args.seconds, times_s, args.bitrate))


if __name__ == "__main__":
    main()
