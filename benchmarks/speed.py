"""Speed benchmark: hybridcodec against opusenc/opusdec and elc3/dlc3 (LC3) on one CPU core.

Three measurements in one run, on the same speech:

1. **Start-up**: wall time of ``hybridcodec configs`` and of ``hybridcodec encode`` of a 2 s clip
   (a fresh process each, warm Numba cache), beside ``opusenc`` and ``elc3`` of the same clip.
2. **Coding speed**: ``--seconds`` of speech coded by hybridcodec's Python API (after a warm-up
   call, so Numba compilation is excluded) and by the opusenc/opusdec (``--hard-cbr --framesize
   20``) and elc3/dlc3 (10 ms frames) programs, at the same bitrate. Speeds are "times real
   time" (×RT: seconds of audio per second of wall-clock time, higher is faster), the best of
   ``--repeats`` runs; the programs' times include starting their processes (a few ms).
3. **Folder encode**: ``--clips`` clips of 2 s encoded by one ``hybridcodec encode clips/*.wav
   out/`` process, against one ``opusenc`` process per clip.

The speech is the held-out split of the corpus (clips in order, concatenated) when it has been
fetched, else the bundled demo clip repeated.  Everything runs pinned to core 0.

Usage::

    python benchmarks/speed.py [--config NAME] [--bitrate 16400] [--seconds 60] [--clips 100]
                               [--repeats 3] [--corpus DIR] [--baseline DIR]

``--baseline DIR`` times another version in the same run (install it with ``pip install
--no-deps --target DIR <checkout>``; any version with ``hybridcodec.formats.audio`` and
``hybridcodec.tools.peers``): this version and that one each code the speech in their own
process, taking turns, so that a slower machine is not mistaken for a slower codec.
"""
import os

# One core and one thread, set before NumPy and Numba are imported so that they apply.
for _variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hybridcodec.formats.audio import demo_clip_path, read_audio, write_audio  # noqa: E402
from hybridcodec.tools.peers import opusdec_time, opusenc_time  # noqa: E402

SAMPLE_RATE_HZ = 16000
WARM_UP_SECONDS = 1.0
CLIP_SECONDS = 2.0
HYBRIDCODEC = [sys.executable, "-m", "hybridcodec"]


