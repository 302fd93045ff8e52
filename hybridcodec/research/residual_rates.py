"""The residual layers' rate against their target: Kankanahalli's entropy-control claim
(±0.45 kbps of the target) measured on real streams of ``tcx-residual``.

For each bitrate and layer: the layer's budget (its bytes per frame × 400 bps), the target its
entropy control was trained to (``training.residual_training.TARGET_BITS`` per frame, a little
under the budget for the range coder's flush) and the coded rate, the mean of the bits the encoder
actually wrote for that layer per frame (range coder output before padding,
``FrameReport.bits['layer<k>']``) over the frames where the layer had its full budget (not a
file's squeezed last frames).
"""
from typing import Dict, List, Sequence

import numpy as np

from ..api import encode_with_reports, read_header
from ..core.geometry import HOP
from ..formats.hcb import LAYER_RATE_BPS_PER_BYTE, iter_layered_budgets
from ..training.corpus import SAMPLE_RATE_HZ, load_clips
from ..training.residual_training import TARGET_BITS

CONFIG = "tcx-residual"
KANKANAHALLI_TOLERANCE_KBPS = 0.45


def residual_rate_table(split: str = "heldout", max_files: int = 8,
                        bitrates: Sequence[int] = (9600, 16400, 24400),
                        corpus=None) -> List[Dict]:
    """Rows {bitrate_bps, layer, budget_kbps, target_kbps, coded_kbps, error_kbps, within,
    frames}."""
    clips = load_clips(split, corpus, max_files=max_files)
    rows = []
    for bitrate in bitrates:
        bits: Dict[int, List[int]] = {}
        for clip in clips:
            data, reports = encode_with_reports(clip, SAMPLE_RATE_HZ, bitrate, CONFIG)
            header = read_header(data)
            for budgets, report in zip(iter_layered_budgets(header), reports):
                for k, (budget, full) in enumerate(zip(budgets[1:], header.layer_bytes)):
                    if budget == full:
                        bits.setdefault(k, []).append(report.bits[f"layer{k + 1}"])
        target = TARGET_BITS * SAMPLE_RATE_HZ / HOP / 1000
        for k, full in enumerate(header.layer_bytes):
            coded = float(np.mean(bits[k])) * SAMPLE_RATE_HZ / HOP / 1000
            rows.append({"bitrate_bps": bitrate, "layer": k + 1,
                         "budget_kbps": LAYER_RATE_BPS_PER_BYTE * full / 1000,
                         "target_kbps": target,
                         "coded_kbps": coded, "error_kbps": coded - target,
                         "within": abs(coded - target) <= KANKANAHALLI_TOLERANCE_KBPS,
                         "frames": len(bits[k])})
    return rows


def format_rate_table(rows: List[Dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| bitrate | layer | budget kbps | target kbps | coded kbps | error kbps | "
             "within ±0.45 | frames |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['bitrate_bps'] / 1000:g}k | {r['layer']} | {r['budget_kbps']:.2f} | "
              f"{r['target_kbps']:.2f} | "
              f"{r['coded_kbps']:.2f} | {r['error_kbps']:+.2f} | {'yes' if r['within'] else 'no'} "
              f"| {r['frames']} |" for r in rows]
    return "\n".join(lines)
