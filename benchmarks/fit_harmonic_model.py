"""Fit the harmonic model's table shifts (``dsp.harmonic_model``) on voiced frames, or report
the bits it saves with the shipped constants; ``hybridcodec.research.harmonic`` does the work::

    python benchmarks/fit_harmonic_model.py --split train --max-files 40
    python benchmarks/fit_harmonic_model.py --split heldout --report-only

The fit pools the voiced frames of every bitrate, each coded by the configuration's rate loop
(no harmonic model), and prints, per number of bands B and of distance classes J, the band
edges and the shifts K that minimize the ideal code length, with the bits saved per voiced
frame.  Choose
constants on the training split only; the held-out split is for reporting.
"""
import argparse

from hybridcodec.core.config import parse_bitrate
from hybridcodec.research import harmonic
from hybridcodec.training.corpus import SPLITS, load_clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="train")
    parser.add_argument("--max-files", type=int, default=40)
    parser.add_argument("--config", default="tcx-laplacian")
    parser.add_argument("--bitrates", default="9.6k,13.2k,16.4k,24.4k")
    parser.add_argument("--report-only", action="store_true",
                        help="only measure the shipped constants (no fit)")
    args = parser.parse_args()
    clips = load_clips(args.split, max_files=args.max_files)
    coded = {rate: harmonic.code_frames(clips, args.config, rate)
             for rate in map(parse_bitrate, args.bitrates.split(","))}
    print(f"{args.split}, {len(clips)} clips, {args.config}\n")
    print("| bitrate | frames | voiced | bits/voiced frame: off, on (saved) | "
          "bits/frame, all frames: off, on (saved) |\n|---|---:|---:|---:|---:|")
    for rate, c in coded.items():
        r = harmonic.harmonic_bits(c)
        v, a = r["voiced"], r["all"]
        print(f"| {rate / 1000:.1f} | {r['frames']} | {r['voiced_frames']} | {v[0]:.1f}, {v[1]:.1f} "
              f"({v[0] - v[1]:+.1f}) | {a[0]:.1f}, {a[1]:.1f} ({a[0] - a[1]:+.1f}) |")
    if args.report_only:
        return
    by_class = sum(harmonic.bits_by_class(c) for c in coded.values())
    voiced = sum(int(c.voiced.sum()) for c in coded.values())
    print("\n| B | J | band edges | K | saved bits / voiced frame |\n|---:|---:|---|---|---:|")
    for n_bands in (1, 2, 3):
        for n_distances in (2, 4, 6, 8):
            fit = harmonic.fit_harmonic_model(by_class, n_distances, n_bands)
            print(f"| {n_bands} | {n_distances} | {fit['band_edges']} | {fit['shift_by_distance']} | "
                  f"{fit['saved_bits'] / voiced:.2f} |")


if __name__ == "__main__":
    main()
