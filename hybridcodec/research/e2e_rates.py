"""Entropy control of ``e2e-ae`` on real speech: each model's target rate against the rate its
range-coded symbols actually take (Kankanahalli sec. 2.3 claims the target ± 0.45 kbps).

The controlled rate is the uncut rate: the mean code length of the encoder's symbols of the
frames that are not silent, before the budget rule cuts them (Σ −log2 of their table
probabilities) × 50 frames/s, the variable rate that the entropy control of the paper targets
(the model's target excludes the gain and the coder's flush byte).  It is measured twice: with
the λ-adjustment rule of training alone (the gain as the frame's), and with the encoder's
run-time entropy control (``components.e2e_ae.EntropyControl``, one per clip, as each stream
has its own), which the codec uses.  Beside them, the written rate: the mean of the bits
written per full frame before the padding (the whole bytes the range coder flushes,
``budget − padding`` of the frame report, with the model index and the gain); a fixed-rate
frame spends at most its budget, so frames above it are cut or take a lower model.
"""
from typing import Dict, List

import numpy as np

from .. import api
from ..components.e2e_ae import FRAMES_PER_SECOND, EntropyControl
from ..core.pipeline import get_pipeline
from ..core.geometry import SAMPLE_RATE_HZ
from ..training.corpus import load_clips
from hybridcodec.dsp import e2e_ae

from ..training.e2e_training import folded_frames

CONFIG = "e2e-ae"
TOLERANCE_BPS = 450


def uncut_bps(quantizer, model, clips_gains, controlled: bool) -> float:
    """Mean code length × 50 of ``model``'s symbols over the frames (module doc), each clip
    with its own run-time control when ``controlled``."""
    bits = []
    for frames in clips_gains:
        control = EntropyControl() if controlled else None
        for frame, g in frames:
            _, symbols = quantizer.controlled_symbols(model, frame, g, control)
            bits.append(model.cost_bits[symbols].sum())
    return FRAMES_PER_SECOND * float(np.mean(bits))


def e2e_rate_table(split: str = "heldout", max_files: int = 8, corpus=None) -> List[Dict]:
    """One row per model: rate, target, the uncut kbps of the λ rule alone and with the
    run-time control (module doc), the latter's difference from the target and whether it lies
    within ± 0.45 kbps, the written rate and the full frames counted."""
    clips = load_clips(split, corpus, max_files=max_files)
    quantizer = get_pipeline(CONFIG).spectrum_quantizer
    clips_gains = []
    for clip in clips:
        gains = [(frame, e2e_ae.gain_index(frame)) for frame in folded_frames(clip)]
        clips_gains.append([(frame, g) for frame, g in gains if g >= 0])
    rows = []
    for model in quantizer.models:
        written = []
        for clip in clips:
            _, reports = api.encode_with_reports(clip, SAMPLE_RATE_HZ, model.rate_bps, CONFIG)
            full = model.rate_bps // FRAMES_PER_SECOND
            written += [r.budget_bits - r.bits["padding"] for r in reports
                        if r.budget_bits == full]
        alone = uncut_bps(quantizer, model, clips_gains, controlled=False)
        uncut = uncut_bps(quantizer, model, clips_gains, controlled=True)
        rows.append({"rate_kbps": model.rate_bps / 1000, "target_kbps": model.target_bps / 1000,
                     "lambda_alone_kbps": alone / 1000, "uncut_kbps": uncut / 1000,
                     "difference_kbps": (uncut - model.target_bps) / 1000,
                     "within_0.45": abs(uncut - model.target_bps) <= TOLERANCE_BPS,
                     "written_kbps": FRAMES_PER_SECOND * float(np.mean(written)) / 1000,
                     "frames": len(written)})
    return rows


def format_rate_table(rows: List[Dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| rate kbps | target kbps | λ rule alone kbps | with run-time control kbps | "
             "difference | within ±0.45 | written kbps | frames |",
             "|---:|---:|---:|---:|---:|:---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['rate_kbps']:.1f} | {r['target_kbps']:.2f} | "
                     f"{r['lambda_alone_kbps']:.2f} | {r['uncut_kbps']:.2f} | "
                     f"{r['difference_kbps']:+.2f} | {'yes' if r['within_0.45'] else 'no'} | "
                     f"{r['written_kbps']:.2f} | {r['frames']} |")
    return "\n".join(lines)
