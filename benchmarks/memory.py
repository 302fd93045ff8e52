"""Peak memory of encoding and decoding long inputs: 1 minute against 60 minutes.

Writes a WAV of speech (the demo clip repeated, 16 kHz, 16-bit) of each duration, then runs
``hybridcodec encode`` and ``hybridcodec decode`` on it, each in a fresh Python process, and
reports that process's peak resident set size (``ru_maxrss``).  The CLI reads, codes and writes
block by block, so the peak should not grow with the duration (goal: 60 min ≤ 1.2 × 1 min).

Usage::

    python benchmarks/memory.py [--minutes 1,60] [--bitrate 16400] [--folder /tmp]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

from hybridcodec.formats.audio import demo_clip_path, read_audio

RUN_AND_REPORT = ("import resource, sys; from hybridcodec import cli; "
                  "status = cli.main(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
                  "sys.exit(status)")


def write_speech(path: Path, minutes: float) -> None:
    """``minutes`` of the demo clip repeated, written block by block (16 kHz, 16-bit WAV)."""
    x, rate, _ = read_audio(demo_clip_path())
    n_total = int(minutes * 60 * rate)
    with soundfile.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as out:
        written = 0
        while written < n_total:
            block = x[:min(x.shape[0], n_total - written)]
            out.write(block)
            written += block.shape[0]


def peak_rss_mib(*argv: str) -> tuple:
    """(peak RSS in MiB, seconds) of ``hybridcodec argv...`` in a fresh process."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", RUN_AND_REPORT, *argv], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"hybridcodec {' '.join(argv)} failed: {done.stderr}")
    return int(done.stderr.strip().splitlines()[-1]) / 1024.0, time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="1,60")
    parser.add_argument("--bitrate", default="16400")
    parser.add_argument("--folder", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for minutes in (float(m) for m in args.minutes.split(",")):
            wav, hcb, out = (Path(folder) / f"{minutes:g}min.{ext}"
                             for ext in ("wav", "hcb", "out.wav"))
            write_speech(wav, minutes)
            enc = peak_rss_mib("encode", str(wav), str(hcb), "--bitrate", args.bitrate)
            dec = peak_rss_mib("decode", str(hcb), str(out))
            assert soundfile.info(str(out)).frames == soundfile.info(str(wav)).frames
            rows.append((minutes, wav.stat().st_size, hcb.stat().st_size, enc, dec))
            for path in (wav, hcb, out):
                path.unlink()
    print(f"{'input':>8} {'WAV MB':>8} {'.hcb MB':>8} {'encode peak RSS':>16} {'time':>7} "
          f"{'decode peak RSS':>16} {'time':>7}")
    for minutes, wav_bytes, hcb_bytes, (enc_mib, enc_s), (dec_mib, dec_s) in rows:
        print(f"{minutes:>6g} m {wav_bytes / 1e6:8.1f} {hcb_bytes / 1e6:8.2f} {enc_mib:12.1f} MiB "
              f"{enc_s:6.0f}s {dec_mib:12.1f} MiB {dec_s:6.0f}s")
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        print(f"\nratio {last[0]:g} min / {first[0]:g} min: encode "
              f"{last[3][0] / first[3][0]:.3f}, decode {last[4][0] / first[4][0]:.3f} "
              "(goal ≤ 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