def speech(duration_s, corpus_dir=None):
    """``duration_s`` of 16 kHz mono speech and where it comes from."""
    n_wanted = int(round(duration_s * SAMPLE_RATE_HZ))
    try:
        from hybridcodec.training.corpus import corpus_files

        paths, source = corpus_files("heldout", corpus_dir), "held-out corpus speech"
    except Exception:  # noqa: BLE001 - no corpus fetched: the demo clip will do
        paths, source = [demo_clip_path()], "the demo clip, repeated"
    pieces = [read_audio(path)[0] for path in paths[:200]]
    x = np.concatenate(pieces)
    return np.tile(x, -(-n_wanted // x.shape[0]))[:n_wanted], source


def wall_time_s(command, repeats=1):
    """Fastest wall-clock time of a process over ``repeats`` runs (it must succeed)."""
    times_s = []
    for _ in range(repeats):
        start_s = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times_s.append(time.perf_counter() - start_s)
    return min(times_s)


def best_time_s(function, repeats):
    """Fastest wall-clock time of ``function()`` over ``repeats`` calls, and its last result."""
    times_s, result = [], None
    for _ in range(repeats):
        start_s = time.perf_counter()
        result = function()
        times_s.append(time.perf_counter() - start_s)
    return min(times_s), result


NUMBA_FLOOR_SCRIPT = """import numba, numpy as np
@numba.njit(cache=True)
def total(x):
    return x.sum()
total(np.zeros(3))
"""
"""The least any process that calls one cached Numba kernel pays: import Numba, initialise its
CPU target (which imports scipy.linalg for BLAS) and load the kernel from the cache."""


def start_up(clip_wav, tmp, bitrate_bps, repeats):
    """Seconds of each program's start-up: configs, and encoding the 2 s clip (warm table and
    Numba caches), beside Python alone and the Numba floor (:data:`NUMBA_FLOOR_SCRIPT`)."""
    encode = HYBRIDCODEC + ["encode", str(clip_wav), str(tmp / "clip.hcb"), "--force",
                            "--quiet", "--bitrate", str(bitrate_bps)]
    subprocess.run(encode, check=True, capture_output=True)          # warms the caches
    floor = tmp / "numba_floor.py"
    floor.write_text(NUMBA_FLOOR_SCRIPT)
    subprocess.run([sys.executable, str(floor)], check=True, capture_output=True)
    return {
        "python -c pass": wall_time_s([sys.executable, "-c", "pass"], repeats),
        "Numba floor: import + one cached kernel": wall_time_s([sys.executable, str(floor)],
                                                               repeats),
        "hybridcodec configs": wall_time_s(HYBRIDCODEC + ["configs"], repeats),
        "hybridcodec encode (2 s clip)": wall_time_s(encode, repeats),
        "opusenc (2 s clip)": opusenc_time(clip_wav, tmp / "clip.opus", bitrate_bps, repeats),
        "elc3 (2 s clip)": wall_time_s(_elc3(clip_wav, tmp / "clip.lc3", bitrate_bps), repeats),
    }


def _elc3(wav_path, lc3_path, bitrate_bps):
    return ["taskset", "-c", "0", "elc3", "-b", str(bitrate_bps), str(wav_path), str(lc3_path)]


def time_hybridcodec(x, bitrate_bps, config, repeats):
    """Encode and decode times of hybridcodec's API, in seconds, after a warm-up call."""
    from hybridcodec.api import decode, encode

    warm_up = x[:int(WARM_UP_SECONDS * SAMPLE_RATE_HZ)]
    decode(encode(warm_up, SAMPLE_RATE_HZ, bitrate_bps, config=config))
    encode_s, data = best_time_s(lambda: encode(x, SAMPLE_RATE_HZ, bitrate_bps, config=config),
                                 repeats)
    decode_s, _ = best_time_s(lambda: decode(data), repeats)
    return encode_s, decode_s


def time_installations(x_path, args, installations):
    """Encode and decode seconds of the hybridcodec found first on each path of
    ``installations`` (label → folder, None for this one): the fastest of ``--repeats`` rounds
    in which each is timed once by this script (``--time-api``) in its own process, taking
    turns so that a change in the machine's load hits all of them.  Also each round's
    encode + decode seconds, {label: [s, …]}."""
    best = {label: (float("inf"), float("inf")) for label in installations}
    rounds = {label: [] for label in installations}
    for _ in range(args.repeats):
        for label, folder in installations.items():
            env = dict(os.environ)
            if folder is not None:
                env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(folder),
                                                                  env.get("PYTHONPATH"))))
            result = subprocess.run(
                [sys.executable, __file__, "--time-api", str(x_path), "--config", args.config,
                 "--bitrate", str(args.bitrate), "--repeats", "1"],
                env=env, capture_output=True, text=True)
            if result.returncode:
                last = (result.stderr.strip().splitlines() or ["no message"])[-1]
                sys.exit(f"error: timing {label} failed: {last}")
            seconds = [float(v) for v in result.stdout.split()[-2:]]
            best[label] = tuple(min(a, b) for a, b in zip(best[label], seconds))
            rounds[label].append(sum(seconds))
    return best, rounds


def time_peers(wav_path, tmp, bitrate_bps, repeats):
    """Encode and decode seconds of opusenc/opusdec and elc3/dlc3 on ``wav_path``."""
    opus, lc3 = tmp / "x.opus", tmp / "x.lc3"
    times_s = {"Opus": (opusenc_time(wav_path, opus, bitrate_bps, repeats=repeats),
                        opusdec_time(opus, tmp / "opus.wav", SAMPLE_RATE_HZ, repeats=repeats))}
    lc3_encode_s = wall_time_s(_elc3(wav_path, lc3, bitrate_bps), repeats)
    lc3_decode_s = wall_time_s(["taskset", "-c", "0", "dlc3", str(lc3), str(tmp / "lc3.wav")],
                               repeats)
    times_s["LC3"] = (lc3_encode_s, lc3_decode_s)
    return times_s


def folder_encode(clips, tmp, bitrate_bps):
    """Seconds to encode every clip: one hybridcodec process, and one opusenc process each."""
    folder, coded = tmp / "clips", tmp / "coded"
    folder.mkdir()
    coded.mkdir()
    paths = []
    for i, clip in enumerate(clips):
        paths.append(folder / f"clip{i:03d}.wav")
        write_audio(paths[-1], clip, SAMPLE_RATE_HZ)
    hybridcodec_s = wall_time_s(HYBRIDCODEC + ["encode", *map(str, paths), str(coded),
                                               "--quiet", "--bitrate", str(bitrate_bps)])
    start_s = time.perf_counter()
    for path in paths:
        opusenc_time(path, coded / f"{path.stem}.opus", bitrate_bps, repeats=1)
    return hybridcodec_s, time.perf_counter() - start_s


