"""Before and after a change of the codec, in one run: PESQ-WB and ViSQOL on the same files.

The codec of an earlier revision (``--before``, checked out into a temporary git worktree) and
the installed one each code the same held-out utterances at the same bitrates, each in a
process of its own whose ``PYTHONPATH`` selects the code; both outputs are then measured by
the same metrics in this process. Used to show what re-fitting and re-tuning on the
many-speaker corpus changed::

    python benchmarks/refit_gain.py --before 2ec2b50 --split heldout --max-files 60

Prints two Markdown tables: per bitrate, the mean PESQ-WB and ViSQOL before and after and the
differences, first over the files, then voice-balanced (the mean of each voice's files, then
over the voices, as ``hybridcodec evaluate``'s summary).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from joblib import Parallel, delayed

from hybridcodec.core.config import parse_bitrate
from hybridcodec.tools.evaluate import mean_scores, voice_balanced_scores
from hybridcodec.tools.metrics import pesq_wb, visqol
from hybridcodec.training.corpus import SPLITS, file_speakers, sample_files

METRICS = ("pesq_wb", "visqol")

ROUND_TRIP = """
import json, sys
import soundfile
import hybridcodec.api as hc
jobs = json.load(open(sys.argv[1]))
coded_bps = {}
for source, bitrate_bps, config, target in jobs:
    x, rate = soundfile.read(source)
    data = hc.encode(x, rate, bitrate_bps, config)
    y, rate = hc.decode(data)
    soundfile.write(target, y, rate, subtype="FLOAT")
    coded_bps[target] = 8 * len(data) * rate / len(x)
json.dump(coded_bps, open(sys.argv[2], "w"))
"""
"""Runs under either revision: it uses only the API both have (``api.encode``/``api.decode``)."""


def round_trips(files, bitrates_bps, config, out_dir, code_dir=None):
    """Code every file at every bitrate with the codec found in ``code_dir`` (None: installed).

    Returns
    -------
    dict
        ``(file, bitrate_bps)`` to the decoded WAV and the bitrate of its ``.hcb`` file (header
        included).
    """
    out_dir.mkdir(parents=True)
    targets = {(f, b): out_dir / f"{b}-{f.stem}.wav" for f in files for b in bitrates_bps}
    jobs_path = out_dir / "jobs.json"
    jobs_path.write_text(json.dumps([[str(f), b, config, str(t)] for (f, b), t in targets.items()]))
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if code_dir:
        env["PYTHONPATH"] = str(code_dir)
    # cwd: ``python -c`` puts the working folder first on sys.path, before PYTHONPATH
    subprocess.run([sys.executable, "-c", ROUND_TRIP, str(jobs_path), "coded_bps.json"], env=env,
                   check=True, cwd=out_dir)
    coded_bps = json.loads((out_dir / "coded_bps.json").read_text())
    return {key: (target, coded_bps[str(target)]) for key, target in targets.items()}


def scores(reference, decoded):
    """PESQ-WB and ViSQOL of one decoded file."""
    x, rate = soundfile.read(reference)
    y, _ = soundfile.read(decoded)
    return pesq_wb(x, y, rate), visqol(x, y, rate)


def worktree(repository, revision, folder):
    """Check ``revision`` of ``repository`` out into ``folder`` (a detached git worktree)."""
    subprocess.run(["git", "-C", str(repository), "worktree", "add", "--detach", str(folder),
                    revision], check=True, capture_output=True)


def table(means, bitrates_bps, count_column):
    """Markdown table of the mean scores before and after, per bitrate, from ``means``
    (:func:`~hybridcodec.tools.evaluate.mean_scores` or ``voice_balanced_scores``)."""
    count_name = {"n_files": "files", "n_voices": "voices"}[count_column]
    lines = [f"| kbps | PESQ-WB before | after | Δ | ViSQOL before | after | Δ | {count_name} |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b in bitrates_bps:
        before, after = means["before", b], means["after", b]
        (p0, v0), (p1, v1) = [before[m] for m in METRICS], [after[m] for m in METRICS]
        lines.append(f"| {b / 1000:g} | {p0:.3f} | {p1:.3f} | {p1 - p0:+.3f} | {v0:.3f} | {v1:.3f} | "
                     f"{v1 - v0:+.3f} | {after[count_column]} |")
    return "\n".join(lines)


def result_rows(decoded, keys, values, speakers):
    """One row per side, file and bitrate, with the columns the evaluate means read."""
    return [{"system": side, "bitrate_bps": b, "operating_bps": b, "speaker": speakers[f],
             "measured_bps": decoded[side][f, b][1], **dict(zip(METRICS, value))}
            for (side, f, b), value in zip(keys, values)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the earlier codec")
    parser.add_argument("--config", default="default")
    parser.add_argument("--split", default="heldout", choices=SPLITS)
    parser.add_argument("--bitrates", default="9.6k,13.2k,16.4k")
    parser.add_argument("--max-files", type=int, default=60)
    parser.add_argument("--min-duration", type=float, default=3.0, help="seconds")
    args = parser.parse_args()
    bitrates_bps = [parse_bitrate(b) for b in args.bitrates.split(",")]
    files = sample_files(args.split, args.max_files, min_duration_s=args.min_duration)
    repository = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="hybridcodec-refit-") as tmp:
        tmp = Path(tmp)
        try:
            worktree(repository, args.before, tmp / "before-code")
            decoded = {"before": round_trips(files, bitrates_bps, args.config, tmp / "before",
                                             tmp / "before-code"),
                       "after": round_trips(files, bitrates_bps, args.config, tmp / "after")}
            keys = [(side, f, b) for side in decoded for (f, b) in decoded[side]]
            values = Parallel(n_jobs=-1)(delayed(scores)(f, decoded[side][f, b][0])
                                         for side, f, b in keys)
        finally:
            subprocess.run(["git", "-C", str(repository), "worktree", "remove", "--force",
                            str(tmp / "before-code")], capture_output=True)
    rows = result_rows(decoded, keys, values, file_speakers(files))
    print(f"{args.config}, {args.split} split, before = {args.before}, after = this checkout")
    print(table(mean_scores(rows, METRICS), bitrates_bps, "n_files"))
    print()
    print(table(voice_balanced_scores(rows, METRICS), bitrates_bps, "n_voices"))


if __name__ == "__main__":
    main()