def markdown_table(duration_s, times_s, bitrate_bps):
    """Table of ×RT per codec and the time of each relative to Opus.

    Parameters
    ----------
    duration_s : float
        Length of the coded speech, in seconds.
    times_s : dict[str, tuple[float, float]]
        Codec label to (encode, decode) seconds; must hold "Opus".
    bitrate_bps : int
        Bitrate of every codec, in bit/s.
    """
    opus_total_s = sum(times_s["Opus"])
    lines = [f"| codec ({bitrate_bps / 1000:g} kbit/s, 1 core) | encode ×RT | decode ×RT | "
             "total ×RT | time ÷ Opus time |", "|---|---:|---:|---:|---:|"]
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
    parser.add_argument("--clips", type=int, default=100, help="2 s clips of the folder encode")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per measurement (the fastest counts)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus folder (default: the fetched one)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="also time the hybridcodec installed in DIR (pip install --no-deps "
                             "--target DIR <an older checkout>) in the same run, taking turns")
    parser.add_argument("--time-api", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "hybridcodec").is_dir():
        parser.error(f"--baseline {args.baseline}: no hybridcodec package in that folder")
    return args


def hybridcodec_times(x, tmp, args):
    """(encode, decode) seconds of this hybridcodec, and of the ``--baseline`` installation in
    the same run when one is given; and a line on how their times compared round by round
    (empty without a baseline)."""
    label = f"hybridcodec ({args.config})"
    if args.baseline is None:
        return {label: time_hybridcodec(x, args.bitrate, args.config, args.repeats)}, ""
    np.save(tmp / "speech.npy", x)
    baseline = f"{label}, baseline {args.baseline}"
    best, rounds = time_installations(tmp / "speech.npy", args,
                                      {label: None, baseline: args.baseline})
    ratios = np.array(rounds[label]) / np.array(rounds[baseline])
    return best, (f"\n\nThis version's encode + decode time ÷ the baseline's, round by round: "
                  f"median {np.median(ratios):.2f} ({ratios.min():.2f} … {ratios.max():.2f}, "
                  f"{ratios.size} rounds).")


def main(argv=None):
    """Run the three measurements and print them."""
    args = parse_args(argv)
    if args.time_api is not None:      # a process of time_installations: speech from a file
        print(*time_hybridcodec(np.load(args.time_api), args.bitrate, args.config, args.repeats))
        return
    x, source = speech(args.seconds, args.corpus)
    n_clip = int(CLIP_SECONDS * SAMPLE_RATE_HZ)
    with tempfile.TemporaryDirectory(prefix="hybridcodec-speed-") as tmp:
        tmp = Path(tmp)
        wav_path, clip_wav = tmp / "in.wav", tmp / "clip.wav"
        write_audio(wav_path, x, SAMPLE_RATE_HZ)
        write_audio(clip_wav, x[:n_clip], SAMPLE_RATE_HZ)
        starts_s = start_up(clip_wav, tmp, args.bitrate, args.repeats)
        times_s, rounds_note = hybridcodec_times(x, tmp, args)
        times_s.update(time_peers(wav_path, tmp, args.bitrate, args.repeats))
        clips = [x[(i * n_clip) % (x.shape[0] - n_clip):][:n_clip] for i in range(args.clips)]
        folder_s = folder_encode(clips, tmp, args.bitrate)
    print(f"{args.seconds:g} s of {source}, 16 kHz; CPU affinity "
          f"{sorted(os.sched_getaffinity(0))}\n")
    print("| start-up (warm cache, one process) | wall time |\n|---|---:|")
    print("\n".join(f"| {label} | {seconds:.3f} s |" for label, seconds in starts_s.items()))
    print()
    print(markdown_table(args.seconds, times_s, args.bitrate) + rounds_note)
    print(f"\n| folder encode: {args.clips} clips of {CLIP_SECONDS:g} s | wall time |\n|---|---:|\n"
          f"| hybridcodec encode clips/*.wav out/ (one process) | {folder_s[0]:.2f} s |\n"
          f"| opusenc, one process per clip | {folder_s[1]:.2f} s |")


if __name__ == "__main__":
    main()
